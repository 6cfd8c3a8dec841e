/**
 * Errors of the frame allocators (`src/frames`). Every misuse of an allocator — a double
 * free, freeing a frame that was never handed out or is reserved, a misaligned or
 * out-of-range address, a count of 0 — throws a {@link FrameError} and changes nothing.
 * Failing to find free frames is not an error: `allocate` returns `null`.
 *
 * @module
 */
import { MemprimsError } from '../errors.js';

/**
 * Misuse of a frame allocator, or metadata that is not a valid allocator state.
 *
 * Codes: `FRAME_BAD_COUNT`, `FRAME_BAD_ALIGN`, `FRAME_BAD_OPTION`, `FRAME_MISALIGNED`,
 * `FRAME_OUT_OF_RANGE`, `FRAME_NOT_ALLOCATED`, `FRAME_RESERVED`, `FRAME_IN_USE`,
 * `FRAME_TOO_MANY_RESERVATIONS`, `FRAME_NO_METADATA_SPACE`, `FRAME_NO_USABLE_MEMORY`,
 * `FRAME_BAD_METADATA`, `FRAME_CORRUPT` (see docs/ERRORS.md).
 *
 * @example
 * ```ts
 * import { BitmapFrameAllocator, FrameError, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 16 * 1024 * 1024);
 * const frames = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0x100000, end: 0x1000000 }] });
 * const a = frames.allocate()!;
 * frames.free(a);
 * try {
 *   frames.free(a);
 * } catch (e) {
 *   if (e instanceof FrameError) console.log(e.code); // 'FRAME_NOT_ALLOCATED'
 * }
 * ```
 */
export class FrameError extends MemprimsError {}
