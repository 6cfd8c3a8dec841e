/**
 * One page table (512 entries, one 4 KiB frame) as the builder tracks it: a live
 * Uint32Array over the frame's bytes in `PhysicalMemory` (entry i is words 2i, 2i+1), the
 * child tables, and counts of the present entries that are writable / user / executable,
 * from which the entry pointing at this table takes its flags (writable or user if any
 * entry below is; no-execute only if every entry below is).
 *
 * @module
 */
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { hex, MemprimsError } from '../errors.js';
import { PagingError } from './errors.js';
import { NX_HI as ENTRY_NX_HI, P as ENTRY_P, RW as ENTRY_RW, US as ENTRY_US } from './entry.js';

// Entry bits as a const enum, inlined as literals (see fastwalk.ts): count() and
// refreshParents() run on every map and unmap.
const enum E {
  P = 0x1,
  RW = 0x2,
  US = 0x4,
  NX_HI = 0x80000000,
}
if (E.P !== ENTRY_P || E.RW !== ENTRY_RW || E.US !== ENTRY_US || E.NX_HI !== ENTRY_NX_HI) throw new Error('table: entry bit constants out of date');

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A live 1024-word view of the table frame at `phys`, or a typed error (nothing changed). */
export function tableWords(memory: PhysicalMemory, phys: number): Uint32Array {
  let bytes: Uint8Array;
  try {
    bytes = memory.view(phys, 4096);
  } catch (e) {
    const why = e instanceof MemprimsError ? e.message : String(e);
    throw new PagingError('PAGING_BAD_FRAME', `table frame ${hex(phys)} is not usable memory: ${why}`, { frame: phys }, { cause: e });
  }
  if (!LITTLE || bytes.byteOffset % 4 !== 0) {
    throw new PagingError('PAGING_BAD_FRAME', `table frame ${hex(phys)} is not 4-byte aligned in its backing buffer`, { frame: phys });
  }
  return new Uint32Array(bytes.buffer, bytes.byteOffset, 1024);
}

/** A page table the builder owns. */
export class TableNode {
  // Fields are `declare`d and set once in the constructor so V8 sees their final types
  // (no field starts as undefined), which keeps the per-call fast paths cheap.
  /** Physical address of the frame. */
  declare readonly phys: number;
  /** 1 = PT … 5 = PML5. */
  declare readonly level: number;
  /** Live view of the frame: entry i is words[2i] (low) and words[2i+1] (high). */
  declare readonly words: Uint32Array;
  /** Parent table (null for the root) and this table's index in it. */
  declare readonly parent: TableNode | null;
  declare readonly index: number;
  /** Child tables by index (levels 2..5 only; null where the entry is a leaf or empty). */
  declare readonly children: (TableNode | null)[] | null;
  /** Present entries. */
  declare present: number;
  /** Present entries with R/W set. */
  declare writable: number;
  /** Present entries with U/S set. */
  declare user: number;
  /** Present entries without NX. */
  declare executable: number;

  constructor(phys: number, level: number, words: Uint32Array, parent: TableNode | null, index: number) {
    this.phys = phys;
    this.level = level;
    this.words = words;
    this.parent = parent;
    this.index = index;
    this.children = level > 1 ? new Array<TableNode | null>(512).fill(null) : null;
    this.present = 0;
    this.writable = 0;
    this.user = 0;
    this.executable = 0;
  }

  /** Counts an entry (given its two words) into the summaries, with sign +1 or -1. */
  count(lo: number, hi: number, sign: number): void {
    if (!(lo & E.P)) return;
    this.present += sign;
    if (lo & E.RW) this.writable += sign;
    if (lo & E.US) this.user += sign;
    if (!(hi & E.NX_HI)) this.executable += sign;
  }

  /** Flags the parent's entry for this table should carry (low word, high word). */
  summaryLo(): number {
    return E.P | (this.writable > 0 ? E.RW : 0) | (this.user > 0 ? E.US : 0);
  }

  summaryHi(): number {
    return this.executable > 0 || this.present === 0 ? 0 : E.NX_HI;
  }
}

/**
 * After entries of `node` changed, rewrites the entries pointing at it (and further up)
 * so they carry what their leaves need. Stops as soon as an entry is unchanged.
 */
export function refreshParents(node: TableNode): void {
  let n = node;
  while (n.parent !== null) {
    if (n.present === 0) return; // an empty table is about to be released or reused; leave its entry
    const parent = n.parent;
    const w = parent.words;
    const i = n.index << 1;
    const oldLo = w[i];
    const oldHi = w[i + 1];
    const lo = ((oldLo & ~(E.RW | E.US)) | n.summaryLo()) >>> 0;
    const hi = ((oldHi & ~E.NX_HI) | n.summaryHi()) >>> 0;
    if (lo === oldLo && hi === oldHi) return;
    parent.count(oldLo, oldHi, -1);
    w[i] = lo;
    w[i + 1] = hi;
    parent.count(lo, hi, 1);
    n = parent;
  }
}
