/**
 * The buddy allocator's list algorithms over {@link BuddyNodes}: adding free ranges at
 * construction, split on allocate (any block, or one meeting alignment and address
 * constraints), the free block holding a frame (for allocateAt and reserve), coalescing on free,
 * and the list walk behind `check()`.
 *
 * @module
 */
import { hex } from '../errors.js';
import { BuddyNodes, MASK, NODE_MAGIC } from './buddy-nodes.js';
import { lowBit } from './util.js';

export { type BuddyLayout } from './buddy-nodes.js';

/** 2^j for j = 0..31, without Math.pow on the hot paths. */
const POW2: readonly number[] = Array.from({ length: 32 }, (_, j) => 2 ** j);
// The hot paths' constants as a const enum (see bitmap-sync.ts): inlined as literals.
const enum L {
  FRAME_SIZE = 4096,
  /** buddy-nodes.ts's mask word of non-empty lists. */
  MASK = 32 + 80,
}
if (L.MASK !== MASK) throw new Error('memprims: buddy-lists.ts constants disagree with buddy-nodes.ts');
const lowestBit = lowBit;

/** A free block or window, for stats and checks. */
export interface FreeBlock {
  start: number;
  end: number;
  order: number;
  window: boolean;
}

/** Free lists, tags and windows of one buddy state (callers hold the lock). */
export class BuddyLists extends BuddyNodes {
  // ---- construction --------------------------------------------------------------------

  /** Adds free frames [s, e) (ranges arrive in ascending order): edge blocks on lists, the aligned middle as a window. */
  addFreeRange(s: number, e: number): void {
    const M = this.M;
    const a = Math.ceil(s / M) * M;
    const z = Math.floor(e / M) * M;
    if (a >= z) {
      this.pushSpan(s, e);
      return;
    }
    this.pushSpan(s, a);
    const n = this.winCount();
    if (n > 0 && this.winEnd(n - 1) === a) this.setWin(n - 1, this.winStart(n - 1), z);
    else this.insertWin(n, a, z);
    this.pushSpan(z, e);
  }
  private pushSpan(s: number, e: number): void {
    while (s < e) {
      let j = 0;
      while (j < this.max && s - Math.floor(s / POW2[j + 1]) * POW2[j + 1] === 0 && s + POW2[j + 1] <= e) j++;
      this.push(s, j);
      s += POW2[j];
    }
  }

  // ---- allocation ----------------------------------------------------------------------

  /** Takes any block of order k (splitting a larger one); returns its frame or -1. */
  takeAny(k: number): number {
    let m = this.hdr[L.MASK] & ~((1 << k) - 1);
    if (m === 0) {
      if (this.winCount() === 0) return -1;
      this.carveWindowBlock(0, this.winStart(0));
      m = this.hdr[L.MASK] & ~((1 << k) - 1);
    }
    let j = lowestBit(m);
    const f = this.head(j);
    this.remove(f, j);
    while (j > k) {
      j--;
      this.push(f + POW2[j], j);
    }
    return f;
  }

  /** Splits the free block (h, j) down to the block (p, k) inside it, which is taken. */
  private carveFrom(h: number, j: number, p: number, k: number): void {
    this.remove(h, j);
    while (j > k) {
      j--;
      const half = POW2[j];
      if (p >= h + half) {
        this.push(h, j);
        h += half;
      } else this.push(h + half, j);
    }
  }

  /** Takes a block of order k starting at a multiple of `align` frames, >= minF, ending <= maxEnd; -1 if none. */
  takeConstrained(k: number, align: number, minF: number, maxEnd: number): number {
    const size = POW2[k];
    for (let j = k; j <= this.max; j++) {
      for (let h = this.head(j); h >= 0; h = this.next(h)) {
        const p = Math.ceil(Math.max(h, minF) / align) * align;
        if (p + size <= h + POW2[j] && p + size <= maxEnd) {
          this.carveFrom(h, j, p, k);
          return p;
        }
      }
    }
    const n = this.winCount();
    for (let i = 0; i < n; i++) {
      const s = this.winStart(i);
      const e = this.winEnd(i);
      if (s >= maxEnd) break;
      const p = Math.ceil(Math.max(s, minF) / align) * align;
      if (p + size <= e && p + size <= maxEnd) {
        const b = Math.floor(p / this.M) * this.M;
        this.carveWindowBlock(i, b);
        this.carveFrom(b, this.max, p, k);
        return p;
      }
    }
    return -1;
  }

  /** Head frame of the free block holding f, f itself when a window holds it, or -1. */
  containing(f: number): number {
    const max = this.max;
    const meta = this.meta;
    const rel = f - this.base;
    if (meta !== null && rel >= 0 && rel < 0x7fffffff && f < this.tagEnd) {
      // the same search on int32 frame offsets: for each order j the candidate head is rel
      // rounded down to 2^j, whose tag bit is one load (the base is 2^maxOrder aligned)
      const r = rel | 0;
      const to = this.tagOffI;
      for (let k = 0; k <= max; k++) {
        const hr = (r >>> k) << k;
        if ((meta[to + (hr >> 5)] >>> (hr & 31)) & 1) { // (>> keeps the index an int32; hr >= 0)
          const h = this.base + hr;
          if (h + POW2[this.order(h)] > f) return h;
        }
      }
      return this.winCount() !== 0 && this.findWindow(f) >= 0 ? f : -1;
    }
    let j = 0;
    if (f >= this.base && f < this.tagEnd) {
      // orders 0..5: the candidate heads share f's tag word (the base is 2^maxOrder aligned)
      const w = Math.floor(rel / 32);
      const bit = rel - w * 32;
      const word = meta !== null ? meta[this.tagOff + w] : this.ws.get(this.tagOff + w);
      const lim = max < 5 ? max : 5;
      if (word !== 0) {
        for (; j <= lim; j++) {
          const hb = bit & -POW2[j]; // bit < 32: int arithmetic (a float % is a C library call)
          if ((word >>> hb) & 1) {
            const h = f - (bit - hb);
            if (h + POW2[this.order(h)] > f) return h;
          }
        }
      }
      j = lim + 1;
    }
    for (; j <= max; j++) {
      const h = Math.floor(f / POW2[j]) * POW2[j]; // f rounded down to 2^j (exact; no float %)
      if (this.tag(h) && h + POW2[this.order(h)] > f) return h;
    }
    return this.winCount() !== 0 && this.findWindow(f) >= 0 ? f : -1;
  }

  /** True when every frame of the aligned block (p, k) is free. */
  pieceFree(p: number, k: number): boolean {
    if (this.findWindow(p) >= 0) return true;
    const h = this.containing(p);
    if (h >= 0 && h + POW2[this.order(h)] >= p + POW2[k]) return true;
    if (k === 0) return false;
    return this.pieceFree(p, k - 1) && this.pieceFree(p + POW2[k - 1], k - 1);
  }

  /** Takes the aligned block (p, k), all free (see pieceFree). */
  carvePiece(p: number, k: number): void {
    const w = this.findWindow(p);
    if (w >= 0) this.carveWindowBlock(w, Math.floor(p / this.M) * this.M);
    const h = this.containing(p);
    const o = this.order(h);
    if (h + POW2[o] >= p + POW2[k]) this.carveFrom(h, o, p, k);
    else {
      this.carvePiece(p, k - 1);
      this.carvePiece(p + POW2[k - 1], k - 1);
    }
  }

  /** Returns the taken block (f, k) to the lists, merging with free buddies. */
  release(f: number, k: number): void {
    const max = this.max;
    while (k < max) {
      const size = POW2[k];
      const pair = POW2[k + 1];
      // the buddy follows f when f is aligned to twice the size (no float modulo: see lo32 in buddy-nodes.ts)
      const b = f - Math.floor(f / pair) * pair === 0 ? f + size : f - size;
      if (!this.tag(b) || this.order(b) !== k) break;
      this.remove(b, k);
      if (b < f) f = b;
      k++;
    }
    this.push(f, k);
  }

  // ---- inspection ----------------------------------------------------------------------

  /** Every free block and window, sorted by address. */
  allFreeBlocks(): FreeBlock[] {
    const out: FreeBlock[] = [];
    for (let j = 0; j <= this.max; j++) for (let h = this.head(j); h >= 0; h = this.next(h)) out.push({ start: h, end: h + 2 ** j, order: j, window: false });
    const n = this.winCount();
    for (let i = 0; i < n; i++) out.push({ start: this.winStart(i), end: this.winEnd(i), order: this.max, window: true });
    return out.sort((a, b) => a.start - b.start);
  }

  /** Walks every list and window, verifying nodes, tags, counts and disjointness; returns the free frames. */
  checkLists(managed: (s: number, e: number) => boolean, reserved: (s: number, e: number) => boolean, corrupt: (m: string) => never): number {
    let total = 0;
    let mask = 0;
    const heads = new Map<number, number>();
    const all: FreeBlock[] = [];
    for (let j = 0; j <= this.max; j++) {
      const expected = this.count(j);
      let n = 0;
      let prev = -1;
      for (let h = this.head(j); h >= 0; h = this.next(h)) {
        const at = `free block ${hex(h * L.FRAME_SIZE)} on list ${j}`;
        if (++n > expected) corrupt(`list ${j} holds more than its count ${expected} of blocks (a cycle?)`);
        if (this.words.get(h * L.FRAME_SIZE + 20) !== NODE_MAGIC) corrupt(`${at} has no node magic`);
        if (this.order(h) !== j) corrupt(`${at} says order ${this.order(h)}`);
        if (this.prev(h) !== prev) corrupt(`${at} has a wrong back link`);
        if (!this.tag(h)) corrupt(`${at} is not tagged`);
        if (h % 2 ** j !== 0) corrupt(`${at} is not aligned to its size`);
        if (!managed(h, h + 2 ** j)) corrupt(`${at} is not inside usable memory`);
        if (reserved(h, h + 2 ** j)) corrupt(`${at} overlaps a reservation`);
        heads.set(h, j);
        all.push({ start: h, end: h + 2 ** j, order: j, window: false });
        total += 2 ** j;
        prev = h;
      }
      if (n !== expected) corrupt(`list ${j} holds ${n} blocks but its count is ${expected}`);
      if (n > 0) mask |= 1 << j;
    }
    if (mask >>> 0 !== this.hdr[L.MASK]) corrupt(`non-empty order mask ${hex(this.hdr[L.MASK])} should be ${hex(mask >>> 0)}`);
    const nw = this.winCount();
    if (nw > this.hdr[this.L.winCapWord]) corrupt('window table overflows its capacity');
    for (let i = 0; i < nw; i++) {
      const s = this.winStart(i);
      const e = this.winEnd(i);
      if (!(e > s) || s % this.M !== 0 || e % this.M !== 0) corrupt(`window ${i} [${hex(s * L.FRAME_SIZE)}, ${hex(e * L.FRAME_SIZE)}) is empty or not max-order aligned`);
      if (!managed(s, e)) corrupt(`window ${i} is not inside usable memory`);
      if (reserved(s, e)) corrupt(`window ${i} overlaps a reservation`);
      all.push({ start: s, end: e, order: this.max, window: true });
      total += e - s;
    }
    all.sort((a, b) => a.start - b.start);
    for (let i = 1; i < all.length; i++) {
      if (all[i].start < all[i - 1].end) corrupt(`free blocks at ${hex(all[i - 1].start * L.FRAME_SIZE)} and ${hex(all[i].start * L.FRAME_SIZE)} overlap`);
    }
    for (const [h, j] of heads) {
      if (j === this.max) continue;
      const size = 2 ** j;
      const b = Math.floor(h / size) % 2 === 0 ? h + size : h - size;
      if (heads.get(b) === j) corrupt(`free buddies ${hex(h * L.FRAME_SIZE)} and ${hex(b * L.FRAME_SIZE)} of order ${j} were not merged`);
    }
    return total;
  }
}
