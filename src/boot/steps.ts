/**
 * What each step of `bootFlow` reports, and the plain-text rendering of a report that the
 * `boot-demo` command prints.
 *
 * @module
 */
import { hex } from '../errors.js';

/** One completed step of the boot flow: what it did, in words and in numbers. */
export interface BootStep {
  /** 1..7. */
  readonly step: number;
  readonly name: string;
  /** One line saying what happened. */
  readonly summary: string;
  /** Lines with the addresses and sizes involved. */
  readonly lines: readonly string[];
  /** Machine-readable facts (addresses as numbers, virtual addresses as bigint). */
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * The names of the seven steps, in order.
 *
 * @example
 * ```ts
 * import { BOOT_STEP_NAMES } from 'memprims';
 * BOOT_STEP_NAMES.length; // 7
 * BOOT_STEP_NAMES[4];     // 'exit boot services'
 * ```
 */
export const BOOT_STEP_NAMES: readonly string[] = Object.freeze([
  'get the memory map',
  'allocate kernel memory',
  'initialize the heap',
  'build page tables',
  'exit boot services',
  'switch the allocator',
  'build the frame allocator',
]);

/** `[start, end)` as text. */
export function rangeText(start: number, end: number): string {
  return `[${hex(start)}, ${hex(end)})`;
}

/** Bytes as a short human figure (KiB/MiB/GiB). */
export function bytesText(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 20 === 0) return `${+(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(2)} MiB`;
  if (bytes >= 2 ** 10) return `${+(bytes / 2 ** 10).toFixed(2)} KiB`;
  return `${bytes} B`;
}

/**
 * Renders steps as the demo prints them.
 *
 * @example
 * ```ts
 * import { BOOT_STEP_NAMES, formatSteps } from 'memprims';
 * formatSteps([{ step: 1, name: BOOT_STEP_NAMES[0], summary: '123 descriptors', lines: ['mapKey 2096'], details: {} }]);
 * // '[1/7] get the memory map: 123 descriptors\n      mapKey 2096'
 * ```
 */
export function formatSteps(steps: readonly BootStep[]): string {
  const out: string[] = [];
  for (const s of steps) {
    out.push(`[${s.step}/7] ${s.name}: ${s.summary}`);
    for (const line of s.lines) out.push(`      ${line}`);
  }
  return out.join('\n');
}
