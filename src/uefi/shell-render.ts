/**
 * Renders descriptors as UEFI Shell `memmap` output (plain or `-sfo`), byte-exact with
 * EDK II's shell, and encodes text the way the shell writes files (UTF-16LE, BOM, CRLF).
 *
 * @module
 */
import { EFI_PAGE_SIZE, type MemoryDescriptor } from './descriptor.js';
import { SHELL_PLAIN_NAMES, SHELL_SFO_NAMES, SHELL_SFO_SUMMARY_TYPES, SHELL_SUMMARY_ROWS, SHELL_TOTAL_EXCLUDES } from './shell-names.js';

/** Options of `MemoryMap#toShellMemmap`. */
export interface ShellMemmapRenderOptions {
  /** `-sfo` (standard-format output) instead of the plain listing. */
  sfo?: boolean;
  /** Line ending: `'\n'` (console capture, default) or `'\r\n'` (as in files the shell writes). */
  newline?: '\n' | '\r\n';
}

const HEX = (v: number | bigint, width = 0): string => v.toString(16).toUpperCase().padStart(width, '0');
/** The shell's End column: Start + 4096 * Pages - 1 in u64 arithmetic (a 0-page row at 0 ends at 2^64 - 1). */
const lastByte = (d: MemoryDescriptor): number | bigint => {
  const end = d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE - 1;
  return end >= 0 ? end : 0xffffffffffffffffn;
};
const thousands = (v: number): string => String(v).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function pagesByType(descriptors: readonly MemoryDescriptor[]): Map<number, number> {
  const pages = new Map<number, number>();
  for (const d of descriptors) pages.set(d.type, (pages.get(d.type) ?? 0) + d.numberOfPages);
  return pages;
}

function totalPages(pages: Map<number, number>): number {
  let total = 0;
  for (const [type, n] of pages) if (!SHELL_TOTAL_EXCLUDES.includes(type)) total += n;
  return total;
}

/**
 * The shell's `memmap` text. Plain: one row per descriptor (types past 15 print as an
 * 8-digit hex number), then the summary. `-sfo`: the shell omits OEM/OS types, and so
 * does this.
 *
 * @example
 * ```ts
 * import { renderShellMemmap } from 'memprims';
 * renderShellMemmap([{ type: 7, physicalStart: 0x1000, virtualStart: 0n, numberOfPages: 0x9f, attribute: 0xfn }], { sfo: true });
 * // 'ShellCommand,"memmap"\nMemoryMap,"Available","1000","9FFFF","9F","F"\nMemoryMapSummary,…'
 * ```
 */
export function renderShellMemmap(descriptors: readonly MemoryDescriptor[], options: ShellMemmapRenderOptions = {}): string {
  const nl = options.newline ?? '\n';
  const pages = pagesByType(descriptors);
  const total = totalPages(pages);
  const lines: string[] = [];
  if (options.sfo) {
    lines.push('ShellCommand,"memmap"');
    for (const d of descriptors) {
      if (d.type > 15) continue;
      lines.push(`MemoryMap,"${SHELL_SFO_NAMES[d.type]}","${HEX(d.physicalStart)}","${HEX(lastByte(d))}","${HEX(d.numberOfPages)}","${HEX(d.attribute)}"`);
    }
    const sizes = SHELL_SFO_SUMMARY_TYPES.map((t) => `"${(pages.get(t) ?? 0) * EFI_PAGE_SIZE}"`);
    lines.push(`MemoryMapSummary,"${total * EFI_PAGE_SIZE}",${sizes.slice(0, -1).join(',')}, ${sizes[sizes.length - 1]}`);
    return lines.join(nl) + nl;
  }
  lines.push('Type       Start            End              # Pages          Attributes');
  for (const d of descriptors) {
    const name = d.type <= 15 ? SHELL_PLAIN_NAMES[d.type] : HEX(d.type, 8);
    lines.push(`${name.padEnd(10)} ${HEX(d.physicalStart, 16)}-${HEX(lastByte(d), 16)} ${HEX(d.numberOfPages, 16)} ${HEX(d.attribute, 16)}`);
  }
  lines.push(' ');
  for (const [label, type] of SHELL_SUMMARY_ROWS) {
    const n = pages.get(type) ?? 0;
    lines.push(`  ${label.padEnd(10)}: ${thousands(n).padStart(14)} Pages (${thousands(n * EFI_PAGE_SIZE)} Bytes)`);
  }
  lines.push('              -------------- ');
  const bytes = total * EFI_PAGE_SIZE;
  lines.push(`Total Memory: ${thousands(Math.floor(bytes / 0x100000)).padStart(14)} MB (${thousands(bytes)} Bytes)`);
  return lines.join(nl) + nl;
}

/**
 * Encodes text as the UEFI Shell writes files: UTF-16LE with a byte-order mark. Line
 * endings are left as they are (render with `newline: '\r\n'` for a shell-identical file).
 *
 * @example
 * ```ts
 * import { encodeUtf16leWithBom } from 'memprims';
 * encodeUtf16leWithBom('A\r\n'); // Uint8Array [0xff, 0xfe, 0x41, 0, 0x0d, 0, 0x0a, 0]
 * ```
 */
export function encodeUtf16leWithBom(text: string): Uint8Array {
  const out = new Uint8Array(2 + text.length * 2);
  out[0] = 0xff;
  out[1] = 0xfe;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[2 + 2 * i] = c & 0xff;
    out[3 + 2 * i] = c >>> 8;
  }
  return out;
}
