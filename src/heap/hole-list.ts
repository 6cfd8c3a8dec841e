/**
 * The crate's free-list algorithm (linked_list_allocator 0.10.5 `HoleList`), operating on hole
 * nodes in heap memory: first-fit allocation, the sorted free with its merges and the
 * top/bottom fixes, and extend. Owns the heap state that is not in memory (`head`, `bottom`,
 * `end`, `pending`, `used`). Positions are byte offsets from `bottom` (the stored `next`
 * pointers stay absolute addresses). In 'indexed' mode a {@link HoleIndex} finds the hole (and
 * its neighbours) instead of a list walk; the memory writes are the same in both modes. On a raw
 * window (one buffer, the usual case) the common writes run on 32-bit words in `window-list.ts`,
 * and 'list' mode walks a {@link HoleMirror} (a compact copy of the list) instead of the nodes in
 * memory; the general path here works on any {@link NodeMemory}.
 * Arguments are trusted here: validation lives in the `LinkedListHeap` facade.
 *
 * @module
 */
import { hex } from '../errors.js';
import { HeapUsageError } from './errors.js';
import { HoleIndex } from './hole-index.js';
import { HoleMirror } from './hole-mirror.js';
import { WindowNodeMemory, type NodeMemory } from './node-memory.js';
import { MIN_HOLE, placeInHole } from './placement.js';
import { LAST, linkAfter, MERGED_NEXT, MERGED_PREV, takeFront, type Window } from './window-list.js';

/** Heap state and algorithm; see the module comment. */
export class HoleList {
  private memory!: NodeMemory;
  /** `memory` when it is a raw window (the common writes then run on 32-bit word indices). */
  private win: Window | null = null;
  /** First usable byte (8-aligned absolute address). */
  readonly bottom: number;
  /** Offset of the end of the usable heap (the crate's `top - bottom`, without pending bytes). */
  end: number;
  /** Bytes owned past the usable end that are not usable yet (0..15). */
  pending: number;
  /** Sum of the adjusted sizes of live blocks. */
  used = 0;
  /** Offset of the first hole (the dummy head's `next`), -1 for none. */
  head = -1;
  /** The index of 'indexed' mode, or null in 'list' mode. */
  readonly index: HoleIndex | null;
  /** 'list' mode on a raw window: the copy of the hole list that the walks run on; else null. */
  mirror: HoleMirror | null = null;

  /** `Heap::init` on an already aligned `bottom` with `usable >= 16` bytes. */
  constructor(mem: NodeMemory, bottom: number, usable: number, pending: number, indexed: boolean) {
    this.index = indexed ? new HoleIndex() : null;
    this.bottom = bottom;
    this.end = usable;
    this.pending = pending;
    this.mem = mem;
    mem.setNode(0, usable, -1);
    this.head = 0;
    this.index?.reset([0], [usable]);
    this.mirror?.insertAfter(-1, 0, usable);
  }

  /** Node access to heap memory (a raw window when possible). */
  get mem(): NodeMemory {
    return this.memory;
  }

  set mem(mem: NodeMemory) {
    this.memory = mem;
    this.win =
      mem instanceof WindowNodeMemory
        ? { i32: mem.i32, lo: mem.bottomLoSigned, loU: mem.bottomLo, hi: mem.bottomHi }
        : null;
    // (at init, or when an extension turns the memory into one window: copy the list once)
    if (this.win === null || this.index !== null) this.mirror = null;
    else if (this.mirror === null) this.mirror = HoleMirror.copyOf(mem, this.head, this.end / MIN_HOLE);
  }

  /** `allocate_first_fit` with an adjusted size: the block's offset, or -1 (nothing written). */
  allocate(adj: number, align: number): number {
    const head = this.head;
    if (head < 0) return -1;
    if (this.index !== null) return this.allocateIndexed(this.index, adj, align);
    const mirror = this.mirror;
    if (mirror !== null) {
      if (align > 8) return this.allocateAligned(mirror, adj, align);
      // 'list' mode on a window: first fit on the mirror, the crate's writes on the window
      const j = mirror.findFit(adj);
      if (j < 0) return -1;
      const n = mirror.pool;
      const pj = mirror.prev;
      const wi = n[j + 1];
      const first = takeFront(this.win!, pj < 0 ? -1 : n[pj + 1], wi, n[j], adj);
      if (first !== -2) this.head = first;
      mirror.tookFront(j, adj);
      this.used += adj;
      return wi << 2;
    }
    return this.allocateWalk(adj, align);
  }

  /** 'list' mode on a window, `align > 8` (rare): first fit on the mirror, the writes of `split`. */
  private allocateAligned(mirror: HoleMirror, adj: number, align: number): number {
    const j = mirror.findFitAligned(adj, align, this.bottom);
    if (j < 0) return -1;
    const n = mirror.pool;
    const pj = mirror.prev;
    const nj = mirror.nextOf(j);
    const a = mirror.block;
    this.split(pj < 0 ? -1 : n[pj + 1] << 2, n[j + 1] << 2, n[j], nj < 0 ? -1 : n[nj + 1] << 2, a, adj);
    mirror.allocated(j, a, adj);
    return a;
  }

  /** 'indexed' mode: the index finds the hole and its neighbours. */
  private allocateIndexed(index: HoleIndex, adj: number, align: number): number {
    const a = index.findFit(adj, align, this.bottom);
    if (a < 0) return -1;
    const c = index.ci;
    const k = index.j;
    const h = index.address(c, k);
    const hs = index.size(c, k);
    const win = this.win;
    if (win !== null && a === h) {
      // no front padding: the same writes as the list walk's common case
      const prev = index.prevAddress(c, k);
      const first = takeFront(win, prev < 0 ? -1 : prev >> 2, h >> 2, hs, adj);
      if (first !== -2) this.head = first;
      if (hs === adj) index.removeAt(c, k);
      else index.setEntry(c, k, h + adj, hs - adj);
      this.used += adj;
      return a;
    }
    this.split(index.prevAddress(c, k), h, hs, index.nextAddress(c, k), a, adj);
    return a;
  }

  /** 'list' mode, the general walk (any alignment, any node memory). */
  private allocateWalk(adj: number, align: number): number {
    const mem = this.memory;
    let prev = -1;
    let h = this.head;
    let hs = 0;
    let a = -1;
    while (h >= 0) {
      hs = mem.size(h);
      if (hs >= adj) {
        if (align <= 8) {
          if (hs === adj || hs >= adj + MIN_HOLE) {
            a = h;
            break;
          }
        } else {
          a = placeInHole(this.bottom + h, hs, adj, align);
          if (a >= 0) {
            a -= this.bottom;
            break;
          }
        }
      }
      prev = h;
      h = mem.next(h);
    }
    if (a < 0) return -1;
    this.split(prev, h, hs, mem.next(h), a, adj);
    return a;
  }

  /** Takes block `[a, a + adj)` out of hole `h` (size `hs`, neighbours `prev`/`next` or -1). */
  private split(prev: number, h: number, hs: number, next: number, a: number, adj: number): void {
    const mem = this.memory;
    mem.setNext(h, -1);
    const front = a - h;
    const b = a + adj;
    const rest = h + hs - b;
    let link: number;
    if (front === 0) {
      if (rest === 0) link = next;
      else {
        mem.setNode(b, rest, next);
        link = b;
      }
    } else {
      if (rest === 0) mem.setNode(h, front, next);
      else {
        mem.setNode(b, rest, next);
        mem.setNode(h, front, b);
      }
      link = h;
    }
    if (prev < 0) this.head = link;
    else mem.setNext(prev, link);
    const index = this.index;
    if (index !== null) {
      const c = index.ci;
      const k = index.j;
      if (front === 0) {
        if (rest === 0) index.removeAt(c, k);
        else index.setEntry(c, k, b, rest);
      } else {
        index.setSize(c, k, front);
        if (rest !== 0) index.insertAfter(c, k, b, rest);
      }
    }
    this.used += adj;
  }

  /**
   * The crate's `HoleList::deallocate` for block `[p, p + s)` (offsets, `s` already adjusted);
   * `used` is not touched. Throws `HEAP_FREE_OVERLAPS_HOLE`, before writing anything, when the
   * block overlaps a neighbouring hole (where the crate would panic or corrupt itself).
   */
  free(p: number, s: number): void {
    const head = this.head;
    if (head < 0 || p < head) {
      this.freeFront(p, s);
      return;
    }
    const index = this.index;
    const win = this.win;
    const mirror = this.mirror;
    if (win !== null && (index !== null || mirror !== null)) {
      // C: the last hole at or before p, from the index or by walking the mirror
      let cw: number;
      let cj = -1;
      if (index !== null) {
        index.findAtOrBefore(p);
        cw = index.address(index.ci, index.j) >> 2;
      } else {
        cj = mirror!.findAtOrBefore(p >> 2);
        cw = mirror!.pool[cj + 1];
      }
      const flags = linkAfter(win, cw, p, s);
      if (flags < 0) this.overlap(p, s, -1 - flags);
      const y = (flags & MERGED_PREV) !== 0 ? cw << 2 : p;
      let ys = win.i32[y >> 2];
      if ((flags & LAST) !== 0) ys = this.topFix(y, ys);
      if (index !== null) this.linkInIndex(index, flags, p, ys);
      else mirror!.freed(cj, flags, p, ys);
      return;
    }
    let c = head;
    if (index !== null) {
      index.findAtOrBefore(p);
      c = index.address(index.ci, index.j);
    }
    const mem = this.memory;
    let nx = mem.next(c);
    while (nx >= 0 && p >= nx) {
      c = nx;
      nx = mem.next(c);
    }
    this.link(c, mem.size(c), nx, p, s);
  }

  /** Index update after a free linked at the index position `ci`/`j` (C). */
  private linkInIndex(index: HoleIndex, flags: number, p: number, ys: number): void {
    const ci = index.ci;
    const j = index.j;
    if ((flags & MERGED_PREV) !== 0) {
      index.setSize(ci, j, ys);
      if ((flags & MERGED_NEXT) !== 0) index.removeNext(ci, j);
    } else if ((flags & MERGED_NEXT) !== 0) {
      index.setNextEntry(ci, j, p, ys);
    } else {
      index.insertAfter(ci, j, p, ys);
    }
  }

  /** The free when the list is empty or `p` lies below the first hole. */
  private freeFront(p: number, s: number): void {
    const mem = this.memory;
    const index = this.index;
    const head = this.head;
    if (head < 0) {
      mem.setNode(p, s, -1);
      let n = p;
      let ns = s;
      if (p < MIN_HOLE) {
        // bottom fix: the node moves down to the bottom
        ns = s + p;
        n = 0;
        mem.setNode(n, ns, -1);
      }
      ns = this.topFix(n, ns);
      this.head = n;
      index?.reset([n], [ns]);
      this.mirror?.insertAfter(-1, n >> 2, ns);
      return;
    }
    if (p < head) {
      if (p + s > head) this.overlap(p, s, head);
      mem.setNode(p, s, -1);
      let n = p;
      let ns = s;
      if (p < MIN_HOLE) {
        ns = s + p;
        n = 0;
        mem.setNode(n, ns, -1);
      }
      this.head = n;
      mem.setNext(n, head);
      if (n + ns === head) {
        // merge once with the old first hole
        const hsz = index !== null ? index.size(0, 0) : mem.size(head);
        const hnext = index !== null ? index.nextAddress(0, 0) : mem.next(head);
        mem.setNext(head, -1);
        mem.setNext(n, hnext);
        mem.setSize(n, ns + hsz);
        index?.setEntry(0, 0, n, ns + hsz);
        this.mirror?.setFirst(n >> 2, ns + hsz);
      } else {
        index?.insertFirst(n, ns);
        this.mirror?.insertAfter(-1, n >> 2, ns);
      }
      return;
    }
  }

  /**
   * Links the freed node `[p, p + s)` in after hole `c` (size `cs`, next hole `nx` or -1) and
   * runs the crate's two merge steps; throws with nothing written when the block overlaps.
   */
  private link(c: number, cs: number, nx: number, p: number, s: number): void {
    const mem = this.memory;
    const index = this.index;
    if (p < c + cs) this.overlap(p, s, c);
    if (nx >= 0 && p + s > nx) this.overlap(p, s, nx);
    mem.setNode(p, s, nx);
    mem.setNext(c, p);
    // merge step 1, at C
    let y: number;
    let ys: number;
    const mergedPrev = c + cs === p;
    if (mergedPrev) {
      mem.setNext(p, -1);
      mem.setNext(c, nx);
      ys = cs + s;
      mem.setSize(c, ys);
      y = c;
    } else {
      y = p;
      ys = s;
    }
    // merge step 2, at Y
    let mergedNext = false;
    if (nx < 0) {
      ys = this.topFix(y, ys);
    } else if (y + ys === nx) {
      const nsz = index !== null ? index.nextSize(index.ci, index.j) : mem.size(nx);
      const nn = index !== null ? index.nextNextAddress(index.ci, index.j) : mem.next(nx);
      mem.setNext(nx, -1);
      mem.setNext(y, nn);
      ys += nsz;
      mem.setSize(y, ys);
      mergedNext = true;
    }
    if (index !== null) this.linkInIndex(index, (mergedPrev ? MERGED_PREV : 0) | (mergedNext ? MERGED_NEXT : 0), p, ys);
  }

  /** Number of holes and the largest hole size (from the index, or a walk of the list). */
  summary(): { holes: number; largest: number } {
    if (this.index !== null) return { holes: this.index.count, largest: this.index.largest() };
    const mem = this.memory;
    let holes = 0;
    let largest = 0;
    for (let h = this.head; h >= 0; h = mem.next(h)) {
      const size = mem.size(h);
      if (size > largest) largest = size;
      holes++;
    }
    return { holes, largest };
  }

  /** `Heap::extend(by)`; the caller has made `mem` cover the bytes that become usable. */
  extend(by: number): void {
    const e = this.pending + by;
    if (e < MIN_HOLE) {
      this.pending = e;
      return;
    }
    const k = e - (e % 8);
    const t = this.end;
    this.free(t, k);
    this.end = t + k;
    this.pending = e - k;
  }

  /** The crate's defensive top fix: a hole ending less than a node short of the top grows to it. */
  private topFix(y: number, ys: number): number {
    const e = y + ys;
    const top = this.end;
    if (e < top && Math.ceil(e / 8) * 8 + MIN_HOLE > top) {
      ys += top - e;
      this.memory.setSize(y, ys);
    }
    return ys;
  }

  private overlap(p: number, s: number, hole: number): never {
    const b = this.bottom;
    throw new HeapUsageError(
      'HEAP_FREE_OVERLAPS_HOLE',
      `freed block [${hex(b + p)}, ${hex(b + p + s)}) overlaps the free hole at ${hex(b + hole)} (a double free or a bad pointer)`,
      { address: b + p, size: s, hole: b + hole },
    );
  }
}
