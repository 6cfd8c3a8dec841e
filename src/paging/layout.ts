/**
 * Helpers for the usual higher-half kernel layout, on top of `PageTableBuilder`: kernel
 * sections with W^X permissions (linked high, loaded low), a direct map of RAM, an identity
 * map for the code that switches CR3, a recursive entry, and stacks with a guard page.
 * Each helper is one all-or-nothing call.
 *
 * @module
 */
import { checkPhysRange, normalizeRanges, type PhysRange } from '../addr/phys.js';
import { describe, hex } from '../errors.js';
import type { PageTableBuilder } from './builder.js';
import { NX_HI, P, RW, type PageFlagsInput } from './entry.js';
import { PagingError } from './errors.js';
import { frameSourceFailed } from './frames.js';
import { findEntry } from './mapper.js';
import { checkSize, checkVirtPage, checkVirtRange } from './request.js';
import { pageToVirt } from './vaddr.js';

/** One section of a kernel image. */
export interface KernelSection {
  name: string;
  /** Virtual (link) address, 4 KiB aligned. */
  vma: bigint;
  /** Physical (load) address, 4 KiB aligned. */
  lma: number;
  /** Bytes (rounded up to 4 KiB). */
  size: number;
  /** text: read-execute; rodata: read-only no-execute; data, bss: read-write no-execute. */
  kind: 'text' | 'rodata' | 'data' | 'bss';
}

/**
 * Flags each section kind gets (W^X).
 *
 * @example
 * ```ts
 * import { SECTION_FLAGS } from 'memprims';
 * SECTION_FLAGS.text;   // { writable: false, noExecute: false }
 * SECTION_FLAGS.rodata; // { writable: false, noExecute: true }
 * SECTION_FLAGS.bss;    // { writable: true, noExecute: true }
 * ```
 */
export const SECTION_FLAGS: Readonly<Record<KernelSection['kind'], PageFlagsInput>> = Object.freeze({
  text: Object.freeze({ writable: false, noExecute: false }),
  rodata: Object.freeze({ writable: false, noExecute: true }),
  data: Object.freeze({ writable: true, noExecute: true }),
  bss: Object.freeze({ writable: true, noExecute: true }),
});

const roundUp = (n: number): number => Math.ceil(n / 4096) * 4096;

/**
 * Maps kernel sections with W^X flags (extra flags such as `global` are added to each).
 * Sections need not be page aligned: a page shared by two sections (say the end of .data
 * and the start of .bss) gets the union of their rights (writable if either is, executable
 * if either is), provided both map it to the same physical page.
 */
export function mapKernelSections(pt: PageTableBuilder, sections: readonly KernelSection[], extra: PageFlagsInput = {}): void {
  if (!Array.isArray(sections)) throw new PagingError('PAGING_BAD_SECTION', `sections must be an array, got ${describe(sections)}`, {});
  const spans = sections.map((s, i) => {
    if (typeof s !== 'object' || s === null || typeof s.kind !== 'string' || !(s.kind in SECTION_FLAGS)) {
      throw new PagingError('PAGING_BAD_SECTION', `section ${i} needs kind 'text' | 'rodata' | 'data' | 'bss', got ${describe((s as KernelSection | null)?.kind)}`, { index: i });
    }
    const sec = s as KernelSection;
    if (typeof sec.size !== 'number' || !Number.isSafeInteger(sec.size) || sec.size <= 0) {
      throw new PagingError('PAGING_BAD_SECTION', `section ${String(sec.name)} has a bad size ${describe(sec.size)}`, { name: sec.name });
    }
    if (typeof sec.lma !== 'number' || !Number.isSafeInteger(sec.lma) || sec.lma < 0 || typeof sec.vma !== 'bigint' || sec.vma < 0n) {
      throw new PagingError('PAGING_BAD_SECTION', `section ${String(sec.name)} needs a bigint vma and a number lma`, { name: sec.name });
    }
    if (Number(sec.vma % 4096n) !== sec.lma % 4096) {
      throw new PagingError('PAGING_BAD_SECTION', `section ${String(sec.name)}: vma ${describe(sec.vma)} and lma ${describe(sec.lma)} differ within a page`, { name: sec.name });
    }
    const first = sec.vma / 4096n;
    const end = (sec.vma + BigInt(sec.size) + 4095n) / 4096n;
    const flags = SECTION_FLAGS[sec.kind];
    return { sec, first, end, delta: sec.vma - BigInt(sec.lma), writable: flags.writable === true, exec: flags.noExecute !== true };
  });
  const points = [...new Set(spans.flatMap((x) => [x.first, x.end]))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const pieces: { first: bigint; end: bigint; delta: bigint; writable: boolean; exec: boolean }[] = [];
  for (let k = 0; k + 1 < points.length; k++) {
    const covering = spans.filter((x) => x.first <= points[k] && points[k] < x.end);
    if (covering.length === 0) continue;
    const delta = covering[0].delta;
    const clash = covering.find((x) => x.delta !== delta);
    if (clash) {
      throw new PagingError('PAGING_BAD_SECTION', `sections ${String(covering[0].sec.name)} and ${String(clash.sec.name)} share the page at ${hex(points[k] * 4096n)} but load it from different physical pages`, { name: clash.sec.name });
    }
    const piece = { first: points[k], end: points[k + 1], delta, writable: covering.some((x) => x.writable), exec: covering.some((x) => x.exec) };
    const last = pieces[pieces.length - 1];
    if (last && last.end === piece.first && last.delta === piece.delta && last.writable === piece.writable && last.exec === piece.exec) last.end = piece.end;
    else pieces.push(piece);
  }
  pt.mapAll(pieces.map((p) => ({
    virt: p.first * 4096n,
    phys: Number(p.first * 4096n - p.delta),
    size: Number(p.end - p.first) * 4096,
    flags: { ...extra, writable: p.writable, noExecute: !p.exec },
  })));
}

/** Options of {@link PageTableBuilder.mapPhysicalMemory}. */
export interface DirectMapOptions {
  /** Virtual address of physical 0 (e.g. 0xffff888000000000n). */
  offset: bigint;
  /** Physical ranges to map (rounded outward to 4 KiB, merged). */
  ranges: readonly PhysRange[];
  /** Default `{ writable: true, noExecute: true }`. */
  flags?: PageFlagsInput;
}

/** Maps RAM at `offset + phys` with the largest pages alignment allows. */
export function mapPhysicalMemory(pt: PageTableBuilder, options: DirectMapOptions): void {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.ranges)) {
    throw new PagingError('PAGING_BAD_OPTIONS', 'mapPhysicalMemory needs { offset, ranges, flags? }', {});
  }
  const offset = options.offset;
  checkVirtPage(offset, pt.levels, 'offset');
  const flags = options.flags ?? { writable: true, noExecute: true };
  const ranges = normalizeRanges(options.ranges.map((r, i) => checkPhysRange(r, `ranges[${i}]`)).map((r) => ({ start: r.start - (r.start % 4096), end: roundUp(r.end) })));
  pt.mapAll(ranges.filter((r) => r.end > r.start).map((r) => ({ virt: toVirt(offset + BigInt(r.start)), phys: r.start, size: r.end - r.start, flags })));
}

function toVirt(v: bigint): bigint {
  return v & 0xffffffffffffffffn;
}

/** Maps `range` at virtual == physical (rounded outward to 4 KiB). */
export function identityMap(pt: PageTableBuilder, range: PhysRange, flags: PageFlagsInput = {}): void {
  const r = checkPhysRange(range, 'range');
  const start = r.start - (r.start % 4096);
  const end = roundUp(r.end);
  if (end <= start) throw new PagingError('PAGING_BAD_SIZE', `identity range ${hex(r.start)}..${hex(r.end)} is empty`, { range });
  pt.mapAll([{ virt: BigInt(start), phys: start, size: end - start, flags }]);
}

/**
 * Points root entry `index` at the root itself, so the tables appear in virtual memory;
 * returns the virtual address where the root table itself shows up.
 */
export function mapRecursive(pt: PageTableBuilder, index: number, options: { noExecute?: boolean } = {}): bigint {
  if (!Number.isInteger(index) || index < 0 || index > 511) throw new PagingError('PAGING_BAD_OPTIONS', `recursive index must be 0..511, got ${describe(index)}`, { index });
  if (pt.recursiveIndex >= 0) throw new PagingError('PAGING_RECURSIVE_SLOT', `a recursive entry is already at index ${pt.recursiveIndex}`, { index: pt.recursiveIndex });
  const root = pt.rootNode;
  if (root.words[index << 1] & P) throw new PagingError('PAGING_OVERLAP', `root entry ${index} is already in use`, { index });
  const lo = (((pt.root % 0x100000000) & 0xfffff000) | P | RW) >>> 0;
  const hi = (Math.floor(pt.root / 0x100000000) | (options.noExecute === false ? 0 : NX_HI)) >>> 0;
  root.words[index << 1] = lo;
  root.words[(index << 1) + 1] = hi;
  root.count(lo, hi, 1);
  pt.recursiveIndex = index;
  let vpn = 0;
  for (let level = pt.levels; level >= 1; level--) vpn = vpn * 512 + index;
  return pageToVirt(vpn, pt.levels);
}

/** Options of {@link PageTableBuilder.mapStack}. */
export interface StackOptions {
  /** Exclusive top of the stack (the initial RSP), 4 KiB aligned. */
  top: bigint;
  /** Stack bytes, a multiple of 4 KiB. */
  size: number;
  /** Unmapped guard pages below the stack (default 1). */
  guardPages?: number;
  /** Backing frames (contiguous); taken from the frame source when omitted. */
  phys?: number;
  /** Default `{ writable: true, noExecute: true }`. */
  flags?: PageFlagsInput;
}

/** A stack the builder mapped. */
export interface MappedStack {
  readonly bottom: bigint;
  readonly top: bigint;
  /** First byte of the guard (unmapped, refused by later maps). */
  readonly guard: bigint;
  readonly phys: number;
}

/** Maps a stack below `top` with unmapped guard pages under it. */
export function mapStack(pt: PageTableBuilder, options: StackOptions): MappedStack {
  if (typeof options !== 'object' || options === null) throw new PagingError('PAGING_BAD_OPTIONS', 'mapStack needs { top, size }', {});
  const guardPages = options.guardPages ?? 1;
  if (!Number.isInteger(guardPages) || guardPages < 1) throw new PagingError('PAGING_BAD_OPTIONS', `guardPages must be a positive integer, got ${describe(guardPages)}`, {});
  const topVpn = checkVirtPage(options.top, pt.levels, 'top');
  const pages = checkSize(options.size);
  const guardVpn = topVpn - pages - guardPages;
  if (guardVpn < 0 || (topVpn >= 2 ** (pt.levels === 4 ? 35 : 44) && guardVpn < 2 ** (pt.levels === 4 ? 35 : 44))) {
    throw new PagingError('PAGING_RANGE_NOT_CANONICAL', `stack and guard below ${describe(options.top)} leave the canonical half`, {});
  }
  checkVirtRange(guardVpn, guardPages + pages, pt.levels, options.top);
  const taken = findEntry(pt.rootNode, pt.levels, guardVpn, guardVpn + guardPages);
  if (taken !== null) throw new PagingError('PAGING_OVERLAP', `the guard page at ${hex(pageToVirt(guardVpn, pt.levels))} is already mapped`, { guard: pageToVirt(guardVpn, pt.levels) });
  let phys = options.phys;
  const own = phys === undefined;
  if (own) {
    let got: number | null;
    try {
      got = pt.frames.allocate(pages);
    } catch (e) {
      throw frameSourceFailed(e);
    }
    if (got === null || got === undefined) throw new PagingError('PAGING_OUT_OF_FRAMES', `the frame source has no ${pages} contiguous frames for the stack`, { pages });
    phys = got;
  }
  try {
    pt.mapAll([{ virt: pageToVirt(guardVpn + guardPages, pt.levels), phys: phys!, size: pages * 4096, flags: options.flags ?? { writable: true, noExecute: true } }]);
  } catch (e) {
    if (own) pt.frames.free(phys!, pages);
    throw e;
  }
  pt.guards.push({ vpn: guardVpn, end: guardVpn + guardPages });
  return { bottom: pageToVirt(guardVpn + guardPages, pt.levels), top: options.top, guard: pageToVirt(guardVpn, pt.levels), phys: phys! };
}
