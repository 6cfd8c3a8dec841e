/**
 * Where table frames come from. Paging depends on no allocator of its own: any object with
 * `allocate(count, options?)` (a physical address, or null when out of frames) and
 * `free(address, count)` will do — memprims' frame allocators or a user's own.
 *
 * `FrameLedger` obtains every frame a call needs up front, checks each one, and gives them
 * all back when the call cannot go ahead, so a failing call leaves the source as it was.
 *
 * @module
 */
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { describe, hex } from '../errors.js';
import { PagingError } from './errors.js';
import { tableWords } from './table.js';

/**
 * The frame-allocator shape the builder takes table frames from.
 *
 * @example
 * ```ts
 * import type { FrameSource } from 'memprims';
 * let next = 0x1000;
 * const bump: FrameSource = { allocate: (count) => { const a = next; next += count * 0x1000; return a; }, free: () => {} };
 * ```
 */
export interface FrameSource {
  /** `count` contiguous 4 KiB frames; returns the physical address of the first, or null. */
  allocate(count: number, options?: unknown): number | null;
  /** Gives back `count` frames starting at `address`. */
  free(address: number, count: number): void;
}

/** Wraps an exception thrown by a user's frame source in a typed error (the cause is kept). */
export function frameSourceFailed(e: unknown): PagingError {
  if (e instanceof PagingError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new PagingError('PAGING_FRAME_SOURCE_FAILED', `the frame source threw (${message}); nothing was changed`, {}, { cause: e });
}

/**
 * True when the frame at `frame` can hold a table: backed, and in one buffer at a 4-aligned
 * offset (what `tableWords` needs), so linking it in later cannot fail halfway through a call.
 */
function viewable(memory: PhysicalMemory, frame: number): boolean {
  try {
    tableWords(memory, frame);
    return true;
  } catch {
    return false;
  }
}

/** Frames obtained for one builder call, handed out in the order they were allocated. */
export class FrameLedger {
  private readonly got: number[] = [];
  private seen: Set<number> | null = null;
  private used = 0;

  constructor(
    private readonly source: FrameSource,
    private readonly memory: PhysicalMemory,
  ) {
    if (typeof source !== 'object' || source === null || typeof source.allocate !== 'function' || typeof source.free !== 'function') {
      throw new PagingError('PAGING_BAD_FRAME_SOURCE', `frames must be an object with allocate(count, options?) and free(address, count), got ${describe(source)}`, {});
    }
  }

  /** Obtains `count` more single frames; on any failure gives back every frame and throws. */
  obtain(count: number): void {
    for (let k = 0; k < count; k++) {
      let frame: unknown;
      try {
        frame = this.source.allocate(1);
      } catch (e) {
        this.giveBack();
        throw frameSourceFailed(e);
      }
      if (frame === null || frame === undefined) {
        const needed = count - k + this.got.length - this.used;
        this.giveBack();
        throw new PagingError('PAGING_OUT_OF_FRAMES', `the frame source ran out of frames (needed ${needed} more table frame(s)); nothing was changed`, { needed });
      }
      if (typeof frame !== 'number' || !Number.isSafeInteger(frame) || frame < 0 || frame % 4096 !== 0 || !viewable(this.memory, frame)) {
        this.giveBack();
        if (typeof frame === 'number' && Number.isSafeInteger(frame) && frame >= 0) this.source.free(frame, 1);
        throw new PagingError('PAGING_BAD_FRAME', `the frame source returned ${describe(frame)}, which is not a 4 KiB aligned frame backed by one memory buffer`, { frame });
      }
      if (this.seen !== null ? this.seen.has(frame) : this.got.includes(frame)) {
        this.giveBack();
        throw new PagingError('PAGING_BAD_FRAME', `the frame source returned frame ${hex(frame)} twice`, { frame });
      }
      this.got.push(frame);
      if (this.seen !== null) this.seen.add(frame);
      else if (this.got.length > 16) this.seen = new Set(this.got);
    }
  }

  /** The next obtained frame. */
  take(): number {
    return this.got[this.used++];
  }

  /** Gives back every frame not yet taken (and forgets them). */
  giveBack(): void {
    for (let k = this.got.length - 1; k >= this.used; k--) {
      this.source.free(this.got[k], 1);
      this.seen?.delete(this.got[k]);
    }
    this.got.length = this.used;
  }
}
