/**
 * Splitting a huge leaf (1 GiB into 2 MiB pages, 2 MiB into 4 KiB pages) into a table of
 * 512 smaller leaves with the same flags and addresses, and undoing such splits when the
 * call that needed them fails. A split changes no translation.
 *
 * @module
 */
import { mod } from './vaddr.js';
import { entryAddress, leafFlagsHi, leafFlagsLo, leafLo } from './entry.js';
import { SPAN_PAGES, writePtes } from './mapper.js';
import { refreshParents, type TableNode } from './table.js';

/** What a split replaced, so it can be undone. */
export interface SplitRecord {
  readonly node: TableNode;
  readonly index: number;
  readonly lo: number;
  readonly hi: number;
  readonly child: TableNode;
}

/** Replaces the huge leaf at `index` of `node` by a new table (frame `phys`) of smaller leaves. */
export function splitHugeAt(node: TableNode, index: number, level: number, phys: number, attach: (parent: TableNode, index: number, phys: number) => TableNode): SplitRecord {
  const lo = node.words[index << 1];
  const hi = node.words[(index << 1) + 1];
  const flagsLo = leafFlagsLo(lo, level);
  const flagsHi = leafFlagsHi(hi);
  const ppn = entryAddress(lo, hi, level, true) / 4096;
  node.count(lo, hi, -1);
  const child = attach(node, index, phys);
  const sub = level - 1;
  if (sub === 1) {
    writePtes(child, 0, 512, ppn, flagsLo, flagsHi);
  } else {
    const span = SPAN_PAGES[sub];
    const leaf = leafLo(flagsLo, sub);
    for (let k = 0; k < 512; k++) {
      const p = ppn + k * span;
      const l = (leaf | (mod(p, 0x100000) << 12)) >>> 0;
      const h = (flagsHi | Math.floor(p / 0x100000)) >>> 0;
      child.words[k << 1] = l;
      child.words[(k << 1) + 1] = h;
      child.count(l, h, 1);
    }
  }
  refreshParents(child);
  return { node, index, lo, hi, child };
}

/** Undoes splits (latest first); returns the tables to release. */
export function undoSplits(records: readonly SplitRecord[]): TableNode[] {
  const released: TableNode[] = [];
  for (let k = records.length - 1; k >= 0; k--) {
    const r = records[k];
    const w = r.node.words;
    r.node.count(w[r.index << 1], w[(r.index << 1) + 1], -1);
    w[r.index << 1] = r.lo;
    w[(r.index << 1) + 1] = r.hi;
    r.node.count(r.lo, r.hi, 1);
    r.node.children![r.index] = null;
    refreshParents(r.node);
    released.push(r.child);
  }
  return released;
}
