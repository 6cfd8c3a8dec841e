/**
 * `toTable()`: a plain-text table of a memory map for a terminal, with totals by type.
 *
 * @module
 */
import { EFI_PAGE_SIZE } from './descriptor.js';
import type { MemoryMap } from './memory-map.js';
import { memoryAttributeNames, memoryTypeName } from './types.js';

/**
 * Human size: B, KiB, MiB, GiB, TiB with up to one decimal.
 *
 * @example
 * ```ts
 * import { formatSize } from 'memprims';
 * formatSize(0x180000); // '1.5 MiB'
 * ```
 */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return (Number.isInteger(v) ? String(v) : v.toFixed(1)) + ' ' + units[u];
}

const hex = (v: number | bigint, w: number): string => '0x' + v.toString(16).padStart(w, '0');

/**
 * Renders the table of `MemoryMap#toTable` (descriptors in source order, then totals by type).
 *
 * @example
 * ```ts
 * import { MemoryMap, renderTable } from 'memprims';
 * console.log(renderTable(new MemoryMap([{ type: 7, physicalStart: 0x1000, virtualStart: 0n, numberOfPages: 1, attribute: 0xfn }])));
 * ```
 */
export function renderTable(map: MemoryMap): string {
  const rows: string[][] = [['#', 'Type', 'Start', 'End (excl.)', 'Pages', 'Size', 'Attributes']];
  map.descriptors.forEach((d, i) => {
    const end = d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE;
    rows.push([
      String(i), memoryTypeName(d.type), hex(d.physicalStart, 12), hex(end, 12), String(d.numberOfPages),
      formatSize(d.numberOfPages * EFI_PAGE_SIZE), memoryAttributeNames(d.attribute).join(' ') + (d.virtualStart ? ` virt=${hex(d.virtualStart, 16)}` : ''),
    ]);
  });
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const rightAligned = new Set([0, 4, 5]);
  const fmt = (r: string[]): string => r.map((cell, c) => (c === r.length - 1 ? cell : rightAligned.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const out = [fmt(rows[0]), widths.map((w) => '-'.repeat(w)).join('  ').trimEnd(), ...rows.slice(1).map(fmt), ''];
  out.push('Totals by type:');
  const totals = map.totalsByType();
  const nameWidth = Math.max(4, ...totals.map((t) => t.name.length));
  for (const t of totals) {
    out.push(`  ${t.name.padEnd(nameWidth)}  ${String(t.entries).padStart(5)} entries  ${String(t.pages).padStart(12)} pages  ${formatSize(t.bytes).padStart(10)}`);
  }
  return out.join('\n') + '\n';
}
