/**
 * Raw 32-bit word access to a window of {@link PhysicalMemory} for the allocators' hot
 * paths, and the Atomics-based lock that makes one allocator state safe to share between
 * worker threads.
 *
 * A window inside an eagerly backed region becomes one `Uint32Array`; a window inside a
 * lazily backed region is reached 64 KiB chunk by chunk, and reading a chunk nobody wrote
 * never creates it (it reads as zero), so untouched metadata costs no host memory.
 *
 * @module
 */
import { hex } from '../errors.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { LAZY_CHUNK_SIZE } from '../memory/region.js';
import { FrameError } from './errors.js';

// a const enum: inlined as a literal by the TypeScript transforms and the bundler alike
const enum WS {
  WORDS_PER_CHUNK = 0x10000 / 4,
}
if (WS.WORDS_PER_CHUNK !== LAZY_CHUNK_SIZE / 4) throw new Error('memprims: words.ts constants disagree with region.ts');

/** Word-granular view of `[base, base + bytes)`, which must lie inside one region. */
export class WordStore {
  /** The whole window as one array when it lies in one buffer (fast path), else null. */
  readonly all: Uint32Array | null;
  private readonly chunks = new Map<number, Uint32Array>();
  private lastChunk = -1;
  private lastArray: Uint32Array | null = null;
  /** Offset of the window's first byte inside its region. */
  private readonly regionOffset: number;
  private readonly regionBase: number;
  private readonly regionEnd: number;
  /** True when the window lies in a non-lazy SharedArrayBuffer region (other threads may see it). */
  readonly shareable: boolean;
  readonly lazy: boolean;

  constructor(
    readonly memory: PhysicalMemory,
    readonly base: number,
    readonly bytes: number,
  ) {
    const region = memory.regions().find((r) => base >= r.base && base + bytes <= r.end);
    if (region === undefined) {
      throw new FrameError('FRAME_BAD_METADATA', `metadata [${hex(base)}, ${hex(base + bytes)}) is not inside one memory region`, { address: base, size: bytes });
    }
    this.regionBase = region.base;
    this.regionEnd = region.end;
    this.regionOffset = base - region.base;
    this.lazy = region.lazy;
    this.shareable = !region.lazy && region.shared;
    let all: Uint32Array | null = null;
    if (!region.lazy && region.buffer !== null && (region.byteOffset + this.regionOffset) % 4 === 0) {
      all = new Uint32Array(region.buffer, region.byteOffset + this.regionOffset, Math.floor(bytes / 4));
    }
    this.all = all;
  }

  /** Reads word `i` of the window. */
  get(i: number): number {
    const all = this.all;
    if (all !== null) return all[i];
    const off = this.regionOffset + i * 4;
    const ci = Math.floor(off / LAZY_CHUNK_SIZE);
    if (ci === this.lastChunk) return this.lastArray![(off - ci * LAZY_CHUNK_SIZE) >>> 2];
    const arr = this.lazy ? this.chunks.get(ci) : undefined;
    if (arr === undefined) return this.memory.readU32(this.base + i * 4);
    this.lastChunk = ci;
    this.lastArray = arr;
    return arr[(off - ci * LAZY_CHUNK_SIZE) >>> 2];
  }

  /** Writes word `i` of the window (creating its lazy chunk if needed). */
  set(i: number, value: number): void {
    const all = this.all;
    if (all !== null) {
      all[i] = value;
      return;
    }
    const off = this.regionOffset + i * 4;
    const ci = Math.floor(off / LAZY_CHUNK_SIZE);
    if (ci === this.lastChunk) {
      this.lastArray![(off - ci * LAZY_CHUNK_SIZE) >>> 2] = value;
      return;
    }
    if (!this.lazy) {
      this.memory.writeU32(this.base + i * 4, value >>> 0);
      return;
    }
    const arr = this.chunkArray(ci);
    this.lastChunk = ci;
    this.lastArray = arr;
    arr[(off - ci * LAZY_CHUNK_SIZE) >>> 2] = value;
  }

  private chunkArray(ci: number): Uint32Array {
    let arr = this.chunks.get(ci);
    if (arr === undefined) {
      const start = this.regionBase + ci * LAZY_CHUNK_SIZE;
      const len = Math.min(LAZY_CHUNK_SIZE, this.regionEnd - start);
      const u8 = this.memory.view(start, len);
      arr = new Uint32Array(u8.buffer, u8.byteOffset, len >>> 2);
      this.chunks.set(ci, arr);
    }
    return arr;
  }

  /** Sets words `[from, to)` to zero without creating lazy chunks that do not exist. */
  clear(from: number, to: number): void {
    if (to <= from) return;
    if (this.all !== null) {
      this.all.fill(0, from, to);
      return;
    }
    this.memory.fill(this.base + from * 4, (to - from) * 4, 0);
  }

  /** An Int32Array over the 4-aligned word `i` and its neighbours in the same buffer, for Atomics. */
  int32At(i: number): { array: Int32Array; index: number } {
    if (this.all !== null) return { array: new Int32Array(this.all.buffer, this.all.byteOffset, this.all.length), index: i };
    const off = this.regionOffset + i * 4;
    const ci = Math.floor(off / LAZY_CHUNK_SIZE);
    if (!this.lazy) {
      const u8 = this.memory.view(this.base + i * 4, 4);
      if (u8.byteOffset % 4 !== 0) throw new FrameError('FRAME_BAD_METADATA', `metadata at ${hex(this.base)} is not 4-aligned in its buffer`, { address: this.base });
      return { array: new Int32Array(u8.buffer, u8.byteOffset, 1), index: 0 };
    }
    const arr = this.chunkArray(ci);
    return { array: new Int32Array(arr.buffer, arr.byteOffset, arr.length), index: (off - ci * LAZY_CHUNK_SIZE) >>> 2 };
  }
}

/** Words per lazily created chunk (exported for tests). */
export const LAZY_CHUNK_WORDS: number = WS.WORDS_PER_CHUNK;

/**
 * A mutex in one 32-bit word of shared memory (0 free, 1 held, 2 held with waiters), as
 * Drepper's futex mutex: compare-and-swap to take it, `Atomics.wait` while contended.
 * A no-op when the state is not shareable between threads.
 */
export class WordLock {
  constructor(
    private readonly array: Int32Array,
    private readonly index: number,
    readonly active: boolean,
  ) {}

  acquire(): void {
    if (!this.active) return;
    if (Atomics.compareExchange(this.array, this.index, 0, 1) === 0) return;
    this.acquireSlow();
  }

  private acquireSlow(): void {
    const a = this.array;
    const i = this.index;
    for (let spin = 0; spin < 64; spin++) {
      if (Atomics.load(a, i) === 0 && Atomics.compareExchange(a, i, 0, 1) === 0) return;
    }
    while (Atomics.exchange(a, i, 2) !== 0) Atomics.wait(a, i, 2);
  }

  release(): void {
    if (!this.active) return;
    if (Atomics.exchange(this.array, this.index, 0) === 2) Atomics.notify(this.array, this.index, 1);
  }
}

/** Word access anywhere in PhysicalMemory (one {@link WordStore} per region), for nodes kept inside free frames. */
export class MemoryWords {
  private readonly stores: WordStore[];
  private readonly bases: number[];
  private last: WordStore;

  constructor(readonly memory: PhysicalMemory) {
    const regions = memory.regions().sort((a, b) => a.base - b.base);
    this.stores = regions.map((r) => new WordStore(memory, r.base, r.size - (r.size % 4)));
    this.bases = regions.map((r) => r.base);
    this.last = this.stores[0];
  }

  /** True when every byte of `[start, end)` is backed by some region. */
  covers(start: number, end: number): boolean {
    let at = start;
    for (const s of this.stores) {
      if (s.base > at) break;
      if (s.base + s.bytes > at) at = s.base + s.bytes;
      if (at >= end) return true;
    }
    return at >= end;
  }

  private storeFor(address: number): WordStore {
    const l = this.last;
    if (address >= l.base && address < l.base + l.bytes) return l;
    const b = this.bases;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (b[mid] <= address) lo = mid;
      else hi = mid - 1;
    }
    this.last = this.stores[lo];
    return this.last;
  }

  get(address: number): number {
    const s = this.storeFor(address);
    return s.get((address - s.base) / 4);
  }

  set(address: number, value: number): void {
    const s = this.storeFor(address);
    s.set((address - s.base) / 4, value);
  }
}
