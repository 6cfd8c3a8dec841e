/**
 * Planning an allocator's construction, in frame numbers: which frames are usable, in use and
 * reserved (from a memory map or explicit ranges), the range arithmetic on frame lists, and
 * where the metadata goes (the lowest free usable frames inside one memory region, at or
 * above 1 MiB).
 *
 * @module
 */
import { normalizeRanges, subtractRanges, type PhysRange } from '../addr/phys.js';
import { checkPhysRange } from '../addr/phys.js';
import { describe, hex } from '../errors.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { FrameError } from './errors.js';
import { FRAME_SIZE, type FrameAllocatorOptions, type UsableMemoryMap } from './types.js';

/** A half-open range of frame numbers. */
export interface FrameRange {
  start: number;
  end: number;
}

/** What construction works from, in frame numbers. */
export interface FramePlan {
  ranges: FrameRange[];
  inUse: FrameRange[];
  reserved: FrameRange[];
}

function toFrames(ranges: readonly PhysRange[]): FrameRange[] {
  const out: FrameRange[] = [];
  for (const r of normalizeRanges(ranges)) {
    const start = Math.ceil(r.start / FRAME_SIZE);
    const end = Math.floor(r.end / FRAME_SIZE);
    if (end > start) out.push({ start, end });
  }
  return out;
}

function toFramesOuter(ranges: readonly PhysRange[]): FrameRange[] {
  return normalizeRanges(ranges.map((r) => ({ start: Math.floor(r.start / FRAME_SIZE) * FRAME_SIZE, end: Math.ceil(r.end / FRAME_SIZE) * FRAME_SIZE }))).map((r) => ({
    start: r.start / FRAME_SIZE,
    end: r.end / FRAME_SIZE,
  }));
}

function checkRangeList(value: unknown, what: string): PhysRange[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new FrameError('FRAME_BAD_OPTION', `${what} must be an array of { start, end }, got ${describe(value)}`, { what });
  try {
    return value.map((r, i) => checkPhysRange(r, `${what}[${i}]`));
  } catch (e) {
    throw new FrameError('FRAME_BAD_OPTION', e instanceof Error ? e.message : String(e), { what }, { cause: e });
  }
}

/** Intersection of two normalized frame-range lists. */
export function intersectFrames(a: readonly FrameRange[], b: readonly FrameRange[]): FrameRange[] {
  const out: FrameRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const s = Math.max(a[i].start, b[j].start);
    const e = Math.min(a[i].end, b[j].end);
    if (e > s) out.push({ start: s, end: e });
    if (a[i].end < b[j].end) i++;
    else j++;
  }
  return out;
}

/** Frames in `a` minus frames in `b` (both normalized). */
export function subtractFrames(a: readonly FrameRange[], b: readonly FrameRange[]): FrameRange[] {
  return subtractRanges(a, b).map((r) => ({ start: r.start, end: r.end }));
}

/** Total frames of a range list. */
export function countFrames(list: readonly FrameRange[]): number {
  let n = 0;
  for (const r of list) n += r.end - r.start;
  return n;
}

/** Works out usable, in-use and reserved frames from a map and options (typed errors for bad input). */
export function planFrames(map: UsableMemoryMap | null | undefined, options: FrameAllocatorOptions): FramePlan {
  if (typeof options !== 'object' || options === null) throw new FrameError('FRAME_BAD_OPTION', `options must be an object, got ${describe(options)}`);
  let usable: PhysRange[];
  if (options.ranges !== undefined) usable = checkRangeList(options.ranges, 'options.ranges');
  else {
    if (map === null || map === undefined || typeof (map as UsableMemoryMap).usableAfterExitBootServices !== 'function') {
      throw new FrameError('FRAME_BAD_OPTION', `need a memory map with usableAfterExitBootServices() or options.ranges, got ${describe(map)}`);
    }
    usable = map.usableAfterExitBootServices();
  }
  let ranges = toFrames(usable);
  if (!options.includePageZero) ranges = subtractFrames(ranges, [{ start: 0, end: 1 }]);
  if (ranges.length === 0) throw new FrameError('FRAME_NO_USABLE_MEMORY', 'the memory map has no usable frame');
  const reserved = intersectFrames(toFramesOuter(checkRangeList(options.reserved, 'options.reserved')), ranges);
  const inUse = subtractFrames(intersectFrames(toFramesOuter(checkRangeList(options.inUse, 'options.inUse')), ranges), reserved);
  return { ranges, inUse, reserved };
}

/**
 * Picks the metadata's first frame: inside free usable frames, inside one memory region,
 * lowest at or above 1 MiB (or below 1 MiB when nothing above fits); or `options.metadataAddress`.
 */
export function placeMetadata(memory: PhysicalMemory, plan: FramePlan, bytes: number, wanted: number | undefined): number {
  const frames = Math.ceil(bytes / FRAME_SIZE);
  const free = subtractFrames(subtractFrames(plan.ranges, plan.inUse), plan.reserved);
  const regions = memory.regions();
  const fits = (start: number): boolean => {
    const end = start + frames;
    const inFree = free.some((r) => start >= r.start && end <= r.end);
    const inRegion = regions.some((g) => start * FRAME_SIZE >= g.base && end * FRAME_SIZE <= g.end);
    return inFree && inRegion;
  };
  if (wanted !== undefined) {
    if (typeof wanted !== 'number' || !Number.isSafeInteger(wanted) || wanted < 0 || wanted % FRAME_SIZE !== 0) {
      throw new FrameError('FRAME_BAD_OPTION', `metadataAddress must be a 4 KiB-aligned address, got ${describe(wanted)}`, { value: wanted });
    }
    if (!fits(wanted / FRAME_SIZE)) {
      throw new FrameError('FRAME_NO_METADATA_SPACE', `metadata (${hex(bytes)} bytes) does not fit at ${hex(wanted)}: it needs free usable frames inside one memory region`, { address: wanted, size: bytes });
    }
    return wanted / FRAME_SIZE;
  }
  let best = -1;
  for (const pass of [256, 0]) {
    for (const r of free) {
      for (const g of regions) {
        const lo = Math.max(r.start, Math.ceil(g.base / FRAME_SIZE), pass);
        const hi = Math.min(r.end, Math.floor(g.end / FRAME_SIZE));
        if (hi - lo >= frames && (best < 0 || lo < best)) best = lo;
      }
    }
    if (best >= 0) return best;
  }
  throw new FrameError('FRAME_NO_METADATA_SPACE', `no free usable memory backed by one region can hold the allocator's ${hex(bytes)} bytes of metadata`, { size: bytes });
}
