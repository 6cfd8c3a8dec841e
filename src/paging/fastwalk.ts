/**
 * The translate hot path: the CPU's walk over table words in one typed array (a view of the
 * memory region holding the root), on 32-bit words, no BigInt arithmetic. The builder falls
 * back to the general walk (walk.ts) when this one cannot decide.
 *
 * @module
 */
import { ADDR_HI, ADDR_LO_4K, P, PS } from './entry.js';

const S64 = new BigUint64Array(1);
const S32 = new Uint32Array(S64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO_WORD = LITTLE_ENDIAN ? 0 : 1;
const HI_WORD = LITTLE_ENDIAN ? 1 : 0;
/** Mask of the in-page offset bits of the low address word, by leaf level. */
const LEAF_OFFSET = [0, 0xfff, 0x1fffff, 0x3fffffff];

/** The leaf entry of the last successful {@link walkRegion}. */
export const found = { lo: 0, hi: 0, level: 1 };

/**
 * Walks `virt` through tables in `words` (the region at `base`, `size` bytes) from `root`.
 * Returns the physical address (leaf words in {@link found}), -1 when not mapped, -2 when
 * the caller must decide on the slow path (no region view, an address that is not a
 * canonical bigint, or a table outside the region).
 */
export function walkRegion(words: Uint32Array | null, base: number, size: number, root: number, levels: number, virt: bigint): number {
  if (words === null || typeof virt !== 'bigint') return -2;
  S64[0] = virt;
  if (S64[0] !== virt) return -2;
  const vlo = S32[LO_WORD];
  const vhi = S32[HI_WORD];
  const top = levels === 4 ? vhi >>> 15 : vhi >>> 24;
  if (top !== 0 && top !== (levels === 4 ? 0x1ffff : 0xff)) return -2;
  let table = root - base;
  for (let level = levels; level >= 1; level--) {
    if (table < 0 || table >= size) return -2;
    const idx = level === 1 ? vlo >>> 12 : level === 2 ? vlo >>> 21 : level === 3 ? (vlo >>> 30) | (vhi << 2) : level === 4 ? vhi >>> 7 : vhi >>> 16;
    const k = (table >>> 2) + ((idx & 511) << 1);
    const lo = words[k];
    if (!(lo & P)) return -1;
    const hi = words[k + 1];
    if (level === 1 || (lo & PS && level <= 3)) {
      found.lo = lo;
      found.hi = hi;
      found.level = level;
      return ((lo & ~LEAF_OFFSET[level] & ADDR_LO_4K) >>> 0) + (hi & ADDR_HI) * 0x100000000 + (vlo & LEAF_OFFSET[level]);
    }
    if (lo & PS) return -1; // reserved in a PML4E/PML5E: the CPU faults
    table = ((lo & ADDR_LO_4K) >>> 0) + (hi & ADDR_HI) * 0x100000000 - base;
  }
  return -1;
}
