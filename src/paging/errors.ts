/**
 * Errors of the paging module. Every failing `PageTableBuilder` call throws one of these
 * (or an `AddressError` from src/addr for a malformed address) and changes nothing: no
 * entry written, no table kept, every frame taken during the call given back.
 *
 * @module
 */
import { MemprimsError } from '../errors.js';

/**
 * A paging operation was refused: overlap with an existing mapping, a huge page cut in
 * part, a range that is not mapped, bad flags, or a frame source that misbehaves.
 *
 * Codes: `PAGING_OVERLAP`, `PAGING_INSIDE_HUGE_PAGE`, `PAGING_PARTIAL_HUGE_PAGE`,
 * `PAGING_NOT_MAPPED`, `PAGING_MISALIGNED`, `PAGING_BAD_SIZE`, `PAGING_BAD_PAGE_SIZE`,
 * `PAGING_BAD_FLAGS`, `PAGING_RANGE_NOT_CANONICAL`, `PAGING_OUT_OF_FRAMES`,
 * `PAGING_BAD_FRAME`, `PAGING_BAD_FRAME_SOURCE`, `PAGING_BAD_OPTIONS`,
 * `PAGING_RECURSIVE_SLOT`, `PAGING_GUARD_PAGE`, `PAGING_BAD_SECTION`, `PAGING_FRAME_SOURCE_FAILED`.
 *
 * @example
 * ```ts
 * import { PagingError } from 'memprims';
 * const e = new PagingError('PAGING_OVERLAP', 'overlap');
 * e.code; // 'PAGING_OVERLAP'
 * ```
 */
export class PagingError extends MemprimsError {}

/** Leaf mapping facts attached to overlap / huge-page errors (`details.existing`). */
export interface ExistingMapping {
  readonly virt: bigint;
  readonly phys: number;
  readonly size: number;
}

/** Formats a mapping for an error message. */
export function describeMapping(m: ExistingMapping): string {
  return `0x${m.virt.toString(16)}+0x${m.size.toString(16)} -> 0x${m.phys.toString(16)}`;
}
