/**
 * The frame-allocator interface shared by the bitmap and buddy allocators, their options,
 * and argument validation (frame counts, alignments, address constraints).
 *
 * @module
 */
import { PAGE_SIZE, PHYS_ADDR_LIMIT, type PhysRange } from '../addr/phys.js';
import { describe, hex } from '../errors.js';
import { FrameError } from './errors.js';

/**
 * Size of one frame in bytes (4 KiB).
 *
 * @example
 * ```ts
 * import { BitmapFrameAllocator, FRAME_SIZE, PhysicalMemory } from 'memprims';
 * FRAME_SIZE; // 4096
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 4 * 1024 * 1024);
 * const frames = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0x100000, end: 0x200000 }] });
 * frames.stats().total; // 256: 1 MiB / FRAME_SIZE
 * ```
 */
export const FRAME_SIZE = PAGE_SIZE;

/** Constraints of {@link FrameAllocator.allocate}. */
export interface AllocateOptions {
  /** Alignment of the block's first byte, a power of two >= 4096 (default 4096). */
  align?: number;
  /**
   * Highest address the block's LAST byte may have (UEFI `AllocateMaxAddress`): `0xFFFFF`
   * for real-mode trampolines, `0xFFFFFFFF` for 32-bit DMA.
   */
  maxAddress?: number;
  /** Lowest address the block's first byte may have. */
  minAddress?: number;
}

/** Counters of an allocator, in 4 KiB frames. */
export interface FrameStats {
  /** Usable frames the allocator manages (free + used + reserved). */
  total: number;
  /** Frames that can be handed out now. */
  free: number;
  /** Frames handed out (by allocate/allocateAt, or passed as `inUse`). */
  used: number;
  /** Frames reserved (the allocator's own metadata, `reserve()`, `options.reserved`); never handed out or freed. */
  reserved: number;
  /** Longest run of contiguous free frames. */
  largestFreeRun: number;
}

/**
 * A physical frame allocator whose whole state lives inside {@link PhysicalMemory}.
 * Counts are in 4 KiB frames; addresses are physical byte addresses.
 *
 * @example
 * ```ts
 * import { BitmapFrameAllocator, PhysicalMemory, type FrameAllocator } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 64 * 1024 * 1024);
 * const frames: FrameAllocator = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0, end: 64 * 1024 * 1024 }] });
 * const dma = frames.allocate(16, { align: 0x10000, maxAddress: 0xffffffff });
 * if (dma !== null) frames.free(dma, 16);
 * ```
 */
export interface FrameAllocator {
  /** Hands out `count` contiguous frames (default 1) meeting the constraints, or returns null. */
  allocate(count?: number, options?: AllocateOptions): number | null;
  /**
   * Hands out the frames `[address, address + count * 4096)` if they are all free: returns
   * true, or false (changing nothing) when any of them is in use, reserved or not usable memory.
   */
  allocateAt(address: number, count?: number): boolean;
  /** Returns `count` frames (default 1) at `address`; misuse throws a {@link FrameError} and changes nothing. */
  free(address: number, count?: number): void;
  /** Takes free frames covering `[address, address + size)` out of use for good (size in bytes, rounded out to frames). */
  reserve(address: number, size: number): void;
  /** True when the frame holding `address` is free (false for memory the allocator does not manage). */
  isFree(address: number): boolean;
  /** Counters in frames. */
  stats(): FrameStats;
  /** Verifies every invariant of the state in memory; throws a `FRAME_CORRUPT` {@link FrameError} naming the first violation. */
  check(): void;
}

/** Anything with UEFI's `usableAfterExitBootServices()` (memprims' `MemoryMap` fits). */
export interface UsableMemoryMap {
  usableAfterExitBootServices(options?: { inUse?: readonly PhysRange[] }): PhysRange[];
}

/** Options of `fromMemoryMap` for both allocators. */
export interface FrameAllocatorOptions {
  /** Usable ranges to manage instead of `map.usableAfterExitBootServices()`. */
  ranges?: readonly PhysRange[];
  /** Ranges already in use (kernel image, boot data): counted as `used`, can be freed later. */
  inUse?: readonly PhysRange[];
  /** Ranges to reserve for good (never handed out, never freeable). */
  reserved?: readonly PhysRange[];
  /** Manage frame 0 too (default false: page 0 is left out, as most kernels do). */
  includePageZero?: boolean;
  /** Where to place the allocator's metadata (must be usable memory); default: the lowest fitting usable address at or above 1 MiB. */
  metadataAddress?: number;
}

/** Validates a frame count: a positive safe integer below 2^40. */
export function checkCount(count: unknown, what = 'count'): number {
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count <= 0 || count > PHYS_ADDR_LIMIT / FRAME_SIZE) {
    throw new FrameError('FRAME_BAD_COUNT', `${what} must be a positive integer number of frames (at most 2^40), got ${describe(count)}`, { what, value: count });
  }
  return count;
}

/** Validates a frame-aligned physical address and returns its frame number. */
export function checkFrameAddress(address: unknown, what = 'address'): number {
  if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0 || address >= PHYS_ADDR_LIMIT) {
    throw new FrameError('FRAME_OUT_OF_RANGE', `${what} must be an integer physical address below 2^52, got ${describe(address)}`, { what, value: address });
  }
  if (address % FRAME_SIZE !== 0) {
    throw new FrameError('FRAME_MISALIGNED', `${what} ${hex(address)} is not 4 KiB aligned`, { what, value: address });
  }
  return address / FRAME_SIZE;
}

/** Validated constraints of one allocation, as frame numbers. */
export interface FrameConstraints {
  /** Alignment in frames (a power of two). */
  alignFrames: number;
  /** Lowest allowed first frame. */
  minFrame: number;
  /** Highest allowed end frame (exclusive end of the block). */
  maxEnd: number;
  /** True when any constraint is set. */
  constrained: boolean;
}

/**
 * True for allocate options that constrain nothing for one frame: an object with no
 * `minAddress` / `maxAddress` and `align` absent or 4096 (what `{ align: 4096 }` asks). Such a
 * call takes the single-frame path without building the constraints.
 */
export function isPlainSingle(options: AllocateOptions | undefined): boolean {
  return typeof options === 'object' && options !== null && options.minAddress === undefined && options.maxAddress === undefined && (options.align === undefined || options.align === 4096);
}

/** Validates `allocate` options (typed errors for misuse). */
export function checkAllocateOptions(options: AllocateOptions | undefined): FrameConstraints {
  if (options === undefined) return { alignFrames: 1, minFrame: 0, maxEnd: Infinity, constrained: false };
  if (typeof options !== 'object' || options === null) {
    throw new FrameError('FRAME_BAD_OPTION', `allocate options must be an object, got ${describe(options)}`, { value: options });
  }
  let alignFrames = 1;
  if (options.align !== undefined) {
    const a = options.align;
    if (typeof a !== 'number' || !Number.isSafeInteger(a) || a < FRAME_SIZE || a > 2 ** 51 || !(a <= 0x40000000 ? (a & (a - 1)) === 0 : Number.isInteger(Math.log2(a)))) {
      throw new FrameError('FRAME_BAD_ALIGN', `align must be a power of two >= 4096, got ${describe(a)}`, { value: a });
    }
    alignFrames = a / FRAME_SIZE;
  }
  let minFrame = 0;
  if (options.minAddress !== undefined) {
    const m = options.minAddress;
    if (typeof m !== 'number' || !Number.isSafeInteger(m) || m < 0) {
      throw new FrameError('FRAME_BAD_OPTION', `minAddress must be a non-negative integer, got ${describe(m)}`, { value: m });
    }
    minFrame = Math.ceil(m / FRAME_SIZE);
  }
  let maxEnd = Infinity;
  if (options.maxAddress !== undefined) {
    const m = options.maxAddress;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 0) {
      throw new FrameError('FRAME_BAD_OPTION', `maxAddress must be a non-negative integer, got ${describe(m)}`, { value: m });
    }
    maxEnd = m >= PHYS_ADDR_LIMIT ? Infinity : Math.floor((m + 1) / FRAME_SIZE);
  }
  return { alignFrames, minFrame, maxEnd, constrained: alignFrames > 1 || minFrame > 0 || maxEnd !== Infinity };
}
