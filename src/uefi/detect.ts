/**
 * Format detection for memory maps given as file bytes: an efi=debug boot log, UEFI Shell
 * memmap text (UTF-8 or UTF-16LE with BOM) or a raw GetMemoryMap buffer.
 *
 * @module
 */
import { parseMemoryMap, type ParseMemoryMapOptions } from './binary.js';
import { UefiError } from './errors.js';
import { parseLinuxEfiLog } from './linux-parse.js';
import type { MemoryMap } from './memory-map.js';
import { parseShellMemmap } from './shell-parse.js';
import { decodeText } from './text-common.js';

/** A detected source format. */
export type MemoryMapFormat = 'raw' | 'linux-efi-debug' | 'shell';

/**
 * Guesses the format of file bytes; `undefined` when nothing fits.
 *
 * @example
 * ```ts
 * import { detectMemoryMapFormat } from 'memprims';
 * detectMemoryMapFormat(new Uint8Array(48)); // 'raw'
 * ```
 */
export function detectMemoryMapFormat(bytes: Uint8Array): MemoryMapFormat | undefined {
  let text: string | undefined;
  try {
    text = decodeText(bytes);
  } catch {
    text = undefined;
  }
  if (text !== undefined && !/[\x00-\x08\x0e-\x1a\x1c-\x1f]/.test(text)) {
    if (/(?:^|[\s\]>:|])mem\d{1,6}:\s*(?:\[|type=)/m.test(text)) return 'linux-efi-debug';
    if (/^\s*MemoryMap,"|^\s*Type\s+Start\s+End\s+# Pages|^\s*\S+\s+[0-9A-Fa-f]{16}-[0-9A-Fa-f]{16}\s/m.test(text)) return 'shell';
    return undefined;
  }
  return 'raw';
}

/**
 * Parses file bytes of any supported format (see {@link detectMemoryMapFormat}); `raw`
 * buffers use `options.descriptorSize` (default 48). Unrecognised input: `UEFI_UNKNOWN_FORMAT`.
 *
 * @example
 * ```ts
 * import { parseAnyMemoryMap } from 'memprims';
 * const text = new TextEncoder().encode('MemoryMap,"Available","1000","9FFFF","9F","F"\n');
 * parseAnyMemoryMap(text).format; // 'shell'
 * ```
 */
export function parseAnyMemoryMap(bytes: Uint8Array, options: ParseMemoryMapOptions = {}): { format: MemoryMapFormat; map: MemoryMap } {
  if (!(bytes instanceof Uint8Array)) throw new UefiError('UEFI_BAD_BUFFER', 'input must be a Uint8Array');
  const format = detectMemoryMapFormat(bytes);
  if (format === undefined) throw new UefiError('UEFI_UNKNOWN_FORMAT', 'not a raw memory map, an efi=debug log or UEFI Shell memmap output');
  if (format === 'linux-efi-debug') return { format, map: parseLinuxEfiLog(bytes) };
  if (format === 'shell') return { format, map: parseShellMemmap(bytes) };
  return { format, map: parseMemoryMap(bytes, options) };
}
