/**
 * Errors of the boot flow: {@link BootFlowError} (`BOOT_STEP_FAILED`, `BOOT_BAD_OPTIONS`,
 * `BOOT_FRAME_POOL`), listed in docs/ERRORS.md, "Boot services and shim".
 *
 * @module
 */
import { MemprimsError } from '../errors.js';
import type { BootStep } from './steps.js';

/**
 * Every code a {@link BootFlowError} carries.
 *
 * - `BOOT_STEP_FAILED`: a step of `bootFlow` failed; `step`, `stepName`, `completed` and
 *   `cause` say which, after what, and why.
 * - `BOOT_BAD_OPTIONS`: an option of `bootFlow` is of the wrong kind.
 * - `BOOT_FRAME_POOL`: misuse of a {@link ReservedFramePool} (a frame it never handed out,
 *   freed twice, or an unaligned address).
 */
export type BootFlowErrorCode = 'BOOT_STEP_FAILED' | 'BOOT_BAD_OPTIONS' | 'BOOT_FRAME_POOL';

/**
 * A boot step failed, or the flow was misconfigured.
 *
 * @example
 * ```ts
 * import { bootFlow, BootFlowError } from 'memprims';
 * try {
 *   bootFlow({ heapSize: 2 ** 40 });
 * } catch (e) {
 *   if (e instanceof BootFlowError) console.log(e.step, e.stepName, e.message); // 2 'allocate kernel memory' ...
 * }
 * ```
 */
export class BootFlowError extends MemprimsError {
  declare readonly code: BootFlowErrorCode;
  /** Number of the failing step (1..7), or 0 for bad options. */
  readonly step: number;
  /** Name of the failing step. */
  readonly stepName: string;
  /** The steps that completed before the failure, with what they did. */
  readonly completed: readonly BootStep[];

  constructor(code: BootFlowErrorCode, message: string, info: { step?: number; stepName?: string; completed?: readonly BootStep[]; details?: Record<string, unknown> } = {}, options?: { cause?: unknown }) {
    super(code, message, { step: info.step ?? 0, stepName: info.stepName ?? '', ...info.details }, options);
    this.step = info.step ?? 0;
    this.stepName = info.stepName ?? '';
    this.completed = info.completed ?? [];
  }
}
