/**
 * `ReservedFramePool`: page-table frames taken from boot services in one block (LoaderData)
 * before ExitBootServices, handed to `PageTableBuilder` one frame at a time. Owns only the
 * bookkeeping of that block; the memory itself stays the firmware map's LoaderData, so no
 * frame allocator built from the final map hands these frames out.
 *
 * @module
 */
import { PAGE_SIZE, type PhysRange } from '../addr/phys.js';
import { describe, hex } from '../errors.js';
import { BootFlowError } from './errors.js';

/**
 * A fixed block of frames with a free stack (lowest address first).
 *
 * @example
 * ```ts
 * import { ReservedFramePool } from 'memprims';
 * const pool = new ReservedFramePool(0x200000, 4);
 * const a = pool.allocate(1); // 0x200000
 * pool.free(a!, 1);
 * ```
 */
export class ReservedFramePool {
  /** First byte of the block. */
  readonly base: number;
  /** Frames in the block. */
  readonly count: number;
  private readonly freeStack: number[] = [];
  private readonly taken = new Set<number>();
  private highWater = 0;

  constructor(base: number, count: number) {
    if (!Number.isSafeInteger(base) || base < 0 || base % PAGE_SIZE !== 0) throw new BootFlowError('BOOT_BAD_OPTIONS', `frame pool base must be a page-aligned address, got ${describe(base)}`);
    if (!Number.isSafeInteger(count) || count <= 0) throw new BootFlowError('BOOT_BAD_OPTIONS', `frame pool count must be a positive integer, got ${describe(count)}`);
    this.base = base;
    this.count = count;
    for (let i = count - 1; i >= 0; i--) this.freeStack.push(base + i * PAGE_SIZE);
  }

  /** One frame (the builder asks for single frames); null when the pool is empty or `count` > 1 does not fit contiguously. */
  allocate(count = 1): number | null {
    if (count !== 1) {
      // Contiguous runs: only from the untouched top of the block.
      if (!Number.isSafeInteger(count) || count <= 0) return null;
      const run: number[] = [];
      const sorted = [...this.freeStack].sort((a, b) => a - b);
      for (let i = 0; i + count <= sorted.length; i++) {
        if (sorted[i + count - 1] - sorted[i] === (count - 1) * PAGE_SIZE) {
          for (let k = 0; k < count; k++) run.push(sorted[i + k]);
          break;
        }
      }
      if (run.length === 0) return null;
      for (const f of run) {
        this.freeStack.splice(this.freeStack.indexOf(f), 1);
        this.taken.add(f);
      }
      this.highWater = Math.max(this.highWater, this.taken.size);
      return run[0];
    }
    const frame = this.freeStack.pop();
    if (frame === undefined) return null;
    this.taken.add(frame);
    this.highWater = Math.max(this.highWater, this.taken.size);
    return frame;
  }

  /** Gives frames back; a frame not handed out is a `BOOT_FRAME_POOL` error (nothing changed). */
  free(address: number, count = 1): void {
    const frames: number[] = [];
    for (let k = 0; k < count; k++) frames.push(address + k * PAGE_SIZE);
    for (const f of frames) {
      if (!this.taken.has(f)) throw new BootFlowError('BOOT_FRAME_POOL', `frame ${hex(f)} was not handed out by this pool`, { details: { address: f } });
    }
    for (const f of frames) {
      this.taken.delete(f);
      this.freeStack.push(f);
    }
  }

  /** Frames handed out now. */
  get used(): number {
    return this.taken.size;
  }

  /** Most frames ever handed out at once. */
  get peak(): number {
    return this.highWater;
  }

  /** The whole block. */
  get range(): PhysRange {
    return { start: this.base, end: this.base + this.count * PAGE_SIZE };
  }
}
