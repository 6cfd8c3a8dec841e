/**
 * Validation of builder calls: turns `{ virt, phys, size, flags, pageSize }` into a
 * {@link MapItem} in page numbers, or throws the typed error for the first bad field.
 * Nothing here touches memory.
 *
 * @module
 */
import type { PagingLevels } from '../addr/virt.js';
import { checkPhysAddr, PHYS_ADDR_LIMIT } from '../addr/phys.js';
import { describe, hex } from '../errors.js';
import { encodeFlags, type EncodedFlags, type PageFlagsInput } from './entry.js';
import { PagingError } from './errors.js';
import type { MapItem } from './mapper.js';
import { pageSpace, split, splitVirt, throwBadVirt, mod } from './vaddr.js';

/** Page sizes a mapping can ask for. */
export type PageSize = 4096 | 0x200000 | 0x40000000 | 'auto';

/** Arguments of `PageTableBuilder.map`. */
export interface MapRequest {
  /** Canonical virtual start address (bigint), 4 KiB aligned (or aligned to `pageSize`). */
  virt: bigint;
  /** Physical start address (number), aligned like `virt`. */
  phys: number;
  /** Bytes to map, a multiple of 4 KiB (or of `pageSize`). */
  size: number | bigint;
  /** Leaf flags; present is implied. Default: read-only, supervisor, executable. */
  flags?: PageFlagsInput;
  /**
   * 4096, 2 MiB, 1 GiB, or `'auto'` (default): each step takes the largest size S for
   * which virt and phys are both S-aligned and at least S bytes remain.
   */
  pageSize?: PageSize;
}

let lastFlagsInput: object | null = null;
let lastFlags: EncodedFlags = { lo: 0, hi: 0 };

/** Encodes flags, reusing the previous result for the same frozen object (hot loops). */
export function flagsOf(input: unknown): EncodedFlags {
  if (input !== undefined && input === lastFlagsInput) return lastFlags;
  const enc = encodeFlags(input);
  if (typeof input === 'object' && input !== null && Object.isFrozen(input)) {
    lastFlagsInput = input;
    lastFlags = enc;
  }
  return enc;
}

/** Validates a byte count (number or bigint): a positive multiple of 4 KiB; returns pages. */
export function checkSize(size: unknown, what = 'size'): number {
  const n = typeof size === 'bigint' && size >= 0n && size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : size;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) {
    throw new PagingError('PAGING_BAD_SIZE', `${what} must be a positive integer byte count, got ${describe(size)}`, { size });
  }
  if (mod(n, 4096) !== 0) throw new PagingError('PAGING_MISALIGNED', `${what} ${hex(n)} is not a multiple of 4 KiB`, { size: n });
  return n / 4096;
}

/** Validates a virtual start address (canonical, page aligned); returns its page number. */
export function checkVirtPage(virt: unknown, levels: PagingLevels, what = 'virt'): number {
  if (!splitVirt(virt as bigint, levels)) throwBadVirt(virt, levels, what);
  if (split.offset !== 0) throw new PagingError('PAGING_MISALIGNED', `${what} ${describe(virt)} is not 4 KiB aligned`, { virt });
  return split.vpn;
}

/** Checks that [vpn, vpn + pages) stays inside one canonical half; returns the end. */
export function checkVirtRange(vpn: number, pages: number, levels: PagingLevels, virt: unknown): number {
  const space = pageSpace(levels);
  const halfEnd = vpn < space / 2 ? space / 2 : space;
  const end = vpn + pages;
  if (end > halfEnd) {
    throw new PagingError('PAGING_RANGE_NOT_CANONICAL', `range ${describe(virt)}+${hex(pages * 4096)} runs past the end of its canonical half`, { virt, size: pages * 4096 });
  }
  return end;
}

/** Page-size argument to leaf level (0 = auto). */
export function leafLevelOf(pageSize: unknown): number {
  if (pageSize === undefined || pageSize === 'auto') return 0;
  if (pageSize === 4096) return 1;
  if (pageSize === 0x200000) return 2;
  if (pageSize === 0x40000000) return 3;
  throw new PagingError('PAGING_BAD_PAGE_SIZE', `pageSize must be 4096, 0x200000, 0x40000000 or 'auto', got ${describe(pageSize)}`, { pageSize });
}

/** Validates a map request into page numbers. */
export function toMapItem(req: unknown, levels: PagingLevels, into?: MapItem): MapItem {
  if (typeof req !== 'object' || req === null) {
    throw new PagingError('PAGING_BAD_OPTIONS', `map() takes { virt, phys, size, flags?, pageSize? }, got ${describe(req)}`, {});
  }
  const r = req as MapRequest;
  const vpn = checkVirtPage(r.virt, levels);
  checkPhysAddr(r.phys, 'phys');
  if (mod(r.phys, 4096) !== 0) throw new PagingError('PAGING_MISALIGNED', `phys ${hex(r.phys)} is not 4 KiB aligned`, { phys: r.phys });
  const pages = checkSize(r.size);
  if (r.phys + pages * 4096 > PHYS_ADDR_LIMIT) {
    throw new PagingError('PAGING_BAD_SIZE', `phys range ${hex(r.phys)}+${hex(pages * 4096)} passes 2^52`, { phys: r.phys, size: pages * 4096 });
  }
  const end = checkVirtRange(vpn, pages, levels, r.virt);
  const leafLevel = leafLevelOf(r.pageSize);
  if (leafLevel > 1) {
    const span = leafLevel === 2 ? 512 : 512 * 512;
    const ppn = r.phys / 4096;
    if (mod(vpn, span) !== 0 || mod(ppn, span) !== 0 || mod(pages, span) !== 0) {
      throw new PagingError('PAGING_MISALIGNED', `virt ${describe(r.virt)}, phys ${hex(r.phys)} and size ${hex(pages * 4096)} must all be multiples of the page size ${hex(span * 4096)}`, { virt: r.virt, phys: r.phys, size: pages * 4096, pageSize: r.pageSize });
    }
  }
  const f = flagsOf(r.flags);
  if (into === undefined) return { vpn, end, ppn: r.phys / 4096, leafLevel, flagsLo: f.lo, flagsHi: f.hi };
  into.vpn = vpn;
  into.end = end;
  into.ppn = r.phys / 4096;
  into.leafLevel = leafLevel;
  into.flagsLo = f.lo;
  into.flagsHi = f.hi;
  // the address words of `virt` are still in `split` (from checkVirtPage) for the caller's fast path
  return into;
}
