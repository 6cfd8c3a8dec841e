/**
 * Physical addresses: plain numbers, integers in [0, 2^52) — the architectural
 * MAXPHYADDR limit of x86-64. Every value below 2^53 is exact in a double, so the
 * arithmetic here never rounds.
 *
 * @module
 */
import { AddressError, describe, hex } from '../errors.js';

/** A physical address: an integer `0 <= a < 2^52`. */
export type PhysAddr = number;

/**
 * Exclusive upper bound of physical addresses (2^52, the x86-64 MAXPHYADDR limit).
 *
 * @example
 * ```ts
 * import { isPhysAddr, PHYS_ADDR_LIMIT } from 'memprims';
 * PHYS_ADDR_LIMIT;                  // 4503599627370496 (2^52)
 * isPhysAddr(PHYS_ADDR_LIMIT - 1);  // true
 * isPhysAddr(PHYS_ADDR_LIMIT);      // false
 * ```
 */
export const PHYS_ADDR_LIMIT = 2 ** 52;

/**
 * Size of a 4 KiB page/frame.
 *
 * @example
 * ```ts
 * import { PAGE_SIZE, physAlignUp } from 'memprims';
 * PAGE_SIZE;                        // 4096
 * physAlignUp(10_000, PAGE_SIZE);   // 12288: three pages
 * ```
 */
export const PAGE_SIZE = 4096;

/**
 * True when `value` is an integer physical address `0 <= value < 2^52`.
 *
 * @example
 * ```ts
 * import { isPhysAddr } from 'memprims';
 * isPhysAddr(0x1000);  // true
 * isPhysAddr(-1);      // false
 * isPhysAddr(1.5);     // false
 * isPhysAddr(2 ** 52); // false
 * ```
 */
export function isPhysAddr(value: unknown): value is PhysAddr {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < PHYS_ADDR_LIMIT;
}

/**
 * Validates a physical address and returns it, or throws an {@link AddressError}
 * (`ADDR_NOT_INTEGER`, `ADDR_NEGATIVE`, `ADDR_OUT_OF_RANGE`).
 *
 * @param what - a name for the value in the error message, e.g. `'physicalStart'`.
 * @param limit - exclusive bound; by default 2^52. Pass `PHYS_ADDR_LIMIT + 1` to accept an
 *   end address equal to 2^52.
 * @example
 * ```ts
 * import { checkPhysAddr } from 'memprims';
 * checkPhysAddr(0x100000); // 1048576
 * ```
 */
export function checkPhysAddr(value: unknown, what = 'physical address', limit = PHYS_ADDR_LIMIT): PhysAddr {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new AddressError('ADDR_NOT_INTEGER', `${what} must be an integer number, got ${describe(value)}`, { what, value });
  }
  if (value < 0) throw new AddressError('ADDR_NEGATIVE', `${what} must not be negative, got ${hex(value)}`, { what, value });
  if (value >= limit) {
    throw new AddressError('ADDR_OUT_OF_RANGE', `${what} ${hex(value)} is not below ${hex(limit)}`, { what, value, limit });
  }
  return value;
}

/**
 * Validates that `align` is a power of two number (1, 2, 4, … up to 2^51).
 *
 * @example
 * ```ts
 * import { checkAlign } from 'memprims';
 * checkAlign(4096); // 4096
 * checkAlign(3);    // throws AddressError ADDR_BAD_ALIGNMENT
 * ```
 */
export function checkAlign(align: unknown, what = 'alignment'): number {
  if (typeof align !== 'number' || !Number.isInteger(align) || align <= 0 || align > 2 ** 51 || !isPowerOfTwo(align)) {
    throw new AddressError('ADDR_BAD_ALIGNMENT', `${what} must be a power of two, got ${describe(align)}`, { what, value: align });
  }
  return align;
}

/**
 * True when `n` is a positive integer power of two (exact for every safe integer).
 *
 * @example
 * ```ts
 * import { isPowerOfTwo } from 'memprims';
 * isPowerOfTwo(4096);    // true
 * isPowerOfTwo(12);      // false
 * isPowerOfTwo(2 ** 51); // true
 * ```
 */
export function isPowerOfTwo(n: number): boolean {
  if (!Number.isInteger(n) || n <= 0) return false;
  if (n <= 0x40000000) return (n & (n - 1)) === 0;
  return Number.isInteger(Math.log2(n)) && 2 ** Math.log2(n) === n;
}

/**
 * True when physical address `addr` is a multiple of `align` (a power of two).
 *
 * @example
 * ```ts
 * import { isPhysAligned } from 'memprims';
 * isPhysAligned(0x200000, 0x200000); // true
 * isPhysAligned(0x201000, 0x200000); // false
 * ```
 */
export function isPhysAligned(addr: PhysAddr, align: number): boolean {
  checkPhysAddr(addr, 'address', PHYS_ADDR_LIMIT + 1);
  checkAlign(align);
  return addr % align === 0;
}

/**
 * Rounds `addr` down to a multiple of `align` (a power of two).
 *
 * @example
 * ```ts
 * import { physAlignDown } from 'memprims';
 * physAlignDown(0x1234, 0x1000); // 0x1000
 * ```
 */
export function physAlignDown(addr: PhysAddr, align: number): PhysAddr {
  checkPhysAddr(addr, 'address', PHYS_ADDR_LIMIT + 1);
  checkAlign(align);
  return addr - (addr % align);
}

/**
 * Rounds `addr` up to a multiple of `align` (a power of two). The result may equal 2^52
 * (an exclusive end); beyond that it is an `ADDR_OVERFLOW` error.
 *
 * @example
 * ```ts
 * import { physAlignUp } from 'memprims';
 * physAlignUp(0x1234, 0x1000); // 0x2000
 * physAlignUp(0x2000, 0x1000); // 0x2000 (already aligned)
 * ```
 */
export function physAlignUp(addr: PhysAddr, align: number): PhysAddr {
  checkPhysAddr(addr, 'address', PHYS_ADDR_LIMIT + 1);
  checkAlign(align);
  const rem = addr % align;
  const up = rem === 0 ? addr : addr + (align - rem);
  if (up > PHYS_ADDR_LIMIT) {
    throw new AddressError('ADDR_OVERFLOW', `aligning ${hex(addr)} up to ${hex(align)} passes 2^52`, { value: addr, align });
  }
  return up;
}

/** A half-open physical range `[start, end)`; `end` may equal 2^52. */
export interface PhysRange {
  readonly start: PhysAddr;
  readonly end: PhysAddr;
}

/**
 * Validates a half-open range (`start <= end <= 2^52`, integers) and returns a fresh copy.
 *
 * @example
 * ```ts
 * import { checkPhysRange } from 'memprims';
 * checkPhysRange({ start: 0x1000, end: 0x3000 }); // { start: 0x1000, end: 0x3000 }
 * checkPhysRange({ start: 0x3000, end: 0x1000 }); // throws AddressError ADDR_BAD_RANGE
 * ```
 */
export function checkPhysRange(range: unknown, what = 'range'): PhysRange {
  if (typeof range !== 'object' || range === null) {
    throw new AddressError('ADDR_BAD_RANGE', `${what} must be an object { start, end }, got ${describe(range)}`, { what });
  }
  const r = range as { start?: unknown; end?: unknown };
  const start = checkPhysAddr(r.start, `${what}.start`);
  const end = checkPhysAddr(r.end, `${what}.end`, PHYS_ADDR_LIMIT + 1);
  if (end < start) {
    throw new AddressError('ADDR_BAD_RANGE', `${what} ends (${hex(end)}) before it starts (${hex(start)})`, { what, start, end });
  }
  return { start, end };
}

/**
 * Sorts ranges, drops empty ones and merges overlapping or touching ones into a new array
 * of disjoint ranges in address order.
 *
 * @example
 * ```ts
 * import { normalizeRanges } from 'memprims';
 * normalizeRanges([
 *   { start: 0x3000, end: 0x4000 },
 *   { start: 0, end: 0x1000 },
 *   { start: 0x1000, end: 0x2000 }, // touches the one before: merged
 *   { start: 0x5000, end: 0x5000 }, // empty: dropped
 * ]); // [{ start: 0, end: 0x2000 }, { start: 0x3000, end: 0x4000 }]
 * ```
 */
export function normalizeRanges(ranges: readonly PhysRange[]): PhysRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).map((r) => ({ start: r.start, end: r.end }));
  sorted.sort((a, b) => a.start - b.start || a.end - b.end);
  const out: { start: number; end: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/**
 * Removes the parts of `ranges` covered by `holes`; both are normalized first.
 *
 * @example
 * ```ts
 * import { subtractRanges } from 'memprims';
 * subtractRanges([{ start: 0, end: 0x10000 }], [{ start: 0x2000, end: 0x3000 }, { start: 0x8000, end: 0x20000 }]);
 * // [{ start: 0, end: 0x2000 }, { start: 0x3000, end: 0x8000 }]
 * ```
 */
export function subtractRanges(ranges: readonly PhysRange[], holes: readonly PhysRange[]): PhysRange[] {
  const base = normalizeRanges(ranges);
  const cut = normalizeRanges(holes);
  const out: PhysRange[] = [];
  let j = 0;
  for (const r of base) {
    let start = r.start;
    while (j < cut.length && cut[j].end <= start) j++;
    let k = j;
    while (k < cut.length && cut[k].start < r.end) {
      if (cut[k].start > start) out.push({ start, end: cut[k].start });
      start = Math.max(start, cut[k].end);
      k++;
    }
    if (start < r.end) out.push({ start, end: r.end });
  }
  return out;
}
