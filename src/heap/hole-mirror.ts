/**
 * A compact copy of the hole list for 'list' mode on a raw window: the same holes, in the same
 * (address) order, as nodes of a dense `Int32Array` pool outside heap memory. The crate's walks
 * (first fit, the free's search for its predecessor) run over this pool, one hop being one load
 * from a few KiB that stay in L1, instead of a load from the hole's header somewhere in the heap
 * plus the address-to-index arithmetic. It is still the crate's algorithm: a linear walk of the
 * list from the first hole; only the layout of the nodes it walks differs. Heap memory is still
 * written exactly as the crate does (by `window-list.ts` / `HoleList`); this pool is updated
 * beside it and `LinkedListHeap.check()` compares the two.
 *
 * Node layout at pool index `j` (a multiple of {@link STRIDE}, used as is: no scaling per hop):
 * `j` size in bytes, `j+1` index of the next node (-1: last), `j+2` the hole's word index in the
 * window (byte offset from the heap bottom >> 2), `j+3` unused (keeps nodes 16-byte aligned).
 * Unused nodes form a stack linked through their `j+1` field.
 *
 * @module
 */
import type { NodeMemory } from './node-memory.js';
import { placeInHole } from './placement.js';
import { MERGED_NEXT, MERGED_PREV } from './window-list.js';

/** Int32 fields per node. */
const STRIDE = 4;

/** The hole list as a linked list of pool nodes (see the module comment). */
export class HoleMirror {
  /** The nodes; replaced by a larger copy when full. */
  pool = new Int32Array(64 * STRIDE);
  /** Index of the first hole's node, -1 for an empty list. */
  head = -1;
  /** Top of the stack of unused nodes, -1 when every node is in use. */
  private spare = -1;
  /** Nodes ever handed out (the pool's high-water mark). */
  private used = 0;
  /** The node before the last search's result (-1: the result is the first hole). */
  prev = -1;
  /** Where {@link HoleMirror.findFitAligned} places the block (byte offset). */
  block = -1;

  /** A copy of the list of `mem` from the hole at `head` (-1: none), at most `max` holes. */
  static copyOf(mem: NodeMemory, head: number, max: number): HoleMirror {
    const mirror = new HoleMirror();
    let last = -1;
    for (let h = head, k = 0; h >= 0 && k < max; h = mem.next(h), k++) {
      mirror.insertAfter(last, h >> 2, mem.size(h));
      last = last < 0 ? mirror.head : mirror.pool[last + 1];
    }
    return mirror;
  }

  /** A node for hole `w` (word index) of `size` bytes, linked to `next`. */
  private take(w: number, size: number, next: number): number {
    let j = this.spare;
    if (j >= 0) {
      this.spare = this.pool[j + 1];
    } else {
      j = this.used * STRIDE;
      if (j === this.pool.length) {
        const bigger = new Int32Array(2 * this.pool.length);
        bigger.set(this.pool);
        this.pool = bigger;
      }
      this.used++;
    }
    const n = this.pool;
    n[j] = size;
    n[j + 1] = next;
    n[j + 2] = w;
    return j;
  }

  /**
   * First fit for `adj` bytes with `align <= 8` (no front padding: holes are 8-aligned): the
   * node of the first hole that takes the block by the crate's rules, its predecessor in
   * {@link HoleMirror.prev}; -1 when none does.
   */
  findFit(adj: number): number {
    const n = this.pool;
    const adj16 = adj + 16;
    let j = this.head;
    let pj = -1;
    while (j >= 0) {
      const hs = n[j];
      // exact fit, or a back remainder of at least one node (1..15 bytes left skip the hole)
      if (hs >= adj && (hs === adj || hs >= adj16)) break;
      pj = j;
      j = n[j + 1];
    }
    this.prev = pj;
    return j;
  }

  /**
   * First fit for `adj` bytes aligned to `align` (any power of two), `bottom` being the heap's
   * absolute address: the node of the first hole that takes the block, its predecessor in
   * {@link HoleMirror.prev} and the block's offset in {@link HoleMirror.block}; -1 when none does.
   */
  findFitAligned(adj: number, align: number, bottom: number): number {
    const n = this.pool;
    let pj = -1;
    for (let j = this.head; j >= 0; pj = j, j = n[j + 1]) {
      const at = placeInHole(bottom + n[j + 2] * 4, n[j], adj, align);
      if (at >= 0) {
        this.prev = pj;
        this.block = at - bottom;
        return j;
      }
    }
    return -1;
  }

  /**
   * After the crate took the block `[a, a + adj)` (byte offsets) out of the hole of node `j`,
   * found by the last search: a front padding keeps the node (with its new size) and the back
   * remainder, if any, follows it; without front padding the remainder takes the node's place,
   * or the node goes.
   */
  allocated(j: number, a: number, adj: number): void {
    const n = this.pool;
    const h = n[j + 2] * 4;
    const b = a + adj;
    const rest = h + n[j] - b;
    if (a === h) {
      if (rest === 0) this.removeAfter(this.prev);
      else {
        n[j] = rest;
        n[j + 2] = b >> 2;
      }
    } else {
      n[j] = a - h;
      if (rest !== 0) this.insertAfter(j, b >> 2, rest);
    }
  }

  /**
   * After the crate's free linked `[p, …)` in after hole C (node `cj`), with `linkAfter`'s
   * `flags`; `ys` is the size of the resulting node (C's when merged with it, else p's).
   */
  freed(cj: number, flags: number, p: number, ys: number): void {
    const n = this.pool;
    if ((flags & MERGED_PREV) !== 0) {
      // p went into C; the hole after C went too
      n[cj] = ys;
      if ((flags & MERGED_NEXT) !== 0) this.removeAfter(cj);
    } else if ((flags & MERGED_NEXT) !== 0) {
      // the hole after C now starts at p
      const k = n[cj + 1];
      n[k] = ys;
      n[k + 2] = p >> 2;
    } else {
      this.insertAfter(cj, p >> 2, ys);
    }
  }

  /**
   * The node of the last hole at or before word `pw`, which must not lie below the first hole;
   * its predecessor is not tracked.
   */
  findAtOrBefore(pw: number): number {
    const n = this.pool;
    let c = this.head;
    for (;;) {
      const k = n[c + 1];
      if (k < 0 || pw < n[k + 2]) return c;
      c = k;
    }
  }

  /** Inserts hole `w` of `size` bytes after node `c` (-1: as the first hole). */
  insertAfter(c: number, w: number, size: number): void {
    if (c < 0) this.head = this.take(w, size, this.head);
    else {
      const j = this.take(w, size, this.pool[c + 1]);
      // (after take: it may have replaced the pool)
      this.pool[c + 1] = j;
    }
  }

  /** Removes the node after `c` (-1: the first hole), which must exist. */
  removeAfter(c: number): void {
    const n = this.pool;
    const j = c < 0 ? this.head : n[c + 1];
    if (c < 0) this.head = n[j + 1];
    else n[c + 1] = n[j + 1];
    n[j + 1] = this.spare;
    this.spare = j;
  }

  /** All holes as `[byte offset, size]` pairs in list order (stops after as many as nodes exist). */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    const n = this.pool;
    for (let j = this.head; j >= 0 && out.length <= this.used; j = n[j + 1]) out.push([n[j + 2] * 4, n[j]]);
    return out;
  }
}
