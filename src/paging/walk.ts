/**
 * One translation through tables in memory, level by level, the way the CPU does it:
 * `explainWalk` records every step (table, index, entry address, raw value, flags) for a
 * person debugging a higher-half jump; `walkTranslate` is the same walk without the record.
 * Entries with reserved bits set stop the walk (the CPU raises #PF with RSVD set).
 *
 * @module
 */
import type { PagingLevels } from '../addr/virt.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { flagsObject, describeEntryBits, entryAddress, ENTRY_NAMES, leafFlagsHi, leafFlagsLo, NX_HI, P, PS, reservedBits, RW, TABLE_NAMES, US, type PageFlags } from './entry.js';
import { SPAN_PAGES } from './mapper.js';
import { indexAt, split, splitVirt, throwBadVirt, mod } from './vaddr.js';
import type { WalkOptions } from './view.js';

/** What `translate` returns: the physical address of the byte, the leaf's flags and size. */
export interface Translation {
  readonly phys: number;
  readonly flags: PageFlags;
  /** 4096, 2 MiB or 1 GiB. */
  readonly pageSize: number;
}

/** One level of a walk. */
export interface WalkStep {
  /** 5 = PML5 … 1 = PT. */
  readonly level: number;
  /** 'PML4', 'PDPT', … */
  readonly tableName: string;
  /** 'PML4E', 'PDPTE', … */
  readonly entryName: string;
  /** Physical address of the table. */
  readonly table: number;
  readonly index: number;
  /** Physical address of the entry (table + 8 × index). */
  readonly entryAddress: number;
  /** The raw 64-bit entry (null when the table is not in memory). */
  readonly raw: bigint | null;
  /** Set bits, e.g. `P W U A NX`. */
  readonly bits: string;
  /** What this entry did to the walk. */
  readonly kind: 'table' | 'leaf' | 'not-present' | 'reserved' | 'unbacked';
  /** Reserved bits that are set (0n when none). */
  readonly reserved: bigint;
}

/** The full story of one translation. */
export interface WalkExplanation {
  readonly virt: bigint;
  readonly levels: PagingLevels;
  readonly root: number;
  readonly steps: readonly WalkStep[];
  /** The result, or null when the walk faults. */
  readonly translation: Translation | null;
  /** Why the walk stopped without a translation. */
  readonly fault: string | null;
  /** Access rights after combining every level (W and U need every level, NX any level). */
  readonly effective: { readonly writable: boolean; readonly user: boolean; readonly noExecute: boolean } | null;
}

function readEntry(memory: PhysicalMemory, addr: number, out: Uint32Array): boolean {
  if (!memory.isBacked(addr, 8)) return false;
  out[0] = memory.readU32(addr);
  out[1] = memory.readU32(addr + 4);
  return true;
}

const pair = new Uint32Array(2);

/**
 * Translates `virt` through the tables at `root` in `memory`; null when not mapped.
 *
 * @example
 * ```ts
 * import { PageTableBuilder, PhysicalMemory, walkTranslate } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 16 * 1024 * 1024);
 * let next = 0x100000;
 * const frames = { allocate: () => (next += 0x1000) - 0x1000, free: () => {} };
 * const pt = new PageTableBuilder({ memory, frames, levels: 4 });
 * pt.map({ virt: 0xffffffff80000000n, phys: 0x200000, size: 0x200000, flags: { writable: true } });
 * walkTranslate(memory, pt.root, 4, 0xffffffff80001234n); // { phys: 0x201234, pageSize: 0x200000, flags: {...} }
 * walkTranslate(memory, pt.root, 4, 0x1000n);             // null: not mapped
 * ```
 */
export function walkTranslate(memory: PhysicalMemory, root: number, levels: PagingLevels, virt: bigint, options: WalkOptions = {}): Translation | null {
  if (!splitVirt(virt, levels)) throwBadVirt(virt, levels, 'virt');
  return walkPage(memory, root, levels, split.vpn, split.offset, options);
}

/** The walk on a page number and offset. */
export function walkPage(memory: PhysicalMemory, root: number, levels: PagingLevels, vpn: number, offset: number, options: WalkOptions = {}): Translation | null {
  const maxPhys = options.maxPhysBits ?? 52;
  const nxe = options.nxe ?? true;
  let table = root;
  for (let level: number = levels; level >= 1; level--) {
    const addr = table + indexAt(vpn, level) * 8;
    if (!readEntry(memory, addr, pair)) return null;
    const lo = pair[0];
    const hi = pair[1];
    if (!(lo & P)) return null;
    const bad = reservedBits(lo, hi, level, maxPhys, nxe);
    if (bad.lo !== 0 || bad.hi !== 0) return null;
    if (level === 1 || (level <= 3 && lo & PS)) {
      const span = SPAN_PAGES[level];
      return {
        phys: entryAddress(lo, hi, level, true) + mod(vpn, span) * 4096 + offset,
        flags: flagsObject(leafFlagsLo(lo, level), leafFlagsHi(hi)),
        pageSize: span * 4096,
      };
    }
    table = entryAddress(lo, hi, level, false);
  }
  return null;
}

function u64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/**
 * Walks `virt` and records every level (see {@link WalkExplanation}).
 *
 * @example
 * ```ts
 * import { explainWalk, PageTableBuilder, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 16 * 1024 * 1024);
 * let next = 0x100000;
 * const frames = { allocate: () => (next += 0x1000) - 0x1000, free: () => {} };
 * const pt = new PageTableBuilder({ memory, frames, levels: 4 });
 * pt.map({ virt: 0xffffffff80000000n, phys: 0x200000, size: 0x200000, flags: { writable: true } });
 * const hit = explainWalk(memory, pt.root, 4, 0xffffffff80001234n);
 * hit.steps.length;     // 3: PML4E, PDPTE, then the 2 MiB PDE leaf
 * hit.effective;        // { writable: true, user: false, noExecute: false }
 * explainWalk(memory, pt.root, 4, 0x1000n).fault; // 'PML4E 0 is not present'
 * ```
 */
export function explainWalk(memory: PhysicalMemory, root: number, levels: PagingLevels, virt: bigint, options: WalkOptions = {}): WalkExplanation {
  if (!splitVirt(virt, levels)) throwBadVirt(virt, levels, 'virt');
  const vpn = split.vpn;
  const offset = split.offset;
  const maxPhys = options.maxPhysBits ?? 52;
  const nxe = options.nxe ?? true;
  const steps: WalkStep[] = [];
  let table = root;
  let writable = true;
  let user = true;
  let noExecute = false;
  const done = (translation: Translation | null, fault: string | null): WalkExplanation => ({
    virt, levels, root, steps, translation, fault,
    effective: translation === null ? null : { writable, user, noExecute },
  });
  for (let level: number = levels; level >= 1; level--) {
    const index = indexAt(vpn, level);
    const addr = table + index * 8;
    const base = { level, tableName: TABLE_NAMES[level], entryName: ENTRY_NAMES[level], table, index, entryAddress: addr };
    if (!readEntry(memory, addr, pair)) {
      steps.push({ ...base, raw: null, bits: '', kind: 'unbacked', reserved: 0n });
      return done(null, `${TABLE_NAMES[level]} at 0x${table.toString(16)} is not in memory`);
    }
    const lo = pair[0];
    const hi = pair[1];
    const raw = u64(lo, hi);
    if (!(lo & P)) {
      steps.push({ ...base, raw, bits: describeEntryBits(lo, hi, level), kind: 'not-present', reserved: 0n });
      return done(null, `${ENTRY_NAMES[level]} ${index} is not present`);
    }
    const bad = reservedBits(lo, hi, level, maxPhys, nxe);
    if (bad.lo !== 0 || bad.hi !== 0) {
      steps.push({ ...base, raw, bits: describeEntryBits(lo, hi, level), kind: 'reserved', reserved: u64(bad.lo, bad.hi) });
      return done(null, `${ENTRY_NAMES[level]} ${index} has reserved bits 0x${u64(bad.lo, bad.hi).toString(16)} set (#PF with RSVD)`);
    }
    writable &&= (lo & RW) !== 0;
    user &&= (lo & US) !== 0;
    noExecute ||= (hi & NX_HI) !== 0;
    const leaf = level === 1 || (level <= 3 && (lo & PS) !== 0);
    steps.push({ ...base, raw, bits: describeEntryBits(lo, hi, level), kind: leaf ? 'leaf' : 'table', reserved: 0n });
    if (leaf) {
      const span = SPAN_PAGES[level];
      return done({
        phys: entryAddress(lo, hi, level, true) + mod(vpn, span) * 4096 + offset,
        flags: flagsObject(leafFlagsLo(lo, level), leafFlagsHi(hi)),
        pageSize: span * 4096,
      }, null);
    }
    table = entryAddress(lo, hi, level, false);
  }
  return done(null, 'walk ended without a leaf');
}
