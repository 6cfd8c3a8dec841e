/**
 * The memory descriptor (`EFI_MEMORY_DESCRIPTOR`, version 1) as JavaScript values, and the
 * checks that keep every field exact: physical values as numbers (< 2^52 / <= 2^40 pages),
 * 64-bit virtual address and attributes as bigint.
 *
 * @module
 */
import { describe, hex } from '../errors.js';
import { UefiError } from './errors.js';

/**
 * Size of a UEFI page (4 KiB).
 *
 * @example
 * ```ts
 * import { EFI_PAGE_SIZE } from 'memprims';
 * const bytes = 16 * EFI_PAGE_SIZE; // 65536
 * ```
 */
export const EFI_PAGE_SIZE = 4096;
/**
 * Size of the version-1 C struct; firmware strides are usually larger (48).
 *
 * @example
 * ```ts
 * import { EFI_MEMORY_DESCRIPTOR_STRUCT_SIZE } from 'memprims';
 * const padding = 48 - EFI_MEMORY_DESCRIPTOR_STRUCT_SIZE; // 8
 * ```
 */
export const EFI_MEMORY_DESCRIPTOR_STRUCT_SIZE = 40;
/**
 * The only descriptor version the spec defines (1).
 *
 * @example
 * ```ts
 * import { EFI_MEMORY_DESCRIPTOR_VERSION, parseMemoryMap } from 'memprims';
 * parseMemoryMap(new Uint8Array(0), { descriptorVersion: EFI_MEMORY_DESCRIPTOR_VERSION });
 * ```
 */
export const EFI_MEMORY_DESCRIPTOR_VERSION = 1;
/**
 * Largest physicalStart + 1 a number holds here (2^52).
 *
 * @example
 * ```ts
 * import { MAX_PHYSICAL_START_EXCLUSIVE } from 'memprims';
 * MAX_PHYSICAL_START_EXCLUSIVE === 2 ** 52; // true
 * ```
 */
export const MAX_PHYSICAL_START_EXCLUSIVE = 2 ** 52;
/**
 * Largest numberOfPages accepted (2^40, i.e. 4 PiB).
 *
 * @example
 * ```ts
 * import { MAX_NUMBER_OF_PAGES } from 'memprims';
 * MAX_NUMBER_OF_PAGES === 2 ** 40; // true
 * ```
 */
export const MAX_NUMBER_OF_PAGES = 2 ** 40;
const U64_LIMIT = 1n << 64n;

/**
 * One entry of a UEFI memory map.
 *
 * @example
 * ```ts
 * import type { MemoryDescriptor } from 'memprims';
 * const d: MemoryDescriptor = { type: 7, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 16, attribute: 0xfn };
 * ```
 */
export interface MemoryDescriptor {
  /** `EFI_MEMORY_TYPE`, any u32 (see `MemoryType`). */
  readonly type: number;
  /** First byte, an integer below 2^52 (should be 4 KiB aligned; `validate()` reports it if not). */
  readonly physicalStart: number;
  /** Virtual address set by SetVirtualAddressMap (usually 0), unsigned 64-bit. */
  readonly virtualStart: bigint;
  /** Number of 4 KiB pages, 0..2^40. */
  readonly numberOfPages: number;
  /** `EFI_MEMORY_*` attribute bits, unsigned 64-bit. */
  readonly attribute: bigint;
}

/**
 * Exclusive physical end of a descriptor (exact: at most 2^52 + 2^52).
 *
 * @example
 * ```ts
 * import { descriptorEnd } from 'memprims';
 * descriptorEnd({ type: 7, physicalStart: 0x1000, virtualStart: 0n, numberOfPages: 2, attribute: 0xfn }); // 0x3000
 * ```
 */
export function descriptorEnd(d: MemoryDescriptor): number {
  return d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE;
}

/**
 * Checks one descriptor and returns a fresh plain copy, or throws a {@link UefiError}
 * (`UEFI_BAD_DESCRIPTOR`, `UEFI_ADDRESS_TOO_LARGE`, `UEFI_PAGE_COUNT_TOO_LARGE`).
 */
export function checkDescriptor(value: unknown, index: number): MemoryDescriptor {
  if (typeof value !== 'object' || value === null) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR', `descriptor ${index} must be an object, got ${describe(value)}`, { index });
  }
  const d = value as Record<string, unknown>;
  const { type, physicalStart, virtualStart, numberOfPages, attribute } = d;
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 0xffffffff) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR', `descriptor ${index}: type must be a u32 integer, got ${describe(type)}`, { index, field: 'type' });
  }
  if (typeof physicalStart !== 'number' || !Number.isInteger(physicalStart) || physicalStart < 0) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR', `descriptor ${index}: physicalStart must be a non-negative integer number, got ${describe(physicalStart)}`, { index, field: 'physicalStart' });
  }
  if (physicalStart >= MAX_PHYSICAL_START_EXCLUSIVE) {
    throw new UefiError('UEFI_ADDRESS_TOO_LARGE', `descriptor ${index}: physicalStart ${hex(physicalStart)} is not below 2^52`, { index, physicalStart });
  }
  if (typeof numberOfPages !== 'number' || !Number.isInteger(numberOfPages) || numberOfPages < 0) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR', `descriptor ${index}: numberOfPages must be a non-negative integer number, got ${describe(numberOfPages)}`, { index, field: 'numberOfPages' });
  }
  if (numberOfPages > MAX_NUMBER_OF_PAGES) {
    throw new UefiError('UEFI_PAGE_COUNT_TOO_LARGE', `descriptor ${index}: numberOfPages ${hex(numberOfPages)} is more than 2^40`, { index, numberOfPages });
  }
  if (typeof virtualStart !== 'bigint' || virtualStart < 0n || virtualStart >= U64_LIMIT) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR', `descriptor ${index}: virtualStart must be an unsigned 64-bit bigint, got ${describe(virtualStart)}`, { index, field: 'virtualStart' });
  }
  if (typeof attribute !== 'bigint' || attribute < 0n || attribute >= U64_LIMIT) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR', `descriptor ${index}: attribute must be an unsigned 64-bit bigint, got ${describe(attribute)}`, { index, field: 'attribute' });
  }
  return { type, physicalStart, virtualStart, numberOfPages, attribute };
}

/** True when two descriptors hold the same five values. */
export function descriptorsEqual(a: MemoryDescriptor, b: MemoryDescriptor): boolean {
  return a.type === b.type && a.physicalStart === b.physicalStart && a.numberOfPages === b.numberOfPages && a.virtualStart === b.virtualStart && a.attribute === b.attribute;
}

/** Checks a descriptor stride: an integer >= 40, a multiple of 8, at most 65536. */
export function checkDescriptorSize(size: unknown): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size < EFI_MEMORY_DESCRIPTOR_STRUCT_SIZE || size % 8 !== 0 || size > 65536) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR_SIZE', `descriptorSize must be an integer >= 40, a multiple of 8 and at most 65536, got ${describe(size)}`, { descriptorSize: size });
  }
  return size;
}

/** Checks a descriptor version (only 1 is defined). */
export function checkDescriptorVersion(version: unknown): number {
  if (version !== EFI_MEMORY_DESCRIPTOR_VERSION) {
    throw new UefiError('UEFI_BAD_DESCRIPTOR_VERSION', `descriptorVersion must be 1 (the only version UEFI defines), got ${describe(version)}`, { descriptorVersion: version });
  }
  return version;
}
