/**
 * The read-only view of page tables in memory, shared by the builder and the reader:
 * walking every leaf in address order (`mappings`), coalescing them like QEMU's
 * `info mem` (`ranges`), and reporting entries with reserved bits set (which the CPU
 * would fault on) instead of following them.
 *
 * @module
 */
import type { PagingLevels } from '../addr/virt.js';
import { flagsObject, entryAddress, ENTRY_NAMES, leafFlagsHi, leafFlagsLo, P, PS, reservedBits, type PageFlags } from './entry.js';
import { SPAN_PAGES } from './mapper.js';
import { pageToVirt } from './vaddr.js';

/** One leaf mapping: `size` bytes at `virt` map to `phys`. */
export interface Mapping {
  readonly virt: bigint;
  readonly phys: number;
  /** 4096, 2 MiB or 1 GiB. */
  readonly size: number;
  readonly flags: PageFlags;
}

/** Contiguous leaves with equal flags, coalesced (like QEMU's `info mem`). */
export interface MappedRange {
  readonly virt: bigint;
  /** Exclusive end address (may be 2^64 for the very last page). */
  readonly end: bigint;
  /** Bytes covered. */
  readonly size: number;
  /** Physical address of the first byte. */
  readonly phys: number;
  /** True when the whole range maps one physically contiguous block. */
  readonly physContiguous: boolean;
  readonly flags: PageFlags;
}

/** A present entry with reserved bits set: the CPU faults on any access through it. */
export interface PagingProblem {
  /** 1 = PTE … 5 = PML5E. */
  readonly level: number;
  /** Physical address of the entry itself. */
  readonly entryAddress: number;
  /** First virtual address the entry covers. */
  readonly virt: bigint;
  /** The raw 64-bit entry. */
  readonly raw: bigint;
  /** The reserved bits that are set. */
  readonly reserved: bigint;
  readonly message: string;
}

/** Options of a walk: CPU facts that decide which bits are reserved. */
export interface WalkOptions {
  /** MAXPHYADDR of the CPU (default 52): entry address bits at and above it are reserved. */
  maxPhysBits?: number;
  /** EFER.NXE (default true): when false, bit 63 (NX) is reserved. */
  nxe?: boolean;
}

/** Loads a table frame as 1024 little-endian words, or null when it is not in memory. */
export type TableLoader = (phys: number) => Uint32Array | null;

/** Internal leaf record: page number, level, words. */
export interface RawLeaf {
  vpn: number;
  level: number;
  lo: number;
  hi: number;
}

function words64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Walks every present leaf in address order; entries with reserved bits go to `problems`. */
export function walkLeaves(load: TableLoader, root: number, levels: PagingLevels, options: WalkOptions, problems: PagingProblem[] | null): RawLeaf[] {
  const maxPhys = options.maxPhysBits ?? 52;
  const nxe = options.nxe ?? true;
  // reserved-bit masks per level, so the walk allocates nothing per entry
  const tableLo = [0, 0, 0, 0, 0, 0].map((_, level) => (level === 0 ? 0 : reservedBits(0xffffffff & ~PS, 0, level, maxPhys, nxe).lo | (level >= 4 ? PS : 0)));
  const hugeLo = [0, 0, 0, 0].map((_, level) => (level < 2 ? 0 : reservedBits(0xffffffff, 0, level, maxPhys, nxe).lo & ~PS));
  const rhi = reservedBits(0, 0xffffffff, 1, maxPhys, nxe).hi;
  const out: RawLeaf[] = [];
  const cache = new Map<number, Uint32Array | null>();
  const get = (phys: number): Uint32Array | null => {
    let t = cache.get(phys);
    if (t === undefined) {
      t = load(phys);
      cache.set(phys, t);
    }
    return t;
  };
  const visit = (phys: number, level: number, base: number): void => {
    const w = get(phys);
    if (w === null) {
      problems?.push({ level: level + 1, entryAddress: -1, virt: pageToVirt(base, levels), raw: 0n, reserved: 0n, message: `${level === levels ? 'CR3' : ENTRY_NAMES[level + 1]} points at ${hex(phys)}, which is not in memory` });
      return;
    }
    const span = SPAN_PAGES[level];
    for (let i = 0; i < 512; i++) {
      const lo = w[i << 1];
      if (!(lo & P)) continue;
      const hi = w[(i << 1) + 1];
      const vpn = base + i * span;
      const huge = level <= 3 && level >= 2 && (lo & PS) !== 0;
      if ((lo & (huge ? hugeLo[level] : tableLo[level])) !== 0 || (hi & rhi) !== 0) {
        const bad = reservedBits(lo, hi, level, maxPhys, nxe);
        problems?.push({
          level,
          entryAddress: phys + i * 8,
          virt: pageToVirt(vpn, levels),
          raw: words64(lo, hi),
          reserved: words64(bad.lo, bad.hi),
          message: `${ENTRY_NAMES[level]} ${i} at ${hex(phys + i * 8)} has reserved bits ${hex(words64(bad.lo, bad.hi))} set (value ${hex(words64(lo, hi))})`,
        });
        continue;
      }
      if (level === 1 || (level <= 3 && lo & PS)) out.push({ vpn, level, lo, hi });
      else visit(entryAddress(lo, hi, level, false), level - 1, vpn);
    }
  };
  visit(root, levels, 0);
  // Upper-half page numbers were walked after lower-half ones already (index order), and
  // sign extension keeps that order, so `out` is sorted by canonical address.
  return out;
}

function hex(v: number | bigint): string {
  return '0x' + v.toString(16);
}

/** Converts raw leaves to {@link Mapping} objects. */
export function toMappings(leaves: readonly RawLeaf[], levels: PagingLevels): Mapping[] {
  return leaves.map((l) => ({
    virt: pageToVirt(l.vpn, levels),
    phys: entryAddress(l.lo, l.hi, l.level, true),
    size: SPAN_PAGES[l.level] * 4096,
    flags: flagsObject(leafFlagsLo(l.lo, l.level), leafFlagsHi(l.hi)),
  }));
}

/** Coalesces raw leaves into {@link MappedRange}s: virtually contiguous with equal flags. */
export function toRanges(leaves: readonly RawLeaf[], levels: PagingLevels): MappedRange[] {
  const out: MappedRange[] = [];
  let i = 0;
  while (i < leaves.length) {
    const first = leaves[i];
    const flo = leafFlagsLo(first.lo, first.level);
    const fhi = leafFlagsHi(first.hi);
    const phys = entryAddress(first.lo, first.hi, first.level, true);
    let pages = SPAN_PAGES[first.level];
    let contiguous = true;
    let j = i + 1;
    while (j < leaves.length) {
      const l = leaves[j];
      if (l.vpn !== first.vpn + pages || leafFlagsLo(l.lo, l.level) !== flo || leafFlagsHi(l.hi) !== fhi) break;
      if (entryAddress(l.lo, l.hi, l.level, true) !== phys + pages * 4096) contiguous = false;
      pages += SPAN_PAGES[l.level];
      j++;
    }
    const virt = pageToVirt(first.vpn, levels);
    out.push({ virt, end: virt + BigInt(pages) * 4096n, size: pages * 4096, phys, physContiguous: contiguous, flags: flagsObject(flo, fhi) });
    i = j;
  }
  return out;
}
