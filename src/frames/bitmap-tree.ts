/**
 * The hierarchical bitmap behind {@link BitmapFrameAllocator}: levels, summary upkeep
 * (FULL and USED bits), lazily full subtrees, searches for free and taken frames, bit
 * updates over frame spans, and the tree walk of `check()`. All state is in the metadata
 * window; see `bitmap.ts` for the layout.
 *
 * @module
 */
import { hex } from '../errors.js';
import { FrameMeta, H_KIND_AREA } from './meta.js';
import { FRAME_SIZE } from './types.js';
import { lowBit } from './util.js';

// The import copied once into a module constant: under a CommonJS transform (tsx, vitest)
// every use of an import is a getter call.
const lowestBit = lowBit;

/** All ones in a 32-bit word: a const enum, inlined as a literal (see bitmap-sync.ts). */
const enum T {
  ONES = 0xffffffff,
}

/** Hierarchical bitmap over the frames `[baseFrame, baseFrame + frameCount)`. */
export abstract class BitmapTree extends FrameMeta {
  protected levels = 0;
  protected leafOff = 0;
  protected readonly fullOff: number[] = [];
  protected readonly usedOff: number[] = [];
  /** 32^k */
  protected readonly span: number[] = [];
  protected hint = -1;
  /** The leaf bitmap as one array when the metadata lies in one buffer (fast path), else null. */
  protected leafArray: Uint32Array | null = null;
  protected lastRangeStart = 0;
  protected lastRangeEnd = 0;
  protected runHint = 0;

  protected static shape(n: number): { levels: number; perLevel: number[]; words: number } {
    const perLevel = [Math.ceil(n / 32)];
    let levels = 1;
    let s = 32 * 32;
    while (Math.ceil(n / s) > 1) {
      levels++;
      s *= 32;
    }
    let words = perLevel[0];
    for (let k = 1, d = 32 * 32; k <= levels; k++, d *= 32) {
      const w = Math.ceil(n / d);
      perLevel.push(w);
      words += 2 * w;
    }
    return { levels, perLevel, words };
  }

  protected layout(dataWord: number, shape: { levels: number; perLevel: number[] }): void {
    this.leafOff = dataWord;
    this.leafArray = this.ws.all !== null ? this.ws.all.subarray(dataWord, dataWord + shape.perLevel[0]) : null;
    let at = dataWord + shape.perLevel[0];
    this.span.length = 0;
    for (let k = 0, s = 1; k <= shape.levels; k++, s *= 32) this.span.push(s);
    for (let k = 1; k <= shape.levels; k++) {
      this.fullOff[k] = at;
      this.usedOff[k] = at + shape.perLevel[k];
      at += 2 * shape.perLevel[k];
      this.setH64(H_KIND_AREA + 4 * (k - 1), this.fullOff[k]);
      this.setH64(H_KIND_AREA + 4 * (k - 1) + 2, this.usedOff[k]);
    }
  }

  // ---- word helpers --------------------------------------------------------------------

  /** Word `w` of level k's FULL array (level 0: the leaf bitmap). */
  protected fullWord(k: number, w: number): number {
    return this.ws.get(k === 0 ? this.leafOff + w : this.fullOff[k] + w);
  }
  protected usedWord(k: number, w: number): number {
    return this.ws.get(k === 0 ? this.leafOff + w : this.usedOff[k] + w);
  }

  /** Recomputes the parents of word `w` of level k after it changed, upwards while they change. */
  protected refresh(k: number, w: number): void {
    const all = this.ws.all;
    if (all !== null) {
      this.refreshFast(all, k, w);
      return;
    }
    const ws = this.ws;
    while (k < this.levels) {
      const full = this.fullWord(k, w) === T.ONES;
      const used = this.usedWord(k, w) !== 0;
      const p = k + 1;
      const pw = Math.floor(w / 32);
      const m = 1 << (w - pw * 32);
      const fi = this.fullOff[p] + pw;
      const ui = this.usedOff[p] + pw;
      const f = ws.get(fi);
      const u = ws.get(ui);
      const nf = (full ? f | m : f & ~m) >>> 0;
      const nu = (used ? u | m : u & ~m) >>> 0;
      if (nf === f && nu === u) return;
      if (nf !== f) ws.set(fi, nf);
      if (nu !== u) ws.set(ui, nu);
      k = p;
      w = pw;
    }
  }

  /** {@link refresh} over the metadata as one array (the common case). */
  private refreshFast(all: Uint32Array, k: number, w: number): void {
    const levels = this.levels;
    const fullOff = this.fullOff;
    const usedOff = this.usedOff;
    while (k < levels) {
      const full = (k === 0 ? all[this.leafOff + w] : all[fullOff[k] + w]) === T.ONES;
      const used = (k === 0 ? all[this.leafOff + w] : all[usedOff[k] + w]) !== 0;
      const p = k + 1;
      const pw = w >>> 5; // word indices are below 2^27
      const m = 1 << (w & 31);
      const fi = fullOff[p] + pw;
      const ui = usedOff[p] + pw;
      const f = all[fi];
      const u = all[ui];
      const nf = (full ? f | m : f & ~m) >>> 0;
      const nu = (used ? u | m : u & ~m) >>> 0;
      if (nf === f && nu === u) return;
      all[fi] = nf;
      all[ui] = nu;
      k = p;
      w = pw;
    }
  }

  /** Sets nodes [a, b) of level k (all inside one word) to not-free, then refreshes parents. */
  protected setNodes(k: number, a: number, b: number): void {
    while (a < b) {
      const w = Math.floor(a / 32);
      const lo = a - w * 32;
      const hi = Math.min(b - w * 32, 32);
      const m = (hi - lo === 32 ? T.ONES : ((1 << (hi - lo)) - 1) << lo) >>> 0;
      if (k === 0) this.ws.set(this.leafOff + w, (this.ws.get(this.leafOff + w) | m) >>> 0);
      else {
        this.ws.set(this.fullOff[k] + w, (this.ws.get(this.fullOff[k] + w) | m) >>> 0);
        this.ws.set(this.usedOff[k] + w, (this.ws.get(this.usedOff[k] + w) | m) >>> 0);
      }
      this.refresh(k, w);
      a = (w + 1) * 32;
    }
  }

  /** Marks relative frames [lo, hi) not free, on the highest whole nodes (construction only). */
  protected markRange(lo: number, hi: number): void {
    for (let k = 0; k <= this.levels && lo < hi; k++) {
      const loUp = Math.ceil(lo / 32) * 32;
      const hiDown = Math.floor(hi / 32) * 32;
      if (k === this.levels || loUp >= hiDown) {
        this.setNodes(k, lo, hi);
        return;
      }
      this.setNodes(k, lo, loUp);
      this.setNodes(k, hiDown, hi);
      lo = loUp / 32;
      hi = hiDown / 32;
    }
  }

  /** True when some ancestor of leaf word `w` is FULL while `w` itself is not all ones (a lazily full subtree). */
  protected lazilyFull(w: number): boolean {
    let node = w;
    for (let k = 1; k <= this.levels; k++) {
      const pw = Math.floor(node / 32);
      if ((this.ws.get(this.fullOff[k] + pw) >>> (node - pw * 32)) & 1) return true;
      node = pw;
    }
    return false;
  }

  /** Fills in the all-ones words below lazily full ancestors of relative frame `f`. */
  protected materialize(f: number): void {
    for (let k = this.levels; k >= 1; k--) {
      const node = Math.floor(f / this.span[k]);
      const pw = Math.floor(node / 32);
      if (((this.ws.get(this.fullOff[k] + pw) >>> (node - pw * 32)) & 1) === 0) continue;
      if (k === 1) {
        if (this.ws.get(this.leafOff + node) !== T.ONES) this.ws.set(this.leafOff + node, T.ONES);
      } else if (this.ws.get(this.fullOff[k - 1] + node) !== T.ONES) {
        this.ws.set(this.fullOff[k - 1] + node, T.ONES);
        this.ws.set(this.usedOff[k - 1] + node, T.ONES);
      }
    }
  }

  // ---- searches ------------------------------------------------------------------------

  /** First free relative frame >= from, or -1. */
  protected nextFree(from: number): number {
    return this.searchFree(this.levels, 0, from);
  }
  protected searchFree(k: number, w: number, from: number): number {
    const base = w * 32;
    if (k === 0) {
      const skip = from - base;
      let lw = this.ws.get(this.leafOff + w);
      if (skip > 0) lw |= skip >= 32 ? T.ONES : (1 << skip) - 1;
      const inv = ~lw;
      return inv === 0 ? -1 : base + lowestBit(inv);
    }
    const span = this.span[k];
    const first = Math.floor(from / span) - base;
    let avail = ~this.ws.get(this.fullOff[k] + w);
    if (first > 0) avail &= first >= 32 ? 0 : ~0 << first;
    if (avail === 0) return -1;
    const used = this.ws.get(this.usedOff[k] + w);
    while (avail !== 0) {
      const b = lowestBit(avail);
      const node = base + b;
      if (((used >>> b) & 1) === 0) return Math.max(from, node * span);
      const r = this.searchFree(k - 1, node, from);
      if (r >= 0) return r;
      avail &= avail - 1;
    }
    return -1;
  }

  /** First not-free relative frame >= from, or -1. */
  protected nextUsed(from: number): number {
    return this.searchUsed(this.levels, 0, from);
  }
  protected searchUsed(k: number, w: number, from: number): number {
    const base = w * 32;
    if (k === 0) {
      const skip = from - base;
      let lw = this.ws.get(this.leafOff + w);
      if (skip > 0) lw &= skip >= 32 ? 0 : ~0 << skip;
      return lw === 0 ? -1 : base + lowestBit(lw);
    }
    const span = this.span[k];
    const first = Math.floor(from / span) - base;
    let cand = this.ws.get(this.usedOff[k] + w) | 0;
    if (first > 0) cand &= first >= 32 ? 0 : ~0 << first;
    if (cand === 0) return -1;
    const full = this.ws.get(this.fullOff[k] + w);
    while (cand !== 0) {
      const b = lowestBit(cand);
      const node = base + b;
      if ((full >>> b) & 1) return Math.max(from, node * span);
      const r = this.searchUsed(k - 1, node, from);
      if (r >= 0) return r;
      cand &= cand - 1;
    }
    return -1;
  }

  /** First relative frame of `count` free frames aligned to `align` (absolute) in [lo, end), or -1. */
  protected findRun(count: number, align: number, lo: number, end: number): number {
    let f = this.nextFree(lo);
    while (f >= 0) {
      const abs = f + this.baseFrame;
      const s = Math.ceil(abs / align) * align - this.baseFrame;
      if (s + count > end) return -1;
      const u = this.nextUsed(s);
      if (u < 0 || u >= s + count) return s;
      f = this.nextFree(u);
    }
    return -1;
  }

  // ---- bit updates ---------------------------------------------------------------------

  /** Sets relative frames [s, e) (all free) to taken. */
  protected take(s: number, e: number): void {
    const ws = this.ws;
    while (s < e) {
      const w = Math.floor(s / 32);
      const lo = s - w * 32;
      const hi = Math.min(e - w * 32, 32);
      const m = (hi - lo === 32 ? T.ONES : ((1 << (hi - lo)) - 1) << lo) >>> 0;
      const i = this.leafOff + w;
      const old = ws.get(i);
      const nw = (old | m) >>> 0;
      ws.set(i, nw);
      if (old === 0 || nw === T.ONES) this.refresh(0, w);
      s = (w + 1) * 32;
    }
  }

  /** Clears relative frames [s, e) (all taken, materialized). */
  protected release(s: number, e: number): void {
    const ws = this.ws;
    while (s < e) {
      const w = Math.floor(s / 32);
      const lo = s - w * 32;
      const hi = Math.min(e - w * 32, 32);
      const m = (hi - lo === 32 ? T.ONES : ((1 << (hi - lo)) - 1) << lo) >>> 0;
      const i = this.leafOff + w;
      const old = ws.get(i);
      const nw = (old & ~m) >>> 0;
      ws.set(i, nw);
      if (old === T.ONES || nw === 0) this.refresh(0, w);
      s = (w + 1) * 32;
    }
  }

  /** True when every frame of relative [s, e) is taken (materializing lazily full words). */
  protected allTaken(s: number, e: number): boolean {
    while (s < e) {
      const w = Math.floor(s / 32);
      const lo = s - w * 32;
      const hi = Math.min(e - w * 32, 32);
      const m = (hi - lo === 32 ? T.ONES : ((1 << (hi - lo)) - 1) << lo) >>> 0;
      if ((this.ws.get(this.leafOff + w) & m) >>> 0 !== m) {
        if (!this.lazilyFull(w)) return false;
        this.materialize(w * 32);
      }
      s = (w + 1) * 32;
    }
    return true;
  }

  /** True when every frame of relative [s, e) is free. */
  protected allFree(s: number, e: number): boolean {
    while (s < e) {
      const w = Math.floor(s / 32);
      const lo = s - w * 32;
      const hi = Math.min(e - w * 32, 32);
      const m = (hi - lo === 32 ? T.ONES : ((1 << (hi - lo)) - 1) << lo) >>> 0;
      if ((this.ws.get(this.leafOff + w) & m) !== 0 || this.lazilyFull(w)) return false;
      s = (w + 1) * 32;
    }
    return true;
  }

  /** Verifies word `w` of level k and everything below it; returns its free frames. */
  protected checkNode(k: number, w: number): number {
    const base = w * 32;
    if (k === 0) {
      const lw = this.ws.get(this.leafOff + w);
      let free = 0;
      for (let b = 0; b < 32; b++) {
        if ((lw >>> b) & 1) continue;
        const f = base + b + this.baseFrame;
        if (this.rangeOf(f) < 0) this.corrupt(`frame ${hex(f * FRAME_SIZE)} is free but not usable memory`);
        if (this.overlapsReservation(f, f + 1)) this.corrupt(`reserved frame ${hex(f * FRAME_SIZE)} is free`);
        free++;
      }
      return free;
    }
    const full = this.ws.get(this.fullOff[k] + w);
    const used = this.ws.get(this.usedOff[k] + w);
    const span = this.span[k];
    let free = 0;
    for (let b = 0; b < 32; b++) {
      const node = base + b;
      const isFull = (full >>> b) & 1;
      const isUsed = (used >>> b) & 1;
      if (node * span >= this.frameCount) {
        if (!isFull || !isUsed) this.corrupt(`level ${k} node ${node} lies past the last frame but is not marked full`);
        continue;
      }
      const childFull = this.fullWord(k - 1, node);
      const childUsed = this.usedWord(k - 1, node);
      const where = `level ${k} node ${node} (frames ${hex((node * span + this.baseFrame) * FRAME_SIZE)}..)`;
      if (isFull && !isUsed) this.corrupt(`${where} is FULL but not USED`);
      if (!isUsed) {
        if (childFull !== 0 || childUsed !== 0) this.corrupt(`${where} is free but its children are not`);
        const s = node * span + this.baseFrame;
        if (!this.managed(s, s + span)) this.corrupt(`${where} is free but not all usable memory`);
        if (this.overlapsReservation(s, s + span)) this.corrupt(`${where} is free but holds reserved frames`);
        free += span;
      } else if (isFull) {
        if (childFull === T.ONES && childUsed === T.ONES) free += this.checkNode(k - 1, node);
        else if (childFull !== 0 || childUsed !== 0) this.corrupt(`${where} is FULL but its children are neither all full nor untouched`);
      } else {
        // a level-1 bit over a leaf word may be lazily stale (the plain single-frame paths):
        // FULL = 0 over a full word, USED = 1 over an empty one; above level 1 bits are exact
        if (k > 1 && (childFull === T.ONES || childUsed === 0)) this.corrupt(`${where} summary disagrees with its children`);
        free += this.checkNode(k - 1, node);
      }
    }
    return free;
  }
}
