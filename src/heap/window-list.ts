/**
 * The node writes of an allocation without front padding and of a free after the first hole
 * (both modes), on a raw `Int32Array` window over the heap: word indices, the hole nodes' raw
 * 32-bit words, no method call, object or BigInt. (The walks that find the hole run on the
 * index or, in 'list' mode, on the mirror of `hole-mirror.ts`.) The memory writes are exactly those
 * of `HoleList`'s generic path (see ../shared/spec/linked-list-heap.md §5, §6); the rare cases
 * (front padding, an empty list, a free below the first hole, the top fix) stay there.
 *
 * Word layout of a node at byte offset `o` (word `w = o >> 2`): `w` size low, `w+1` size high
 * (always 0: the window is below 2 GiB), `w+2` next low, `w+3` next high; next = 0 ends the list.
 *
 * @module
 */

/** The window and the heap bottom's address words, as `HoleList` keeps them. */
export interface Window {
  /** The heap's bytes `[bottom, bottom + length)` as little-endian 32-bit words. */
  readonly i32: Int32Array;
  /** Low 32 bits of the bottom address, as int32. */
  readonly lo: number;
  /** Low 32 bits of the bottom address, unsigned. */
  readonly loU: number;
  /** High 32 bits of the bottom address. */
  readonly hi: number;
}

/** Stores the absolute address of byte offset `off` into the next field at word `w + 2`. */
function storeNext(win: Window, w: number, off: number): void {
  const i32 = win.i32;
  const lo = win.loU + off;
  i32[w + 2] = lo | 0;
  i32[w + 3] = lo > 0xffffffff ? win.hi + 1 : win.hi;
}

/**
 * Takes the block `[h, h + adj)` (no front padding) out of the hole at word `wi` (size `hs`),
 * whose previous hole is at word `pw` (-1: the dummy head). Returns the new first-hole offset
 * when the head changes, else -2.
 */
export function takeFront(win: Window, pw: number, wi: number, hs: number, adj: number): number {
  const i32 = win.i32;
  const nlo = i32[wi + 2];
  const nhi = i32[wi + 3];
  i32[wi + 2] = 0;
  i32[wi + 3] = 0;
  const rest = hs - adj;
  let link: number;
  if (rest === 0) {
    // P.next <- H's old next (raw words); stale {hs, 0} stays inside the block
    if (pw < 0) {
      return nlo === 0 && nhi === 0 ? -1 : (nlo - win.lo) | 0;
    }
    i32[pw + 2] = nlo;
    i32[pw + 3] = nhi;
    return -2;
  }
  const bw = wi + (adj >> 2);
  i32[bw] = rest;
  i32[bw + 1] = 0;
  i32[bw + 2] = nlo;
  i32[bw + 3] = nhi;
  link = bw << 2;
  if (pw < 0) return link;
  storeNext(win, pw, link);
  return -2;
}

/** What {@link linkAfter} did: the freed node was merged into C. */
export const MERGED_PREV = 1;
/** What {@link linkAfter} did: the hole after C was absorbed. */
export const MERGED_NEXT = 2;
/** What {@link linkAfter} did: the resulting node ends the list (the top fix applies to it). */
export const LAST = 4;

/**
 * The crate's free of `[p, p + s)` after hole C at word `cw` (the last hole at or before p):
 * checks that the block overlaps neither C nor the hole after it (returns `-1 - offset` of that
 * hole, with nothing written, when it does), links the node in and runs the two merge steps.
 * Returns {@link MERGED_PREV} | {@link MERGED_NEXT} | {@link LAST} flags; the size of the
 * resulting node (C when merged with it, else p) is then in its size word.
 */
export function linkAfter(win: Window, cw: number, p: number, s: number): number {
  const i32 = win.i32;
  const cs = i32[cw];
  const c = cw << 2;
  if (p < c + cs) return -1 - c;
  const nlo = i32[cw + 2];
  const nhi = i32[cw + 3];
  const last = nlo === 0 && nhi === 0;
  const nw = last ? -1 : (nlo - win.lo) >> 2;
  if (!last && p + s > nw << 2) return -1 - (nw << 2);
  const pw = p >> 2;
  // the node {s, C.next} at p; C.next <- p
  i32[pw] = s;
  i32[pw + 1] = 0;
  i32[pw + 2] = nlo;
  i32[pw + 3] = nhi;
  storeNext(win, cw, p);
  // merge step 1, at C
  let flags = 0;
  let yw = pw;
  let ys = s;
  if (c + cs === p) {
    i32[pw + 2] = 0;
    i32[pw + 3] = 0;
    i32[cw + 2] = nlo;
    i32[cw + 3] = nhi;
    ys = cs + s;
    i32[cw] = ys;
    yw = cw;
    flags = MERGED_PREV;
  }
  // merge step 2, at Y
  if (last) return flags | LAST;
  if ((yw << 2) + ys === nw << 2) {
    const nsz = i32[nw];
    const nnlo = i32[nw + 2];
    const nnhi = i32[nw + 3];
    i32[nw + 2] = 0;
    i32[nw + 3] = 0;
    i32[yw + 2] = nnlo;
    i32[yw + 3] = nnhi;
    i32[yw] = ys + nsz;
    flags |= MERGED_NEXT;
  }
  return flags;
}
