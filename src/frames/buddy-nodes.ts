/**
 * The buddy allocator's storage layer: the header words (list heads, counts, non-empty
 * mask), the per-frame tag and taken bitmaps, the 24-byte nodes inside free blocks (next, prev, order,
 * magic) that make the intrusive doubly linked lists, push/remove on those lists, and the
 * window table of uncut max-order spans. The list algorithms are in `buddy-lists.ts`.
 * Frame numbers may exceed 2^32, so they are handled with arithmetic, never bit operators
 * (the typed-array fast paths apply only where values are known to be small).
 *
 * @module
 */
import { H_KIND_AREA } from './meta.js';
import { FRAME_SIZE as TYPES_FRAME_SIZE } from './types.js';
import { lowBit, popcount32 } from './util.js';
import type { MemoryWords, WordStore } from './words.js';

// The hot paths' constants as a const enum (see bitmap-sync.ts): inlined as literals by the
// TypeScript transforms and the bundler alike.
const enum N {
  /** Magic word of a free-block node: 'BDDY'. */
  MAGIC = 0x59444442,
  TWO32 = 4294967296,
  FRAME_SIZE = 4096,
  /** Header words of the list heads and counts (kind area H_KIND_AREA = 32). */
  HEADS = 32,
  COUNTS = 32 + 40,
  /** Header word holding the bit mask of non-empty lists. */
  MASK = 32 + 80,
}
if (N.FRAME_SIZE !== TYPES_FRAME_SIZE || N.HEADS !== H_KIND_AREA) throw new Error('memprims: buddy-nodes.ts constants disagree with types.ts / meta.ts');
/** Magic word of a free-block node: 'BDDY'. */
export const NODE_MAGIC: number = N.MAGIC;

/**
 * Low 32 bits of a non-negative integer below 2^53. `v % 2^32` on a double is a call to the
 * C library's fmod (tens of ns); this is a compare, or a division, a floor and a subtraction.
 */
function lo32(v: number): number {
  return v < N.TWO32 ? v : v - Math.floor(v / N.TWO32) * N.TWO32;
}
/** Header word holding the bit mask of non-empty lists. */
export const MASK: number = N.MASK;

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
  /** Word offset of the taken bitmap (one bit per frame: 1 = not free). */
  takenOff: number;
}

/** Header fields, tags, nodes and windows of one buddy state (callers hold the lock). */
export abstract class BuddyNodes {
  protected readonly hdr: Uint32Array;
  protected readonly ws: WordStore;
  protected readonly max: number;
  protected readonly M: number;
  protected readonly base: number;
  protected readonly tagEnd: number;
  protected readonly tagOff: number;
  /** The metadata window as one array when it lies in one buffer, else null. */
  protected readonly meta: Uint32Array | null;
  /** {@link tagOff} as an int32 field when {@link meta} is set (V8 then adds it as an integer, not a double). */
  protected readonly tagOffI: number;
  /** Word offset of the taken bitmap (1 = handed out, reserved or in use; 0 = free or unmanaged). */
  protected readonly takenOff: number;
  /** {@link takenOff} as an int32 field when {@link meta} is set. */
  protected readonly takenOffI: number;
  /**
   * The frames `[fwLo, fwHi)` as one array of words (frame fwLo's first word = index 0), for
   * the nodes kept in free frames: the largest plain buffer region, else null. Frames outside
   * it go through {@link MemoryWords}.
   */
  protected readonly fw: Uint32Array | null;
  protected readonly fwLo: number;
  protected readonly fwHi: number;

  constructor(
    protected readonly L: BuddyLayout,
    protected readonly words: MemoryWords,
  ) {
    this.hdr = L.hdr;
    this.ws = L.ws;
    this.max = L.maxOrder;
    this.M = 2 ** L.maxOrder;
    this.base = L.baseFrame;
    this.tagEnd = L.baseFrame + (L.takenOff - L.tagOff) * 32; // the taken bitmap follows the tags, as large
    this.tagOff = L.tagOff;
    this.meta = L.ws.all;
    this.tagOffI = this.meta !== null ? L.tagOff | 0 : 0;
    this.takenOff = L.takenOff;
    this.takenOffI = this.meta !== null ? L.takenOff | 0 : 0;
    let best: { buffer: ArrayBufferLike; byteOffset: number; base: number; size: number } | null = null;
    for (const r of words.memory.regions()) {
      if (r.lazy || r.buffer === null || r.base % N.FRAME_SIZE !== 0 || r.byteOffset % 4 !== 0 || r.size < N.FRAME_SIZE) continue;
      if (best === null || r.size > best.size) best = { buffer: r.buffer, byteOffset: r.byteOffset, base: r.base, size: r.size };
    }
    const frames = best === null ? 0 : Math.min(Math.floor(best.size / N.FRAME_SIZE), 2 ** 20 * 1023);
    this.fw = best === null ? null : new Uint32Array(best.buffer, best.byteOffset, frames * (N.FRAME_SIZE / 4));
    this.fwLo = best === null ? 0 : best.base / N.FRAME_SIZE;
    this.fwHi = this.fwLo + frames;
  }

  // ---- header fields -------------------------------------------------------------------

  protected head(j: number): number {
    return this.hdr[N.HEADS + 2 * j + 1] * N.TWO32 + this.hdr[N.HEADS + 2 * j] - 1;
  }
  protected setHead(j: number, f: number): void {
    const v = f + 1;
    this.hdr[N.HEADS + 2 * j] = lo32(v);
    this.hdr[N.HEADS + 2 * j + 1] = Math.floor(v / N.TWO32);
  }
  count(j: number): number {
    return this.hdr[N.COUNTS + 2 * j + 1] * N.TWO32 + this.hdr[N.COUNTS + 2 * j];
  }
  protected addCount(j: number, d: number): number {
    const v = this.count(j) + d;
    this.hdr[N.COUNTS + 2 * j] = lo32(v);
    this.hdr[N.COUNTS + 2 * j + 1] = Math.floor(v / N.TWO32);
    return v;
  }

  // ---- tags and nodes ------------------------------------------------------------------

  protected tag(f: number): number {
    if (f < this.base || f >= this.tagEnd) return 0;
    const rel = f - this.base;
    const w = Math.floor(rel / 32);
    const meta = this.meta;
    return ((meta !== null ? meta[this.tagOff + w] : this.ws.get(this.tagOff + w)) >>> (rel - w * 32)) & 1;
  }
  protected setTag(f: number, on: boolean): void {
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
  /** 1 when frame f (base <= f < tagEnd) is taken (handed out, reserved or in use), else 0. */
  isTaken(f: number): number {
    const rel = f - this.base;
    const w = Math.floor(rel / 32);
    const meta = this.meta;
    return ((meta !== null ? meta[this.takenOff + w] : this.ws.get(this.takenOff + w)) >>> (rel - w * 32)) & 1;
  }
  /** Sets (on) or clears the taken bits of frames [s, e): partial words at the ends, whole words between. */
  setTaken(s: number, e: number, on: boolean): void {
    const rel = s - this.base;
    const end = e - this.base;
    if (rel >= end) return;
    const w0 = Math.floor(rel / 32);
    const w1 = Math.floor((end - 1) / 32); // the last word touched
    const b0 = rel - w0 * 32;
    const b1 = end - 1 - w1 * 32; // last bit touched in w1
    const first = ((0xffffffff << b0) >>> 0) & (w0 === w1 ? 0xffffffff >>> (31 - b1) : 0xffffffff);
    this.maskTaken(this.takenOff + w0, first, on);
    if (w1 === w0) return;
    const full = on ? 0xffffffff : 0;
    const meta = this.meta;
    if (meta !== null) meta.fill(full, this.takenOff + w0 + 1, this.takenOff + w1);
    else for (let i = this.takenOff + w0 + 1; i < this.takenOff + w1; i++) this.ws.set(i, full);
    this.maskTaken(this.takenOff + w1, 0xffffffff >>> (31 - b1), on);
  }
  private maskTaken(i: number, m: number, on: boolean): void {
    const meta = this.meta;
    const old = meta !== null ? meta[i] : this.ws.get(i);
    const v = (on ? old | m : old & ~m) >>> 0;
    if (v === old) return;
    if (meta !== null) meta[i] = v;
    else this.ws.set(i, v);
  }
  /** First frame of [s, e) whose taken bit is clear (free), or -1. */
  firstUntaken(s: number, e: number): number {
    return this.scanTaken(s, e, 0, false);
  }
  /** First frame of [s, e) whose taken bit is set, or -1. */
  firstTaken(s: number, e: number): number {
    return this.scanTaken(s, e, 1, false);
  }
  /** Frames of [s, e) whose taken bit is clear. */
  countUntaken(s: number, e: number): number {
    return this.scanTaken(s, e, 0, true);
  }
  /**
   * One pass over the taken words of [s, e), each masked to the range: the first frame whose
   * bit equals `want` (-1 if none), or with `count` the number of such frames.
   */
  private scanTaken(s: number, e: number, want: number, count: boolean): number {
    const rel = s - this.base;
    const end = e - this.base;
    if (rel >= end) return count ? 0 : -1;
    const w0 = Math.floor(rel / 32);
    const w1 = Math.floor((end - 1) / 32);
    const b0 = rel - w0 * 32;
    const b1 = end - 1 - w1 * 32;
    const meta = this.meta;
    const flip = want === 1 ? 0 : 0xffffffff;
    let n = 0;
    for (let w = w0; w <= w1; w++) {
      const i = this.takenOff + w;
      let hits = ((meta !== null ? meta[i] : this.ws.get(i)) ^ flip) >>> 0;
      if (w === w0) hits &= 0xffffffff << b0;
      if (w === w1) hits &= 0xffffffff >>> (31 - b1);
      if (hits === 0) continue;
      if (!count) return this.base + w * 32 + lowBit(hits);
      n += popcount32(hits);
    }
    return count ? n : -1;
  }

  /** Index in {@link fw} of word `word / 4` of frame f's node, or -1 when f is outside it. */
  protected nodeAt(f: number): number {
    return this.fw !== null && f >= this.fwLo && f < this.fwHi ? (f - this.fwLo) * 1024 : -1;
  }
  protected next(f: number): number {
    const i = this.nodeAt(f);
    if (i >= 0) return this.fw![i + 1] * N.TWO32 + this.fw![i] - 1;
    const a = f * N.FRAME_SIZE;
    return this.words.get(a + 4) * N.TWO32 + this.words.get(a) - 1;
  }
  protected prev(f: number): number {
    const i = this.nodeAt(f);
    if (i >= 0) return this.fw![i + 3] * N.TWO32 + this.fw![i + 2] - 1;
    const a = f * N.FRAME_SIZE;
    return this.words.get(a + 12) * N.TWO32 + this.words.get(a + 8) - 1;
  }
  protected order(f: number): number {
    const i = this.nodeAt(f);
    if (i >= 0) return this.fw![i + 4];
    return this.words.get(f * N.FRAME_SIZE + 16);
  }
  /** Sets the 64-bit link at byte `word` (0 next, 8 prev) of frame f's node to `to` (+1, so -1 is stored as 0). */
  protected setLink(f: number, word: number, to: number): void {
    const v = to + 1;
    const i = this.nodeAt(f);
    if (i >= 0) {
      const fw = this.fw!;
      const k = i + (word >> 2);
      if (v < N.TWO32) {
        fw[k] = v;
        fw[k + 1] = 0;
      } else {
        fw[k] = lo32(v);
        fw[k + 1] = Math.floor(v / N.TWO32);
      }
      return;
    }
    const a = f * N.FRAME_SIZE + word;
    this.words.set(a, lo32(v));
    this.words.set(a + 4, Math.floor(v / N.TWO32));
  }
  /** Writes the node's prev link (none), order and magic words. */
  protected setNodeRest(f: number, j: number, magic: number): void {
    const i = this.nodeAt(f);
    if (i >= 0) {
      const fw = this.fw!;
      fw[i + 2] = 0;
      fw[i + 3] = 0;
      fw[i + 4] = j;
      fw[i + 5] = magic;
      return;
    }
    const a = f * N.FRAME_SIZE;
    this.words.set(a + 8, 0);
    this.words.set(a + 12, 0);
    this.words.set(a + 16, j);
    this.words.set(a + 20, magic);
  }
  protected setMagic(f: number, magic: number): void {
    const i = this.nodeAt(f);
    if (i >= 0) this.fw![i + 5] = magic;
    else this.words.set(f * N.FRAME_SIZE + 20, magic);
  }

  /** Puts the free block (f, j) at the head of list j. */
  push(f: number, j: number): void {
    const h = this.head(j);
    this.setLink(f, 0, h);
    this.setNodeRest(f, j, N.MAGIC); // a module-local constant: an exported one is a load per use
    if (h >= 0) this.setLink(h, 8, f);
    this.setHead(j, f);
    this.setTag(f, true);
    this.addCount(j, 1);
    this.hdr[N.MASK] = (this.hdr[N.MASK] | (1 << j)) >>> 0;
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
    if (this.addCount(j, -1) === 0) this.hdr[N.MASK] = (this.hdr[N.MASK] & ~(1 << j)) >>> 0;
  }

  // ---- windows -------------------------------------------------------------------------

  protected winCount(): number {
    return this.hdr[this.L.winCountWord];
  }
  protected winStart(i: number): number {
    const at = this.L.winOff + 4 * i;
    return this.ws.get(at + 1) * N.TWO32 + this.ws.get(at);
  }
  protected winEnd(i: number): number {
    const at = this.L.winOff + 4 * i + 2;
    return this.ws.get(at + 1) * N.TWO32 + this.ws.get(at);
  }
  protected setWin(i: number, s: number, e: number): void {
    const at = this.L.winOff + 4 * i;
    this.ws.set(at, lo32(s));
    this.ws.set(at + 1, Math.floor(s / N.TWO32));
    this.ws.set(at + 2, lo32(e));
    this.ws.set(at + 3, Math.floor(e / N.TWO32));
  }
  protected insertWin(i: number, s: number, e: number): void {
    const n = this.winCount();
    for (let k = n; k > i; k--) this.setWin(k, this.winStart(k - 1), this.winEnd(k - 1));
    this.setWin(i, s, e);
    this.hdr[this.L.winCountWord] = n + 1;
  }
  protected removeWin(i: number): void {
    const n = this.winCount();
    for (let k = i; k < n - 1; k++) this.setWin(k, this.winStart(k + 1), this.winEnd(k + 1));
    this.setWin(n - 1, 0, 0);
    this.hdr[this.L.winCountWord] = n - 1;
  }
  /** Frames in all windows. */
  windowFrames(): number {
    let n = 0;
    for (let i = 0; i < this.winCount(); i++) n += this.winEnd(i) - this.winStart(i);
    return n;
  }
  /** Index of the window holding frame f, or -1. */
  protected findWindow(f: number): number {
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
  protected carveWindowBlock(i: number, b: number): void {
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
}
