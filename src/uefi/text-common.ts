/**
 * Shared helpers of the text parsers: decoding text bytes (UTF-8, UTF-16LE/BE with BOM),
 * line splitting, removing terminal escape sequences, exact hex numbers.
 *
 * @module
 */
import { describe, hex } from '../errors.js';
import { EFI_PAGE_SIZE, MAX_NUMBER_OF_PAGES, MAX_PHYSICAL_START_EXCLUSIVE } from './descriptor.js';
import { UefiError } from './errors.js';

/** Text given as a string or as the bytes of a file. */
export type TextInput = string | Uint8Array | ArrayBuffer;

/**
 * Decodes file bytes: UTF-16LE or UTF-16BE when they start with a BOM (as the UEFI Shell
 * writes files), UTF-8 otherwise (a UTF-8 BOM is dropped). Invalid data: `UEFI_BAD_ENCODING`.
 *
 * @example
 * ```ts
 * import { decodeText } from 'memprims';
 * decodeText(new Uint8Array([0xff, 0xfe, 0x41, 0x00])); // 'A'
 * ```
 */
export function decodeText(input: TextInput): string {
  if (typeof input === 'string') return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (input instanceof ArrayBuffer) input = new Uint8Array(input);
  if (!(input instanceof Uint8Array)) throw new UefiError('UEFI_BAD_ARGUMENT', `text must be a string, a Uint8Array or an ArrayBuffer, got ${describe(input)}`);
  const le = input.length >= 2 && input[0] === 0xff && input[1] === 0xfe;
  const be = input.length >= 2 && input[0] === 0xfe && input[1] === 0xff;
  try {
    if (le || be) {
      if (input.length % 2 !== 0) throw new UefiError('UEFI_BAD_ENCODING', `UTF-16 text has an odd byte length (${input.length})`);
      return new TextDecoder(le ? 'utf-16le' : 'utf-16be', { fatal: true, ignoreBOM: false }).decode(input);
    }
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(input);
  } catch (e) {
    if (e instanceof UefiError) throw e;
    throw new UefiError('UEFI_BAD_ENCODING', `text is not valid ${le ? 'UTF-16LE' : be ? 'UTF-16BE' : 'UTF-8'}`);
  }
}

// CSI sequences (ESC [ … final byte), including the private `ESC[=3h` form of the EDK II console.
const ANSI = /\x1b\[[0-9;=?]*[ -\/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]/g;

/** Splits text into lines (LF, CRLF or CR) with terminal escape sequences removed. */
export function textLines(text: string): string[] {
  return text.replace(ANSI, '').split(/\r\n|\n|\r/);
}

/** Parses up to 16 hex digits into a bigint (caller's regex guarantees the digits). */
export function hexBig(digits: string): bigint {
  return BigInt('0x' + digits);
}

/** Where a text line came from, for messages. */
export interface LineRef {
  readonly line: number;
  readonly text: string;
}

/** A `UEFI_TEXT_*` error naming the line. */
export function lineError(code: 'UEFI_TEXT_MALFORMED' | 'UEFI_TEXT_INCONSISTENT', ref: LineRef, why: string): UefiError {
  const shown = ref.text.trim();
  return new UefiError(code, `line ${ref.line}: ${why}: ${JSON.stringify(shown.length > 120 ? shown.slice(0, 120) + '…' : shown)}`, { line: ref.line });
}

/**
 * Turns a half-open byte range [start, end) read from text into exact descriptor numbers,
 * or throws (`UEFI_ADDRESS_TOO_LARGE`, `UEFI_PAGE_COUNT_TOO_LARGE`, `UEFI_TEXT_INCONSISTENT`).
 */
export function rangeToPages(start: bigint, end: bigint, ref: LineRef): { physicalStart: number; numberOfPages: number } {
  if (start >= BigInt(MAX_PHYSICAL_START_EXCLUSIVE)) {
    throw new UefiError('UEFI_ADDRESS_TOO_LARGE', `line ${ref.line}: physical start ${hex(start)} is not below 2^52`, { line: ref.line });
  }
  if (end < start) throw lineError('UEFI_TEXT_INCONSISTENT', ref, `range ends (${hex(end)}) before it starts (${hex(start)})`);
  if (start % BigInt(EFI_PAGE_SIZE) !== 0n || end % BigInt(EFI_PAGE_SIZE) !== 0n) {
    throw lineError('UEFI_TEXT_INCONSISTENT', ref, `range ${hex(start)}..${hex(end)} is not made of whole 4 KiB pages`);
  }
  const pages = (end - start) / BigInt(EFI_PAGE_SIZE);
  if (pages > BigInt(MAX_NUMBER_OF_PAGES)) {
    throw new UefiError('UEFI_PAGE_COUNT_TOO_LARGE', `line ${ref.line}: ${pages} pages is more than 2^40`, { line: ref.line });
  }
  return { physicalStart: Number(start), numberOfPages: Number(pages) };
}
