/**
 * Errors of the UEFI memory-map module: one class, {@link UefiError}, with stable
 * `UEFI_*` codes (listed in docs/ERRORS.md, section "UEFI memory map").
 *
 * @module
 */
import { MemprimsError } from '../errors.js';

/**
 * Every code a {@link UefiError} carries.
 *
 * - `UEFI_BAD_BUFFER`: the bytes are not a Uint8Array (or ArrayBuffer).
 * - `UEFI_BAD_DESCRIPTOR_SIZE`: descriptorSize is not an integer >= 40, a multiple of 8, <= 65536.
 * - `UEFI_BAD_DESCRIPTOR_VERSION`: descriptorVersion is not 1.
 * - `UEFI_BAD_BUFFER_LENGTH`: the buffer length is not a multiple of descriptorSize.
 * - `UEFI_ADDRESS_TOO_LARGE`: a physicalStart is 2^52 or more (a number could not hold it exactly).
 * - `UEFI_PAGE_COUNT_TOO_LARGE`: a numberOfPages is more than 2^40.
 * - `UEFI_BAD_DESCRIPTOR`: a descriptor given to `new MemoryMap` has a field of the wrong kind or range.
 * - `UEFI_BAD_ARGUMENT`: an option or argument is of the wrong kind.
 * - `UEFI_TEXT_MALFORMED`: a text line looks like a descriptor but cannot be read exactly.
 * - `UEFI_TEXT_INCONSISTENT`: a text descriptor contradicts itself (page count vs range, unaligned range).
 * - `UEFI_TEXT_AMBIGUOUS`: the text holds several different maps (or one listing repeats an index).
 * - `UEFI_TEXT_NO_DESCRIPTORS`: no descriptor line was found in the text.
 * - `UEFI_BAD_ENCODING`: text bytes are not valid UTF-8 / UTF-16LE.
 * - `UEFI_UNKNOWN_FORMAT`: auto-detection recognised none of the formats.
 */
export type UefiErrorCode =
  | 'UEFI_BAD_BUFFER'
  | 'UEFI_BAD_DESCRIPTOR_SIZE'
  | 'UEFI_BAD_DESCRIPTOR_VERSION'
  | 'UEFI_BAD_BUFFER_LENGTH'
  | 'UEFI_ADDRESS_TOO_LARGE'
  | 'UEFI_PAGE_COUNT_TOO_LARGE'
  | 'UEFI_BAD_DESCRIPTOR'
  | 'UEFI_BAD_ARGUMENT'
  | 'UEFI_TEXT_MALFORMED'
  | 'UEFI_TEXT_INCONSISTENT'
  | 'UEFI_TEXT_AMBIGUOUS'
  | 'UEFI_TEXT_NO_DESCRIPTORS'
  | 'UEFI_BAD_ENCODING'
  | 'UEFI_UNKNOWN_FORMAT';

/**
 * A UEFI memory map could not be read, built or rendered.
 *
 * @example
 * ```ts
 * import { parseMemoryMap, UefiError } from 'memprims';
 * try {
 *   parseMemoryMap(new Uint8Array(47), { descriptorSize: 48, descriptorVersion: 1 });
 * } catch (e) {
 *   if (e instanceof UefiError) console.log(e.code); // 'UEFI_BAD_BUFFER_LENGTH'
 * }
 * ```
 */
export class UefiError extends MemprimsError {
  declare readonly code: UefiErrorCode;
  constructor(code: UefiErrorCode, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(code, message, details);
  }
}
