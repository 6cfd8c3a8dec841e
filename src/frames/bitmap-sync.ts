/**
 * The single-frame hot paths of {@link BitmapFrameAllocator} and the lock-free upkeep that
 * lets several threads share one bitmap.
 *
 * When the metadata lies in one buffer, the whole window is one `Int32Array` and
 * `allocate()`/`free()` of one frame work on raw words: a per-instance hint word, its
 * siblings under the same level-1 summary word, else a greedy descent from the top. Over
 * unshared memory the level-1 bits of a leaf word are kept lazily: FULL is set when an
 * allocation finds the word full (not when it fills up), USED is not cleared when the word
 * empties; FULL = 1 and USED = 0 stay true, which is all a search relies on.
 *
 * Over shareable (SharedArrayBuffer) memory those two operations take no lock: a frame is
 * taken or given back with one compare-and-swap (or `Atomics.and`) on its leaf word, and
 * the summary bits above are then brought in line with `Atomics.or`/`Atomics.and`, each
 * writer re-reading the child after its write and repeating while the child changed under
 * it. Summaries may therefore be stale for an instant (a search may then miss a frame or
 * try a full word and retry), but the leaf words, the only truth about who owns a frame,
 * are only ever changed atomically, and at rest every summary bit above the leaves is as
 * the plain paths leave it (FULL = 1 and USED = 0 always true). Operations on
 * runs (multi-frame allocate, allocateAt, reserve, the checked free) still take the lock
 * among themselves, and take their frames with compare-and-swap too ({@link tryTake}), so
 * a lock holder and a lock-free caller can never both get a frame. Each instance over
 * shared memory starts its searches at its own random "home" frame (wrapping to 0), so
 * threads mostly work in different words; allocation order is then not lowest-first.
 *
 * @module
 */
import { BitmapTree } from './bitmap-tree.js';
import { H_RES_GEN, H_USED } from './meta.js';
import { FRAME_SIZE } from './types.js';

// The hot paths' constants as a const enum: TypeScript transforms (tsx, vitest) and the
// bundler (tsup) all replace `W.X` by its literal. An import is a module-cell load per use
// (a getter call under a CommonJS transform), and a top-level `const` becomes a mutable `var`
// in the bundle (esbuild hoists them), which V8 reloads and checks on every use.
const enum W {
  USED = 12,
  RES_GEN = 19,
  FRAME_BYTES = 4096,
}
if (W.USED !== H_USED || W.RES_GEN !== H_RES_GEN || W.FRAME_BYTES !== FRAME_SIZE) throw new Error('memprims: bitmap-sync.ts constants disagree with meta.ts / types.ts');

/** Index of the lowest set bit of a non-zero 32-bit value. */
function low(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Greedy descents tried before a backtracking search, while summaries look stale. */
const GREEDY_TRIES = 8;

/** Bitmap with word-level fast paths and lock-free single frames over shared memory. */
export abstract class BitmapSync extends BitmapTree {
  /** The metadata window as signed words when it lies in one buffer, else null. */
  protected i32: Int32Array | null = null;
  /**
   * True when other threads may share the state and single frames go lock-free; null when the
   * metadata is not one buffer ({@link i32} null): `false` means unshared words in
   * {@link words32}, one test on the hot paths.
   */
  protected atomic: boolean | null = null;
  /** {@link i32}, or an empty array when that is null (a field never null, for the hot paths). */
  protected words32: Int32Array = new Int32Array(0);
  /**
   * Over shared memory, where this instance starts looking for a free frame (a random
   * multiple of 1024 frames): threads sharing the state then mostly work in different
   * words instead of all fighting over the lowest free one.
   */
  private home = 0;

  /** Picks the fast paths once the layout is known (after construction or attach). */
  protected setupFast(): void {
    const all = this.ws.all;
    this.i32 = all !== null ? new Int32Array(all.buffer, all.byteOffset, all.length) : null;
    this.atomic = this.i32 === null ? null : this.ws.shareable === true;
    this.words32 = this.i32 ?? new Int32Array(0);
    this.plainGen = -1;
    this.plainGen32 = -1;
    this.plainLo = this.plainHi = this.plainLo2 = this.plainHi2 = 0;
    this.home = this.atomic ? Math.floor(Math.random() * Math.floor(this.frameCount / 1024)) * 1024 : 0;
  }

  // ---- allocate one ----------------------------------------------------------------------

  /** One frame, no constraints. */
  protected allocateOne(): number | null {
    const a = this.i32;
    if (a === null) return this.allocateOneLocked();
    if (this.atomic === true) return this.allocateOneAtomic(a);
    return this.allocateOnePlain(a);
  }

  /**
   * {@link allocateOne} when no other thread can see the state: plain word reads and writes.
   * The level-1 summary bits of a leaf word are kept lazily here (see {@link markFull}): a
   * word that fills up is marked FULL only when a later allocation finds it full, and a word
   * whose last frame is freed keeps its USED bit. Both stale states are safe (a search only
   * trusts FULL = 1 and USED = 0), and churn on a few words then touches no summary at all.
   */
  private allocateOnePlain(a: Int32Array): number | null {
    const leafOff = this.leafOff;
    let w = this.hint;
    let lw = -1;
    if (w >= 0) {
      lw = a[leafOff + w];
      while (lw === -1) {
        // the hint word is full: mark it now, then try its siblings under the same level-1
        // word (whose FULL bits may still miss words that filled up lazily: marked in turn)
        this.markFull(a, w);
        const above = a[this.fullOff[1] + (w >>> 5)] | ((2 << (w & 31)) - 1);
        if (above === -1) break;
        w = (w & ~31) + low(~above);
        lw = a[leafOff + w];
      }
    }
    while (lw === -1) {
      w = this.descend(a);
      if (w < 0) return null;
      lw = a[leafOff + w];
      // a lazily unmarked full word: mark it and descend again (each pass marks another word;
      // a word already marked means the summaries above contradict it: never loop on that)
      if (lw === -1 && !this.markFull(a, w)) this.corrupt(`the summaries lead to leaf word ${w}, which is full and marked full`);
    }
    this.hint = w;
    const b = low(~lw);
    a[leafOff + w] = lw | (1 << b);
    if (lw === 0) this.markUsed(a, w);
    const h = this.hdr;
    const used = h[W.USED] + 1;
    if (used <= 0xffffffff) h[W.USED] = used;
    else this.bumpUsed(1);
    return (this.baseFrame + w * 32 + b) * W.FRAME_BYTES;
  }

  /**
   * Sets the FULL bit of leaf word `w` (all ones) and carries on upwards while a summary word
   * turns all ones. Stops at a bit already set: above level 1 the summaries are exact.
   * False when the word's own bit was set already.
   */
  private markFull(a: Int32Array, w: number): boolean {
    const fullOff = this.fullOff;
    for (let k = 1; k <= this.levels; k++) {
      const i = fullOff[k] + (w >>> 5);
      const m = 1 << (w & 31);
      const f = a[i];
      if ((f & m) !== 0) return k > 1;
      a[i] = f | m;
      if ((f | m) !== -1) return true;
      w >>>= 5;
    }
    return true;
  }

  /** Sets the USED bit of leaf word `w` (no longer all free) and its ancestors', up to the first already set. */
  private markUsed(a: Int32Array, w: number): void {
    const usedOff = this.usedOff;
    for (let k = 1; k <= this.levels; k++) {
      const i = usedOff[k] + (w >>> 5);
      const m = 1 << (w & 31);
      const u = a[i];
      if ((u & m) !== 0) return;
      a[i] = u | m;
      w >>>= 5;
    }
  }

  /** Clears the FULL bit of leaf word `w` (a frame in it became free) and its ancestors', up to the first already clear. */
  private clearFull(a: Int32Array, w: number): void {
    const fullOff = this.fullOff;
    for (let k = 1; k <= this.levels; k++) {
      const i = fullOff[k] + (w >>> 5);
      const m = 1 << (w & 31);
      const f = a[i];
      if ((f & m) === 0) return;
      a[i] = f & ~m;
      w >>>= 5;
    }
  }

  /**
   * Leaf word holding a free frame, found by following the lowest not-FULL bit down from
   * the top (a node whose USED bit is clear is free throughout: its first leaf word is the
   * answer), or -1 when the top says everything is full. Exact when the summaries are;
   * over shared memory the caller checks the word it gets.
   */
  private descend(a: Int32Array): number {
    let w = 0;
    for (let k = this.levels; k >= 1; k--) {
      const avail = ~a[this.fullOff[k] + w];
      if (avail === 0) return -1;
      const b = low(avail);
      const node = w * 32 + b;
      if (((a[this.usedOff[k] + w] >>> b) & 1) === 0) return node * this.span[k - 1];
      w = node;
    }
    return w;
  }

  /** Lock-free single-frame allocation over shared memory (compare-and-swap on the leaf word). */
  private allocateOneAtomic(a: Int32Array): number | null {
    const leafOff = this.leafOff;
    let w = this.hint;
    for (let attempt = 0; ; attempt++) {
      if (w < 0) {
        if (attempt <= GREEDY_TRIES && this.home === 0) w = this.descend(a);
        else {
          let rel = this.nextFree(this.home);
          if (rel < 0 && this.home > 0) rel = this.nextFree(0);
          w = rel < 0 ? -1 : Math.floor(rel / 32);
        }
        if (w < 0) return null;
      }
      const i = leafOff + w;
      let lw = Atomics.load(a, i);
      while (lw !== -1) {
        const b = low(~lw);
        const nw = lw | (1 << b);
        const seen = Atomics.compareExchange(a, i, lw, nw);
        if (seen === lw) {
          this.hint = w;
          if (lw === 0) this.syncUsed(1, w);
          if (nw === -1) this.syncFull(1, w);
          this.bumpUsed(1);
          return (this.baseFrame + w * 32 + b) * W.FRAME_BYTES;
        }
        lw = seen;
      }
      // full: its FULL bit may be lazily unset (a state written by a plain, unshared instance
      // and loaded here): bring it in line so the next descent does not come back to it
      this.syncFull(1, w);
      w = -1;
    }
  }

  /** Single-frame allocation over memory that is not one buffer: the word store, under the lock when shared. */
  private allocateOneLocked(): number | null {
    const lock = this.lock;
    lock.acquire();
    try {
      let w = this.hint;
      let lw = w >= 0 ? this.ws.get(this.leafOff + w) : 0xffffffff;
      if (lw === 0xffffffff) {
        const rel = this.nextFree(0);
        if (rel < 0) return null;
        w = Math.floor(rel / 32);
        lw = this.ws.get(this.leafOff + w);
      }
      this.hint = w;
      const i = this.leafOff + w;
      const b = low(~lw);
      const nw = (lw | (1 << b)) >>> 0;
      this.ws.set(i, nw);
      if (lw === 0 || nw === 0xffffffff) this.refresh(0, w);
      this.bumpUsed(1);
      return (this.baseFrame + w * 32 + b) * W.FRAME_BYTES;
    } finally {
      lock.release();
    }
  }

  // ---- free one --------------------------------------------------------------------------

  /**
   * Frees one frame when it is plainly allocated (managed, not reserved, bit set); false
   * (changing nothing) sends the call down the checked path, which throws the right error
   * or handles a frame under a lazily full node.
   *
   * Unshared words in one buffer (the common case) are handled here with as few operations
   * as possible: every instruction in this path counts, because a random free waits on a
   * cache miss in the leaf bitmap and the CPU overlaps the more frees the shorter each is.
   * The header (reservation generation, used counter) is read through the same signed view
   * as the bitmap, and the rare summary upkeep comes last, after everything the common case
   * writes: V8 then keeps the hot values in registers instead of reloading them after it.
   */
  protected freeOne(address: number): boolean {
    if (this.atomic !== false) return this.freeOneShared(address);
    // the frame relative to the base as an int32 (exact: address / 4096 has at most 12
    // fraction bits, so `r === rel` only for a frame-aligned address within 2^31 frames)
    const rel = address * (1 / W.FRAME_BYTES) - this.baseFrame; // a multiply: exact (a power of two), where a division is ~15 cycles
    const r = rel | 0;
    const a = this.words32; // the metadata window: header words, then the levels
    if (r !== rel || a[W.RES_GEN] !== this.plainGen32 || ((r < this.plainLo || r >= this.plainHi) && (r < this.plainLo2 || r >= this.plainHi2))) {
      if (!(r === rel && r >= 0 && this.learnPlain(address / W.FRAME_BYTES) && this.isPlain(r))) return false;
    }
    const w = r >>> 5;
    const m = 1 << (r & 31);
    const i = this.leafOff + w;
    const lw = a[i];
    if ((lw & m) === 0) return false;
    a[i] = lw & ~m;
    this.hint = w; // this word now has a free frame, and its path is consistent (its bit was set)
    const u = a[W.USED]; // the used counter's low word (a signed view: -1 is 0xffffffff)
    if (u !== 0) a[W.USED] = u - 1;
    else this.bumpUsed(-1); // a borrow from the high word
    // the word's FULL bit (if set) must go; its USED bit stays, lazily, when the word empties
    if (lw === -1) this.clearFull(a, w);
    return true;
  }

  /** {@link freeOne} over shared memory or a metadata window that is not one buffer. */
  private freeOneShared(address: number): boolean {
    const rel = address * (1 / W.FRAME_BYTES) - this.baseFrame;
    const r = rel | 0;
    if (r !== rel || !this.isPlain(r)) {
      if (!(r === rel && r >= 0 && this.learnPlain(address / W.FRAME_BYTES) && this.isPlain(r))) return false;
    }
    const w = r >>> 5;
    const m = 1 << (r & 31);
    const i = this.leafOff + w;
    return this.atomic === true ? this.freeOneAtomic(this.words32, i, w, m) : this.freeOneLocked(i, w, m);
  }

  /** {@link freeOne} over shared memory: one `Atomics.and` on the leaf word, then the summaries. */
  private freeOneAtomic(a: Int32Array, i: number, w: number, m: number): boolean {
    const old = Atomics.and(a, i, ~m);
    if ((old & m) === 0) return false; // it was free already: nothing changed
    const nw = old & ~m;
    if (old === -1) this.syncFull(1, w);
    if (nw === 0) this.syncUsed(1, w);
    this.bumpUsed(-1);
    this.hint = w;
    return true;
  }

  /** {@link freeOne} through the word store (metadata not in one buffer), under the lock when shared. */
  private freeOneLocked(i: number, w: number, m: number): boolean {
    const lock = this.lock;
    lock.acquire();
    try {
      const lw = this.ws.get(i);
      if ((lw & m) === 0) return false;
      const nw = (lw & ~m) >>> 0;
      this.ws.set(i, nw);
      if (lw === 0xffffffff || nw === 0) this.refresh(0, w);
      this.hint = w;
      this.bumpUsed(-1);
      return true;
    } finally {
      lock.release();
    }
  }

  // ---- summary upkeep and run updates that are safe beside lock-free callers -------------

  /**
   * Makes FULL bit `c` of level k agree with child word `c` of level k-1 (all ones or
   * not), re-reading the child after the write and repeating while it changed; carries on
   * to level k+1 when this write turned the parent word full or not full.
   */
  protected syncFull(k: number, c: number): void {
    const a = this.i32!;
    const child = k === 1 ? this.leafOff + c : this.fullOff[k - 1] + c;
    const pi = this.fullOff[k] + (c >>> 5);
    const m = 1 << (c & 31);
    for (;;) {
      const isFull = Atomics.load(a, child) === -1;
      if (isFull) {
        if ((a[pi] & m) === 0) {
          const old = Atomics.or(a, pi, m);
          if (old !== -1 && (old | m) === -1 && k < this.levels) this.syncFull(k + 1, c >>> 5);
        }
      } else if ((a[pi] & m) !== 0) {
        const old = Atomics.and(a, pi, ~m);
        if (old === -1 && k < this.levels) this.syncFull(k + 1, c >>> 5);
      }
      if ((Atomics.load(a, child) === -1) === isFull) return;
    }
  }

  /** As {@link syncFull} for USED bit `c` of level k (child word not zero). */
  protected syncUsed(k: number, c: number): void {
    const a = this.i32!;
    const child = k === 1 ? this.leafOff + c : this.usedOff[k - 1] + c;
    const pi = this.usedOff[k] + (c >>> 5);
    const m = 1 << (c & 31);
    for (;;) {
      const isUsed = Atomics.load(a, child) !== 0;
      if (isUsed) {
        if ((a[pi] & m) === 0) {
          const old = Atomics.or(a, pi, m);
          if (old === 0 && k < this.levels) this.syncUsed(k + 1, c >>> 5);
        }
      } else if ((a[pi] & m) !== 0) {
        const old = Atomics.and(a, pi, ~m);
        if ((old & ~m) === 0 && k < this.levels) this.syncUsed(k + 1, c >>> 5);
      }
      if ((Atomics.load(a, child) !== 0) === isUsed) return;
    }
  }

  /** Brings the parents of word `w` of level k in line (atomically over shared memory). */
  protected override refresh(k: number, w: number): void {
    if (!this.atomic) {
      super.refresh(k, w);
      return;
    }
    if (k >= this.levels) return;
    this.syncFull(k + 1, w);
    this.syncUsed(k + 1, w);
  }

  /**
   * Takes relative frames [s, e), which the caller saw free; true on success. Over shared
   * memory each word is taken with compare-and-swap, and when a lock-free caller took one
   * of the frames meanwhile everything taken so far is given back and the result is false.
   */
  protected tryTake(s: number, e: number): boolean {
    if (!this.atomic) {
      this.take(s, e);
      return true;
    }
    const a = this.i32!;
    let at = s;
    while (at < e) {
      const w = Math.floor(at / 32);
      const lo = at - w * 32;
      const n = Math.min(e - w * 32, 32) - lo;
      const m = n === 32 ? -1 : ((1 << n) - 1) << lo;
      const i = this.leafOff + w;
      let old = Atomics.load(a, i);
      for (;;) {
        if ((old & m) !== 0) {
          this.release(s, at);
          return false;
        }
        const seen = Atomics.compareExchange(a, i, old, old | m);
        if (seen === old) break;
        old = seen;
      }
      if (old === 0 || (old | m) === -1) this.refresh(0, w);
      at = (w + 1) * 32;
    }
    return true;
  }

  /** Clears relative frames [s, e) (all taken, materialized); atomically over shared memory. */
  protected override release(s: number, e: number): void {
    if (!this.atomic) {
      super.release(s, e);
      return;
    }
    const a = this.i32!;
    while (s < e) {
      const w = Math.floor(s / 32);
      const lo = s - w * 32;
      const n = Math.min(e - w * 32, 32) - lo;
      const m = n === 32 ? -1 : ((1 << n) - 1) << lo;
      const old = Atomics.and(a, this.leafOff + w, ~m);
      if (old === -1 || (old & ~m) === 0) this.refresh(0, w);
      s = (w + 1) * 32;
    }
  }
}
