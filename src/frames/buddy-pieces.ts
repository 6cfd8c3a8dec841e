/**
 * Which buddy blocks a call covers: the order of a request, and a frame range as the largest
 * aligned blocks (see buddy.ts's module comment for what `allocateAt` / `free` / `reserve`
 * cover).
 *
 * @module
 */

/** A block of 2^k frames at frame `f`. */
export interface Piece {
  f: number;
  k: number;
}

/** Order of a request of `count` frames (ceil log2). */
export function orderOf(count: number): number {
  if (count <= 1) return 0;
  return count <= 0x80000000 ? 32 - Math.clz32(count - 1) : Math.ceil(Math.log2(count) - 1e-12); // clz32: no Math.log2 call
}

/** Frames `[start, end)` as the largest aligned blocks of at most 2^maxOrder frames, lowest first. */
export function alignedPieces(start: number, end: number, maxOrder: number): Piece[] {
  const out: Piece[] = [];
  let at = start;
  while (at < end) {
    let j = 0;
    while (j < maxOrder && at % 2 ** (j + 1) === 0 && at + 2 ** (j + 1) <= end) j++;
    out.push({ f: at, k: j });
    at += 2 ** j;
  }
  return out;
}

/**
 * The blocks a call at frame `s` for `count` frames covers: one block of the rounded-up order
 * when `s` is aligned to it (and the order is at most maxOrder), else `[s, s + count)` as
 * {@link alignedPieces}.
 */
export function callPieces(s: number, count: number, maxOrder: number): Piece[] {
  const k = orderOf(count);
  if (k <= maxOrder && s - Math.floor(s / (1 << k)) * (1 << k) === 0) return [{ f: s, k }]; // no float % (a C library call)
  return alignedPieces(s, s + count, maxOrder);
}
