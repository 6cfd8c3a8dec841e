/**
 * `BitmapFrameAllocator`: a hierarchical bitmap of 4 KiB frames kept in PhysicalMemory.
 *
 * Level 0 is one bit per frame (1 = not free). Each level k >= 1 has two bit arrays with
 * one bit per word of the level below: FULL (that word is all ones: no free frame) and
 * USED (that word is not zero: something is taken). The top level is one word. Zero means
 * free everywhere, so a fresh state over lazily backed memory costs nothing: a node whose
 * USED bit is 0 is entirely free and nobody reads below it. Holes and large in-use or
 * reserved areas are marked by setting FULL and USED on the highest whole nodes only; the
 * zero words below such a "lazily full" node are filled with ones on demand (when a frame
 * under it is freed), so marking 1 PiB of holes writes a handful of words.
 *
 * What a reader may trust: FULL = 1 means no free frame below, USED = 0 means nothing
 * taken below. The other direction is exact above level 1, but a level-1 bit may lag its
 * leaf word (FULL still 0 over a word that filled up, USED still 1 over a word that
 * emptied): the unshared single-frame paths update those two bits lazily, so that
 * allocating and freeing within a few words touches no summary (see `bitmap-sync.ts`).
 * Searches and `check()` rely only on what is always true.
 *
 * Metadata layout after the common header (see `meta.ts`): the kind area holds, for
 * k = 1..levels, the word offsets of FULL_k and USED_k (64-bit each); level 0 starts at
 * the data offset.
 *
 * Threads: over SharedArrayBuffer memory, `allocate()` and `free()` of one frame take no
 * lock (compare-and-swap on the leaf word, see `bitmap-sync.ts`); everything else takes the
 * header's lock and still takes its frames by compare-and-swap. `stats()` and `check()` are
 * exact when no other thread is in the middle of an operation.
 *
 * @module
 */
import { hex } from '../errors.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { FrameError } from './errors.js';
import {
  FrameMeta,
  H_DATA_OFF,
  H_KIND_AREA,
  H_PARAM,
  H_RESERVED,
  KIND_BITMAP,
  readMetaBytes,
} from './meta.js';
import { placeMetadata, planFrames, subtractFrames, type FramePlan } from './plan.js';
import { checkAllocateOptions, checkCount, checkFrameAddress, FRAME_SIZE, isPlainSingle, type AllocateOptions, type FrameAllocator, type FrameAllocatorOptions, type FrameStats, type UsableMemoryMap } from './types.js';
import { checkReserveArgs } from './util.js';
import { BitmapSync } from './bitmap-sync.js';


/**
 * Physical frame allocator over a hierarchical bitmap stored in PhysicalMemory.
 *
 * @example
 * ```ts
 * import { BitmapFrameAllocator, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 2 ** 46, { backing: 'lazy' });                 // 64 TiB, lazily backed
 * const frames = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0, end: 2 ** 46 }] });
 * const low = frames.allocate(1, { maxAddress: 0xfffff });           // a real-mode trampoline page
 * const big = frames.allocate(512, { align: 2 * 1024 * 1024 });      // a 2 MiB page
 * const again = BitmapFrameAllocator.attach(memory, frames.metadataAddress);
 * again.isFree(big!);                                                // false
 * ```
 */
export class BitmapFrameAllocator extends BitmapSync implements FrameAllocator {

  private constructor(memory: PhysicalMemory, metadataAddress: number, metaBytes: number) {
    super(memory, metadataAddress, metaBytes);
  }

  /**
   * Builds an allocator over `map.usableAfterExitBootServices()` (or `options.ranges`),
   * placing its metadata in usable memory and reserving it.
   */
  static fromMemoryMap(memory: PhysicalMemory, map: UsableMemoryMap | null, options: FrameAllocatorOptions = {}): BitmapFrameAllocator {
    const plan = planFrames(map, options);
    const baseFrame = Math.floor(plan.ranges[0].start / 32) * 32;
    const frameCount = plan.ranges[plan.ranges.length - 1].end - baseFrame;
    const shape = BitmapFrameAllocator.shape(frameCount);
    const dataOffset = FrameMeta.tablesBytes(plan.ranges.length);
    const metaBytes = dataOffset + Math.ceil((shape.words * 4) / FRAME_SIZE) * FRAME_SIZE;
    const metaFrame = placeMetadata(memory, plan, metaBytes, options.metadataAddress);
    const meta = { start: metaFrame, end: metaFrame + metaBytes / FRAME_SIZE };
    const full: FramePlan = { ranges: plan.ranges, inUse: plan.inUse, reserved: [...plan.reserved, meta].sort((a, b) => a.start - b.start) };
    const self = new BitmapFrameAllocator(memory, metaFrame * FRAME_SIZE, metaBytes);
    self.baseFrame = baseFrame;
    self.frameCount = frameCount;
    self.writeCommon(KIND_BITMAP, metaBytes, full, dataOffset, shape.levels);
    self.levels = shape.levels;
    self.layout(dataOffset / 4, shape);
    self.ws.clear(dataOffset / 4, dataOffset / 4 + shape.words);
    // Not free: holes between usable ranges, the padding past the end, reservations, in-use frames.
    const top = self.span[self.levels] * 32;
    const holes = subtractFrames([{ start: 0, end: top }], plan.ranges.map((r) => ({ start: r.start - baseFrame, end: r.end - baseFrame })));
    for (const h of holes) self.markRange(h.start, h.end);
    for (const r of self.resStarts.map((s, k) => ({ start: s, end: self.resEnds[k] }))) self.markRange(r.start - baseFrame, r.end - baseFrame);
    for (const r of full.inUse) self.markRange(r.start - baseFrame, r.end - baseFrame);
    self.setupFast();
    self.seal();
    return self;
  }

  /** Opens the allocator state at `metadataAddress` (from another worker, or a loaded image). */
  static attach(memory: PhysicalMemory, metadataAddress: number): BitmapFrameAllocator {
    const bytes = readMetaBytes(memory, metadataAddress);
    const self = new BitmapFrameAllocator(memory, metadataAddress, bytes);
    self.openCommon(KIND_BITMAP, 'bitmap frame allocator');
    self.levels = self.hdr[H_PARAM];
    const words: number[] = [];
    for (let k = 1; k <= self.levels; k++) words.push(self.h64(H_KIND_AREA + 4 * (k - 1)), self.h64(H_KIND_AREA + 4 * (k - 1) + 2));
    self.leafOff = self.h64(H_DATA_OFF) / 4;
    self.leafArray = self.ws.all !== null ? self.ws.all.subarray(self.leafOff, self.leafOff + Math.ceil(self.frameCount / 32)) : null;
    self.span.length = 0;
    for (let k = 0, s = 1; k <= self.levels; k++, s *= 32) self.span.push(s);
    for (let k = 1; k <= self.levels; k++) {
      self.fullOff[k] = words[2 * (k - 1)];
      self.usedOff[k] = words[2 * (k - 1) + 1];
    }
    self.setupFast();
    return self;
  }

  /** Levels and word counts for `n` frames. */
  // ---- FrameAllocator ------------------------------------------------------------------

  allocate(count = 1, options?: AllocateOptions): number | null {
    // kept tiny so that it inlines into the caller: one frame goes straight to the hot path
    if (count === 1 && options === undefined) return this.allocateOne();
    return this.allocateChecked(count, options);
  }

  /** {@link allocate} with validation: runs, constraints, and the lock. */
  private allocateChecked(count: number, options: AllocateOptions | undefined): number | null {
    if (count === 1 && isPlainSingle(options)) return this.allocateOne();
    checkCount(count);
    const c = checkAllocateOptions(options);
    if (count === 1 && !c.constrained) return this.allocateOne();
    this.lock.acquire();
    try {
      let rel: number;
      // over shared memory a lock-free caller may take a frame of the run found: search again
      do {
        if (!c.constrained) {
          rel = this.findRun(count, 1, this.runHint, this.frameCount);
          if (rel < 0 && this.runHint > 0) rel = this.findRun(count, 1, 0, this.frameCount);
          if (rel < 0) return null;
          this.runHint = rel + count;
        } else {
          const lo = Math.max(0, c.minFrame - this.baseFrame);
          const end = Math.min(this.frameCount, c.maxEnd - this.baseFrame);
          if (end - lo < count) return null;
          rel = this.findRun(count, c.alignFrames, lo, end);
          if (rel < 0) return null;
        }
      } while (!this.tryTake(rel, rel + count));
      this.bumpUsed(count);
      return (this.baseFrame + rel) * FRAME_SIZE;
    } finally {
      this.lock.release();
    }
  }

  allocateAt(address: number, count = 1): boolean {
    const s = checkFrameAddress(address);
    checkCount(count);
    if (!this.managed(s, s + count)) return false;
    this.lock.acquire();
    try {
      const rel = s - this.baseFrame;
      if (!this.allFree(rel, rel + count) || !this.tryTake(rel, rel + count)) return false;
      this.bumpUsed(count);
      return true;
    } finally {
      this.lock.release();
    }
  }

  free(address: number, count = 1): void {
    // kept tiny so that it inlines into the caller: a plainly allocated frame is freed at once
    if (count === 1 && typeof address === 'number' && this.freeOne(address)) return;
    this.freeChecked(address, count);
  }

  /** {@link free} with validation and typed errors, under the lock. */
  private freeChecked(address: number, count: number): void {
    const s = checkFrameAddress(address);
    if (count !== 1) checkCount(count);
    const e = s + count;
    if (!this.managed(s, e)) {
      throw new FrameError('FRAME_OUT_OF_RANGE', `[${hex(address)}, ${hex(e * FRAME_SIZE)}) is not inside usable memory this allocator manages`, { address, count });
    }
    this.lock.acquire();
    try {
      this.syncReservations();
      if (this.overlapsReservation(s, e)) {
        throw new FrameError('FRAME_RESERVED', `[${hex(address)}, ${hex(e * FRAME_SIZE)}) overlaps a reserved range; reserved frames are never freed`, { address, count });
      }
      const rel = s - this.baseFrame;
      if (!this.allTaken(rel, rel + count)) {
        const f = this.nextFree(rel) + this.baseFrame;
        throw new FrameError('FRAME_NOT_ALLOCATED', `frame ${hex(f * FRAME_SIZE)} of [${hex(address)}, ${hex(e * FRAME_SIZE)}) is free: double free, or never handed out`, { address, count, frame: f * FRAME_SIZE });
      }
      this.release(rel, rel + count);
      this.bumpUsed(-count);
    } finally {
      this.lock.release();
    }
  }

  reserve(address: number, size: number): void {
    const { start, end } = checkReserveArgs(address, size);
    this.lock.acquire();
    try {
      const pieces = this.newlyReserved(start, end);
      // take every piece first (compare-and-swap over shared memory), giving all back on failure
      let n = 0;
      for (let k = 0; k < pieces.length; k++) {
        const p = pieces[k];
        if (!this.allFree(p.start - this.baseFrame, p.end - this.baseFrame) || !this.tryTake(p.start - this.baseFrame, p.end - this.baseFrame)) {
          for (let j = 0; j < k; j++) this.release(pieces[j].start - this.baseFrame, pieces[j].end - this.baseFrame);
          throw new FrameError('FRAME_IN_USE', `cannot reserve [${hex(p.start * FRAME_SIZE)}, ${hex(p.end * FRAME_SIZE)}): some of it is handed out`, { address, size });
        }
        n += p.end - p.start;
      }
      try {
        this.addReservations(pieces);
      } catch (e) {
        for (const p of pieces) this.release(p.start - this.baseFrame, p.end - this.baseFrame);
        throw e;
      }
      this.addH64(H_RESERVED, n);
    } finally {
      this.lock.release();
    }
  }

  isFree(address: number): boolean {
    if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0 || address >= 2 ** 52) checkFrameAddress(address);
    const f = Math.floor(address / FRAME_SIZE);
    if (this.rangeOf(f) < 0) return false;
    const rel = f - this.baseFrame;
    const w = Math.floor(rel / 32);
    if ((this.ws.get(this.leafOff + w) >>> (rel - w * 32)) & 1) return false;
    return !this.lazilyFull(w);
  }

  stats(): FrameStats {
    this.lock.acquire();
    try {
      const c = this.counters();
      let largest = 0;
      let f = this.nextFree(0);
      while (f >= 0) {
        const u = this.nextUsed(f);
        const end = u < 0 ? this.frameCount : u;
        if (end - f > largest) largest = end - f;
        if (u < 0) break;
        f = this.nextFree(u);
      }
      return { total: c.total, free: c.free, used: c.used, reserved: c.reserved, largestFreeRun: largest };
    } finally {
      this.lock.release();
    }
  }

  check(): void {
    this.lock.acquire();
    try {
      this.checkCommon();
      const free = this.checkNode(this.levels, 0);
      const c = this.counters();
      if (free !== c.free) this.corrupt(`the bitmap has ${free} free frames but the counters say ${c.free} (total ${c.total}, used ${c.used}, reserved ${c.reserved})`);
    } finally {
      this.lock.release();
    }
  }

}
