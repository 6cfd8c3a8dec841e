/**
 * Arbitraries for allocation requests: `Layout`s and valid allocation/free sequences.
 *
 * @module
 */
import fc from 'fast-check';
import { Layout } from '../addr/layout.js';

/** Options of {@link layouts}. */
export interface LayoutArbitraryOptions {
  /** Smallest size in bytes (default 0). */
  minSize?: number;
  /** Largest size in bytes (default 4096). */
  maxSize?: number;
  /** Largest alignment in bytes, a power of two (default 4096). */
  maxAlign?: number;
}

/**
 * Valid `Layout`s: sizes biased to the small ones real programs ask for (0..64 bytes most
 * of the time), alignments powers of two biased to 1..16.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { layouts } from 'memprims/arbitraries';
 * const [layout] = fc.sample(layouts({ maxSize: 256 }), 1);
 * console.log(layout.size, layout.align);
 * ```
 */
export function layouts(options: LayoutArbitraryOptions = {}): fc.Arbitrary<Layout> {
  const minSize = options.minSize ?? 0;
  const maxSize = Math.max(minSize, options.maxSize ?? 4096);
  const maxAlignLog = Math.max(0, Math.floor(Math.log2(options.maxAlign ?? 4096)));
  const size = fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: minSize, max: Math.min(maxSize, Math.max(minSize, 64)) }) },
    { weight: 1, arbitrary: fc.integer({ min: minSize, max: maxSize }) },
  );
  const alignLog = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: Math.min(4, maxAlignLog) }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: maxAlignLog }) });
  return fc.tuple(size, alignLog).map(([s, k]) => Layout.fromSizeAlign(s, 2 ** k));
}

/** One step of an {@link allocationSequences} sequence. */
export type AllocationStep = { readonly op: 'alloc'; readonly id: number; readonly layout: Layout } | { readonly op: 'free'; readonly id: number };

/** Options of {@link allocationSequences}. */
export interface AllocationSequenceOptions extends LayoutArbitraryOptions {
  /** Largest number of steps (default 100). */
  maxLength?: number;
  /** Free every block still live at the end (default false). */
  freeAll?: boolean;
}

/**
 * Valid allocation workloads: `alloc` steps with fresh ids and `free` steps that always name
 * a block that is live at that point (each freed once). Replay them on any allocator.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { allocationSequences } from 'memprims/arbitraries';
 * fc.assert(fc.property(allocationSequences({ maxLength: 20 }), (steps) => {
 *   const live = new Set<number>();
 *   for (const s of steps) s.op === 'alloc' ? live.add(s.id) : live.delete(s.id);
 * }));
 * ```
 */
export function allocationSequences(options: AllocationSequenceOptions = {}): fc.Arbitrary<AllocationStep[]> {
  const raw = fc.oneof({ weight: 3, arbitrary: layouts(options).map((layout) => ({ alloc: layout, pick: 0 })) }, { weight: 2, arbitrary: fc.nat({ max: 0x7fffffff }).map((pick) => ({ alloc: null, pick })) });
  return fc.array(raw, { maxLength: options.maxLength ?? 100 }).map((items) => {
    const steps: AllocationStep[] = [];
    const live: number[] = [];
    let next = 0;
    for (const item of items) {
      if (item.alloc) {
        steps.push({ op: 'alloc', id: next, layout: item.alloc });
        live.push(next++);
      } else if (live.length > 0) {
        const [id] = live.splice(item.pick % live.length, 1);
        steps.push({ op: 'free', id });
      }
    }
    if (options.freeAll) for (const id of live) steps.push({ op: 'free', id });
    return steps;
  });
}
