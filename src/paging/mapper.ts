/**
 * The table-walking core of the builder, on page numbers (plain numbers) and 32-bit
 * words: finding existing leaves in a range, counting the tables a map will need,
 * writing leaves (with the auto page-size rule), and clearing them.
 *
 * Every mutating routine here runs only after the builder has validated the call, checked
 * for overlaps and obtained every frame it will need, so nothing here can fail halfway.
 *
 * @module
 */
import { mod } from './vaddr.js';
import { ADDR_HI as ENTRY_ADDR_HI, ADDR_LO_4K as ENTRY_ADDR_LO_4K, leafFlagsHi, leafFlagsLo, leafLo, P as ENTRY_P } from './entry.js';
import { refreshParents, TableNode } from './table.js';

/** Pages per entry at each level (index = level). */
export const SPAN_PAGES = [0, 1, 512, 512 * 512, 512 ** 3, 512 ** 4, 512 ** 5];
// Entry bits as a const enum, inlined as literals (see fastwalk.ts).
const enum E {
  P = 0x1,
  ADDR_HI = 0x000fffff,
  ADDR_LO_4K = 0xfffff000,
  TWO20 = 0x100000,
}
if (E.P !== ENTRY_P || E.ADDR_HI !== ENTRY_ADDR_HI || E.ADDR_LO_4K !== ENTRY_ADDR_LO_4K) throw new Error('mapper: entry bit constants out of date');

/** A leaf (or foreign entry) found in the tables. */
export interface FoundEntry {
  /** First page number the entry covers. */
  vpn: number;
  level: number;
  node: TableNode;
  index: number;
}

/** First present entry without a child table (a leaf, or a recursive/foreign pointer) intersecting [vpn, end). */
export function findEntry(node: TableNode, level: number, vpn: number, end: number): FoundEntry | null {
  const span = SPAN_PAGES[level];
  const w = node.words;
  let i = mod(Math.floor(vpn / span), 512);
  while (vpn < end) {
    const slotStart = vpn - mod(vpn, span);
    const chunkEnd = Math.min(end, slotStart + span);
    if (w[i << 1] & E.P) {
      const child = node.children === null ? null : node.children[i];
      if (child === null) return { vpn: slotStart, level, node, index: i };
      const r = findEntry(child, level - 1, vpn, chunkEnd);
      if (r !== null) return r;
    }
    vpn = chunkEnd;
    i++;
  }
  return null;
}

/** One mapping request in page numbers: `leafLevel` 0 means auto page size. */
export interface MapItem {
  vpn: number;
  end: number;
  ppn: number;
  leafLevel: number;
  flagsLo: number;
  flagsHi: number;
}

/** True when a leaf at `level` can start at vpn/ppn with `end` as the range end. */
function canLeaf(item: MapItem, level: number, vpn: number, ppn: number, end: number): boolean {
  if (item.leafLevel !== 0) return level === item.leafLevel;
  if (level > 3) return false;
  const span = SPAN_PAGES[level];
  return mod(vpn, span) === 0 && mod(ppn, span) === 0 && end - vpn >= span;
}

/**
 * Number of new tables mapping `item` needs under `node` (null: a table not created yet).
 * `planned` remembers tables already counted for earlier items of the same call.
 */
export function countTables(node: TableNode | null, level: number, vpn: number, end: number, ppn: number, item: MapItem, planned: Set<string> | null): number {
  if (level === 1 || level === item.leafLevel) return 0; // only leaves below this point
  const span = SPAN_PAGES[level];
  let i = mod(Math.floor(vpn / span), 512);
  let n = 0;
  while (vpn < end) {
    const slotStart = vpn - mod(vpn, span);
    const chunkEnd = Math.min(end, slotStart + span);
    if (canLeaf(item, level, vpn, ppn, end)) {
      // leaves need no table: skip the whole run of leaf slots (see writeLeaves)
      const n = Math.min(512 - i, Math.floor((end - vpn) / span));
      vpn += n * span;
      ppn += n * span;
      i += n;
      continue;
    } else {
      const child = node === null ? null : node.children![i];
      if (child === null) {
        if (planned === null) n++;
        else {
          const key = `${level - 1}:${slotStart}`;
          if (!planned.has(key)) {
            planned.add(key);
            n++;
          }
        }
      }
      n += countTables(child, level - 1, vpn, chunkEnd, ppn, item, planned);
      ppn += chunkEnd - vpn;
      vpn = chunkEnd;
    }
    i++;
  }
  return n;
}

/** What the writing routines need from the builder. */
export interface MapContext {
  /** Makes a zeroed child table at `index` of `parent` (frame already obtained). */
  newTable(parent: TableNode, index: number): TableNode;
  /** Releases an empty child table replaced by a huge leaf (after the call succeeds). */
  release(node: TableNode): void;
}

/**
 * Releases an (empty) table replaced by a huge leaf together with the empty tables still
 * below it (kept by `unmap(..., { freeTables: false })`), children first.
 */
function releaseSubtree(ctx: MapContext, node: TableNode): void {
  const children = node.children;
  if (children !== null) for (const child of children) if (child !== null) releaseSubtree(ctx, child);
  ctx.release(node);
}

/** Writes the leaves of `item` for [vpn, end) under `node` at `level`. */
export function writeLeaves(ctx: MapContext, node: TableNode, level: number, vpn: number, end: number, ppn: number, item: MapItem): void {
  const w = node.words;
  const span = SPAN_PAGES[level];
  let i = mod(Math.floor(vpn / span), 512);
  if (level === 1) {
    writePtes(node, i, end - vpn, ppn, item.flagsLo, item.flagsHi);
    refreshParents(node);
    return;
  }
  while (vpn < end) {
    const slotStart = vpn - mod(vpn, span);
    const chunkEnd = Math.min(end, slotStart + span);
    if (canLeaf(item, level, vpn, ppn, end) && node.children![i] === null) {
      // a run of huge leaves in empty slots (a direct map): written in one tight loop. Each
      // slot of the run is a leaf too: vpn and ppn stay span-aligned and the range covers it
      const children = node.children!;
      const max = Math.min(512 - i, Math.floor((end - vpn) / span));
      let n = 1;
      while (n < max && children[i + n] === null) n++;
      writeRun(node, i, n, ppn, span, leafLo(item.flagsLo, level), item.flagsHi);
      vpn += n * span;
      ppn += n * span;
      i += n;
      continue;
    }
    if (canLeaf(item, level, vpn, ppn, end)) {
      const old = node.children![i];
      if (old !== null) {
        node.count(w[i << 1], w[(i << 1) + 1], -1);
        node.children![i] = null;
        releaseSubtree(ctx, old);
      }
      const lo = (leafLo(item.flagsLo, level) | ((mod(ppn, E.TWO20)) << 12)) >>> 0;
      const hi = (item.flagsHi | Math.floor(ppn / E.TWO20)) >>> 0;
      w[i << 1] = lo;
      w[(i << 1) + 1] = hi;
      node.count(lo, hi, 1);
      vpn += span;
      ppn += span;
    } else {
      const child = node.children![i] ?? ctx.newTable(node, i);
      writeLeaves(ctx, child, level - 1, vpn, chunkEnd, ppn, item);
      ppn += chunkEnd - vpn;
      vpn = chunkEnd;
    }
    i++;
  }
  refreshParents(node);
}

/** Writes `count` consecutive 4 KiB leaves from index `i` of a PT (hot loop, no BigInt). */
export function writePtes(node: TableNode, i: number, count: number, ppn: number, flagsLo: number, flagsHi: number): void {
  writeRun(node, i, count, ppn, 1, leafLo(flagsLo, 1), flagsHi);
}

/**
 * Writes `count` consecutive leaves from index `i` of `node`, each `span` pages on from the
 * last (1 in a PT, 512 or 512^2 for 2 MiB / 1 GiB leaves), with entry low flags `lo0` (the
 * level's encoding, from leafLo) and high flags `flagsHi`; counts them (hot loop, no BigInt).
 */
export function writeRun(node: TableNode, i: number, count: number, ppn: number, span: number, lo0: number, flagsHi: number): void {
  const w = node.words;
  // the frame number as bits 12..31 (pLo, in pages) and 32..51 (pHi) of the address
  let pLo = mod(ppn, E.TWO20);
  let pHi = (Math.floor(ppn / E.TWO20) | flagsHi) >>> 0;
  let k = i << 1;
  const stop = (i + count) << 1;
  while (k < stop) {
    w[k] = (pLo << 12) | lo0;
    w[k + 1] = pHi;
    k += 2;
    pLo += span;
    if (pLo >= E.TWO20) {
      pLo -= E.TWO20;
      pHi++;
    }
  }
  node.present += count;
  if (lo0 & 2) node.writable += count;
  if (lo0 & 4) node.user += count;
  if (!(flagsHi & 0x80000000)) node.executable += count;
}

/** Pointer entry words for a child table at physical `phys` (flags fixed up later). */
export function pointerWords(phys: number): [number, number] {
  return [((phys % 0x100000000) & E.ADDR_LO_4K | E.P) >>> 0, Math.floor(phys / 0x100000000) & E.ADDR_HI];
}

/** Visits every leaf intersecting [vpn, end) (caller guarantees leaves lie wholly inside). */
export function forEachLeaf(node: TableNode, level: number, vpn: number, end: number, visit: (node: TableNode, index: number, level: number) => void): void {
  const span = SPAN_PAGES[level];
  const w = node.words;
  let i = mod(Math.floor(vpn / span), 512);
  while (vpn < end) {
    const slotStart = vpn - mod(vpn, span);
    const chunkEnd = Math.min(end, slotStart + span);
    if (w[i << 1] & E.P) {
      const child = node.children === null ? null : node.children[i];
      if (child === null) visit(node, i, level);
      else forEachLeaf(child, level - 1, vpn, chunkEnd, visit);
    }
    vpn = chunkEnd;
    i++;
  }
}

/**
 * Clears every leaf in [vpn, end) (leaves must lie wholly inside), refreshes the entries
 * above, and collects tables left empty into `emptied` (deepest first).
 */
export function clearLeaves(node: TableNode, level: number, vpn: number, end: number, emptied: TableNode[] | null): number {
  const span = SPAN_PAGES[level];
  const w = node.words;
  let i = mod(Math.floor(vpn / span), 512);
  if (level === 1) return clearPtes(node, i, i + (end - vpn));
  let pages = 0;
  while (vpn < end) {
    const slotStart = vpn - mod(vpn, span);
    const chunkEnd = Math.min(end, slotStart + span);
    const lo = w[i << 1];
    if (lo & E.P) {
      const child = node.children === null ? null : node.children[i];
      if (child === null) {
        node.count(lo, w[(i << 1) + 1], -1);
        w[i << 1] = 0;
        w[(i << 1) + 1] = 0;
        pages += span;
      } else {
        pages += clearLeaves(child, level - 1, vpn, chunkEnd, emptied);
        if (child.present === 0 && emptied !== null) {
          node.count(lo, w[(i << 1) + 1], -1);
          w[i << 1] = 0;
          w[(i << 1) + 1] = 0;
          node.children![i] = null;
          emptied.push(child);
        }
      }
    }
    vpn = chunkEnd;
    i++;
  }
  refreshParents(node);
  return pages;
}

/** Clears the PTEs at indexes [from, to) of a PT (hot loop); returns how many were present. */
export function clearPtes(node: TableNode, from: number, to: number): number {
  const w = node.words;
  let present = 0;
  let writable = 0;
  let user = 0;
  let executable = 0;
  for (let k = from << 1, stop = to << 1; k < stop; k += 2) {
    const lo = w[k];
    if (!(lo & E.P)) continue;
    present++;
    if (lo & 2) writable++;
    if (lo & 4) user++;
    if (!(w[k + 1] & 0x80000000)) executable++;
    w[k] = 0;
    w[k + 1] = 0;
  }
  node.present -= present;
  node.writable -= writable;
  node.user -= user;
  node.executable -= executable;
  refreshParents(node);
  return present;
}

/** Rewrites the flags of the leaf at `index` of `node` (address kept). */
export function setLeafFlags(node: TableNode, index: number, level: number, flagsLo: number, flagsHi: number): void {
  const w = node.words;
  const k = index << 1;
  const oldLo = w[k];
  const oldHi = w[k + 1];
  const addrLo = level === 1 ? oldLo & E.ADDR_LO_4K : oldLo & (level === 2 ? 0xffe00000 : 0xc0000000);
  const lo = (leafLo(flagsLo, level) | addrLo) >>> 0;
  const hi = ((oldHi & E.ADDR_HI) | flagsHi) >>> 0;
  node.count(oldLo, oldHi, -1);
  w[k] = lo;
  w[k + 1] = hi;
  node.count(lo, hi, 1);
}

/** Flags of the leaf at `index` in 4 KiB form. */
export function leafFlagsOf(node: TableNode, index: number, level: number): [number, number] {
  return [leafFlagsLo(node.words[index << 1], level), leafFlagsHi(node.words[(index << 1) + 1])];
}

/** First unmapped page in [vpn, end), or -1. */
export function firstHole(node: TableNode, level: number, vpn: number, end: number): number {
  const span = SPAN_PAGES[level];
  let i = mod(Math.floor(vpn / span), 512);
  while (vpn < end) {
    const slotStart = vpn - mod(vpn, span);
    const chunkEnd = Math.min(end, slotStart + span);
    if (!(node.words[i << 1] & E.P)) return vpn;
    const child = node.children === null ? null : node.children[i];
    if (child !== null) {
      const h = firstHole(child, level - 1, vpn, chunkEnd);
      if (h >= 0) return h;
    }
    vpn = chunkEnd;
    i++;
  }
  return -1;
}
