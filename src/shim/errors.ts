/**
 * Errors of the shim allocator: {@link ShimError} with stable `SHIM_*` codes (listed in
 * docs/ERRORS.md, "Boot services and shim"). A failing call changes nothing.
 *
 * @module
 */
import { MemprimsError } from '../errors.js';

/**
 * Every code a {@link ShimError} carries.
 *
 * - `SHIM_NOT_INITIALIZED`: `alloc` before `initBootServices` (policy `beforeInit: 'error'`).
 * - `SHIM_BAD_PHASE`: a phase change that is not allowed from the current phase.
 * - `SHIM_BOOT_SERVICES_EXITED`: an allocation in phase `bootServices` after ExitBootServices
 *   succeeded (switch to the own heap first).
 * - `SHIM_UNKNOWN_POINTER`: `dealloc` of an address this allocator never handed out.
 * - `SHIM_DOUBLE_FREE`: `dealloc` of a block already deallocated.
 * - `SHIM_LAYOUT_MISMATCH`: `dealloc` with another layout than the block was allocated with.
 * - `SHIM_HEAP_INVALID`: the heap given to `switchToHeap` fails its check, overlaps a live
 *   boot-services block, or does not lie in LoaderCode/LoaderData pages.
 * - `SHIM_BAD_ARGUMENT`: an argument or option of the wrong kind.
 */
export type ShimErrorCode =
  | 'SHIM_NOT_INITIALIZED'
  | 'SHIM_BAD_PHASE'
  | 'SHIM_BOOT_SERVICES_EXITED'
  | 'SHIM_UNKNOWN_POINTER'
  | 'SHIM_DOUBLE_FREE'
  | 'SHIM_LAYOUT_MISMATCH'
  | 'SHIM_HEAP_INVALID'
  | 'SHIM_BAD_ARGUMENT';

/**
 * Misuse of a {@link ShimAllocator}.
 *
 * @example
 * ```ts
 * import { Layout, ShimAllocator, ShimError } from 'memprims';
 * const shim = new ShimAllocator();
 * try {
 *   shim.alloc(Layout.fromSizeAlign(16, 8));
 * } catch (e) {
 *   if (e instanceof ShimError) console.log(e.code); // 'SHIM_NOT_INITIALIZED'
 * }
 * ```
 */
export class ShimError extends MemprimsError {
  declare readonly code: ShimErrorCode;
  constructor(code: ShimErrorCode, message: string, details: Readonly<Record<string, unknown>> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
