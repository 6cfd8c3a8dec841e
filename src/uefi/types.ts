/**
 * UEFI memory types and memory attributes (UEFI 2.10, §7.2 EFI_BOOT_SERVICES.GetMemoryMap):
 * the numeric constants, their names, and classification helpers. Unknown values are
 * kept exactly; only their names are synthesised.
 *
 * @module
 */

/**
 * Memory types of UEFI 2.10 (`EFI_MEMORY_TYPE`), 0..15. Values 0x70000000–0x7FFFFFFF are
 * reserved for OEMs and 0x80000000–0xFFFFFFFF for OS loaders; every u32 is a legal value.
 *
 * @example
 * ```ts
 * import { MemoryType } from 'memprims';
 * MemoryType.Conventional; // 7
 * ```
 */
export const MemoryType = {
  Reserved: 0,
  LoaderCode: 1,
  LoaderData: 2,
  BootServicesCode: 3,
  BootServicesData: 4,
  RuntimeServicesCode: 5,
  RuntimeServicesData: 6,
  Conventional: 7,
  Unusable: 8,
  ACPIReclaim: 9,
  ACPIMemoryNVS: 10,
  MemoryMappedIO: 11,
  MemoryMappedIOPortSpace: 12,
  PalCode: 13,
  PersistentMemory: 14,
  Unaccepted: 15,
  /** First value of the OEM-reserved range. */
  OemMin: 0x70000000,
  /** Last value of the OEM-reserved range. */
  OemMax: 0x7fffffff,
  /** First value of the OS-reserved range. */
  OsMin: 0x80000000,
  /** Last value of the OS-reserved range. */
  OsMax: 0xffffffff,
} as const;

/**
 * A memory type value: any u32 (the named ones are in {@link MemoryType}).
 *
 * @example
 * ```ts
 * import type { MemoryTypeValue } from 'memprims';
 * const oem: MemoryTypeValue = 0x70000001;
 * ```
 */
export type MemoryTypeValue = number;

/**
 * The names memprims gives types 0..15, indexed by value.
 *
 * @example
 * ```ts
 * import { MEMORY_TYPE_NAMES } from 'memprims';
 * MEMORY_TYPE_NAMES[10]; // 'ACPIMemoryNVS'
 * ```
 */
export const MEMORY_TYPE_NAMES: readonly string[] = Object.freeze([
  'Reserved', 'LoaderCode', 'LoaderData', 'BootServicesCode', 'BootServicesData', 'RuntimeServicesCode',
  'RuntimeServicesData', 'Conventional', 'Unusable', 'ACPIReclaim', 'ACPIMemoryNVS', 'MemoryMappedIO',
  'MemoryMappedIOPortSpace', 'PalCode', 'PersistentMemory', 'Unaccepted',
]);

/**
 * True when `value` is a u32 (the only thing a memory type must be).
 *
 * @example
 * ```ts
 * import { isMemoryTypeValue } from 'memprims';
 * isMemoryTypeValue(0xffffffff); // true
 * ```
 */
export function isMemoryTypeValue(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

/**
 * Which range of the type space a value lies in.
 *
 * @example
 * ```ts
 * import type { MemoryTypeClass } from 'memprims';
 * const cls: MemoryTypeClass = 'oem';
 * ```
 */
export type MemoryTypeClass = 'standard' | 'undefined' | 'oem' | 'os';

/**
 * Classifies a type value: 0..15 standard, 16..0x6FFFFFFF undefined by the spec, OEM or OS range.
 *
 * @example
 * ```ts
 * import { memoryTypeClass } from 'memprims';
 * memoryTypeClass(0x80000000); // 'os'
 * ```
 */
export function memoryTypeClass(type: number): MemoryTypeClass {
  if (type >= 0 && type <= 15) return 'standard';
  if (type >= MemoryType.OemMin && type <= MemoryType.OemMax) return 'oem';
  if (type >= MemoryType.OsMin) return 'os';
  return 'undefined';
}

/**
 * A name for any u32 type value: the spec name for 0..15, `Oem(0x70000001)`,
 * `Os(0x80000000)` or `Unknown(0x10)` otherwise (the value itself is never changed).
 *
 * @example
 * ```ts
 * import { memoryTypeName } from 'memprims';
 * memoryTypeName(7); // 'Conventional'
 * memoryTypeName(0x80000001); // 'Os(0x80000001)'
 * ```
 */
export function memoryTypeName(type: number): string {
  if (type >= 0 && type <= 15 && Number.isInteger(type)) return MEMORY_TYPE_NAMES[type];
  const hexValue = '0x' + (type >>> 0).toString(16);
  const cls = memoryTypeClass(type);
  if (cls === 'oem') return `Oem(${hexValue})`;
  if (cls === 'os') return `Os(${hexValue})`;
  return `Unknown(${hexValue})`;
}

/**
 * The type value of a name from {@link memoryTypeName} (also `EfiConventionalMemory`-style
 * spec names and plain numbers); `undefined` when the name is not one.
 *
 * @example
 * ```ts
 * import { memoryTypeFromName } from 'memprims';
 * memoryTypeFromName('Oem(0x70000001)'); // 0x70000001
 * ```
 */
export function memoryTypeFromName(name: string): number | undefined {
  const n = name.trim();
  const idx = MEMORY_TYPE_NAMES.indexOf(n);
  if (idx >= 0) return idx;
  const spec = SPEC_ENUM_NAMES.indexOf(n);
  if (spec >= 0) return spec;
  const m = /^(?:Oem|Os|Unknown)\((0x[0-9a-fA-F]{1,8})\)$/.exec(n) ?? /^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/.exec(n);
  if (m) {
    const v = Number(m[1]);
    if (isMemoryTypeValue(v)) return v;
  }
  return undefined;
}

/**
 * The C enumerator names of EFI_MEMORY_TYPE, indexed by value.
 *
 * @example
 * ```ts
 * import { SPEC_ENUM_NAMES } from 'memprims';
 * SPEC_ENUM_NAMES[7]; // 'EfiConventionalMemory'
 * ```
 */
export const SPEC_ENUM_NAMES: readonly string[] = Object.freeze([
  'EfiReservedMemoryType', 'EfiLoaderCode', 'EfiLoaderData', 'EfiBootServicesCode', 'EfiBootServicesData',
  'EfiRuntimeServicesCode', 'EfiRuntimeServicesData', 'EfiConventionalMemory', 'EfiUnusableMemory',
  'EfiACPIReclaimMemory', 'EfiACPIMemoryNVS', 'EfiMemoryMappedIO', 'EfiMemoryMappedIOPortSpace', 'EfiPalCode',
  'EfiPersistentMemory', 'EfiUnacceptedMemoryType',
]);

/**
 * Types whose memory a kernel may take over after ExitBootServices (before excluding what it still uses).
 *
 * @example
 * ```ts
 * import { USABLE_AFTER_EXIT_TYPES } from 'memprims';
 * USABLE_AFTER_EXIT_TYPES.includes(7); // true
 * ```
 */
export const USABLE_AFTER_EXIT_TYPES: readonly number[] = Object.freeze([
  MemoryType.LoaderCode, MemoryType.LoaderData, MemoryType.BootServicesCode, MemoryType.BootServicesData, MemoryType.Conventional,
]);

/**
 * True for LoaderCode/Data, BootServicesCode/Data and Conventional.
 *
 * @example
 * ```ts
 * import { isUsableAfterExitType, MemoryType } from 'memprims';
 * isUsableAfterExitType(MemoryType.ACPIReclaim); // false
 * ```
 */
export function isUsableAfterExitType(type: number): boolean {
  return type === 1 || type === 2 || type === 3 || type === 4 || type === 7;
}

/**
 * Memory attribute bits (`EFI_MEMORY_*`, UEFI 2.10 plus HOT_PLUGGABLE of 2.11), as 64-bit bigints.
 * Bits outside these are kept as they are.
 *
 * @example
 * ```ts
 * import { MemoryAttribute } from 'memprims';
 * const wb = (0x800000000000000fn & MemoryAttribute.WB) !== 0n; // true
 * ```
 */
export const MemoryAttribute = {
  /** Uncacheable. */
  UC: 0x1n,
  /** Write-combining. */
  WC: 0x2n,
  /** Write-through. */
  WT: 0x4n,
  /** Write-back. */
  WB: 0x8n,
  /** Uncacheable, exported, supports fetch-and-add. */
  UCE: 0x10n,
  /** Write-protected. */
  WP: 0x1000n,
  /** Read-protected. */
  RP: 0x2000n,
  /** Execute-protected. */
  XP: 0x4000n,
  /** Non-volatile (persistent) memory. */
  NV: 0x8000n,
  /** More reliable than other memory. */
  MORE_RELIABLE: 0x10000n,
  /** Read-only. */
  RO: 0x20000n,
  /** Specific-purpose memory (soft reserved). */
  SP: 0x40000n,
  /** Protected by CPU memory cryptography. */
  CPU_CRYPTO: 0x80000n,
  /** Hot-pluggable (UEFI 2.11). */
  HOT_PLUGGABLE: 0x100000n,
  /** Bits 44..59: ISA-specific cacheability attributes. */
  ISA_MASK: 0x0ffff00000000000n,
  /** ISA_MASK bits are valid. */
  ISA_VALID: 0x4000000000000000n,
  /** Needs a virtual mapping for runtime services. */
  RUNTIME: 0x8000000000000000n,
} as const;

const ATTRIBUTE_BITS: readonly (readonly [string, bigint])[] = [
  ['UC', MemoryAttribute.UC], ['WC', MemoryAttribute.WC], ['WT', MemoryAttribute.WT], ['WB', MemoryAttribute.WB],
  ['UCE', MemoryAttribute.UCE], ['WP', MemoryAttribute.WP], ['RP', MemoryAttribute.RP], ['XP', MemoryAttribute.XP],
  ['NV', MemoryAttribute.NV], ['MORE_RELIABLE', MemoryAttribute.MORE_RELIABLE], ['RO', MemoryAttribute.RO],
  ['SP', MemoryAttribute.SP], ['CPU_CRYPTO', MemoryAttribute.CPU_CRYPTO], ['HOT_PLUGGABLE', MemoryAttribute.HOT_PLUGGABLE],
  ['ISA_VALID', MemoryAttribute.ISA_VALID], ['RUNTIME', MemoryAttribute.RUNTIME],
];

/**
 * Every attribute bit with a name (ISA_MASK counts as named).
 *
 * @example
 * ```ts
 * import { KNOWN_ATTRIBUTE_MASK } from 'memprims';
 * const unknownBits = 0x2000000000000020n & ~KNOWN_ATTRIBUTE_MASK; // 0x2000000000000020n
 * ```
 */
export const KNOWN_ATTRIBUTE_MASK: bigint = ATTRIBUTE_BITS.reduce<bigint>((m, entry) => m | entry[1], MemoryAttribute.ISA_MASK);

/**
 * Names of the set attribute bits, low to high; ISA-mask bits become `ISA(0x…)` and unknown
 * bits `0x…` (so nothing is lost).
 *
 * @example
 * ```ts
 * import { memoryAttributeNames } from 'memprims';
 * memoryAttributeNames(0x800000000000000fn); // ['UC', 'WC', 'WT', 'WB', 'RUNTIME']
 * ```
 */
export function memoryAttributeNames(attribute: bigint): string[] {
  const out: string[] = [];
  for (const [name, bit] of ATTRIBUTE_BITS) {
    if (name === 'ISA_VALID' || name === 'RUNTIME') continue;
    if (attribute & bit) out.push(name);
  }
  const isa = attribute & MemoryAttribute.ISA_MASK;
  if (isa) out.push(`ISA(0x${isa.toString(16)})`);
  const unknown = attribute & ~KNOWN_ATTRIBUTE_MASK & 0xffffffffffffffffn;
  if (unknown) out.push('0x' + unknown.toString(16));
  if (attribute & MemoryAttribute.ISA_VALID) out.push('ISA_VALID');
  if (attribute & MemoryAttribute.RUNTIME) out.push('RUNTIME');
  return out;
}
