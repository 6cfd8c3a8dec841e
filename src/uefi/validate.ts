/**
 * Validation of a descriptor list: every overlap, zero-page entry, unaligned start,
 * range past 2^52 (physical) or 2^64 (virtual), each with the descriptors involved.
 *
 * @module
 */
import { hex } from '../errors.js';
import { EFI_PAGE_SIZE, MAX_PHYSICAL_START_EXCLUSIVE, type MemoryDescriptor } from './descriptor.js';

/** The kinds of problem {@link validateDescriptors} reports. */
export type MemoryMapProblemKind = 'overlap' | 'zero-pages' | 'unaligned-start' | 'unaligned-virtual' | 'past-2^52' | 'virtual-past-2^64';

/** One problem: its kind, the indices (source order) of the descriptors involved, a message. */
export interface MemoryMapProblem {
  readonly kind: MemoryMapProblemKind;
  /** Indices into `MemoryMap#descriptors`, ascending. */
  readonly descriptors: readonly number[];
  readonly message: string;
}

/** The result of validation: `ok` when `problems` is empty. */
export interface MemoryMapReport {
  readonly ok: boolean;
  readonly problems: readonly MemoryMapProblem[];
}

const TWO_POW_64 = 1n << 64n;

/**
 * Indices of `descriptors` ordered by physicalStart, stable (source order among equal
 * starts). A natural merge sort over typed arrays: real maps are one to three ascending
 * runs (OVMF lists RAM above 4 GiB before the MMIO below it), which this merges in O(n).
 */
export function sortedOrder(descriptors: readonly MemoryDescriptor[]): Uint32Array {
  const n = descriptors.length;
  const runEnds: number[] = [];
  let previous = -1;
  for (let i = 0; i < n; i++) {
    const start = descriptors[i].physicalStart;
    if (start < previous) runEnds.push(i);
    previous = start;
  }
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (runEnds.length === 0) return order;
  runEnds.push(n);
  let bounds = [0, ...runEnds];
  let spare = new Uint32Array(n);
  while (bounds.length > 2) {
    const next = [0];
    for (let r = 0; r + 1 < bounds.length; r += 2) {
      const lo = bounds[r];
      const mid = bounds[r + 1];
      const hi = r + 2 < bounds.length ? bounds[r + 2] : mid;
      let a = lo;
      let b = mid;
      let o = lo;
      while (a < mid && b < hi) {
        const ia = order[a];
        const ib = order[b];
        if (descriptors[ib].physicalStart < descriptors[ia].physicalStart) {
          spare[o++] = ib;
          b++;
        } else {
          spare[o++] = ia;
          a++;
        }
      }
      while (a < mid) spare[o++] = order[a++];
      while (b < hi) spare[o++] = order[b++];
      next.push(hi);
    }
    [order, spare] = [spare, order];
    bounds = next;
  }
  return order;
}

/**
 * Finds every problem of a descriptor list (what `MemoryMap#validate` returns). Overlaps
 * are reported once per overlapping pair (zero-page descriptors never overlap anything).
 *
 * @example
 * ```ts
 * import { validateDescriptors } from 'memprims';
 * const report = validateDescriptors([
 *   { type: 7, physicalStart: 0x1000, virtualStart: 0n, numberOfPages: 2, attribute: 0xfn },
 *   { type: 0, physicalStart: 0x2000, virtualStart: 0n, numberOfPages: 1, attribute: 0n },
 * ]);
 * report.problems[0].kind; // 'overlap'
 * ```
 */
export function validateDescriptors(descriptors: readonly MemoryDescriptor[]): MemoryMapReport {
  const problems: MemoryMapProblem[] = [];
  const n = descriptors.length;
  for (let i = 0; i < n; i++) {
    const d = descriptors[i];
    if (d.numberOfPages === 0) problems.push({ kind: 'zero-pages', descriptors: [i], message: `descriptor ${i} at ${hex(d.physicalStart)} has 0 pages` });
    if (d.physicalStart % EFI_PAGE_SIZE !== 0) problems.push({ kind: 'unaligned-start', descriptors: [i], message: `descriptor ${i}: physicalStart ${hex(d.physicalStart)} is not 4 KiB aligned` });
    if (d.virtualStart !== 0n) {
      if ((d.virtualStart & 0xfffn) !== 0n) problems.push({ kind: 'unaligned-virtual', descriptors: [i], message: `descriptor ${i}: virtualStart ${hex(d.virtualStart)} is not 4 KiB aligned` });
      if (d.numberOfPages > 0 && d.virtualStart + BigInt(d.numberOfPages) * 4096n > TWO_POW_64) {
        problems.push({ kind: 'virtual-past-2^64', descriptors: [i], message: `descriptor ${i}: virtual range from ${hex(d.virtualStart)} passes 2^64` });
      }
    }
    const end = d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE;
    if (end > MAX_PHYSICAL_START_EXCLUSIVE) problems.push({ kind: 'past-2^52', descriptors: [i], message: `descriptor ${i}: range ${hex(d.physicalStart)}..${hex(end)} passes 2^52` });
  }
  // Sweep in address order keeping the descriptors whose ranges are still open; in a map
  // without overlaps every start is at or past the highest end so far and the sweep is O(n).
  const order = sortedOrder(descriptors);
  const active: number[] = [];
  let activeCount = 0;
  let maxEnd = -1;
  for (let k = 0; k < n; k++) {
    const j = order[k];
    const dj = descriptors[j];
    if (dj.numberOfPages === 0) continue;
    const start = dj.physicalStart;
    const endJ = start + dj.numberOfPages * EFI_PAGE_SIZE;
    if (start >= maxEnd) {
      activeCount = 0;
    } else {
      let w = 0;
      for (let a = 0; a < activeCount; a++) {
        const i = active[a];
        const di = descriptors[i];
        if (di.physicalStart + di.numberOfPages * EFI_PAGE_SIZE > start) {
          active[w++] = i;
          problems.push(overlap(descriptors, Math.min(i, j), Math.max(i, j)));
        }
      }
      activeCount = w;
    }
    active[activeCount++] = j;
    if (endJ > maxEnd) maxEnd = endJ;
  }
  return { ok: problems.length === 0, problems };
}

function overlap(descriptors: readonly MemoryDescriptor[], lo: number, hi: number): MemoryMapProblem {
  const x = descriptors[lo];
  const y = descriptors[hi];
  return {
    kind: 'overlap',
    descriptors: [lo, hi],
    message: `descriptors ${lo} [${hex(x.physicalStart)}, ${hex(x.physicalStart + x.numberOfPages * EFI_PAGE_SIZE)}) and ${hi} [${hex(y.physicalStart)}, ${hex(y.physicalStart + y.numberOfPages * EFI_PAGE_SIZE)}) overlap`,
  };
}
