/**
 * The buddy allocator's machinery: intrusive doubly linked free lists whose nodes live in
 * the first 24 bytes of each free block, the per-frame tag bitmap, the window table of
 * uncut max-order spans, split/coalesce, and the list walk behind `check()`.
 * Frame numbers may exceed 2^32, so they are handled with arithmetic, never bit operators.
 *
 * @module
 */
import { hex } from '../errors.js';
import { H_KIND_AREA } from './meta.js';
import { FRAME_SIZE as TYPES_FRAME_SIZE } from './types.js';
import { lowBit } from './util.js';
import type { MemoryWords, WordStore } from './words.js';

/** Magic word of a free-block node: 'BDDY'. */
const MAGIC = 0x59444442;
export const NODE_MAGIC = MAGIC;

const TWO32 = 2 ** 32;
/** 2^j for j = 0..31, without Math.pow on the hot paths. */
const POW2: readonly number[] = Array.from({ length: 32 }, (_, j) => 2 ** j);
// Imports copied into module-local constants: V8 folds those, where it loads an imported
// binding from its module cell (with a check) on every use.
const FRAME_SIZE = 4096;
if (FRAME_SIZE !== TYPES_FRAME_SIZE) throw new Error('buddy-lists: frame size out of date');
const lowestBit = lowBit;

/**
 * Low 32 bits of a non-negative integer below 2^53. `v % 2^32` on a double is a call to the
 * C library's fmod (tens of ns); this is a compare, or a division, a floor and a subtraction.
 */
function lo32(v: number): number {
  return v < TWO32 ? v : v - Math.floor(v / TWO32) * TWO32;
}
const HEADS = H_KIND_AREA;
const COUNTS = H_KIND_AREA + 40;
const MASK = H_KIND_AREA + 80;

/** Where the buddy's pieces live. */
export interface BuddyLayout {
  hdr: Uint32Array;
  ws: WordStore;
  maxOrder: number;
  baseFrame: number;
  winCountWord: number;
  winCapWord: number;
  /** Word offsets inside the metadata window. */
  winOff: number;
  tagOff: number;
}

/** A free block or window, for stats and checks. */
export interface FreeBlock {
  start: number;
  end: number;
  order: number;
  window: boolean;
}

/** Free lists, tags and windows of one buddy state (callers hold the lock). */
export class BuddyLists {
  private readonly hdr: Uint32Array;
  private readonly ws: WordStore;
  private readonly max: number;
  private readonly M: number;
  private readonly base: number;
  private readonly tagEnd: number;
  private readonly tagOff: number;
  /** The metadata window as one array when it lies in one buffer, else null. */
  private readonly meta: Uint32Array | null;
  /** {@link tagOff} as an int32 field when {@link meta} is set (V8 then adds it as an integer, not a double). */
  private readonly tagOffI: number;
  /**
   * The frames `[fwLo, fwHi)` as one array of words (frame fwLo's first word = index 0), for
   * the nodes kept in free frames: the largest plain buffer region, else null. Frames outside
   * it go through {@link MemoryWords}.
   */
  private readonly fw: Uint32Array | null;
  private readonly fwLo: number;
  private readonly fwHi: number;

  constructor(
    private readonly L: BuddyLayout,
    private readonly words: MemoryWords,
  ) {
    this.hdr = L.hdr;
    this.ws = L.ws;
    this.max = L.maxOrder;
    this.M = 2 ** L.maxOrder;
    this.base = L.baseFrame;
    this.tagEnd = L.baseFrame + (L.ws.bytes / 4 - L.tagOff) * 32;
    this.tagOff = L.tagOff;
    this.meta = L.ws.all;
    this.tagOffI = this.meta !== null ? L.tagOff | 0 : 0;
    let best: { buffer: ArrayBufferLike; byteOffset: number; base: number; size: number } | null = null;
    for (const r of words.memory.regions()) {
      if (r.lazy || r.buffer === null || r.base % FRAME_SIZE !== 0 || r.byteOffset % 4 !== 0 || r.size < FRAME_SIZE) continue;
      if (best === null || r.size > best.size) best = { buffer: r.buffer, byteOffset: r.byteOffset, base: r.base, size: r.size };
    }
    const frames = best === null ? 0 : Math.min(Math.floor(best.size / FRAME_SIZE), 2 ** 20 * 1023);
    this.fw = best === null ? null : new Uint32Array(best.buffer, best.byteOffset, frames * (FRAME_SIZE / 4));
    this.fwLo = best === null ? 0 : best.base / FRAME_SIZE;
    this.fwHi = this.fwLo + frames;
  }

  // ---- header fields -------------------------------------------------------------------

  private head(j: number): number {
    return this.hdr[HEADS + 2 * j + 1] * TWO32 + this.hdr[HEADS + 2 * j] - 1;
  }
  private setHead(j: number, f: number): void {
    const v = f + 1;
    this.hdr[HEADS + 2 * j] = lo32(v);
    this.hdr[HEADS + 2 * j + 1] = Math.floor(v / TWO32);
  }
  count(j: number): number {
    return this.hdr[COUNTS + 2 * j + 1] * TWO32 + this.hdr[COUNTS + 2 * j];
  }
  private addCount(j: number, d: number): number {
    const v = this.count(j) + d;
    this.hdr[COUNTS + 2 * j] = lo32(v);
    this.hdr[COUNTS + 2 * j + 1] = Math.floor(v / TWO32);
    return v;
  }

  // ---- tags and nodes ------------------------------------------------------------------

  private tag(f: number): number {
    if (f < this.base || f >= this.tagEnd) return 0;
    const rel = f - this.base;
    const w = Math.floor(rel / 32);
    const meta = this.meta;
    return ((meta !== null ? meta[this.tagOff + w] : this.ws.get(this.tagOff + w)) >>> (rel - w * 32)) & 1;
  }
  private setTag(f: number, on: boolean): void {
    const rel = f - this.base;
    const w = Math.floor(rel / 32);
    const i = this.tagOff + w;
    const m = 1 << (rel - w * 32);
    const meta = this.meta;
    if (meta !== null) {
      meta[i] = on ? meta[i] | m : meta[i] & ~m;
      return;
    }
    const old = this.ws.get(i);
    this.ws.set(i, (on ? old | m : old & ~m) >>> 0);
  }
  /** Index in {@link fw} of word `word / 4` of frame f's node, or -1 when f is outside it. */
  private nodeAt(f: number): number {
    return this.fw !== null && f >= this.fwLo && f < this.fwHi ? (f - this.fwLo) * 1024 : -1;
  }
  private next(f: number): number {
    const i = this.nodeAt(f);
    if (i >= 0) return this.fw![i + 1] * TWO32 + this.fw![i] - 1;
    const a = f * FRAME_SIZE;
    return this.words.get(a + 4) * TWO32 + this.words.get(a) - 1;
  }
  private prev(f: number): number {
    const i = this.nodeAt(f);
    if (i >= 0) return this.fw![i + 3] * TWO32 + this.fw![i + 2] - 1;
    const a = f * FRAME_SIZE;
    return this.words.get(a + 12) * TWO32 + this.words.get(a + 8) - 1;
  }
  private order(f: number): number {
    const i = this.nodeAt(f);
    if (i >= 0) return this.fw![i + 4];
    return this.words.get(f * FRAME_SIZE + 16);
  }
  /** Sets the 64-bit link at byte `word` (0 next, 8 prev) of frame f's node to `to` (+1, so -1 is stored as 0). */
  private setLink(f: number, word: number, to: number): void {
    const v = to + 1;
    const i = this.nodeAt(f);
    if (i >= 0) {
      const fw = this.fw!;
      const k = i + (word >> 2);
      if (v < TWO32) {
        fw[k] = v;
        fw[k + 1] = 0;
      } else {
        fw[k] = lo32(v);
        fw[k + 1] = Math.floor(v / TWO32);
      }
      return;
    }
    const a = f * FRAME_SIZE + word;
    this.words.set(a, lo32(v));
    this.words.set(a + 4, Math.floor(v / TWO32));
  }
  /** Writes the node's prev link (none), order and magic words. */
  private setNodeRest(f: number, j: number, magic: number): void {
    const i = this.nodeAt(f);
    if (i >= 0) {
      const fw = this.fw!;
      fw[i + 2] = 0;
      fw[i + 3] = 0;
      fw[i + 4] = j;
      fw[i + 5] = magic;
      return;
    }
    const a = f * FRAME_SIZE;
    this.words.set(a + 8, 0);
    this.words.set(a + 12, 0);
    this.words.set(a + 16, j);
    this.words.set(a + 20, magic);
  }
  private setMagic(f: number, magic: number): void {
    const i = this.nodeAt(f);
    if (i >= 0) this.fw![i + 5] = magic;
    else this.words.set(f * FRAME_SIZE + 20, magic);
  }

  /** Puts the free block (f, j) at the head of list j. */
  push(f: number, j: number): void {
    const h = this.head(j);
    this.setLink(f, 0, h);
    this.setNodeRest(f, j, MAGIC); // a module-local constant: an exported one is a load per use
    if (h >= 0) this.setLink(h, 8, f);
    this.setHead(j, f);
    this.setTag(f, true);
    this.addCount(j, 1);
    this.hdr[MASK] = (this.hdr[MASK] | (1 << j)) >>> 0;
  }

  /** Unlinks the free block (f, j). */
  remove(f: number, j: number): void {
    const n = this.next(f);
    const p = this.prev(f);
    if (p >= 0) this.setLink(p, 0, n);
    else this.setHead(j, n);
    if (n >= 0) this.setLink(n, 8, p);
    this.setTag(f, false);
    this.setMagic(f, 0);
    if (this.addCount(j, -1) === 0) this.hdr[MASK] = (this.hdr[MASK] & ~(1 << j)) >>> 0;
  }

  // ---- windows -------------------------------------------------------------------------

  private winCount(): number {
    return this.hdr[this.L.winCountWord];
  }
  private winStart(i: number): number {
    const at = this.L.winOff + 4 * i;
    return this.ws.get(at + 1) * TWO32 + this.ws.get(at);
  }
  private winEnd(i: number): number {
    const at = this.L.winOff + 4 * i + 2;
    return this.ws.get(at + 1) * TWO32 + this.ws.get(at);
  }
  private setWin(i: number, s: number, e: number): void {
    const at = this.L.winOff + 4 * i;
    this.ws.set(at, lo32(s));
    this.ws.set(at + 1, Math.floor(s / TWO32));
    this.ws.set(at + 2, lo32(e));
    this.ws.set(at + 3, Math.floor(e / TWO32));
  }
  private insertWin(i: number, s: number, e: number): void {
    const n = this.winCount();
    for (let k = n; k > i; k--) this.setWin(k, this.winStart(k - 1), this.winEnd(k - 1));
    this.setWin(i, s, e);
    this.hdr[this.L.winCountWord] = n + 1;
  }
  private removeWin(i: number): void {
    const n = this.winCount();
    for (let k = i; k < n - 1; k++) this.setWin(k, this.winStart(k + 1), this.winEnd(k + 1));
    this.setWin(n - 1, 0, 0);
    this.hdr[this.L.winCountWord] = n - 1;
  }
  /** Index of the window holding frame f, or -1. */
  private findWindow(f: number): number {
    let lo = 0;
    let hi = this.winCount() - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.winStart(mid) <= f) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && f < this.winEnd(hi) ? hi : -1;
  }
  /** Cuts the max-order block b out of window i and puts it on the max-order list. */
  private carveWindowBlock(i: number, b: number): void {
    const M = this.M;
    const s = this.winStart(i);
    const e = this.winEnd(i);
    if (b === s) {
      if (s + M === e) this.removeWin(i);
      else this.setWin(i, s + M, e);
    } else if (b + M === e) this.setWin(i, s, e - M);
    else if (this.winCount() < this.hdr[this.L.winCapWord]) {
      this.setWin(i, s, b);
      this.insertWin(i + 1, b + M, e);
    } else {
      for (let f = s; f < b; f += M) this.push(f, this.max);
      this.setWin(i, b + M, e);
    }
    this.push(b, this.max);
  }

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
    let m = this.hdr[MASK] & ~((1 << k) - 1);
    if (m === 0) {
      if (this.winCount() === 0) return -1;
      this.carveWindowBlock(0, this.winStart(0));
      m = this.hdr[MASK] & ~((1 << k) - 1);
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

  /** First free frame inside the aligned block (p, k), or -1. */
  freeOverlap(p: number, k: number): number {
    if (this.containing(p) >= 0) return p;
    const end = p + POW2[k];
    for (let f = p + 1; f < end; ) {
      const rel = f - this.base;
      const w = Math.floor(rel / 32);
      const bits = this.ws.get(this.L.tagOff + w) >>> (rel - w * 32);
      if (bits !== 0) {
        const g = f + lowestBit(bits);
        return g < end ? g : -1;
      }
      f = this.base + (w + 1) * 32;
    }
    return -1;
  }

  /** Returns the taken block (f, k) to the lists, merging with free buddies. */
  release(f: number, k: number): void {
    const max = this.max;
    while (k < max) {
      const size = POW2[k];
      const pair = POW2[k + 1];
      // the buddy follows f when f is aligned to twice the size (no float modulo: see lo32)
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
        const at = `free block ${hex(h * FRAME_SIZE)} on list ${j}`;
        if (++n > expected) corrupt(`list ${j} holds more than its count ${expected} of blocks (a cycle?)`);
        if (this.words.get(h * FRAME_SIZE + 20) !== NODE_MAGIC) corrupt(`${at} has no node magic`);
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
    if (mask >>> 0 !== this.hdr[MASK]) corrupt(`non-empty order mask ${hex(this.hdr[MASK])} should be ${hex(mask >>> 0)}`);
    const nw = this.winCount();
    if (nw > this.hdr[this.L.winCapWord]) corrupt('window table overflows its capacity');
    for (let i = 0; i < nw; i++) {
      const s = this.winStart(i);
      const e = this.winEnd(i);
      if (!(e > s) || s % this.M !== 0 || e % this.M !== 0) corrupt(`window ${i} [${hex(s * FRAME_SIZE)}, ${hex(e * FRAME_SIZE)}) is empty or not max-order aligned`);
      if (!managed(s, e)) corrupt(`window ${i} is not inside usable memory`);
      if (reserved(s, e)) corrupt(`window ${i} overlaps a reservation`);
      all.push({ start: s, end: e, order: this.max, window: true });
      total += e - s;
    }
    all.sort((a, b) => a.start - b.start);
    for (let i = 1; i < all.length; i++) {
      if (all[i].start < all[i - 1].end) corrupt(`free blocks at ${hex(all[i - 1].start * FRAME_SIZE)} and ${hex(all[i].start * FRAME_SIZE)} overlap`);
    }
    for (const [h, j] of heads) {
      if (j === this.max) continue;
      const size = 2 ** j;
      const b = Math.floor(h / size) % 2 === 0 ? h + size : h - size;
      if (heads.get(b) === j) corrupt(`free buddies ${hex(h * FRAME_SIZE)} and ${hex(b * FRAME_SIZE)} of order ${j} were not merged`);
    }
    return total;
  }
}
