/**
 * The one error hierarchy of memprims.
 *
 * Every error the library throws on bad input or misuse is a {@link MemprimsError}
 * (or a subclass) with a stable string `code`. Codes never change meaning between
 * versions; the full list with explanations is in `docs/ERRORS.md`.
 *
 * Failure to allocate is not an error: allocators return `null`. Misuse (a double free,
 * an unaligned address, an invalid layout) is.
 *
 * @module
 */

/** Extra, machine-readable facts attached to an error (addresses, sizes, names). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * Base class of every error memprims throws.
 *
 * @example
 * ```ts
 * import { MemprimsError, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * try {
 *   memory.readU32(0x1000);
 * } catch (e) {
 *   if (e instanceof MemprimsError) console.log(e.code); // 'MEM_UNBACKED'
 * }
 * ```
 */
export class MemprimsError extends Error {
  /** Stable identifier of the kind of error, e.g. `'MEM_UNBACKED'`. */
  readonly code: string;
  /** Facts about the failing call (addresses, sizes, names). */
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
    this.name = new.target.name;
  }
}

/**
 * A value was not of the kind an argument needs (wrong type, NaN, out of its range).
 *
 * @example
 * ```ts
 * import { InvalidArgumentError, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 0x1000);
 * try {
 *   memory.writeU8(0, 256);
 * } catch (e) {
 *   if (e instanceof InvalidArgumentError) e.code; // 'INVALID_ARGUMENT'
 * }
 * ```
 */
export class InvalidArgumentError extends MemprimsError {}

/**
 * An address (physical or virtual) is invalid: not an integer, out of range, non-canonical, misaligned.
 *
 * @example
 * ```ts
 * import { AddressError, physAlignUp } from 'memprims';
 * try {
 *   physAlignUp(0x1234, 3);
 * } catch (e) {
 *   if (e instanceof AddressError) e.code; // 'ADDR_BAD_ALIGNMENT'
 * }
 * ```
 */
export class AddressError extends MemprimsError {}

/**
 * A `Layout` could not be built: alignment not a power of two, or the size overflows.
 *
 * @example
 * ```ts
 * import { Layout, LayoutError } from 'memprims';
 * try {
 *   Layout.fromSizeAlign(8, 3);
 * } catch (e) {
 *   if (e instanceof LayoutError) e.code; // 'LAYOUT_BAD_ALIGN'
 * }
 * ```
 */
export class LayoutError extends MemprimsError {}

/**
 * A read, write or atomic operation on {@link PhysicalMemory} could not be carried out.
 *
 * @example
 * ```ts
 * import { MemoryAccessError, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 0x1000);
 * try {
 *   memory.readU32(0x1000); // past the end of the only region
 * } catch (e) {
 *   if (e instanceof MemoryAccessError) e.code; // 'MEM_UNBACKED'
 * }
 * ```
 */
export class MemoryAccessError extends MemprimsError {}

/**
 * A region could not be added to {@link PhysicalMemory}: overlap, bad size, bad buffer.
 *
 * @example
 * ```ts
 * import { PhysicalMemory, RegionError } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 0x1000);
 * try {
 *   memory.addRegion(0x800, 0x1000);
 * } catch (e) {
 *   if (e instanceof RegionError) e.code; // 'REGION_OVERLAP'
 * }
 * memory.regions().length; // 1: the failed call added nothing
 * ```
 */
export class RegionError extends MemprimsError {}

/** Formats a number or bigint as `0x…` hex for error messages. */
export function hex(value: number | bigint): string {
  if (typeof value === 'bigint') return (value < 0n ? '-0x' + (-value).toString(16) : '0x' + value.toString(16));
  if (!Number.isFinite(value)) return String(value);
  if (!Number.isInteger(value)) return String(value);
  return value < 0 ? '-0x' + (-value).toString(16) : '0x' + value.toString(16);
}

/** Describes any value briefly for an error message (never throws). */
export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${hex(value)}n`;
  if (typeof value === 'number') return Number.isInteger(value) ? hex(value) : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `array(${value.length})`;
  return typeof value;
}
