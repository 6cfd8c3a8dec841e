/**
 * Read-only validation of a hole list in memory, shared by `LinkedListHeap.check()` and
 * `LinkedListHeap.inspect()`: walks the nodes from the first hole, never trusting them (bounds,
 * alignment, order, overlap, unmerged neighbours, minimum size, unreadable memory), and
 * computes the heap statistics.
 *
 * @module
 */
import { hex, MemprimsError } from '../errors.js';
import type { PhysicalMemory } from '../memory/index.js';
import { MIN_HOLE } from './placement.js';

/** One hole as found in memory. */
export interface HoleInfo {
  /** Address of the hole's header (its first byte). */
  readonly address: number;
  /** Bytes in the hole, header included. */
  readonly size: number;
  /** Address of the next hole, or null for the last one. */
  readonly next: number | null;
}

/** Heap statistics. */
export interface HeapStats {
  /** Bytes in live blocks (adjusted sizes). */
  readonly used: number;
  /** Bytes not in live blocks. */
  readonly free: number;
  /** Number of holes in the free list. */
  readonly holes: number;
  /** Size of the largest hole (0 when there is none). */
  readonly largestHole: number;
  /** `1 - largestHole / free` (0 when nothing is free): 0 means all free bytes are in one hole. */
  readonly fragmentation: number;
}

/** The first broken invariant found in a hole list. */
export interface HeapViolation {
  /** Stable code, e.g. `'HEAP_CORRUPT_UNSORTED'` (see docs/ERRORS.md). */
  readonly code: string;
  /** What is wrong, with addresses. */
  readonly message: string;
  /** Position of the hole in list order (0 = first) and the values involved. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Result of walking a hole list. */
export interface HoleWalk {
  /** The holes read before the walk stopped (all of them when `violation` is null). */
  readonly holes: HoleInfo[];
  /** The first violation, or null when the list is valid. */
  readonly violation: HeapViolation | null;
}

function violation(code: string, message: string, details: Record<string, unknown>): HeapViolation {
  return { code, message, details };
}

function readWord(memory: PhysicalMemory, address: number): number | MemprimsError {
  try {
    return memory.readU64Number(address);
  } catch (e) {
    if (e instanceof MemprimsError) return e;
    throw e;
  }
}

/**
 * Walks the hole list starting at `first` (0 or null = empty) inside `[bottom, top)` and
 * returns the holes and the first violation. Reads memory only.
 */
export function walkHoleList(memory: PhysicalMemory, bottom: number, top: number, first: number | null): HoleWalk {
  const holes: HoleInfo[] = [];
  let at = first ?? 0;
  let prevAddr = -1;
  let prevEnd = -1;
  let index = 0;
  while (at !== 0) {
    const where = { index, address: at };
    if (!Number.isSafeInteger(at) || at % 8 !== 0) {
      return { holes, violation: violation('HEAP_CORRUPT_HOLE_ALIGN', `hole #${index} at ${hex(at)} is not 8-aligned`, where) };
    }
    if (at < bottom || at + MIN_HOLE > top) {
      return { holes, violation: violation('HEAP_CORRUPT_HOLE_BOUNDS', `hole #${index} at ${hex(at)} is outside the heap [${hex(bottom)}, ${hex(top)})`, { ...where, bottom, top }) };
    }
    if (at <= prevAddr) {
      return { holes, violation: violation('HEAP_CORRUPT_UNSORTED', `hole #${index} at ${hex(at)} does not follow hole #${index - 1} at ${hex(prevAddr)} in address order (list out of order or cyclic)`, { ...where, previous: prevAddr }) };
    }
    if (at < prevEnd) {
      return { holes, violation: violation('HEAP_CORRUPT_OVERLAP', `hole #${index} at ${hex(at)} overlaps hole #${index - 1} [${hex(prevAddr)}, ${hex(prevEnd)})`, { ...where, previous: prevAddr, previousEnd: prevEnd }) };
    }
    if (at === prevEnd) {
      return { holes, violation: violation('HEAP_CORRUPT_UNMERGED', `hole #${index} at ${hex(at)} touches hole #${index - 1} at ${hex(prevAddr)} but was not merged with it`, { ...where, previous: prevAddr }) };
    }
    const size = readWord(memory, at);
    const next = readWord(memory, at + 8);
    if (typeof size !== 'number' || typeof next !== 'number') {
      const err = typeof size !== 'number' ? size : (next as MemprimsError);
      return { holes, violation: violation('HEAP_CORRUPT_UNREADABLE', `hole #${index} at ${hex(at)} cannot be read: ${err.message}`, { ...where, cause: err.code }) };
    }
    if (size < MIN_HOLE || size % 8 !== 0) {
      return { holes, violation: violation('HEAP_CORRUPT_HOLE_SIZE', `hole #${index} at ${hex(at)} has size ${hex(size)}: not a multiple of 8 of at least 16`, { ...where, size }) };
    }
    if (at + size > top) {
      return { holes, violation: violation('HEAP_CORRUPT_HOLE_BOUNDS', `hole #${index} [${hex(at)}, ${hex(at + size)}) runs past the heap top ${hex(top)}`, { ...where, size, top }) };
    }
    holes.push({ address: at, size, next: next === 0 ? null : next });
    prevAddr = at;
    prevEnd = at + size;
    at = next;
    index++;
  }
  return { holes, violation: null };
}

/** Statistics from a hole list and the used byte count. */
export function statsOf(holes: readonly { size: number }[], used: number, free: number): HeapStats {
  let largestHole = 0;
  for (const h of holes) if (h.size > largestHole) largestHole = h.size;
  return { used, free, holes: holes.length, largestHole, fragmentation: free > 0 ? 1 - largestHole / free : 0 };
}
