/**
 * `BuddyFrameAllocator`: a binary buddy allocator of 4 KiB frames, orders 0..maxOrder
 * (default 10, as Linux; up to 18), whose free lists live inside the free blocks.
 *
 * Every free block starts with a node (little-endian u32 words): next frame + 1 (low,
 * high), previous frame + 1 (low, high), order, magic 'BDDY'. Out-of-band, in the
 * metadata: one tag bit per frame ("a free block starts here", as Linux's PageBuddy) so a
 * buddy is only trusted when tagged; list heads, per-order counts and a mask of non-empty
 * orders in the header; and a table of "windows": max-order-aligned spans of free memory
 * not yet cut into blocks. Windows make construction over a huge map write only the few
 * unaligned edge blocks of each range: a max-order block is carved off a window when the
 * lists run dry (or when allocateAt/reserve/a constrained allocation needs it). After the
 * tags, one "taken" bit per frame (handed out, reserved or in use): the double-free test.
 * Single frames go through a small cache in the header first (see buddy-cache.ts).
 *
 * `count` rounds up to a power of two 2^k. A request at an address aligned to 2^k frames is
 * that one block; `allocateAt`/`free` at an address that is not so aligned work on exactly
 * `count` frames (split into aligned blocks), so both always agree on what a call covers.
 *
 * @module
 */
import { hex } from '../errors.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { FrameError } from './errors.js';
import { FrameMeta, H_DATA_OFF, H_KIND_AREA, H_PARAM, H_RESERVED, H_USED, KIND_BUDDY, readMetaBytes } from './meta.js';
import { placeMetadata, planFrames, subtractFrames } from './plan.js';
import { checkAllocateOptions, checkCount, checkFrameAddress, FRAME_SIZE, isPlainSingle, type AllocateOptions, type FrameAllocator, type FrameAllocatorOptions, type FrameStats, type UsableMemoryMap } from './types.js';
import { checkReserveArgs } from './util.js';
import { MemoryWords } from './words.js';
import { type BuddyLayout } from './buddy-lists.js';
import { alignedPieces, callPieces, orderOf, type Piece } from './buddy-pieces.js';
import { BuddyCache, CACHE_AT_WORD, CACHE_CAPACITY, CACHE_N_WORD } from './buddy-cache.js';

/**
 * Default max order of the buddy allocator (blocks of up to 2^10 frames = 4 MiB, as Linux).
 *
 * @example
 * ```ts
 * import { BUDDY_DEFAULT_MAX_ORDER, BuddyFrameAllocator, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 64 * 1024 * 1024);
 * const buddy = BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0x1000000, end: 0x4000000 }] });
 * buddy.allocate(2 ** BUDDY_DEFAULT_MAX_ORDER);     // a 4 MiB block
 * buddy.allocate(2 ** BUDDY_DEFAULT_MAX_ORDER + 1); // null: larger than the largest order
 * ```
 */
export const BUDDY_DEFAULT_MAX_ORDER = 10;
/**
 * Largest max order the buddy allocator accepts (blocks of 2^18 frames = 1 GiB).
 *
 * @example
 * ```ts
 * import { BUDDY_LARGEST_MAX_ORDER, BuddyFrameAllocator, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 64 * 1024 * 1024);
 * const ranges = [{ start: 0x1000000, end: 0x4000000 }];
 * BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges, maxOrder: BUDDY_LARGEST_MAX_ORDER });     // ok
 * BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges, maxOrder: BUDDY_LARGEST_MAX_ORDER + 1 }); // throws FrameError FRAME_BAD_OPTION
 * ```
 */
export const BUDDY_LARGEST_MAX_ORDER = 18;

/** Options of {@link BuddyFrameAllocator.fromMemoryMap}. */
export interface BuddyOptions extends FrameAllocatorOptions {
  /** Largest block order (blocks of 2^maxOrder frames); 0..18, default 10. */
  maxOrder?: number;
}

/** {@link FrameStats} plus free blocks per order. */
export interface BuddyStats extends FrameStats {
  /** `perOrder[k]` = free blocks of 2^k frames (uncut windows count as max-order blocks). */
  perOrder: number[];
}

// The hot paths' constants as a const enum (see bitmap-sync.ts): inlined as literals by the
// TypeScript transforms and the bundler alike, where an import or a bundled top-level const
// is a load and a check per use. Header words of the kind area (H_KIND_AREA = 32) + n.
const enum B {
  FRAME_BYTES = 4096,
  CACHE_N = 32 + 90,
  CACHE_AT = 32 + 96,
  CAPACITY = 64,
  USED = 12,
  K_WIN_COUNT = 32 + 81,
  K_WIN_CAP = 32 + 82,
  K_WIN_OFF = 32 + 84,
  K_TAG_OFF = 32 + 86,
  K_TAKEN_OFF = 32 + 88,
}
if (B.FRAME_BYTES !== FRAME_SIZE || B.CACHE_N !== CACHE_N_WORD || B.CACHE_AT !== CACHE_AT_WORD || B.CAPACITY !== CACHE_CAPACITY || B.USED !== H_USED || B.K_WIN_COUNT !== H_KIND_AREA + 81) {
  throw new Error('memprims: buddy.ts constants disagree with buddy-cache.ts / meta.ts');
}
const EMPTY = new Uint32Array(0);

/**
 * Binary buddy frame allocator with intrusive free lists in PhysicalMemory.
 *
 * @example
 * ```ts
 * import { BuddyFrameAllocator, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 64 * 1024 * 1024);
 * const buddy = BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0x100000, end: 64 * 1024 * 1024 }] });
 * const block = buddy.allocate(3)!;          // 4 frames (rounded up), aligned to 16 KiB
 * buddy.stats().perOrder;                    // free blocks per order
 * buddy.free(block, 3);
 * ```
 */
export class BuddyFrameAllocator extends FrameMeta implements FrameAllocator {
  private maxOrder = BUDDY_DEFAULT_MAX_ORDER;
  private lists!: BuddyCache;
  /**
   * True when a single frame may go the inline paths ({@link allocateOne}, {@link freeOne}):
   * no other thread can see the state (no lock) and the metadata is one array ({@link fMeta},
   * the taken bits from word {@link fTaken}). Set once, with the two below, by {@link setupFast}.
   */
  private declare fast: boolean;
  private declare fMeta: Uint32Array;
  private declare fTaken: number;

  private constructor(memory: PhysicalMemory, metadataAddress: number, metaBytes: number) {
    super(memory, metadataAddress, metaBytes);
  }

  /** Builds a buddy allocator over the map's usable memory (or `options.ranges`); metadata is placed in usable memory and reserved. */
  static fromMemoryMap(memory: PhysicalMemory, map: UsableMemoryMap | null, options: BuddyOptions = {}): BuddyFrameAllocator {
    const maxOrder = options.maxOrder ?? BUDDY_DEFAULT_MAX_ORDER;
    if (typeof maxOrder !== 'number' || !Number.isInteger(maxOrder) || maxOrder < 0 || maxOrder > BUDDY_LARGEST_MAX_ORDER) {
      throw new FrameError('FRAME_BAD_OPTION', `maxOrder must be an integer 0..${BUDDY_LARGEST_MAX_ORDER}, got ${String(maxOrder)}`, { value: maxOrder });
    }
    const plan = planFrames(map, options);
    const M = 2 ** maxOrder;
    const baseFrame = Math.floor(plan.ranges[0].start / M) * M;
    const frameCount = plan.ranges[plan.ranges.length - 1].end - baseFrame;
    const winCap = 2 * plan.ranges.length + 1024;
    const tablesBytes = FrameMeta.tablesBytes(plan.ranges.length);
    const winBytes = Math.ceil((winCap * 16) / FRAME_SIZE) * FRAME_SIZE;
    const tagBytes = Math.ceil(Math.ceil(frameCount / 32) * 4 / FRAME_SIZE) * FRAME_SIZE;
    const metaBytes = tablesBytes + winBytes + 2 * tagBytes; // tag bits, then as many taken bits
    const metaFrame = placeMetadata(memory, plan, metaBytes, options.metadataAddress);
    const reserved = [...plan.reserved, { start: metaFrame, end: metaFrame + metaBytes / FRAME_SIZE }].sort((a, b) => a.start - b.start);
    const free = subtractFrames(subtractFrames(plan.ranges, plan.inUse), reserved);
    const words = new MemoryWords(memory);
    // free frames, and in-use ones (free()d later), will hold list nodes: memory must back them
    for (const r of subtractFrames(plan.ranges, reserved)) {
      if (!words.covers(r.start * FRAME_SIZE, r.end * FRAME_SIZE)) {
        throw new FrameError('FRAME_BAD_OPTION', `usable memory [${hex(r.start * FRAME_SIZE)}, ${hex(r.end * FRAME_SIZE)}) is not backed by PhysicalMemory; the buddy keeps its free lists inside free frames (in-use frames too: they are freed later)`, { start: r.start * FRAME_SIZE, end: r.end * FRAME_SIZE });
      }
    }
    const self = new BuddyFrameAllocator(memory, metaFrame * FRAME_SIZE, metaBytes);
    self.baseFrame = baseFrame;
    self.frameCount = frameCount;
    self.maxOrder = maxOrder;
    self.writeCommon(KIND_BUDDY, metaBytes, { ranges: plan.ranges, inUse: plan.inUse, reserved }, tablesBytes, maxOrder);
    self.hdr[B.K_WIN_CAP] = winCap;
    self.setH64(B.K_WIN_OFF, tablesBytes / 4);
    self.setH64(B.K_TAG_OFF, (tablesBytes + winBytes) / 4);
    self.setH64(B.K_TAKEN_OFF, (tablesBytes + winBytes + tagBytes) / 4);
    self.setH64(H_DATA_OFF, tablesBytes);
    self.ws.clear(tablesBytes / 4, metaBytes / 4);
    self.lists = new BuddyCache(self.layout(), words);
    for (const r of free) self.lists.addFreeRange(r.start, r.end);
    // every managed frame that is not free (in use, reserved, the metadata) is taken
    for (const r of subtractFrames(plan.ranges, free)) self.lists.setTaken(r.start, r.end, true);
    self.setupFast();
    self.seal();
    return self;
  }

  /** Opens the buddy state at `metadataAddress` (from another worker, or a loaded image). */
  static attach(memory: PhysicalMemory, metadataAddress: number): BuddyFrameAllocator {
    const bytes = readMetaBytes(memory, metadataAddress);
    const self = new BuddyFrameAllocator(memory, metadataAddress, bytes);
    self.openCommon(KIND_BUDDY, 'buddy frame allocator');
    self.maxOrder = self.hdr[H_PARAM];
    self.lists = new BuddyCache(self.layout(), new MemoryWords(memory));
    self.setupFast();
    return self;
  }

  private setupFast(): void {
    const f = this.lists.fastState();
    this.fast = f.meta !== null && this.lock.active !== true && this.shareable !== true;
    this.fMeta = f.meta ?? EMPTY;
    this.fTaken = f.taken | 0;
  }

  private layout(): BuddyLayout {
    return { hdr: this.hdr, ws: this.ws, maxOrder: this.maxOrder, baseFrame: this.baseFrame, winCountWord: B.K_WIN_COUNT, winCapWord: B.K_WIN_CAP, winOff: this.h64(B.K_WIN_OFF), tagOff: this.h64(B.K_TAG_OFF), takenOff: this.h64(B.K_TAKEN_OFF) };
  }

  allocate(count = 1, options?: AllocateOptions): number | null {
    // small enough for V8 to inline into a caller's loop; the rest is out of line
    return count === 1 && options === undefined ? this.allocateOne() : this.allocateChecked(count, options);
  }

  private allocateChecked(count: number, options: AllocateOptions | undefined): number | null {
    if (count === 1 && isPlainSingle(options)) return this.allocateOne();
    if (count !== 1) checkCount(count);
    const c = checkAllocateOptions(options);
    const k = count === 1 ? 0 : orderOf(count);
    if (k > this.maxOrder) return null;
    const size = 1 << k; // k <= 18 (a 2 ** k with a variable k is a call to pow)
    const plain = !c.constrained || (c.alignFrames <= size && c.minFrame === 0 && c.maxEnd === Infinity);
    if (k === 0 && plain) return this.allocateOne();
    this.lock.acquire();
    try {
      const L = this.lists;
      const align = c.alignFrames > size ? c.alignFrames : size;
      let f = k === 0 ? L.takeCached(align, c.minFrame, c.maxEnd) : -1;
      if (f < 0) f = plain ? L.takeAny(k) : L.takeConstrained(k, align, c.minFrame, c.maxEnd);
      if (f < 0 && k > 0 && L.cached() > 0) {
        // cached single frames may be what keeps a block from merging: return them and retry
        L.drain();
        f = plain ? L.takeAny(k) : L.takeConstrained(k, align, c.minFrame, c.maxEnd);
      }
      if (f < 0) return null;
      L.setTaken(f, f + size, true);
      this.bumpUsed(size);
      return f * FRAME_SIZE;
    } finally {
      this.lock.release();
    }
  }

  /**
   * One frame, no constraints: the most recently cached frame, popped inline when nothing
   * else is needed (unshared state, a cached frame, no carry into the counter's high word),
   * else {@link allocateOneCached} (a refill from the lists, the lock, the carry).
   */
  private allocateOne(): number | null {
    if (this.fast === true) {
      const h = this.hdr;
      const n = h[B.CACHE_N];
      const u = h[B.USED];
      if (n !== 0 && u !== 0xffffffff) {
        const rel = h[B.CACHE_AT + n - 1];
        const m = this.fMeta;
        const i = this.fTaken + (rel >>> 5);
        h[B.CACHE_N] = n - 1;
        m[i] = m[i] | (1 << (rel & 31)); // taken
        h[B.USED] = u + 1;
        return (this.baseFrame + rel) * B.FRAME_BYTES;
      }
    }
    return this.allocateOneCached();
  }

  /** {@link allocateOne} through the frame cache's own methods (see buddy-cache.ts). */
  private allocateOneCached(): number | null {
    const lock = this.lock;
    if (lock.active === true) lock.acquire();
    const f = this.lists.takeOne();
    if (f >= 0) this.bumpUsed(1);
    if (lock.active === true) lock.release();
    return f < 0 ? null : f * B.FRAME_BYTES;
  }

  allocateAt(address: number, count = 1): boolean {
    const s = checkFrameAddress(address);
    checkCount(count);
    const ps = callPieces(s, count, this.maxOrder);
    const last = ps[ps.length - 1];
    if (!this.managed(s, last.f + 2 ** last.k)) return false;
    this.lock.acquire();
    try {
      const L = this.lists;
      // every frame free (taken bits clear: on a list, in a window or cached)? Only then is
      // the cache returned to the lists, so a false result changes nothing
      if (L.firstTaken(s, last.f + 2 ** last.k) >= 0) return false;
      L.drain();
      for (const p of ps) if (!L.pieceFree(p.f, p.k)) this.corrupt(`frames of [${hex(address)}, +${count} frames) read as free in the taken bitmap but are on no free list`);
      let n = 0;
      for (const p of ps) {
        L.carvePiece(p.f, p.k);
        L.setTaken(p.f, p.f + 2 ** p.k, true);
        n += 2 ** p.k;
      }
      this.bumpUsed(n);
      return true;
    } finally {
      this.lock.release();
    }
  }

  free(address: number, count = 1): void {
    // kept small so that it inlines into the caller: a plainly allocated frame is freed at once
    if (count === 1 && typeof address === 'number' && this.freeOne(address)) return;
    this.freeChecked(address, count);
  }

  private freeChecked(address: number, count: number): void {
    const s = checkFrameAddress(address);
    if (count !== 1) checkCount(count);
    const ps = callPieces(s, count, this.maxOrder);
    const last = ps[ps.length - 1];
    const e = last.f + 2 ** last.k;
    if (!this.managed(s, e)) {
      throw new FrameError('FRAME_OUT_OF_RANGE', `[${hex(address)}, ${hex(e * FRAME_SIZE)}) is not inside usable memory this allocator manages`, { address, count });
    }
    this.lock.acquire();
    try {
      this.syncReservations();
      if (this.overlapsReservation(s, e)) {
        throw new FrameError('FRAME_RESERVED', `[${hex(address)}, ${hex(e * FRAME_SIZE)}) overlaps a reserved range; reserved frames are never freed`, { address, count });
      }
      const L = this.lists;
      for (const p of ps) {
        const hit = L.firstUntaken(p.f, p.f + (1 << p.k));
        if (hit >= 0) {
          throw new FrameError('FRAME_NOT_ALLOCATED', `frame ${hex(hit * FRAME_SIZE)} of [${hex(address)}, ${hex(e * FRAME_SIZE)}) is free: double free, or never handed out`, { address, count, frame: hit * FRAME_SIZE });
        }
      }
      let n = 0;
      for (const p of ps) {
        L.setTaken(p.f, p.f + (1 << p.k), false);
        L.release(p.f, p.k);
        n += 1 << p.k;
      }
      this.bumpUsed(-n);
    } finally {
      this.lock.release();
    }
  }

  /**
   * Frees one plainly allocated frame (managed, not reserved, taken, within 2^31 frames of the
   * base) into the frame cache; false, changing nothing, sends the call down the checked path.
   */
  private freeOne(address: number): boolean {
    // the frame relative to the base as an int32: exact only for a frame-aligned address
    // within 2^31 frames (a multiply by 2^-12 is exact; a division costs ~15 cycles)
    const rel = address * (1 / B.FRAME_BYTES) - this.baseFrame;
    const r = rel | 0;
    if (r !== rel) return false;
    if (this.fast === true && this.isPlain(r)) {
      // unshared, in a learnt plain span: taken? then clear its bit and push it on the cache,
      // inline, unless the cache is full (a flush) or the counter borrows (its high word)
      const m = this.fMeta;
      const i = this.fTaken + (r >> 5);
      const w = m[i];
      const bit = 1 << (r & 31);
      const h = this.hdr;
      const n = h[B.CACHE_N];
      const u = h[B.USED];
      if ((w & bit) !== 0 && n !== B.CAPACITY && u !== 0) {
        m[i] = w & ~bit;
        h[B.CACHE_AT + n] = r;
        h[B.CACHE_N] = n + 1;
        h[B.USED] = u - 1;
        return true;
      }
    }
    return this.freeOneCached(r);
  }

  /** {@link freeOne} through the frame cache's own methods, for `r` (an int32) frames above the base. */
  private freeOneCached(r: number): boolean {
    const lock = this.lock;
    if (lock.active === true) lock.acquire();
    // managed and unreserved: inside a span learnt before (same reservation generation), or learnt now
    const plain = this.isPlain(r) || (r >= 0 && this.learnPlain(this.baseFrame + r) && this.isPlain(r));
    const ok = plain && this.lists.giveOne(r);
    if (ok) this.bumpUsed(-1);
    if (lock.active === true) lock.release();
    return ok;
  }

  reserve(address: number, size: number): void {
    const { start, end } = checkReserveArgs(address, size);
    this.lock.acquire();
    try {
      const ranges = this.newlyReserved(start, end);
      const exact: Piece[] = [];
      for (const r of ranges) exact.push(...alignedPieces(r.start, r.end, this.maxOrder));
      for (const p of exact) {
        if (this.lists.firstTaken(p.f, p.f + 2 ** p.k) >= 0) {
          throw new FrameError('FRAME_IN_USE', `cannot reserve [${hex(p.f * FRAME_SIZE)}, ${hex((p.f + 2 ** p.k) * FRAME_SIZE)}): it is handed out`, { address, size });
        }
      }
      this.addReservations(ranges); // (throws when the list is full: nothing changed yet)
      this.lists.drain();
      for (const p of exact) {
        if (!this.lists.pieceFree(p.f, p.k)) this.corrupt(`frames of [${hex(p.f * FRAME_SIZE)}, +${2 ** p.k} frames) read as free in the taken bitmap but are on no free list`);
      }
      let n = 0;
      for (const p of exact) {
        this.lists.carvePiece(p.f, p.k);
        this.lists.setTaken(p.f, p.f + 2 ** p.k, true);
        n += 2 ** p.k;
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
    return this.lists.isTaken(f) === 0;
  }

  /** Counters, largest free run and free blocks per order, after returning the frame cache to the lists (so this writes to memory: list nodes and header words). */
  stats(): BuddyStats {
    this.lock.acquire();
    try {
      this.lists.drain(); // report the merged state
      const c = this.counters();
      const blocks = this.lists.allFreeBlocks();
      const perOrder = new Array<number>(this.maxOrder + 1).fill(0);
      let largest = 0;
      let runStart = -1;
      let runEnd = -1;
      for (const b of blocks) {
        if (b.window) perOrder[this.maxOrder] += (b.end - b.start) / 2 ** this.maxOrder;
        else perOrder[b.order]++;
        if (b.start === runEnd) runEnd = b.end;
        else {
          runStart = b.start;
          runEnd = b.end;
        }
        if (runEnd - runStart > largest) largest = runEnd - runStart;
      }
      return { total: c.total, free: c.free, used: c.used, reserved: c.reserved, largestFreeRun: largest, perOrder };
    } finally {
      this.lock.release();
    }
  }

  check(): void {
    this.lock.acquire();
    try {
      this.checkCommon();
      this.syncReservations();
      const managed = (s: number, e: number): boolean => this.managed(s, e);
      const reserved = (s: number, e: number): boolean => this.overlapsReservation(s, e);
      const corrupt = (m: string): never => this.corrupt(m);
      const free = this.lists.checkLists(managed, reserved, corrupt) + this.lists.checkCache(managed, reserved, corrupt);
      const c = this.counters();
      if (free !== c.free) this.corrupt(`the free lists and the frame cache hold ${free} frames but the counters say ${c.free} (total ${c.total}, used ${c.used}, reserved ${c.reserved})`);
      // every frame outside the lists, windows and cache must be marked taken (windows: their ends only, above)
      const clear = this.lists.countUntakenOutsideWindows(this.rangeStarts, this.rangeEnds);
      const windowed = this.lists.windowFrames();
      if (clear !== free - windowed) this.corrupt(`${clear - (free - windowed)} frames outside the free lists, windows and frame cache are not marked taken (handed out, in use or reserved frames that would read as free)`);
    } finally {
      this.lock.release();
    }
  }
}
