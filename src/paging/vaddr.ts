/**
 * Virtual addresses for the paging hot paths: a canonical bigint is split into a page
 * number (a plain number: at most 2^45 for 57-bit addresses, exact in a double) and an
 * offset, without BigInt arithmetic (one store into a BigUint64Array and two word reads).
 *
 * @module
 */
import { checkVirtAddr, type PagingLevels } from '../addr/virt.js';
import { describe } from '../errors.js';
import { AddressError } from '../errors.js';

const scratch64 = new BigUint64Array(1);
const scratch32 = new Uint32Array(scratch64.buffer);
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO = LITTLE ? 0 : 1;
const HI = LITTLE ? 1 : 0;

/** Page number and offset of the last address split by {@link splitVirt}. */
export const split = { vpn: 0, offset: 0, hi: 0, lo: 0 };

/**
 * Splits a canonical virtual address into `split.vpn` (page number within the 48/57-bit
 * space, sign bits dropped) and `split.offset`; returns false when `virt` is not a
 * canonical 64-bit bigint (the caller throws via {@link throwBadVirt}).
 */
export function splitVirt(virt: bigint, levels: PagingLevels): boolean {
  if (typeof virt !== 'bigint' || BigInt.asUintN(64, virt) !== virt) return false; // (no BigInt allocated)
  scratch64[0] = virt;
  const hi = scratch32[HI];
  const lo = scratch32[LO];
  if (levels === 4) {
    const top = hi >>> 15;
    if (top !== 0 && top !== 0x1ffff) return false;
    split.vpn = (hi & 0xffff) * 0x100000 + (lo >>> 12);
  } else {
    const top = hi >>> 24;
    if (top !== 0 && top !== 0xff) return false;
    split.vpn = (hi & 0x1ffffff) * 0x100000 + (lo >>> 12);
  }
  split.offset = lo & 0xfff;
  split.hi = hi;
  split.lo = lo;
  return true;
}

/** Throws the typed error for an address {@link splitVirt} refused. */
export function throwBadVirt(virt: unknown, levels: PagingLevels, what: string): never {
  checkVirtAddr(virt, levels, what);
  throw new AddressError('ADDR_NON_CANONICAL', `${what} ${describe(virt)} is not canonical`, { what, value: virt });
}

/** Validates `virt` and returns its page number; `offset` must be 0 unless `allowOffset`. */
export function virtToPage(virt: unknown, levels: PagingLevels, what = 'virtual address'): number {
  if (!splitVirt(virt as bigint, levels)) throwBadVirt(virt, levels, what);
  return split.vpn;
}

/** Pages in the whole 48/57-bit space: 2^36 or 2^45. */
export function pageSpace(levels: PagingLevels): number {
  return levels === 4 ? 2 ** 36 : 2 ** 45;
}

/** The canonical bigint address of page number `vpn` (plus `offset`), without BigInt arithmetic. */
export function pageToVirt(vpn: number, levels: PagingLevels, offset = 0): bigint {
  let hi = Math.floor(vpn / 0x100000);
  const lo = ((vpn - hi * 0x100000) * 4096 + offset) >>> 0;
  if (levels === 4) {
    if (hi & 0x8000) hi = (hi | 0xffff0000) >>> 0;
  } else if (hi & 0x1000000) {
    hi = (hi | 0xfe000000) >>> 0;
  }
  scratch32[LO] = lo;
  scratch32[HI] = hi;
  return scratch64[0];
}

/** `x mod m` for non-negative integers below 2^53 without the slow double `%`. */
export function mod(x: number, m: number): number {
  return x - Math.floor(x / m) * m;
}

/** Index into the table at `level` (1..5) for page number `vpn`. */
export function indexAt(vpn: number, level: number): number {
  return mod(Math.floor(vpn / 512 ** (level - 1)), 512);
}

/** Index at `level` from the address words of the last {@link splitVirt} (int32 ops only). */
export function indexOfSplit(level: number): number {
  const hi = split.hi;
  const lo = split.lo;
  switch (level) {
    case 1:
      return (lo >>> 12) & 511;
    case 2:
      return (lo >>> 21) & 511;
    case 3:
      return ((lo >>> 30) | (hi << 2)) & 511;
    case 4:
      return (hi >>> 7) & 511;
    default:
      return (hi >>> 16) & 511;
  }
}
