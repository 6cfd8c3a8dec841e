/**
 * Single-page fast paths of the builder: mapping and unmapping one 4 KiB page in a page
 * table that already exists, the common case of page-by-page callers. The address is read
 * as two 32-bit words, the page table found through a one-entry cache (the last page table
 * used, and the 2 MiB of addresses it covers), and one entry written in place.
 *
 * Each function either does the whole call or returns false having changed nothing, and
 * the builder then takes the general path, which also raises every typed error. So these
 * functions never throw, except for a bad `flags` value, and only when every other field is
 * valid (the general path would throw the same error).
 *
 * @module
 */
import { leafLo, P as ENTRY_P } from './entry.js';
import { type MapItem, SPAN_PAGES, writePtes } from './mapper.js';
import { indexOfSplit, mod } from './vaddr.js';
import { loadVirt, virtHi, virtLo } from './fastwalk.js';
export { virtHi, virtLo };
import { flagsOf } from './request.js';
import { refreshParents, type TableNode } from './table.js';


/**
 * The page table (level 1) that maps the addresses of the last lookup. It must be cleared
 * whenever the builder releases tables (a cached table could be one of them).
 */
export class LeafTableCache {
  private node: TableNode | null = null;
  /** Address bits 32..63 and 21..31 of the 2 MiB the cached table covers. */
  private hi = 0;
  private top = 0;

  clear(): void {
    this.node = null;
  }

  /** The existing page table for address words (vlo, vhi), or null if there is none. */
  find(root: TableNode, levels: number, vlo: number, vhi: number): TableNode | null {
    const top = vlo >>> 21;
    if (this.node !== null && this.top === top && this.hi === vhi) return this.node;
    let n: TableNode | null = root;
    if (levels === 5) n = n.children![(vhi >>> 16) & 511];
    if (n !== null) n = n.children![(vhi >>> 7) & 511];
    if (n !== null) n = n.children![((vlo >>> 30) | (vhi << 2)) & 511];
    if (n !== null) n = n.children![top & 511];
    if (n === null) return null;
    this.node = n;
    this.hi = vhi;
    this.top = top;
    return n;
  }
}

/** The present bit as a const enum, inlined as a literal (see fastwalk.ts). */
const enum E {
  P = 0x1,
}
if (E.P !== ENTRY_P) throw new Error('fastpath: entry bit constants out of date');

/** {@link mapOnePage}: the page is mapped. */
export const MAPPED = 1;
/** {@link mapOnePage}: nothing done; the general path must handle the call. */
export const MAP_GENERAL = 0;
/**
 * {@link mapOnePage}: nothing done; every field is valid but the page table is missing (the
 * address words are left for {@link virtLo} / {@link virtHi}).
 */
export const NO_PAGE_TABLE = -1;

/**
 * Maps one 4 KiB page (the fields of a request whose `size` is 4096, with `pageSize` 4096 /
 * 'auto' / omitted) when its page table exists and its entry is free. The
 * caller has checked `phys` (an integer below 2^52, 4 KiB aligned) and passes it as its
 * low word's page bits (`physLoPage` = bits 12..31) and its high word (`physHi`).
 */
export function mapOnePage(cache: LeafTableCache, root: TableNode, levels: number, virt: unknown, physLoPage: number, physHi: number, flagsIn: unknown, pageSize: unknown): number {
  if (pageSize !== 4096 && pageSize !== undefined && pageSize !== 'auto') return 0; // MAP_GENERAL
  if (!loadVirt(virt, levels)) return 0; // MAP_GENERAL
  const vlo = virtLo();
  const vhi = virtHi();
  if (vlo & 0xfff) return 0; // MAP_GENERAL
  const flags = flagsOf(flagsIn);
  const node = cache.find(root, levels, vlo, vhi);
  if (node === null) return -1; // NO_PAGE_TABLE
  const k = ((vlo >>> 12) & 511) << 1;
  const w = node.words;
  if (w[k] & E.P) return 0; // MAP_GENERAL
  const lo = ((physLoPage << 12) | flags.lo | E.P) >>> 0;
  const hi = (physHi | flags.hi) >>> 0;
  w[k] = lo;
  w[k + 1] = hi;
  // The entry above changes only when one of the counts it is made from leaves 0 (see
  // TableNode.summaryLo/summaryHi); otherwise refreshParents would stop at once.
  const wasPresent = node.present;
  const wasWritable = node.writable;
  const wasUser = node.user;
  const wasExecutable = node.executable;
  node.count(lo, hi, 1);
  if (wasPresent === 0 || (wasWritable === 0 && node.writable !== 0) || (wasUser === 0 && node.user !== 0) || (wasExecutable === 0 && node.executable !== 0)) {
    refreshParents(node);
  }
  return 1; // MAPPED
}

/**
 * Maps one 2 MiB (`level` 2) or 1 GiB (`level` 3) leaf when the table that holds it exists and
 * its slot is empty with no table below it (so nothing can overlap): the single-call form of a
 * direct map. Same contract as {@link mapOnePage}: 1 mapped, -1 a table on the way is missing,
 * 0 the general path must decide (also for misaligned addresses). The caller has checked
 * `phys` (an integer below 2^52, 4 KiB aligned: `physLoPage` holds bits 12..31 only).
 */
export function mapOneHuge(root: TableNode, levels: number, virt: unknown, physLoPage: number, physHi: number, flagsIn: unknown, level: number): number {
  if (!loadVirt(virt, levels)) return 0; // MAP_GENERAL
  const vlo = virtLo();
  const vhi = virtHi();
  const low = level === 2 ? 0x1ff : 0x3ffff; // page bits below the leaf size
  if (vlo & 0xfff || (vlo >>> 12) & low || physLoPage & low) return 0;
  const flags = flagsOf(flagsIn);
  let n: TableNode | null = root;
  if (levels === 5) n = n.children![(vhi >>> 16) & 511];
  if (n !== null) n = n.children![(vhi >>> 7) & 511];
  const i3 = ((vlo >>> 30) | (vhi << 2)) & 511;
  if (level === 2 && n !== null) n = n.children![i3];
  if (n === null) return -1; // NO_PAGE_TABLE
  const i = level === 2 ? (vlo >>> 21) & 511 : i3;
  const w = n.words;
  if (w[i << 1] & E.P || n.children![i] !== null) return 0;
  const lo = (leafLo(flags.lo, level) | (physLoPage << 12)) >>> 0;
  const hi = (physHi | flags.hi) >>> 0;
  w[i << 1] = lo;
  w[(i << 1) + 1] = hi;
  n.count(lo, hi, 1);
  refreshParents(n);
  return 1; // MAPPED
}

/**
 * Unmaps the one 4 KiB page at `virt` when its page table exists and stays in place
 * (`keepEmptyTable`, or other entries remain); returns the bytes unmapped (0 for a hole),
 * or -1 when the general path must handle the call.
 */
export function unmapOnePage(cache: LeafTableCache, root: TableNode, levels: number, virt: unknown, keepEmptyTable: boolean): number {
  if (!loadVirt(virt, levels)) return -1;
  const vlo = virtLo();
  if (vlo & 0xfff) return -1;
  const node = cache.find(root, levels, vlo, virtHi());
  if (node === null || !(node.present > 1 || keepEmptyTable)) return -1;
  const k = ((vlo >>> 12) & 511) << 1;
  const w = node.words;
  const lo = w[k];
  if (!(lo & E.P)) return 0;
  const wasWritable = node.writable;
  const wasUser = node.user;
  const wasExecutable = node.executable;
  node.count(lo, w[k + 1], -1);
  w[k] = 0;
  w[k + 1] = 0;
  // as in mapOnePage: refresh only when a count the entry above is made from reaches 0
  if ((wasWritable !== 0 && node.writable === 0) || (wasUser !== 0 && node.user === 0) || (wasExecutable !== 0 && node.executable === 0)) {
    refreshParents(node);
  }
  return 4096;
}

/**
 * A validated request for exactly one leaf (4 KiB, 2 MiB or 1 GiB) whose tables all exist
 * and whose slot is free is written straight away (the common case of page-by-page mapping);
 * false sends it the long way. Uses the address words `toMapItem(…, into)` left in `split`.
 */
export function mapOneLeaf(root: TableNode, levels: number, item: MapItem): boolean {
  const pages = item.end - item.vpn;
  let level = item.leafLevel;
  if (level === 0) level = pages === 1 ? 1 : pages === 512 ? 2 : pages === 512 * 512 ? 3 : 0;
  if (level === 0 || pages !== SPAN_PAGES[level] || mod(item.vpn, pages) !== 0 || mod(item.ppn, pages) !== 0) return false;
  let node = root;
  for (let l = levels; l > level; l--) {
    const child = node.children![indexOfSplit(l)];
    if (child === null) return false;
    node = child;
  }
  const i = indexOfSplit(level);
  if (node.words[i << 1] & E.P || (node.children !== null && node.children[i] !== null)) return false;
  if (level === 1) {
    writePtes(node, i, 1, item.ppn, item.flagsLo, item.flagsHi);
  } else {
    const lo = (leafLo(item.flagsLo, level) | (mod(item.ppn, 0x100000) << 12)) >>> 0;
    const hi = (item.flagsHi | Math.floor(item.ppn / 0x100000)) >>> 0;
    node.words[i << 1] = lo;
    node.words[(i << 1) + 1] = hi;
    node.count(lo, hi, 1);
  }
  refreshParents(node);
  return true;
}
