/**
 * A compact copy of the hole list for 'list' mode on a raw window: the same holes, in the same
 * (address) order, outside heap memory, as an unrolled linked list: chunks of up to 30
 * consecutive `(size, word)` pairs in one `Int32Array`. The crate's walks (first fit, the free's
 * search for its predecessor) visit every hole from the first one as the crate does, O(holes),
 * but step to the next pair of a chunk without a dependent load (one load per chunk instead of
 * one per hole, and no address arithmetic). Heap memory is still written exactly as the crate
 * does (by `window-list.ts` / `HoleList`); this copy is updated beside it (an insertion or
 * removal moves at most the 30 pairs of one chunk) and `LinkedListHeap.check()` compares them.
 *
 * Layout: a chunk is `CHUNK` (64) int32s at a multiple of `CHUNK`: `c` pairs used, `c+1`
 * next chunk (-1: last), `c+2` previous chunk (-1: first), `c+3` unused, then the pairs from
 * `c+4`. A hole's position `j` is the index of its pair: `j` size in bytes, `j+1` word index in
 * the window (byte offset from the heap bottom >> 2); its chunk is `j & -CHUNK`. No chunk in
 * the list is empty; unused chunks form a stack linked through their `c+1` field.
 *
 * @module
 */
import type { NodeMemory } from './node-memory.js';
import { placeInHole } from './placement.js';
import { MERGED_NEXT, MERGED_PREV } from './window-list.js';

/** Int32s per chunk (a power of two). */
const CHUNK = 64;
/** Pairs per chunk. */
const CAP = (CHUNK - 4) >> 1;
/** Pairs a split leaves in the first half. */
const HALF = CAP >> 1;

/** The hole list as an unrolled linked list of pairs (see the module comment). */
export class HoleMirror {
  /** The chunks; replaced by a larger copy when full. */
  pool = new Int32Array(4 * CHUNK);
  /** The first chunk, -1 for an empty list. */
  private first = -1;
  /** Top of the stack of unused chunks, -1 when none. */
  private spare = -1;
  /** Chunks ever handed out (the pool's high-water mark). */
  private chunks = 0;
  /** The hole before the last search's result (-1: the result is the first hole). */
  prev = -1;
  /** Where {@link HoleMirror.findFitAligned} places the block (byte offset). */
  block = -1;

  /** A copy of the list of `mem` from the hole at `head` (-1: none), at most `max` holes. */
  static copyOf(mem: NodeMemory, head: number, max: number): HoleMirror {
    const mirror = new HoleMirror();
    let last = -1;
    for (let h = head, k = 0; h >= 0 && k < max; h = mem.next(h), k++) {
      last = mirror.insertAfter(last, h >> 2, mem.size(h));
    }
    return mirror;
  }

  /**
   * First fit for `adj` bytes with `align <= 8` (no front padding: holes are 8-aligned): the
   * hole that takes the block by the crate's rules, its predecessor in {@link HoleMirror.prev};
   * -1 when none does.
   */
  findFit(adj: number): number {
    const n = this.pool;
    const adj16 = adj + 16;
    let pj = -1;
    for (let c = this.first; c >= 0; c = n[c + 1]) {
      const end = c + 4 + 2 * n[c];
      for (let j = c + 4; j < end; j += 2) {
        const hs = n[j];
        // exact fit, or a back remainder of at least one node (1..15 bytes left skip the hole)
        if (hs >= adj && (hs === adj || hs >= adj16)) {
          this.prev = pj;
          return j;
        }
        pj = j;
      }
    }
    return -1;
  }

  /**
   * First fit for `adj` bytes aligned to `align` (any power of two), `bottom` being the heap's
   * absolute address: the hole that takes the block, its predecessor in {@link HoleMirror.prev}
   * and the block's offset in {@link HoleMirror.block}; -1 when none does.
   */
  findFitAligned(adj: number, align: number, bottom: number): number {
    const n = this.pool;
    let pj = -1;
    for (let c = this.first; c >= 0; c = n[c + 1]) {
      const end = c + 4 + 2 * n[c];
      for (let j = c + 4; j < end; j += 2) {
        const at = placeInHole(bottom + n[j + 1] * 4, n[j], adj, align);
        if (at >= 0) {
          this.prev = pj;
          this.block = at - bottom;
          return j;
        }
        pj = j;
      }
    }
    return -1;
  }

  /** The last hole at or before word `pw`, which must not lie below the first hole. */
  findAtOrBefore(pw: number): number {
    const n = this.pool;
    let last = -1;
    for (let c = this.first; c >= 0; c = n[c + 1]) {
      const end = c + 4 + 2 * n[c];
      for (let j = c + 4; j < end; j += 2) {
        if (n[j + 1] > pw) return last;
        last = j;
      }
    }
    return last;
  }

  /** The hole after `j` (-1: the first hole), or -1 when `j` is the last. */
  nextOf(j: number): number {
    const n = this.pool;
    if (j < 0) return this.first < 0 ? -1 : this.first + 4;
    const c = j & -CHUNK;
    if (j + 2 < c + 4 + 2 * n[c]) return j + 2;
    const d = n[c + 1];
    return d < 0 ? -1 : d + 4;
  }

  /** After the crate took `adj` bytes from the front of hole `j`: the rest keeps its place, or the hole goes. */
  tookFront(j: number, adj: number): void {
    const n = this.pool;
    const rest = n[j] - adj;
    if (rest === 0) this.removeAt(j);
    else {
      n[j] = rest;
      n[j + 1] += adj >> 2;
    }
  }

  /**
   * After the crate took the block `[a, a + adj)` (byte offsets) out of hole `j`, found by the
   * last search: a front padding keeps the hole (with its new size) and the back remainder, if
   * any, follows it; without front padding the remainder takes the hole's place, or it goes.
   */
  allocated(j: number, a: number, adj: number): void {
    const n = this.pool;
    const h = n[j + 1] * 4;
    const b = a + adj;
    const rest = h + n[j] - b;
    if (a === h) {
      if (rest === 0) this.removeAt(j);
      else {
        n[j] = rest;
        n[j + 1] = b >> 2;
      }
    } else {
      n[j] = a - h;
      if (rest !== 0) this.insertAfter(j, b >> 2, rest);
    }
  }

  /**
   * After the crate's free linked `[p, …)` in after hole C (position `cj`), with `linkAfter`'s
   * `flags`; `ys` is the size of the resulting node (C's when merged with it, else p's).
   */
  freed(cj: number, flags: number, p: number, ys: number): void {
    const n = this.pool;
    if ((flags & MERGED_PREV) !== 0) {
      // p went into C; the hole after C went too
      n[cj] = ys;
      if ((flags & MERGED_NEXT) !== 0) this.removeAt(this.nextOf(cj));
    } else if ((flags & MERGED_NEXT) !== 0) {
      // the hole after C now starts at p
      const k = this.nextOf(cj);
      n[k] = ys;
      n[k + 1] = p >> 2;
    } else {
      this.insertAfter(cj, p >> 2, ys);
    }
  }

  /** The first hole becomes hole `w` of `size` bytes (the list must not be empty). */
  setFirst(w: number, size: number): void {
    const j = this.first + 4;
    this.pool[j] = size;
    this.pool[j + 1] = w;
  }

  /** Removes the hole after `j` (-1: the first hole), which must exist. */
  removeAfter(j: number): void {
    this.removeAt(this.nextOf(j));
  }

  /** Removes hole `j`; an emptied chunk leaves the list. */
  private removeAt(j: number): void {
    const n = this.pool;
    const c = j & -CHUNK;
    const count = n[c] - 1;
    const end = c + 4 + 2 * count;
    for (let i = j; i < end; i++) n[i] = n[i + 2];
    n[c] = count;
    if (count > 0) return;
    const prev = n[c + 2];
    const next = n[c + 1];
    if (prev < 0) this.first = next;
    else n[prev + 1] = next;
    if (next >= 0) n[next + 2] = prev;
    n[c + 1] = this.spare;
    this.spare = c;
  }

  /**
   * Inserts hole `w` of `size` bytes after hole `j` (-1: as the first hole) and returns its
   * position. A full chunk is split first: its upper half moves to a new chunk after it.
   */
  insertAfter(j: number, w: number, size: number): number {
    let c: number;
    let at: number;
    if (j >= 0) {
      c = j & -CHUNK;
      at = j + 2;
    } else {
      if (this.first < 0) this.first = this.newChunk(-1, -1);
      c = this.first;
      at = c + 4;
    }
    let n = this.pool;
    if (n[c] === CAP) {
      const d = this.newChunk(c, n[c + 1]);
      n = this.pool;
      const mid = c + 4 + 2 * HALF;
      for (let i = 0; i < 2 * (CAP - HALF); i++) n[d + 4 + i] = n[mid + i];
      n[c] = HALF;
      n[d] = CAP - HALF;
      if (at > mid) {
        at += d - c - 2 * HALF;
        c = d;
      }
    }
    const end = c + 4 + 2 * n[c];
    for (let i = end + 1; i > at + 1; i--) n[i] = n[i - 2];
    n[at] = size;
    n[at + 1] = w;
    n[c]++;
    return at;
  }

  /** An empty chunk linked between `prev` and `next` (-1: none). */
  private newChunk(prev: number, next: number): number {
    let d = this.spare;
    if (d >= 0) this.spare = this.pool[d + 1];
    else {
      d = this.chunks * CHUNK;
      if (d === this.pool.length) {
        const bigger = new Int32Array(2 * this.pool.length);
        bigger.set(this.pool);
        this.pool = bigger;
      }
      this.chunks++;
    }
    const n = this.pool;
    n[d] = 0;
    n[d + 1] = next;
    n[d + 2] = prev;
    if (next >= 0) n[next + 2] = d;
    if (prev >= 0) n[prev + 1] = d;
    return d;
  }

  /** All holes as `[byte offset, size]` pairs in list order (at most as many as fit the pool). */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    const n = this.pool;
    for (let c = this.first, k = 0; c >= 0 && k <= this.chunks; c = n[c + 1], k++) {
      for (let j = c + 4; j < c + 4 + 2 * n[c]; j += 2) out.push([n[j + 1] * 4, n[j]]);
    }
    return out;
  }
}
