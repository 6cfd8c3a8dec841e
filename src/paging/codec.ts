/**
 * Public, BigInt-based encoding and decoding of single entries (for tools and tests; the
 * builder's hot paths use the 32-bit word functions in entry.ts).
 *
 * @module
 */
import { describe } from '../errors.js';
import { decodeFlags, encodeFlags, entryAddress, leafFlagsHi, leafFlagsLo, leafLo, P, PS, type PageFlags, type PageFlagsInput } from './entry.js';
import { PagingError } from './errors.js';

/** A decoded entry. */
export interface DecodedEntry {
  readonly present: boolean;
  /** True for a 4 KiB PTE, or a PDE/PDPTE with PS set. */
  readonly leaf: boolean;
  /** Frame (leaf) or next-table address. */
  readonly address: number;
  /** Leaf flags (for a table pointer: its W/U/NX/… bits read the same way, PAT false). */
  readonly flags: PageFlags;
}

function checkLevel(level: unknown): number {
  if (level !== 1 && level !== 2 && level !== 3 && level !== 4 && level !== 5) {
    throw new PagingError('PAGING_BAD_OPTIONS', `level must be 1 (PTE) .. 5 (PML5E), got ${describe(level)}`, { level });
  }
  return level;
}

/**
 * Decodes a raw 64-bit entry found at `level` (1 = PTE … 5 = PML5E).
 *
 * @example
 * ```ts
 * import { decodeEntry } from 'memprims';
 * decodeEntry(0x8000000000200083n, 2); // 2 MiB leaf at 0x200000, writable, no-execute
 * ```
 */
export function decodeEntry(raw: bigint, level: number): DecodedEntry {
  checkLevel(level);
  if (typeof raw !== 'bigint' || raw < 0n || raw > 0xffffffffffffffffn) throw new PagingError('PAGING_BAD_OPTIONS', `entry must be a u64 bigint, got ${describe(raw)}`, {});
  const lo = Number(raw & 0xffffffffn);
  const hi = Number(raw >> 32n);
  const leaf = level === 1 || (level <= 3 && (lo & PS) !== 0);
  return {
    present: (lo & P) !== 0,
    leaf,
    address: entryAddress(lo, hi, level, leaf),
    flags: decodeFlags(leaf ? leafFlagsLo(lo, level) : leafFlagsLo(lo & ~PS, 1), leafFlagsHi(hi)),
  };
}

/**
 * Encodes a present leaf entry for `level` 1 (4 KiB), 2 (2 MiB) or 3 (1 GiB): PS and the
 * PAT bit position follow the level.
 *
 * @example
 * ```ts
 * import { encodeEntry } from 'memprims';
 * encodeEntry({ phys: 0x200000, level: 2, flags: { writable: true, noExecute: true } }); // 0x8000000000200083n
 * ```
 */
export function encodeEntry(options: { phys: number; level: 1 | 2 | 3; flags?: PageFlagsInput }): bigint {
  const level = checkLevel(options?.level);
  if (level > 3) throw new PagingError('PAGING_BAD_OPTIONS', 'leaf entries exist at levels 1..3 only', { level });
  const align = level === 1 ? 0x1000 : level === 2 ? 0x200000 : 0x40000000;
  const phys = options.phys;
  if (typeof phys !== 'number' || !Number.isSafeInteger(phys) || phys < 0 || phys >= 2 ** 52 || phys % align !== 0) {
    throw new PagingError('PAGING_MISALIGNED', `phys must be a ${align}-aligned address below 2^52, got ${describe(phys)}`, { phys });
  }
  const f = encodeFlags(options.flags);
  const lo = (leafLo(f.lo, level) | (phys % 0x100000000)) >>> 0;
  const hi = (f.hi | Math.floor(phys / 0x100000000)) >>> 0;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
