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
import { P } from './entry.js';
import { loadVirt, virtHi, virtLo } from './fastwalk.js';
import type { MapRequest } from './request.js';
import { flagsOf } from './request.js';
import { refreshParents, type TableNode } from './table.js';

/** Highest page-aligned physical address a 4 KiB page can start at (2^52 - 4 KiB). */
const LAST_PAGE = 2 ** 52 - 4096;
const TWO32 = 0x100000000;

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

/**
 * Maps a request for exactly one 4 KiB page (`size` 4096, `pageSize` 4096 / 'auto' /
 * omitted) whose page table exists and whose entry is free; false otherwise.
 */
export function mapOnePage(cache: LeafTableCache, root: TableNode, levels: number, request: MapRequest): boolean {
  if (typeof request !== 'object' || request === null || request.size !== 4096) return false;
  const pageSize = request.pageSize;
  if (pageSize !== 4096 && pageSize !== undefined && pageSize !== 'auto') return false;
  const phys = request.phys;
  if (typeof phys !== 'number' || !(phys >= 0 && phys <= LAST_PAGE)) return false;
  const ppn = phys / 4096;
  if (Math.floor(ppn) !== ppn) return false;
  if (!loadVirt(request.virt, levels)) return false;
  const vlo = virtLo();
  const vhi = virtHi();
  if (vlo & 0xfff) return false;
  const flags = flagsOf(request.flags);
  const node = cache.find(root, levels, vlo, vhi);
  if (node === null) return false;
  const k = ((vlo >>> 12) & 511) << 1;
  const w = node.words;
  if (w[k] & P) return false;
  const physHi = Math.floor(phys / TWO32);
  const lo = ((phys - physHi * TWO32) | flags.lo | P) >>> 0;
  const hi = (physHi | flags.hi) >>> 0;
  w[k] = lo;
  w[k + 1] = hi;
  node.count(lo, hi, 1);
  refreshParents(node);
  return true;
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
  if (!(lo & P)) return 0;
  node.count(lo, w[k + 1], -1);
  w[k] = 0;
  w[k + 1] = 0;
  refreshParents(node);
  return 4096;
}
