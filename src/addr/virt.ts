/**
 * Virtual addresses: bigint holding the 64-bit value unsigned (0xffff_8000_0000_0000n, never
 * negative), always canonical for the paging depth in use: bits 63..47 equal (48-bit,
 * 4-level paging) or bits 63..56 equal (57-bit, 5-level paging).
 *
 * The `VirtAddr` namespace mirrors the Rust x86_64 crate: `VirtAddr.new` validates,
 * `VirtAddr.try` returns null, `VirtAddr.truncate` sign-extends whatever it is given.
 *
 * @module
 */
import { AddressError, describe, hex } from '../errors.js';

/** A canonical virtual address as an unsigned 64-bit bigint. */
export type VirtAddr = bigint;

/** Paging depth: 4 levels give 48-bit virtual addresses, 5 levels give 57-bit ones. */
export type PagingLevels = 4 | 5;

const U64_MASK = (1n << 64n) - 1n;

/**
 * Number of significant virtual-address bits for a paging depth (48 or 57).
 *
 * @example
 * ```ts
 * import { virtBits } from 'memprims';
 * virtBits();  // 48 (4-level paging)
 * virtBits(5); // 57 (5-level paging, CR4.LA57)
 * ```
 */
export function virtBits(levels: PagingLevels = 4): 48 | 57 {
  if (levels === 4) return 48;
  if (levels === 5) return 57;
  throw new AddressError('ADDR_BAD_LEVELS', `paging levels must be 4 or 5, got ${describe(levels)}`, { value: levels });
}

function checkU64(value: unknown, what: string): bigint {
  if (typeof value !== 'bigint') {
    throw new AddressError('ADDR_NOT_BIGINT', `${what} must be a bigint, got ${describe(value)}`, { what, value });
  }
  if (value < 0n) throw new AddressError('ADDR_NEGATIVE', `${what} must not be negative (use the unsigned 64-bit value), got ${hex(value)}`, { what, value });
  if (value > U64_MASK) throw new AddressError('ADDR_OUT_OF_RANGE', `${what} ${hex(value)} does not fit in 64 bits`, { what, value });
  return value;
}

/**
 * Sign-extends the low 48 (or 57) bits of `value` to a canonical unsigned 64-bit address.
 *
 * @example
 * ```ts
 * import { virtTruncate } from 'memprims';
 * virtTruncate(0x0000_8000_0000_0000n);    // 0xffff800000000000n: bit 47 copied upwards
 * virtTruncate(0x1234n);                   // 0x1234n
 * virtTruncate(0x00ff_8000_0000_0000n, 5); // 0xff800000000000n: bit 56 is clear
 * ```
 */
export function virtTruncate(value: bigint, levels: PagingLevels = 4): VirtAddr {
  const bits = BigInt(virtBits(levels));
  const low = value & ((1n << bits) - 1n);
  return (low >> (bits - 1n)) & 1n ? low | (U64_MASK ^ ((1n << bits) - 1n)) : low;
}

/**
 * True when `value` is a bigint in [0, 2^64) that is canonical for the paging depth.
 *
 * @example
 * ```ts
 * import { isCanonical } from 'memprims';
 * isCanonical(0xffff800000000000n);    // true
 * isCanonical(0x0000800000000000n);    // false with 4 levels
 * isCanonical(0x0000800000000000n, 5); // true with 5 levels
 * ```
 */
export function isCanonical(value: unknown, levels: PagingLevels = 4): value is VirtAddr {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MASK) return false;
  return virtTruncate(value, levels) === value;
}

/**
 * Validates a virtual address and returns it, or throws an {@link AddressError}
 * (`ADDR_NOT_BIGINT`, `ADDR_NEGATIVE`, `ADDR_OUT_OF_RANGE`, `ADDR_NON_CANONICAL`).
 *
 * @example
 * ```ts
 * import { checkVirtAddr } from 'memprims';
 * checkVirtAddr(0xffffffff80000000n); // ok
 * ```
 */
export function checkVirtAddr(value: unknown, levels: PagingLevels = 4, what = 'virtual address'): VirtAddr {
  const v = checkU64(value, what);
  if (virtTruncate(v, levels) !== v) {
    throw new AddressError(
      'ADDR_NON_CANONICAL',
      `${what} ${hex(v)} is not canonical for ${virtBits(levels)}-bit addresses (bits ${virtBits(levels) - 1}..63 must be equal)`,
      { what, value: v, levels },
    );
  }
  return v;
}

function checkVirtAlign(align: unknown): bigint {
  const a = typeof align === 'number' && Number.isSafeInteger(align) ? BigInt(align) : align;
  if (typeof a !== 'bigint' || a <= 0n || (a & (a - 1n)) !== 0n || a > 1n << 63n) {
    throw new AddressError('ADDR_BAD_ALIGNMENT', `alignment must be a power of two, got ${describe(align)}`, { value: align });
  }
  return a;
}

/**
 * True when `addr` is a multiple of `align` (a power of two, number or bigint).
 *
 * @example
 * ```ts
 * import { isVirtAligned } from 'memprims';
 * isVirtAligned(0xffffffff80200000n, 0x200000);  // true
 * isVirtAligned(0xffffffff80201000n, 0x200000n); // false
 * ```
 */
export function isVirtAligned(addr: VirtAddr, align: number | bigint): boolean {
  const a = checkVirtAlign(align);
  return (checkU64(addr, 'address') & (a - 1n)) === 0n;
}

/**
 * Rounds `addr` down to a multiple of `align`; the result is canonical when `addr` is.
 *
 * @example
 * ```ts
 * import { virtAlignDown } from 'memprims';
 * virtAlignDown(0xffffffff80201234n, 0x1000); // 0xffffffff80201000n
 * ```
 */
export function virtAlignDown(addr: VirtAddr, align: number | bigint): VirtAddr {
  const a = checkVirtAlign(align);
  return checkU64(addr, 'address') & ~(a - 1n) & U64_MASK;
}

/**
 * Rounds `addr` up to a multiple of `align`. Throws `ADDR_OVERFLOW` past 2^64 and
 * `ADDR_NON_CANONICAL` when the result leaves the canonical half `addr` was in.
 *
 * @example
 * ```ts
 * import { virtAlignUp } from 'memprims';
 * virtAlignUp(0xffffffff80201234n, 0x200000); // 0xffffffff80400000n
 * virtAlignUp(0x00007ffffffff001n, 0x1000);   // throws AddressError ADDR_NON_CANONICAL
 * ```
 */
export function virtAlignUp(addr: VirtAddr, align: number | bigint, levels: PagingLevels = 4): VirtAddr {
  const a = checkVirtAlign(align);
  const v = checkU64(addr, 'address');
  const up = (v + a - 1n) & ~(a - 1n);
  if (up > U64_MASK) throw new AddressError('ADDR_OVERFLOW', `aligning ${hex(v)} up to ${hex(a)} passes 2^64`, { value: v, align: a });
  return checkVirtAddr(up, levels, 'aligned address');
}

/**
 * Adds a byte offset to a virtual address; the result must be canonical.
 *
 * @example
 * ```ts
 * import { virtAdd } from 'memprims';
 * virtAdd(0xffffffff80000000n, 0x1000); // 0xffffffff80001000n
 * virtAdd(0x00007ffffffff000n, 0x1000); // throws AddressError ADDR_NON_CANONICAL
 * ```
 */
export function virtAdd(addr: VirtAddr, offset: number | bigint, levels: PagingLevels = 4): VirtAddr {
  const v = checkU64(addr, 'address');
  const r = v + BigInt(offset);
  if (r < 0n || r > U64_MASK) throw new AddressError('ADDR_OVERFLOW', `${hex(v)} + ${hex(BigInt(offset))} leaves 64 bits`, { value: v, offset });
  return checkVirtAddr(r, levels, 'result');
}

/**
 * Constructors in the manner of the Rust x86_64 crate's `VirtAddr`.
 *
 * @example
 * ```ts
 * import { VirtAddr } from 'memprims';
 * VirtAddr.new(0xffffffff80000000n);     // validated
 * VirtAddr.try(0x0000800000000000n);     // null: not canonical
 * VirtAddr.truncate(0x0000800000000000n); // 0xffff800000000000n
 * ```
 */
export const VirtAddr = Object.freeze({
  /** Validates and returns a canonical address; throws {@link AddressError} otherwise. */
  new: (value: bigint, levels: PagingLevels = 4): VirtAddr => checkVirtAddr(value, levels),
  /** Returns the address when canonical, otherwise null. */
  try: (value: bigint, levels: PagingLevels = 4): VirtAddr | null => (isCanonical(value, levels) ? value : null),
  /** Sign-extends bit 47 (or 56) over the upper bits, whatever they held. */
  truncate: (value: bigint, levels: PagingLevels = 4): VirtAddr => virtTruncate(value, levels),
  /** Converts a JavaScript signed bigint (e.g. `-0x80000000n`) to the unsigned 64-bit form. */
  fromSigned: (value: bigint, levels: PagingLevels = 4): VirtAddr => checkVirtAddr(BigInt.asUintN(64, value), levels),
  /** The signed interpretation of an address, handy for printing offsets. */
  toSigned: (value: VirtAddr): bigint => BigInt.asIntN(64, checkU64(value, 'address')),
});
