/**
 * The buddy allocator's single-frame cache, and the taken bits that make a single free
 * checkable without looking at the lists.
 *
 * As Linux keeps per-CPU lists of free pages in front of its buddy lists, the allocator keeps
 * up to {@link CACHE_CAPACITY} free single frames in a stack in the header (frame numbers
 * relative to the base frame). Allocating one frame pops that stack; freeing one pushes it.
 * Neither touches the free frame itself, where the lists keep their nodes: a list push or
 * unlink writes a node in another frame, a cache or TLB miss per operation. When the stack is
 * empty, one block of up to 2^{@link REFILL_ORDER} frames is taken from the lists, its first
 * frame handed out and the rest stacked (in ascending order of allocation); when it is full,
 * the oldest {@link FLUSH} frames go back to the lists, merging with their buddies.
 *
 * Cached frames are free (counted so, taken bit clear) but on no list and untagged, so the
 * list algorithms never see them and never merge with them. `allocateAt`, `reserve` and
 * `stats()` first return the whole cache to the lists (`drain`; stats then report the merged
 * state, as if there were no cache); a multi-frame allocation that fails drains and retries;
 * a constrained single frame is looked for in the cache first ({@link BuddyCache.takeCached});
 * frees of runs need nothing (their frames are taken, so none is cached).
 *
 * @module
 */
import { hex } from '../errors.js';
import { BuddyLists } from './buddy-lists.js';
import { MASK } from './buddy-nodes.js';
import { H_KIND_AREA } from './meta.js';
import { lowBit } from './util.js';

// The hot paths' constants as a const enum (see bitmap-sync.ts): inlined as literals.
const enum C {
  /** Header word: number of cached frames (kind area H_KIND_AREA = 32, + 90). */
  CACHE_N = 32 + 90,
  /** Header words: the cached frames (relative to the base frame), oldest first. */
  CACHE_AT = 32 + 96,
  /** Most frames the cache holds. */
  CAPACITY = 64,
  /** Frames a full cache returns to the lists at once. */
  FLUSH = 32,
  TWO32 = 4294967296,
  /** buddy-nodes.ts's mask word of non-empty lists. */
  MASK = 32 + 80,
}
if (C.CACHE_N !== H_KIND_AREA + 90 || C.MASK !== MASK) throw new Error('memprims: buddy-cache.ts constants disagree with meta.ts');
/** The cache's count word (buddy.ts's inline paths check their copy against it). */
export const CACHE_N_WORD: number = C.CACHE_N;
/** The cache's first frame word (buddy.ts's inline paths check their copy against it). */
export const CACHE_AT_WORD: number = C.CACHE_AT;
/** Most frames the cache holds. */
export const CACHE_CAPACITY: number = C.CAPACITY;
/** A refill takes one block of up to 2^5 = 32 frames. */
export const REFILL_ORDER = 5;

/** The buddy lists with the single-frame cache in front (callers hold the lock). */
export class BuddyCache extends BuddyLists {
  /**
   * The metadata window as one array (null when it spans buffers) and the word offset of the
   * taken bits in it, for the facade's inline single-frame paths.
   */
  fastState(): { meta: Uint32Array | null; taken: number } {
    return { meta: this.meta, taken: this.takenOffI };
  }

  /** Frames in the cache. */
  cached(): number {
    return this.hdr[C.CACHE_N];
  }

  /** Allocates one frame, marked taken: the most recently cached one, else from the lists; -1 when nothing is free. */
  takeOne(): number {
    const hdr = this.hdr;
    const n = hdr[C.CACHE_N];
    if (n !== 0) {
      const rel = hdr[C.CACHE_AT + n - 1];
      hdr[C.CACHE_N] = n - 1;
      const meta = this.meta;
      if (meta !== null && rel < 0x80000000) {
        const i = this.takenOffI + (rel >> 5);
        meta[i] = meta[i] | (1 << (rel & 31));
      } else this.setTaken(this.base + rel, this.base + rel + 1, true);
      return this.base + rel;
    }
    return this.refill();
  }

  /**
   * Takes the most recently cached frame that is a multiple of `align` frames, >= minF and
   * < maxEnd (not marked taken: the caller does that); -1 if none is. A single frame needs no
   * merging, so when no cached frame fits, the lists and windows hold every candidate.
   */
  takeCached(align: number, minF: number, maxEnd: number): number {
    const hdr = this.hdr;
    const n = hdr[C.CACHE_N];
    for (let i = n - 1; i >= 0; i--) {
      const f = this.base + hdr[C.CACHE_AT + i];
      if (f >= minF && f < maxEnd && f % align === 0) {
        hdr.copyWithin(C.CACHE_AT + i, C.CACHE_AT + i + 1, C.CACHE_AT + n);
        hdr[C.CACHE_AT + n - 1] = 0;
        hdr[C.CACHE_N] = n - 1;
        return f;
      }
    }
    return -1;
  }

  /** The cache is empty: takes the smallest listed block of order <= REFILL_ORDER (or splits one), hands out its first frame and caches the rest. */
  private refill(): number {
    const m = this.hdr[C.MASK];
    if (m === 0 && this.winCount() === 0) return -1;
    const j = m === 0 ? this.max : lowBit(m);
    const b = j < REFILL_ORDER ? j : REFILL_ORDER;
    const f = this.takeAny(b);
    if (f < 0) return -1;
    const rel = f - this.base;
    const size = 1 << b;
    if (rel + size > C.TWO32) {
      // frames this far from the base do not fit the cache's 32-bit entries: list the rest
      // of the block again as the halves a split leaves (f+1 order 0, f+2 order 1, ...)
      for (let i = 0; i < b; i++) this.push(f + 2 ** i, i);
    } else {
      // stack f+size-1 down to f+1, so that pops hand them out in ascending order
      const hdr = this.hdr;
      for (let i = 0; i < size - 1; i++) hdr[C.CACHE_AT + i] = rel + size - 1 - i;
      hdr[C.CACHE_N] = size - 1;
    }
    this.setTaken(f, f + 1, true);
    return f;
  }

  /**
   * Frees the frame `r` frames above the base (an int32 >= 0; managed and not reserved: the
   * caller checked) if it is taken: clears its taken bit and caches it. False, changing
   * nothing, when it is free already. (Frames past 2^31 take the facade's checked path.)
   */
  giveOne(r: number): boolean {
    const meta = this.meta;
    if (meta !== null) {
      const i = this.takenOffI + (r >> 5);
      const w = meta[i];
      const bit = 1 << (r & 31);
      if ((w & bit) === 0) return false;
      meta[i] = w & ~bit;
    } else {
      const f = this.base + r;
      if (this.isTaken(f) === 0) return false;
      this.setTaken(f, f + 1, false);
    }
    const hdr = this.hdr;
    let n = hdr[C.CACHE_N];
    if (n === C.CAPACITY) {
      this.flush(C.FLUSH);
      n -= C.FLUSH;
    }
    hdr[C.CACHE_AT + n] = r;
    hdr[C.CACHE_N] = n + 1;
    return true;
  }

  /** Returns the k oldest cached frames to the lists (merging with free buddies). */
  private flush(k: number): void {
    const hdr = this.hdr;
    const n = hdr[C.CACHE_N];
    for (let i = 0; i < k; i++) this.release(this.base + hdr[C.CACHE_AT + i], 0);
    hdr.copyWithin(C.CACHE_AT, C.CACHE_AT + k, C.CACHE_AT + n);
    hdr.fill(0, C.CACHE_AT + n - k, C.CACHE_AT + n);
    hdr[C.CACHE_N] = n - k;
  }

  /** Returns every cached frame to the lists; the list algorithms may run after this. */
  drain(): void {
    const n = this.hdr[C.CACHE_N];
    if (n !== 0) this.flush(n);
  }

  /**
   * Verifies the cache (count, entries inside usable memory, not reserved, not taken, on no
   * list, no duplicates) and the taken bits of the free blocks (clear in every list block;
   * at both ends of each window, whose middle may span terabytes); returns the cached frames.
   */
  checkCache(managed: (s: number, e: number) => boolean, reserved: (s: number, e: number) => boolean, corrupt: (m: string) => never): number {
    const n = this.hdr[C.CACHE_N];
    if (n > CACHE_CAPACITY) corrupt(`the frame cache holds ${n} entries, more than its ${CACHE_CAPACITY}`);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const f = this.base + this.hdr[C.CACHE_AT + i];
      const at = `cached frame ${hex(f * 4096)} (entry ${i})`;
      if (!managed(f, f + 1)) corrupt(`${at} is not inside usable memory`);
      if (reserved(f, f + 1)) corrupt(`${at} is reserved`);
      if (seen.has(f)) corrupt(`${at} is cached twice`);
      seen.add(f);
      if (this.isTaken(f)) corrupt(`${at} is marked taken`);
      if (this.containing(f) >= 0) corrupt(`${at} is also inside a listed free block`);
    }
    for (const b of this.allFreeBlocks()) {
      const ends = b.window ? [b.start, b.end - 1] : null;
      const hit = ends === null ? this.firstTaken(b.start, b.end) : ends.find((f) => this.isTaken(f) === 1) ?? -1;
      if (hit >= 0) corrupt(`frame ${hex(hit * 4096)} of the free ${b.window ? 'window' : 'block'} at ${hex(b.start * 4096)} is marked taken`);
    }
    return n;
  }

  /**
   * Frames of the usable ranges `[starts[i], ends[i])`, outside the windows, whose taken bit
   * is clear. Every list block and cached frame has its bit clear (checkLists/checkCache), so
   * this equals their frames exactly when no handed-out, in-use or reserved frame (outside a
   * window) has lost its bit: check() compares the two.
   */
  countUntakenOutsideWindows(starts: readonly number[], ends: readonly number[]): number {
    const nw = this.winCount();
    let n = 0;
    let w = 0;
    for (let i = 0; i < starts.length; i++) {
      let at = starts[i];
      const end = ends[i];
      while (w < nw && this.winEnd(w) <= at) w++;
      for (let v = w; at < end; v++) {
        const ws = v < nw ? Math.min(this.winStart(v), end) : end;
        if (ws > at) n += this.countUntaken(at, ws);
        if (v >= nw || ws >= end) break;
        at = this.winEnd(v);
      }
    }
    return n;
  }
}
