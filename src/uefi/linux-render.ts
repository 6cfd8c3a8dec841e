/**
 * Renders descriptors as Linux `efi=debug` boot-log lines, byte-exact with the kernel's
 * `efi_md_typeattr_format` of a chosen era.
 *
 * @module
 */
import { EFI_PAGE_SIZE, type MemoryDescriptor } from './descriptor.js';
import { LINUX_TYPE_NAMES_NEW, LINUX_TYPE_NAMES_OLD } from './linux-names.js';
import { MemoryAttribute as A } from './types.js';

/**
 * Which kernel's format to print:
 * - `'current'` (default): Linux 6.x, 12-column names, columns RUN|MR|CC|SP|NV|XP|RP|WP|RO|UCE|WB|WT|WC|UC, inclusive ends.
 * - `'5.10'`: Linux 5.5–5.x, 19-column names, RUN|MR|SP|NV|XP|RP|WP|RO|UCE|WB|WT|WC|UC.
 * - `'5.3'`: Linux 4.x–5.4, 19-column names, RUN|MR|NV|XP|RP|WP|RO|UCE|WB|WT|WC|UC.
 * - `'legacy'`: the old numeric form `type=7, attr=0xf, range=[a-b)` with half-open ends.
 *
 * @example
 * ```ts
 * import type { LinuxEfiLogStyle } from 'memprims';
 * const style: LinuxEfiLogStyle = '5.10';
 * ```
 */
export type LinuxEfiLogStyle = 'current' | '5.10' | '5.3' | 'legacy';

/** Options of `MemoryMap#toLinuxEfiLog`. */
export interface LinuxEfiLogRenderOptions {
  style?: LinuxEfiLogStyle;
  /** Text put before every line (default `'efi: '`). */
  prefix?: string;
}

interface Column { readonly label: string; readonly bit: bigint; readonly width: number }
const col = (label: string, bit: bigint, width = 2): Column => ({ label, bit, width });

const CURRENT_COLUMNS: readonly Column[] = [
  col('RUN', A.RUNTIME, 3), col('MR', A.MORE_RELIABLE), col('CC', A.CPU_CRYPTO), col('SP', A.SP), col('NV', A.NV),
  col('XP', A.XP), col('RP', A.RP), col('WP', A.WP), col('RO', A.RO), col('UCE', A.UCE, 3), col('WB', A.WB), col('WT', A.WT),
  col('WC', A.WC), col('UC', A.UC),
];
const V510_COLUMNS: readonly Column[] = [
  col('RUN', A.RUNTIME, 3), col('MR', A.MORE_RELIABLE), col('SP', A.SP), col('NV', A.NV), col('XP', A.XP), col('RP', A.RP),
  col('WP', A.WP), col('RO', A.RO), col('UCE', A.UCE, 3), col('WB', A.WB), col('WT', A.WT), col('WC', A.WC), col('UC', A.UC),
];
const V53_COLUMNS: readonly Column[] = [
  col('RUN', A.RUNTIME, 3), col('MR', A.MORE_RELIABLE), col('NV', A.NV), col('XP', A.XP), col('RP', A.RP), col('WP', A.WP),
  col('RO', A.RO), col('UCE', A.UCE, 3), col('WB', A.WB), col('WT', A.WT), col('WC', A.WC), col('UC', A.UC),
];

function known(columns: readonly Column[]): bigint {
  return columns.reduce((m, c) => m | c.bit, 0n);
}
const STYLES = {
  current: { names: LINUX_TYPE_NAMES_NEW, width: 12, columns: CURRENT_COLUMNS, known: known(CURRENT_COLUMNS) },
  '5.10': { names: LINUX_TYPE_NAMES_OLD, width: 19, columns: V510_COLUMNS, known: known(V510_COLUMNS) },
  '5.3': { names: LINUX_TYPE_NAMES_OLD, width: 19, columns: V53_COLUMNS, known: known(V53_COLUMNS) },
} as const;

const hex16 = (v: number | bigint): string => '0x' + v.toString(16).padStart(16, '0');

/** Formats one descriptor's `[type|attrs]` part for a style (not `'legacy'`). */
export function linuxTypeAttr(d: MemoryDescriptor, style: Exclude<LinuxEfiLogStyle, 'legacy'>): string {
  const { names, width, columns, known: knownMask } = STYLES[style];
  const typePart = d.type < names.length ? '[' + names[d.type].padEnd(width) : `[type=${d.type}`;
  if ((d.attribute & ~knownMask) !== 0n) return `${typePart}|attr=${hex16(d.attribute)}]`;
  const cells = columns.map((c) => ((d.attribute & c.bit) !== 0n ? c.label : '').padStart(c.width));
  return `${typePart}|${cells.join('|')}]`;
}

/**
 * The `efi: memNN: …` lines of a map, one per descriptor in source order, each ending in
 * `\n` (what `MemoryMap#toLinuxEfiLog` returns).
 *
 * @example
 * ```ts
 * import { renderLinuxEfiLog } from 'memprims';
 * renderLinuxEfiLog([{ type: 7, physicalStart: 0, virtualStart: 0n, numberOfPages: 1, attribute: 0xfn }], { style: 'legacy' });
 * // 'efi: mem00: type=7, attr=0xf, range=[0x0000000000000000-0x0000000000001000) (0MB)\n'
 * ```
 */
export function renderLinuxEfiLog(descriptors: readonly MemoryDescriptor[], options: LinuxEfiLogRenderOptions = {}): string {
  const style = options.style ?? 'current';
  const prefix = options.prefix ?? 'efi: ';
  let out = '';
  descriptors.forEach((d, i) => {
    const size = d.numberOfPages * EFI_PAGE_SIZE;
    const mb = Math.floor(size / 0x100000);
    const index = String(i).padStart(2, '0');
    if (style === 'legacy') {
      out += `${prefix}mem${index}: type=${d.type}, attr=0x${d.attribute.toString(16)}, range=[${hex16(d.physicalStart)}-${hex16(d.physicalStart + size)}) (${mb}MB)\n`;
    } else {
      const last = BigInt(d.physicalStart) + BigInt(size) - 1n;
      const lastText = last < 0n ? '0x' + (0xffffffffffffffffn).toString(16) : hex16(last);
      out += `${prefix}mem${index}: ${linuxTypeAttr(d, style)} range=[${hex16(d.physicalStart)}-${lastText}] (${mb}MB)\n`;
    }
  });
  return out;
}
