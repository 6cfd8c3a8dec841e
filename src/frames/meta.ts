/**
 * The part of an allocator's state both kinds share, all of it inside PhysicalMemory at
 * `metadataAddress`: a header (magic, version, kind, lock word, counters, table offsets),
 * the table of usable frame ranges (fixed at construction) and the reservation list
 * (grows with `reserve()`). Construction is planned in `plan.ts`.
 *
 * Header (little-endian u32 words from `metadataAddress`; 64-bit values as low, high):
 * 0 magic 'MPFA' · 1 version · 2 kind (1 bitmap, 2 buddy) · 3 lock · 4-5 metadata bytes ·
 * 6-7 base frame · 8-9 frame count · 10-11 total · 12-13 used · 14-15 reserved ·
 * 16 range count · 17 reservation count · 18 reservation capacity · 19 reservation
 * generation · 20 ranges offset · 21 reservations offset · 22-23 data offset · 24 kind
 * parameter (bitmap levels / buddy max order) · 25 flags · 32.. kind-specific.
 *
 * @module
 */
import { describe, hex } from '../errors.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { FrameError } from './errors.js';
import { normalizeRanges } from '../addr/phys.js';
import { countFrames, intersectFrames, subtractFrames, type FramePlan, type FrameRange } from './plan.js';
import { FRAME_SIZE } from './types.js';
import { WordLock, WordStore } from './words.js';

/**
 * Magic word at `metadataAddress` of every frame-allocator state: 'MPFA' as little-endian bytes.
 *
 * @example
 * ```ts
 * import { BitmapFrameAllocator, FRAMES_MAGIC, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 4 * 1024 * 1024);
 * const frames = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0x100000, end: 0x200000 }] });
 * memory.readU32(frames.metadataAddress) === FRAMES_MAGIC; // true ('MPFA')
 * ```
 */
export const FRAMES_MAGIC = 0x4146504d;
/**
 * Version of the frame-allocator metadata layout written after the magic.
 *
 * @example
 * ```ts
 * import { BitmapFrameAllocator, FRAMES_VERSION, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 4 * 1024 * 1024);
 * const frames = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0x100000, end: 0x200000 }] });
 * memory.readU32(frames.metadataAddress + 4) === FRAMES_VERSION; // true: the word after the magic
 * ```
 */
export const FRAMES_VERSION = 2;
/** Kind tags in the header. */
export const KIND_BITMAP = 1;
export const KIND_BUDDY = 2;

export const H_MAGIC = 0;
export const H_VERSION = 1;
export const H_KIND = 2;
export const H_LOCK = 3;
export const H_META_BYTES = 4;
export const H_BASE_FRAME = 6;
export const H_FRAME_COUNT = 8;
export const H_TOTAL = 10;
// The hot paths use the const enum below (an exported binding is read from its module cell,
// with a hole check, on every use, even inside its own module; a top-level const becomes a
// mutable var in the bundle). TypeScript transforms and the bundler inline `M.X` as literals.
const enum M {
  USED = 12,
  RES_GEN = 19,
  TWO32 = 4294967296,
}
export const H_USED: number = M.USED;
export const H_RESERVED = 14;
export const H_RANGE_COUNT = 16;
export const H_RES_COUNT = 17;
export const H_RES_CAPACITY = 18;
export const H_RES_GEN: number = M.RES_GEN;
export const H_RANGES_OFF = 20;
export const H_RES_OFF = 21;
export const H_DATA_OFF = 22;
export const H_PARAM = 24;
export const H_FLAGS = 25;
/** First word of the kind-specific header area. */
export const H_KIND_AREA = 32;
/** The header occupies the first 4 KiB. */
export const HEADER_BYTES = 4096;
/** Capacity of the reservation list. */
export const RESERVATION_CAPACITY = 1024;

/** Index of the last of the ascending `starts` that is <= f, or -1 (binary search). */
function lastAtOrBelow(starts: readonly number[], f: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= f) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi;
}

/**
 * Header, range table, reservation list, counters and lock of one allocator state; the
 * base of both allocator classes.
 */
export abstract class FrameMeta {
  /** Physical address of the allocator's metadata (what `attach` takes). */
  readonly metadataAddress: number;
  protected readonly ws: WordStore;
  /** The 4 KiB header as words (always materialized). */
  protected readonly hdr: Uint32Array;
  protected readonly lock: WordLock;
  /** The metadata is in shareable memory (counters updated with Atomics). */
  protected readonly shareable: boolean;
  /** Usable frame ranges (immutable after construction), cached from memory. */
  protected readonly rangeStarts: number[] = [];
  protected readonly rangeEnds: number[] = [];
  protected baseFrame = 0;
  protected frameCount = 0;
  private resGen = -1;
  protected resStarts: number[] = [];
  protected resEnds: number[] = [];

  protected constructor(
    readonly memory: PhysicalMemory,
    metadataAddress: number,
    metaBytes: number,
  ) {
    this.metadataAddress = metadataAddress;
    this.ws = new WordStore(memory, metadataAddress, metaBytes);
    const u8 = memory.view(metadataAddress, HEADER_BYTES);
    if (u8.byteOffset % 4 !== 0) throw new FrameError('FRAME_BAD_METADATA', `metadata at ${hex(metadataAddress)} is not 4-aligned in its buffer`);
    this.hdr = new Uint32Array(u8.buffer, u8.byteOffset, HEADER_BYTES / 4);
    this.lock = new WordLock(new Int32Array(u8.buffer, u8.byteOffset, HEADER_BYTES / 4), H_LOCK, this.ws.shareable);
    this.shareable = this.ws.shareable;
  }

  /** Reads a 64-bit header value stored as two words. */
  protected h64(i: number): number {
    return this.hdr[i + 1] * M.TWO32 + this.hdr[i];
  }
  protected setH64(i: number, v: number): void {
    this.hdr[i] = v % M.TWO32;
    this.hdr[i + 1] = Math.floor(v / M.TWO32);
  }
  protected addH64(i: number, delta: number): void {
    this.setH64(i, this.h64(i) + delta);
  }
  /**
   * Adds `d` to the used counter (64-bit in two words; the low word alone on the fast path).
   * Over shareable memory it is an `Atomics.add` on the low word with the carry or borrow
   * added to the high word, so lock-free callers and lock holders may update it at once (a
   * reader may see the two words torn for an instant; at rest the value is exact).
   */
  protected bumpUsed(d: number): void {
    const h = this.hdr;
    if (this.shareable === true) {
      this.bumpUsedAtomic(d);
      return;
    }
    const v = h[M.USED] + d;
    if (v >= 0 && v <= 0xffffffff) h[M.USED] = v;
    else this.addH64(M.USED, d);
  }
  /** {@link bumpUsed} over shareable memory (out of line: the unshared path stays small enough to inline). */
  private bumpUsedAtomic(d: number): void {
    const h = this.hdr;
    if (d === 1 || d === -1) {
      // the single-frame case without float modulo: a carry or borrow only at the wrap
      const old = Atomics.add(h, M.USED, d);
      if (d === 1 ? old === 0xffffffff : old === 0) Atomics.add(h, M.USED + 1, d);
      return;
    }
    const lo = d % M.TWO32;
    const hi = (d - lo) / M.TWO32;
    const old = Atomics.add(h, M.USED, lo);
    const carry = old + lo > 0xffffffff ? 1 : old + lo < 0 ? -1 : 0;
    if (hi + carry !== 0) Atomics.add(h, M.USED + 1, hi + carry);
  }

  /** Reads a 64-bit word pair of the metadata window. */
  protected w64(i: number): number {
    return this.ws.get(i + 1) * M.TWO32 + this.ws.get(i);
  }
  protected setW64(i: number, v: number): void {
    this.ws.set(i, v % M.TWO32);
    this.ws.set(i + 1, Math.floor(v / M.TWO32));
  }

  /** Writes the common header and tables of a fresh state. */
  protected writeCommon(kind: number, metaBytes: number, plan: FramePlan, dataOffset: number, param: number): void {
    const h = this.hdr;
    h.fill(0);
    h[H_VERSION] = FRAMES_VERSION;
    h[H_KIND] = kind;
    this.setH64(H_META_BYTES, metaBytes);
    this.setH64(H_BASE_FRAME, this.baseFrame);
    this.setH64(H_FRAME_COUNT, this.frameCount);
    this.setH64(H_TOTAL, countFrames(plan.ranges));
    this.setH64(M.USED, countFrames(plan.inUse));
    h[H_RANGE_COUNT] = plan.ranges.length;
    h[H_RES_CAPACITY] = RESERVATION_CAPACITY;
    h[H_RANGES_OFF] = HEADER_BYTES;
    h[H_RES_OFF] = HEADER_BYTES + plan.ranges.length * 16;
    this.setH64(H_DATA_OFF, dataOffset);
    h[H_PARAM] = param;
    let i = HEADER_BYTES / 4;
    for (const r of plan.ranges) {
      this.setW64(i, r.start);
      this.setW64(i + 2, r.end);
      i += 4;
    }
    this.ws.clear(i, i + RESERVATION_CAPACITY * 4);
    this.loadRanges();
    for (const r of plan.reserved) this.addReservation(r.start, r.end);
    this.setH64(H_RESERVED, countFrames(plan.reserved));
  }

  /** Bytes of header + tables for `rangeCount` ranges (data starts here, 4 KiB aligned). */
  static tablesBytes(rangeCount: number): number {
    return Math.ceil((HEADER_BYTES + rangeCount * 16 + RESERVATION_CAPACITY * 16) / FRAME_SIZE) * FRAME_SIZE;
  }

  /** Marks the header valid (last step of construction). */
  protected seal(): void {
    Atomics.store(this.hdr, H_MAGIC, FRAMES_MAGIC);
  }

  /** Validates the header of an existing state and loads the caches. */
  protected openCommon(kind: number, name: string): void {
    const h = this.hdr;
    if (h[H_MAGIC] !== FRAMES_MAGIC || h[H_VERSION] !== FRAMES_VERSION || h[H_KIND] !== kind) {
      throw new FrameError('FRAME_BAD_METADATA', `no ${name} state at ${hex(this.metadataAddress)} (magic ${hex(h[H_MAGIC])}, version ${h[H_VERSION]}, kind ${h[H_KIND]})`, { address: this.metadataAddress });
    }
    this.baseFrame = this.h64(H_BASE_FRAME);
    this.frameCount = this.h64(H_FRAME_COUNT);
    this.loadRanges();
  }

  private loadRanges(): void {
    const n = this.hdr[H_RANGE_COUNT];
    const base = this.hdr[H_RANGES_OFF] / 4;
    this.rangeStarts.length = 0;
    this.rangeEnds.length = 0;
    for (let k = 0; k < n; k++) {
      this.rangeStarts.push(this.w64(base + k * 4));
      this.rangeEnds.push(this.w64(base + k * 4 + 2));
    }
  }

  /** Index of the usable range holding `frame`, or -1. */
  protected rangeOf(frame: number): number {
    const hi = lastAtOrBelow(this.rangeStarts, frame);
    return hi >= 0 && frame < this.rangeEnds[hi] ? hi : -1;
  }

  /** True when `[start, end)` lies inside one usable range. */
  protected managed(start: number, end: number): boolean {
    const r = this.rangeOf(start);
    return r >= 0 && end <= this.rangeEnds[r];
  }

  /** Refreshes the host copy of the reservation list if another thread changed it. */
  protected syncReservations(): void {
    const gen = this.hdr[M.RES_GEN];
    if (gen === this.resGen) return;
    const n = this.hdr[H_RES_COUNT];
    const base = this.hdr[H_RES_OFF] / 4;
    this.resStarts = [];
    this.resEnds = [];
    for (let k = 0; k < n; k++) {
      this.resStarts.push(this.w64(base + k * 4));
      this.resEnds.push(this.w64(base + k * 4 + 2));
    }
    this.resGen = gen;
  }

  /**
   * Frames `[plainLo, plainHi)` and `[plainLo2, plainHi2)` (the span learnt before), relative
   * to the base frame and clamped to int32 (frames past 2^31 take the checked paths), lie in
   * one usable range each and hold no reservation, as of reservation generation `plainGen`:
   * the single-frame free paths test a frame against them ({@link isPlain}). Two spans, because
   * frees on both sides of one reservation (the metadata, a kernel image) are common.
   */
  protected plainLo = 0;
  protected plainHi = 0;
  protected plainLo2 = 0;
  protected plainHi2 = 0;
  protected plainGen = -1;
  /** {@link plainGen} as a signed word (`| 0`), to compare with a signed view of the header. */
  protected plainGen32 = -1;
  /** True when relative frame r lies in a learnt span that is still valid (no check of r itself). */
  protected isPlain(r: number): boolean {
    return this.hdr[M.RES_GEN] === this.plainGen && ((r >= this.plainLo && r < this.plainHi) || (r >= this.plainLo2 && r < this.plainHi2));
  }
  /**
   * True when frame f is an integer, managed and not reserved; then remembers the widest
   * span around f where that holds, beside the span learnt before if the reservations did not
   * change: the larger of the two in {@link plainLo}/{@link plainHi}, tested first (frees on
   * both sides of a small reservation then mostly pass the first test).
   */
  protected learnPlain(f: number): boolean {
    if (!(Math.floor(f) === f)) return false;
    const r = this.rangeOf(f);
    if (r < 0) return false;
    const gen = this.hdr[M.RES_GEN]; // read first: a change during the sync is seen next time
    this.syncReservations();
    const s = this.resStarts;
    const hi = lastAtOrBelow(s, f);
    if (hi >= 0 && this.resEnds[hi] > f) return false;
    const start = hi >= 0 ? Math.max(this.rangeStarts[r], this.resEnds[hi]) : this.rangeStarts[r];
    const end = hi + 1 < s.length ? Math.min(this.rangeEnds[r], s[hi + 1]) : this.rangeEnds[r];
    const spanLo = Math.min(start - this.baseFrame, 0x7fffffff);
    const spanHi = Math.min(end - this.baseFrame, 0x7fffffff);
    if (gen === this.plainGen && this.plainHi - this.plainLo > spanHi - spanLo) {
      this.plainLo2 = spanLo; // the span learnt before is larger: it stays first
      this.plainHi2 = spanHi;
    } else {
      this.plainLo2 = gen === this.plainGen ? this.plainLo : 0;
      this.plainHi2 = gen === this.plainGen ? this.plainHi : 0;
      this.plainLo = spanLo;
      this.plainHi = spanHi;
    }
    this.plainGen = gen;
    this.plainGen32 = gen | 0;
    return true;
  }

  /** True when frame f may be reserved (syncs the host copy when another thread changed the list). */
  protected reservationsMayHit(f: number): boolean {
    if (this.hdr[M.RES_GEN] !== this.resGen) this.syncReservations();
    return this.overlapsReservation(f, f + 1);
  }

  /** True when `[start, end)` overlaps a reservation (call syncReservations first). */
  protected overlapsReservation(start: number, end: number): boolean {
    const s = this.resStarts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] < end) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && this.resEnds[hi] > start;
  }

  /** Adds `[start, end)` to the reservation list (merging); throws when the list is full. */
  protected addReservation(start: number, end: number): void {
    this.addReservations([{ start, end }]);
  }

  /** Adds ranges to the reservation list in one step (merging); throws, changing nothing, when the list would overflow. */
  protected addReservations(ranges: readonly FrameRange[]): void {
    this.syncReservations();
    const list: FrameRange[] = this.resStarts.map((s, k) => ({ start: s, end: this.resEnds[k] }));
    list.push(...ranges);
    const merged = normalizeRanges(list);
    if (merged.length > this.hdr[H_RES_CAPACITY]) {
      throw new FrameError('FRAME_TOO_MANY_RESERVATIONS', `the reservation list is full (${this.hdr[H_RES_CAPACITY]} disjoint ranges)`, { capacity: this.hdr[H_RES_CAPACITY] });
    }
    const base = this.hdr[H_RES_OFF] / 4;
    merged.forEach((r, k) => {
      this.setW64(base + k * 4, r.start);
      this.setW64(base + k * 4 + 2, r.end);
    });
    this.hdr[H_RES_COUNT] = merged.length;
    this.hdr[M.RES_GEN] = (this.hdr[M.RES_GEN] + 1) >>> 0;
    this.syncReservations();
  }

  /** Frames of `[start, end)` not yet reserved, clipped to usable ranges. */
  protected newlyReserved(start: number, end: number): FrameRange[] {
    this.syncReservations();
    const usable = intersectFrames([{ start, end }], this.rangeStarts.map((s, k) => ({ start: s, end: this.rangeEnds[k] })).filter((r) => r.end > start && r.start < end));
    return subtractFrames(usable, this.resStarts.map((s, k) => ({ start: s, end: this.resEnds[k] })));
  }

  /** Throws `FRAME_CORRUPT` with `message`. */
  protected corrupt(message: string, details: Record<string, unknown> = {}): never {
    throw new FrameError('FRAME_CORRUPT', message, details);
  }

  /** Checks the header and tables (common part of `check()`). */
  protected checkCommon(): void {
    const h = this.hdr;
    if (h[H_MAGIC] !== FRAMES_MAGIC) this.corrupt(`bad magic ${hex(h[H_MAGIC])}`);
    const total = this.h64(H_TOTAL);
    let sum = 0;
    for (let k = 0; k < this.rangeStarts.length; k++) {
      if (!(this.rangeEnds[k] > this.rangeStarts[k])) this.corrupt(`range ${k} is empty or inverted`);
      if (k > 0 && this.rangeStarts[k] <= this.rangeEnds[k - 1]) this.corrupt(`ranges ${k - 1} and ${k} are not sorted and disjoint`);
      sum += this.rangeEnds[k] - this.rangeStarts[k];
    }
    if (sum !== total) this.corrupt(`total ${total} differs from the ${sum} frames of the range table`);
    this.syncReservations();
    let reserved = 0;
    for (let k = 0; k < this.resStarts.length; k++) {
      if (!(this.resEnds[k] > this.resStarts[k])) this.corrupt(`reservation ${k} is empty`);
      if (k > 0 && this.resStarts[k] <= this.resEnds[k - 1]) this.corrupt(`reservations ${k - 1} and ${k} overlap or touch`);
      if (!this.managed(this.resStarts[k], this.resEnds[k])) this.corrupt(`reservation ${k} lies outside the usable ranges`);
      reserved += this.resEnds[k] - this.resStarts[k];
    }
    if (reserved !== this.h64(H_RESERVED)) this.corrupt(`reserved counter ${this.h64(H_RESERVED)} differs from the ${reserved} frames of the reservation list`);
    if (this.h64(M.USED) + reserved > total) this.corrupt('used + reserved exceeds total');
  }

  /** Common counters. */
  protected counters(): { total: number; used: number; reserved: number; free: number } {
    const total = this.h64(H_TOTAL);
    const used = this.h64(M.USED);
    const reserved = this.h64(H_RESERVED);
    return { total, used, reserved, free: total - used - reserved };
  }
}

/** Size in bytes of the metadata recorded in the header at `address` (for attach). */
export function readMetaBytes(memory: PhysicalMemory, address: number): number {
  if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0 || address % FRAME_SIZE !== 0) {
    throw new FrameError('FRAME_BAD_METADATA', `metadataAddress must be a 4 KiB-aligned address, got ${describe(address)}`, { value: address });
  }
  let magic: number;
  let lo: number;
  let hi: number;
  try {
    magic = memory.readU32(address);
    lo = memory.readU32(address + H_META_BYTES * 4);
    hi = memory.readU32(address + H_META_BYTES * 4 + 4);
  } catch (e) {
    throw new FrameError('FRAME_BAD_METADATA', `cannot read allocator metadata at ${hex(address)}: ${e instanceof Error ? e.message : String(e)}`, { address }, { cause: e });
  }
  if (magic !== FRAMES_MAGIC) throw new FrameError('FRAME_BAD_METADATA', `no frame-allocator state at ${hex(address)} (magic ${hex(magic)})`, { address });
  return hi * M.TWO32 + lo;
}
