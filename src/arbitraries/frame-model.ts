/**
 * The reference model of the frame-allocator conformance suite: the interface it checks,
 * the usable ranges and blocks it tracks, and the helpers its commands share.
 *
 * @module
 */
import type fc from 'fast-check';
import { describe, hex, InvalidArgumentError } from '../errors.js';
import { expect, runCheck, type ConformanceOptions } from './conformance-common.js';

/** Bytes per frame. */
export const FRAME = 4096;

/** Frame counts an allocator reports from `stats()`. */
export interface FrameStatsLike {
  total: number;
  free: number;
  used: number;
  reserved?: number;
  largestFreeRun?: number;
}

/** The frame-allocator interface the suite exercises (memprims' `FrameAllocator` fits it). */
export interface ConformanceFrameAllocator {
  allocate(count?: number, options?: { align?: number; maxAddress?: number; minAddress?: number }): number | null;
  allocateAt?(address: number, count?: number): unknown;
  free(address: number, count?: number): void;
  reserve?(address: number, size: number): void;
  isFree(address: number): boolean;
  stats(): FrameStatsLike;
  check?(): unknown;
}

/** A usable range: `{ start, end }` or `[start, end]`, half-open. */
export type UsableRange = { start: number; end: number } | readonly [number, number];

/** What the factory of {@link frameAllocatorConformance} returns: a fresh allocator per run. */
export interface FrameAllocatorUnderTest {
  allocator: ConformanceFrameAllocator;
  /** The `[start, end)` ranges the allocator may hand out frames from. */
  usable: readonly UsableRange[];
}

/** Options of {@link frameAllocatorConformance}. */
export interface FrameConformanceOptions extends ConformanceOptions {
  /** Largest `count` asked of `allocate` (default 16). */
  maxCount?: number;
  /** Largest alignment asked, in bytes (default 2 MiB). */
  maxAlign?: number;
  /** Exercise misuse (double free, freeing a free frame) and require typed errors (default true). */
  misuse?: boolean;
  /** Exercise `allocateAt` when the allocator has it (default true). */
  allocateAt?: boolean;
  /** Exercise `reserve` when the allocator has it (default true). */
  reserve?: boolean;
}

/** A block of frames the model knows about: handed out, freed or reserved by the suite. */
export interface FrameBlock {
  /** Sequence number, shown in failure messages as `#id`. */
  id: number;
  address: number;
  count: number;
}

/**
 * The reference model of the frame-allocator suite: the usable ranges and what the suite
 * holds. Build it with {@link createFrameAllocatorModel}.
 */
export interface FrameAllocatorModel {
  /** Starts of the usable ranges (frame-aligned, sorted, merged). */
  starts: number[];
  /** Ends of the usable ranges. */
  ends: number[];
  /** Prefix sums of frames per usable range. */
  cumulative: number[];
  /** Usable frames in all. */
  usableFrames: number;
  /** Blocks handed out and not freed. */
  live: FrameBlock[];
  /** The most recently freed blocks (for double-free commands). */
  freed: FrameBlock[];
  /** Ranges the suite reserved. */
  reserved: FrameBlock[];
  nextId: number;
  /** `stats()` right after the factory. */
  initial: FrameStatsLike;
}

/** A command of the frame-allocator suite (for `fc.commands` / `fc.modelRun`). */
export type FrameAllocatorCommand = fc.Command<FrameAllocatorModel, ConformanceFrameAllocator>;

/** @internal */
export function normalizeUsable(usable: readonly UsableRange[]): { starts: number[]; ends: number[] } {
  const list = usable.map((r) => (Array.isArray(r) ? { start: r[0], end: r[1] } : (r as { start: number; end: number })));
  for (const r of list) {
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.end) || r.start < 0 || r.end < r.start) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', `usable range must be integers with start <= end, got ${describe(r.start)}..${describe(r.end)}`, { range: r });
    }
  }
  const frames = list.map((r) => ({ start: Math.ceil(r.start / FRAME) * FRAME, end: Math.floor(r.end / FRAME) * FRAME })).filter((r) => r.end > r.start);
  frames.sort((a, b) => a.start - b.start);
  const starts: number[] = [];
  const ends: number[] = [];
  for (const r of frames) {
    if (ends.length > 0 && r.start <= ends[ends.length - 1]) ends[ends.length - 1] = Math.max(ends[ends.length - 1], r.end);
    else {
      starts.push(r.start);
      ends.push(r.end);
    }
  }
  return { starts, ends };
}

/** Address of usable frame number `pick mod usableFrames`, and the end of its range. */
/** @internal */
export function frameAt(m: FrameAllocatorModel, pick: number): { address: number; rangeEnd: number } {
  let n = pick % m.usableFrames;
  let lo = 0;
  let hi = m.cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (m.cumulative[mid + 1] <= n) lo = mid + 1;
    else hi = mid;
  }
  n -= m.cumulative[lo];
  return { address: m.starts[lo] + n * FRAME, rangeEnd: m.ends[lo] };
}

/** @internal */
export function insideUsable(m: FrameAllocatorModel, start: number, end: number): boolean {
  for (let i = 0; i < m.starts.length; i++) if (start >= m.starts[i] && end <= m.ends[i]) return true;
  return false;
}

/** @internal */
export function overlapping(list: FrameBlock[], start: number, end: number): FrameBlock | undefined {
  return list.find((b) => start < b.address + b.count * FRAME && b.address < end);
}

/** @internal */
export function blockName(b: FrameBlock): string {
  return `#${b.id} [${hex(b.address)}..${hex(b.address + b.count * FRAME)})`;
}

/** @internal */
export function statsOf(real: ConformanceFrameAllocator, after: string): FrameStatsLike {
  const s = real.stats();
  expect(typeof s === 'object' && s !== null && Number.isSafeInteger(s.free) && Number.isSafeInteger(s.total) && Number.isSafeInteger(s.used), () => `stats() after ${after} is not { total, free, used } integers: ${JSON.stringify(s)}`);
  return s;
}

/** @internal */
export function sameStats(a: FrameStatsLike, b: FrameStatsLike): boolean {
  return a.total === b.total && a.free === b.free && a.used === b.used && (a.reserved ?? 0) === (b.reserved ?? 0);
}

/** @internal */
export function checkNoChange(real: ConformanceFrameAllocator, before: FrameStatsLike, what: string): void {
  const after = statsOf(real, what);
  expect(sameStats(before, after), () => `${what} changed the counters: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
  runCheck(real, what);
}

/**
 * A fresh reference model for `allocator` over `usable`, for running
 * {@link frameAllocatorCommands} with your own `fc.modelRun`.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { BitmapFrameAllocator, PhysicalMemory } from 'memprims';
 * import { createFrameAllocatorModel, frameAllocatorCommands } from 'memprims/arbitraries';
 * const usable = [{ start: 0x100000, end: 0x200000 }];
 * fc.assert(fc.property(fc.commands(frameAllocatorCommands()), (cmds) => {
 *   const memory = new PhysicalMemory({ shared: false });
 *   memory.addRegion(0x100000, 0x100000);
 *   const allocator = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: usable });
 *   fc.modelRun(() => ({ model: createFrameAllocatorModel(allocator, usable), real: allocator }), cmds);
 * }), { numRuns: 20 });
 * ```
 */
export function createFrameAllocatorModel(allocator: ConformanceFrameAllocator, usable: readonly UsableRange[]): FrameAllocatorModel {
  const { starts, ends } = normalizeUsable(usable);
  const cumulative = [0];
  for (let i = 0; i < starts.length; i++) cumulative.push(cumulative[i] + (ends[i] - starts[i]) / FRAME);
  const usableFrames = cumulative[cumulative.length - 1];
  if (usableFrames === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'no usable frame in the given ranges');
  return { starts, ends, cumulative, usableFrames, live: [], freed: [], reserved: [], nextId: 0, initial: statsOf(allocator, 'the factory') };
}

