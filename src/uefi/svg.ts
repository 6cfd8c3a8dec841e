/**
 * `toSVG()`: a picture of the physical address space coloured by memory type, with a
 * legend. The axis is piecewise linear: the first MiB, 1 MiB–4 GiB and everything above
 * 4 GiB each get their own share of the width, so the legacy area and high RAM both show.
 *
 * @module
 */
import { EFI_PAGE_SIZE, type MemoryDescriptor } from './descriptor.js';
import { formatSize } from './table.js';
import { memoryAttributeNames, memoryTypeName } from './types.js';

/** Options of `MemoryMap#toSVG`. */
export interface SvgOptions {
  /** Width in pixels (default 1000). */
  width?: number;
  /** Title drawn above the bar (default "UEFI memory map"). */
  title?: string;
}

/**
 * Fill colour of each type 0..15; OEM/OS/unknown types use grey.
 *
 * @example
 * ```ts
 * import { MemoryType, TYPE_COLOURS } from 'memprims';
 * TYPE_COLOURS[MemoryType.Conventional]; // '#2ca02c'
 * ```
 */
export const TYPE_COLOURS: readonly string[] = [
  '#7f7f7f', '#1f77b4', '#aec7e8', '#ff7f0e', '#ffbb78', '#d62728', '#ff9896', '#2ca02c',
  '#000000', '#9467bd', '#c5b0d5', '#8c564b', '#c49c94', '#e377c2', '#17becf', '#bcbd22',
];
const OTHER_COLOUR = '#cccccc';
const MIB = 0x100000;
const GIB4 = 0x100000000;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const colourOf = (type: number): string => (type <= 15 ? TYPE_COLOURS[type] : OTHER_COLOUR);
const addr = (v: number): string => (v >= GIB4 && v % (GIB4 / 4) === 0 ? `${v / 2 ** 30} GiB` : v >= MIB && v % MIB === 0 ? `${v / MIB} MiB` : '0x' + v.toString(16));

interface Segment { start: number; end: number; x: number; w: number }

/** Builds the piecewise axis for a map whose highest end is `top`. */
function axis(top: number, x0: number, width: number): Segment[] {
  const bounds = [0, MIB, GIB4, Math.max(top, 1)].filter((b, i, a) => i === 0 || b > a[i - 1]);
  const shares = [0.2, 0.5, 0.3];
  const spans = bounds.slice(1).map((end, i) => ({ start: bounds[i], end, share: shares[i] }));
  const total = spans.reduce((s, p) => s + p.share, 0);
  let x = x0;
  return spans.map((p) => {
    const w = (p.share / total) * width;
    const seg = { start: p.start, end: p.end, x, w };
    x += w;
    return seg;
  });
}

function xOf(a: number, segs: Segment[]): number {
  for (const s of segs) if (a <= s.end) return s.x + ((a - s.start) / (s.end - s.start)) * s.w;
  const last = segs[segs.length - 1];
  return last.x + last.w;
}

/**
 * Renders the SVG document of `MemoryMap#toSVG` (a string starting with `<svg`).
 *
 * @example
 * ```ts
 * import { renderSvg } from 'memprims';
 * const svg = renderSvg([{ type: 7, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn }], { width: 800 });
 * ```
 */
export function renderSvg(descriptors: readonly MemoryDescriptor[], options: SvgOptions = {}): string {
  const width = Math.max(200, Math.floor(options.width ?? 1000));
  const margin = 20;
  const barY = 40;
  const barH = 60;
  const top = descriptors.reduce((m, d) => Math.max(m, d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE), MIB);
  const segs = axis(top, margin, width - 2 * margin);
  const parts: string[] = [];
  parts.push(`<text x="${margin}" y="24" font-size="16" font-weight="bold">${esc(options.title ?? 'UEFI memory map')}</text>`);
  parts.push(`<rect x="${margin}" y="${barY}" width="${width - 2 * margin}" height="${barH}" fill="#ffffff" stroke="#999999"/>`);
  for (const d of descriptors) {
    if (d.numberOfPages === 0) continue;
    const end = d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE;
    const x1 = xOf(d.physicalStart, segs);
    const x2 = xOf(end, segs);
    const tip = `${memoryTypeName(d.type)} 0x${d.physicalStart.toString(16)}-0x${end.toString(16)} (${formatSize(end - d.physicalStart)}) ${memoryAttributeNames(d.attribute).join(' ')}`;
    parts.push(`<rect x="${x1.toFixed(2)}" y="${barY}" width="${Math.max(0.5, x2 - x1).toFixed(2)}" height="${barH}" fill="${colourOf(d.type)}" data-type="${d.type}"><title>${esc(tip)}</title></rect>`);
  }
  // Axis: a tick and label at each segment boundary, a dashed line where the scale changes.
  const tickY = barY + barH;
  const ticks = [segs[0].start, ...segs.map((s) => s.end)];
  ticks.forEach((t, i) => {
    const x = i === 0 ? segs[0].x : segs[i - 1].x + segs[i - 1].w;
    const anchor = i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle';
    parts.push(`<line x1="${x.toFixed(2)}" y1="${barY - 4}" x2="${x.toFixed(2)}" y2="${tickY + 6}" stroke="#333333"${i > 0 && i < ticks.length - 1 ? ' stroke-dasharray="3,2"' : ''}/>`);
    parts.push(`<text x="${x.toFixed(2)}" y="${tickY + 20}" font-size="11" text-anchor="${anchor}">${esc(addr(t))}</text>`);
  });
  segs.forEach((s) => {
    parts.push(`<text x="${(s.x + s.w / 2).toFixed(2)}" y="${tickY + 36}" font-size="10" fill="#555555" text-anchor="middle">${esc(`${formatSize(s.end - s.start)} span, linear`)}</text>`);
  });
  // Detail strip: every descriptor in address order, width growing with the log of its size,
  // so the many small firmware regions that vanish on the address scale can be seen.
  const detailY = tickY + 60;
  const detailH = 24;
  const sorted = descriptors.filter((d) => d.numberOfPages > 0).slice().sort((a, b) => a.physicalStart - b.physicalStart);
  const weights = sorted.map((d) => 1 + Math.log2(d.numberOfPages));
  const weightSum = weights.reduce((s, w) => s + w, 0) || 1;
  parts.push(`<text x="${margin}" y="${detailY - 4}" font-size="10" fill="#555555">every descriptor in address order, width by log of size</text>`);
  let dx = margin;
  sorted.forEach((d, i) => {
    const w = (weights[i] / weightSum) * (width - 2 * margin);
    parts.push(`<rect x="${dx.toFixed(2)}" y="${detailY}" width="${w.toFixed(2)}" height="${detailH}" fill="${colourOf(d.type)}" stroke="#ffffff" stroke-width="0.3"><title>${esc(`${memoryTypeName(d.type)} 0x${d.physicalStart.toString(16)} ${formatSize(d.numberOfPages * EFI_PAGE_SIZE)}`)}</title></rect>`);
    dx += w;
  });
  // Legend: every type present, with its total size.
  const totals = new Map<number, number>();
  for (const d of descriptors) totals.set(d.type, (totals.get(d.type) ?? 0) + d.numberOfPages * EFI_PAGE_SIZE);
  const types = [...totals.keys()].sort((a, b) => a - b);
  const perRow = Math.max(1, Math.floor((width - 2 * margin) / 240));
  const legendY = detailY + detailH + 16;
  types.forEach((t, i) => {
    const x = margin + (i % perRow) * 240;
    const y = legendY + Math.floor(i / perRow) * 20;
    parts.push(`<rect x="${x}" y="${y}" width="14" height="14" fill="${colourOf(t)}" stroke="#333333"/>`);
    parts.push(`<text x="${x + 20}" y="${y + 12}" font-size="12">${esc(`${memoryTypeName(t)} (${formatSize(totals.get(t) ?? 0)})`)}</text>`);
  });
  const height = legendY + Math.ceil(types.length / perRow) * 20 + margin;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
