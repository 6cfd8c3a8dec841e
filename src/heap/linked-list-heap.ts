/**
 * `LinkedListHeap`: the public heap, address-exact with Rust's linked_list_allocator 0.10.5
 * (`Heap::init`, `allocate_first_fit`, `deallocate`, `extend`) on a 64-bit target. Owns argument
 * validation, the optional strict mode (live-block tracking), statistics, `check()` and the
 * read-only `inspect()` of a heap found in a memory image. The algorithm is in `hole-list.ts`.
 *
 * @module
 */
import { hex, describe } from '../errors.js';
import { Layout, PHYS_ADDR_LIMIT } from '../addr/index.js';
import { PhysicalMemory } from '../memory/index.js';
import { HeapCorruptionError, HeapRegionError, HeapUsageError } from './errors.js';
import { HoleList } from './hole-list.js';
import { nodeMemoryFor } from './node-memory.js';
import { adjustedSize, MIN_HOLE } from './placement.js';
import { statsOf, walkHoleList, type HeapStats, type HeapViolation, type HoleInfo } from './hole-walk.js';

/** Options of {@link LinkedListHeap.init}. */
export interface HeapOptions {
  /**
   * `'list'` (default) walks the free list like the crate; `'indexed'` keeps an index beside it
   * (outside heap memory) and finds the same holes in O(log n). Results and memory are identical.
   */
  readonly mode?: 'list' | 'indexed';
  /** Track live blocks and reject double frees, foreign pointers and wrong layouts. */
  readonly strict?: boolean;
}

/**
 * Byte offset, inside linked_list_allocator 0.10's 48-byte `Heap` struct, of the word that holds
 * the first hole's address (the `next` of the dummy head hole kept in the struct, not in heap
 * memory). Found by calibration with rustc 1.95 stable and 1.97 nightly on x86-64; the struct
 * is `repr(Rust)`, so another compiler could lay it out differently.
 *
 * @example
 * ```ts
 * import { LinkedListHeap, PhysicalMemory, RUST_HEAP_FIRST_HOLE_OFFSET } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0x1000, 0x2000);
 * const heapStruct = 0x1000; // where the kernel's `static ALLOCATOR` lives (e.g. from its symbols)
 * const firstHole = memory.readU64Number(heapStruct + RUST_HEAP_FIRST_HOLE_OFFSET);
 * LinkedListHeap.inspect(memory, { bottom: 0x2000, top: 0x3000, firstHole }).ok; // true (no holes)
 * ```
 */
export const RUST_HEAP_FIRST_HOLE_OFFSET = 16;

/** Where a heap lives, for {@link LinkedListHeap.inspect}. */
export interface HeapLocation {
  /** `Heap::bottom()`: the first usable byte (8-aligned). */
  readonly bottom: number;
  /** `Heap::top()`: the end of the heap (holes must lie below it). */
  readonly top: number;
  /**
   * Address of the first hole: the `next` field of the dummy head node inside the Rust `Heap`
   * struct, not in heap memory (see {@link RUST_HEAP_FIRST_HOLE_OFFSET}), or
   * {@link LinkedListHeap.firstHole} of a memprims heap; 0 or null for an empty free list.
   */
  readonly firstHole: number | null;
}

/** What {@link LinkedListHeap.inspect} found. */
export interface HeapInspection {
  /** True when the hole list satisfies every invariant. */
  readonly ok: boolean;
  /** The holes in list order (up to the first violation). */
  readonly holes: HoleInfo[];
  /** Statistics; `used` is `top - bottom - free` (it includes any pending bytes below top). */
  readonly stats: HeapStats;
  /** The first violation, or null. */
  readonly violation: HeapViolation | null;
}

function toLayout(layout: unknown): Layout {
  if (layout instanceof Layout) return layout;
  if (typeof layout !== 'object' || layout === null || !('size' in layout) || !('align' in layout)) {
    throw new HeapUsageError('HEAP_BAD_LAYOUT', `expected a Layout (Layout.fromSizeAlign), got ${describe(layout)}`, { layout });
  }
  const { size, align } = layout as { size: unknown; align: unknown };
  return Layout.fromSizeAlign(size as number, align as number);
}

function checkCount(value: unknown, what: string, code: string, ErrorClass: typeof HeapUsageError | typeof HeapRegionError): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > PHYS_ADDR_LIMIT) {
    throw new ErrorClass(code, `${what} must be an integer in [0, 2^52], got ${describe(value)}`, { [what]: value });
  }
  return value;
}

/**
 * A first-fit linked-list heap in {@link PhysicalMemory}, byte-for-byte the same as Rust's
 * `linked_list_allocator` 0.10.5: same addresses, counters and hole nodes in memory.
 *
 * @example
 * ```ts
 * import { Layout, LinkedListHeap, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0x10_0000, 0x10000);
 * const heap = LinkedListHeap.init(memory, 0x10_0000, 0x10000, { mode: 'indexed' });
 * const layout = Layout.fromSizeAlign(100, 64);
 * const p = heap.allocateFirstFit(layout); // 0x100000 (already 64-aligned)
 * heap.used; // 104: 100 rounded up to 8
 * heap.deallocate(p!, layout);
 * heap.check();
 * ```
 */
export class LinkedListHeap {
  private readonly list: HoleList;
  private readonly memory: PhysicalMemory;
  /** Live blocks by address (strict mode only). */
  private readonly live: Map<number, Layout> | null;

  private constructor(memory: PhysicalMemory, list: HoleList, strict: boolean) {
    this.memory = memory;
    this.list = list;
    this.live = strict ? new Map() : null;
  }

  /**
   * `Heap::init(bottom, size)`: aligns `bottom` up to 8, uses the size that is left rounded down
   * to 8 and writes one hole there; the 0..7 remaining bytes are kept as pending (see
   * {@link LinkedListHeap.extend}). Throws {@link HeapRegionError} (`HEAP_TOO_SMALL` when fewer
   * than 16 bytes are usable, where the crate panics; `HEAP_NULL_BOTTOM`, `HEAP_OUT_OF_RANGE`,
   * `HEAP_UNBACKED`) or {@link HeapUsageError} (`HEAP_BAD_ARGUMENT`, `HEAP_BAD_OPTIONS`).
   */
  static init(memory: PhysicalMemory, bottom: number, size: number, options: HeapOptions = {}): LinkedListHeap {
    if (!(memory instanceof PhysicalMemory)) {
      throw new HeapUsageError('HEAP_BAD_ARGUMENT', `memory must be a PhysicalMemory, got ${describe(memory)}`);
    }
    checkCount(bottom, 'bottom', 'HEAP_BAD_ARGUMENT', HeapUsageError);
    checkCount(size, 'size', 'HEAP_BAD_ARGUMENT', HeapUsageError);
    if (typeof options !== 'object' || options === null) {
      throw new HeapUsageError('HEAP_BAD_OPTIONS', `options must be an object, got ${describe(options)}`);
    }
    const mode = options.mode ?? 'list';
    if (mode !== 'list' && mode !== 'indexed') {
      throw new HeapUsageError('HEAP_BAD_OPTIONS', `mode must be 'list' or 'indexed', got ${describe(mode)}`, { mode });
    }
    const strict = options.strict ?? false;
    if (typeof strict !== 'boolean') {
      throw new HeapUsageError('HEAP_BAD_OPTIONS', `strict must be a boolean, got ${describe(strict)}`, { strict });
    }
    if (size < MIN_HOLE) {
      throw new HeapRegionError('HEAP_TOO_SMALL', `a heap needs at least 16 bytes, got ${size}`, { bottom, size });
    }
    const aligned = Math.ceil(bottom / 8) * 8;
    const req = size - (aligned - bottom);
    const usable = req - (req % 8);
    if (usable < MIN_HOLE) {
      throw new HeapRegionError('HEAP_TOO_SMALL', `heap at ${hex(bottom)} of ${size} bytes has only ${Math.max(usable, 0)} usable bytes after aligning the bottom to 8; at least 16 are needed`, { bottom, size, usable });
    }
    if (aligned === 0) {
      throw new HeapRegionError('HEAP_NULL_BOTTOM', 'a heap cannot start at address 0 (the null pointer ends the hole list)', { bottom });
    }
    if (bottom + size > PHYS_ADDR_LIMIT) {
      throw new HeapRegionError('HEAP_OUT_OF_RANGE', `heap ${hex(bottom)}+${hex(size)} passes 2^52`, { bottom, size });
    }
    if (!memory.isBacked(aligned, usable)) {
      throw new HeapRegionError('HEAP_UNBACKED', `heap memory [${hex(aligned)}, ${hex(aligned + usable)}) is not backed by the PhysicalMemory`, { bottom: aligned, size: usable });
    }
    const mem = nodeMemoryFor(memory, aligned, aligned + usable);
    return new LinkedListHeap(memory, new HoleList(mem, aligned, usable, req - usable, mode === 'indexed'), strict);
  }

  /** `Heap::bottom()`: the first usable byte (the given bottom aligned up to 8). */
  get bottom(): number {
    return this.list.bottom;
  }

  /** `Heap::top()`: end of the heap, including the 0..15 pending bytes not usable yet. */
  get top(): number {
    return this.list.bottom + this.list.end + this.list.pending;
  }

  /** `Heap::size()`: usable bytes, `top - bottom` without the pending bytes. */
  get size(): number {
    return this.list.end;
  }

  /** `Heap::used()`: sum of the adjusted sizes of live blocks (padding never counts). */
  get used(): number {
    return this.list.used;
  }

  /** `Heap::free()`: `size - used`. */
  get free(): number {
    return this.list.end - this.list.used;
  }

  /** The crate's private `pending_extend`: bytes owned past the usable top (0..15). */
  get pending(): number {
    return this.list.pending;
  }

  /** Address of the first hole (the crate keeps it in the `Heap` struct), or null. */
  get firstHole(): number | null {
    return this.list.head < 0 ? null : this.list.bottom + this.list.head;
  }

  /** `'list'` or `'indexed'`. */
  get mode(): 'list' | 'indexed' {
    return this.list.index === null ? 'list' : 'indexed';
  }

  /** Whether live blocks are tracked. */
  get strict(): boolean {
    return this.live !== null;
  }

  /**
   * `allocate_first_fit(layout)`: the address of a block for `layout`, or null when no hole
   * fits (nothing is changed then). Throws `HEAP_BAD_LAYOUT` or a `LayoutError` for a value that
   * is not a valid layout.
   */
  allocateFirstFit(layout: Layout): number | null {
    const l = layout instanceof Layout ? layout : toLayout(layout);
    const off = this.list.allocate(adjustedSize(l.size), l.align);
    if (off < 0) return null;
    const a = this.list.bottom + off;
    if (this.live !== null) this.live.set(a, l);
    return a;
  }

  /**
   * `deallocate(ptr, layout)`: frees a block, inserting a hole in address order and merging it
   * with touching neighbours. Throws {@link HeapUsageError} with nothing changed on misuse:
   * `HEAP_BAD_ADDRESS`, `HEAP_FREE_OUT_OF_BOUNDS`, `HEAP_FREE_OVERLAPS_HOLE`,
   * `HEAP_USED_UNDERFLOW`, and in strict mode `HEAP_DOUBLE_FREE`, `HEAP_FOREIGN_POINTER`,
   * `HEAP_LAYOUT_MISMATCH`.
   */
  deallocate(address: number, layout: Layout): void {
    const list = this.list;
    if (this.live === null && layout instanceof Layout) {
      // fast path: every check of deallocateChecked, inlined for a valid free
      const off = address - list.bottom;
      const s = adjustedSize(layout.size);
      if (off >= 0 && (off & 7) === 0 && off + s <= list.end && s <= list.used && Number.isSafeInteger(address)) {
        list.free(off, s);
        list.used -= s;
        return;
      }
    }
    this.deallocateChecked(address, layout);
  }

  private deallocateChecked(address: number, layout: Layout): void {
    const l = layout instanceof Layout ? layout : toLayout(layout);
    if (typeof address !== 'number' || !Number.isSafeInteger(address)) {
      throw new HeapUsageError('HEAP_BAD_ADDRESS', `address must be an integer, got ${describe(address)}`, { address });
    }
    const live = this.live;
    if (live !== null) {
      const known = live.get(address);
      if (known === undefined) this.rejectUnknown(address);
      else if (known.size !== l.size || known.align !== l.align) {
        throw new HeapUsageError('HEAP_LAYOUT_MISMATCH', `block ${hex(address)} was allocated with ${known.toString()} but freed with ${l.toString()}`, { address, allocated: { size: known.size, align: known.align }, given: { size: l.size, align: l.align } });
      }
    }
    const s = adjustedSize(l.size);
    const list = this.list;
    if ((address & 7) !== 0) {
      // (the low bits of a safe integer: exact, and no float modulo)
      throw new HeapUsageError('HEAP_BAD_ADDRESS', `address ${hex(address)} is not 8-aligned, so no block of this heap starts there`, { address });
    }
    const off = address - list.bottom;
    if (off < 0 || off + s > list.end) {
      throw new HeapUsageError('HEAP_FREE_OUT_OF_BOUNDS', `block [${hex(address)}, ${hex(address + s)}) is not inside the heap [${hex(list.bottom)}, ${hex(list.bottom + list.end)})`, { address, size: s });
    }
    if (s > list.used) {
      throw new HeapUsageError('HEAP_USED_UNDERFLOW', `freeing ${s} bytes but only ${list.used} are in use`, { address, size: s, used: list.used });
    }
    list.free(off, s);
    list.used -= s;
    if (live !== null) live.delete(address);
  }

  /**
   * `Heap::extend(by)`: the `by` bytes right after {@link LinkedListHeap.top} join the heap.
   * Below 16 bytes (with the pending ones) they are only kept as pending; otherwise the usable
   * part goes through the free path (merging with a last hole that ends at the old top) and
   * `used` does not change. Throws `HEAP_BAD_ARGUMENT`, `HEAP_OUT_OF_RANGE` or `HEAP_UNBACKED`
   * with nothing changed.
   */
  extend(by: number): void {
    checkCount(by, 'by', 'HEAP_BAD_ARGUMENT', HeapUsageError);
    const list = this.list;
    const e = list.pending + by;
    if (e >= MIN_HOLE) {
      const k = e - (e % 8);
      const t = list.bottom + list.end;
      if (t + k > PHYS_ADDR_LIMIT) {
        throw new HeapRegionError('HEAP_OUT_OF_RANGE', `extending the heap top ${hex(t)} by ${hex(k)} passes 2^52`, { top: t, by });
      }
      if (!this.memory.isBacked(t, k)) {
        throw new HeapRegionError('HEAP_UNBACKED', `memory [${hex(t)}, ${hex(t + k)}) for the extension is not backed`, { top: t, size: k });
      }
      list.mem = nodeMemoryFor(this.memory, list.bottom, t + k);
    }
    list.extend(by);
  }

  /** The holes of the free list, read from heap memory, in list (= address) order. */
  holes(): HoleInfo[] {
    const list = this.list;
    return walkHoleList(this.memory, list.bottom, list.bottom + list.end, list.head < 0 ? 0 : list.bottom + list.head).holes;
  }

  /** `{ used, free, holes, largestHole, fragmentation }`. */
  stats(): HeapStats {
    const { holes, largest } = this.list.summary();
    const free = this.free;
    return { used: this.used, free, holes, largestHole: largest, fragmentation: free > 0 ? 1 - largest / free : 0 };
  }

  /**
   * Verifies every invariant of the hole list in memory (inside bounds, 8-aligned, sorted, no
   * overlap, no unmerged neighbours, sizes of at least 16), the accounting (free = sum of hole
   * sizes), the index in 'indexed' mode, the mirror in 'list' mode (when the heap is one raw
   * window) and the live blocks in strict mode. Throws a
   * {@link HeapCorruptionError} naming the first violation.
   */
  check(): void {
    const list = this.list;
    const walk = walkHoleList(this.memory, list.bottom, list.bottom + list.end, list.head < 0 ? 0 : list.bottom + list.head);
    if (walk.violation !== null) {
      throw new HeapCorruptionError(walk.violation.code, walk.violation.message, walk.violation.details);
    }
    const holes = walk.holes;
    let sum = 0;
    for (const h of holes) sum += h.size;
    if (sum !== this.free) {
      throw new HeapCorruptionError('HEAP_CORRUPT_ACCOUNTING', `holes hold ${sum} bytes but free() is ${this.free}`, { holeBytes: sum, free: this.free, used: this.used });
    }
    // the index ('indexed' mode) or the mirror ('list' mode on a window) must equal the list
    const copy = list.index ?? list.mirror;
    if (copy !== null) {
      const what = list.index !== null ? 'index' : 'mirror';
      const entries = copy.entries();
      for (let i = 0; i < Math.max(entries.length, holes.length); i++) {
        const e = entries[i];
        const h = holes[i];
        if (e === undefined || h === undefined || list.bottom + e[0] !== h.address || e[1] !== h.size) {
          throw new HeapCorruptionError('HEAP_CORRUPT_INDEX', `${what} entry #${i} ${e ? `[${hex(list.bottom + e[0])}, ${e[1]}]` : 'missing'} differs from hole #${i} ${h ? `[${hex(h.address)}, ${h.size}]` : 'missing'} in memory`, { index: i, entry: e ?? null, hole: h ?? null });
        }
      }
    }
    if (this.live !== null) this.checkLive(holes);
  }

  /**
   * Walks and validates the hole list of a heap found in a memory image (for example a guest
   * kernel's heap read from a QEMU `pmemsave` dump), read-only. Bad arguments throw
   * `HEAP_BAD_ARGUMENT`; a broken list is reported in `violation`, not thrown.
   *
   * @example
   * ```ts
   * import { Layout, LinkedListHeap, PhysicalMemory } from 'memprims';
   * const memory = new PhysicalMemory();
   * memory.addRegion(0x10_0000, 0x1000);
   * const heap = LinkedListHeap.init(memory, 0x10_0000, 0x1000);
   * heap.allocateFirstFit(Layout.fromSizeAlign(64, 8));
   * const found = LinkedListHeap.inspect(memory, { bottom: heap.bottom, top: heap.top, firstHole: heap.firstHole });
   * found.ok; // true
   * found.holes; // [{ address: 0x100040, size: 0xfc0, next: null }]
   * ```
   */
  static inspect(memory: PhysicalMemory, location: HeapLocation): HeapInspection {
    if (!(memory instanceof PhysicalMemory)) {
      throw new HeapUsageError('HEAP_BAD_ARGUMENT', `memory must be a PhysicalMemory, got ${describe(memory)}`);
    }
    if (typeof location !== 'object' || location === null) {
      throw new HeapUsageError('HEAP_BAD_ARGUMENT', `location must be { bottom, top, firstHole }, got ${describe(location)}`);
    }
    const bottom = checkCount(location.bottom, 'bottom', 'HEAP_BAD_ARGUMENT', HeapUsageError);
    const top = checkCount(location.top, 'top', 'HEAP_BAD_ARGUMENT', HeapUsageError);
    const first = location.firstHole ?? 0;
    checkCount(first, 'firstHole', 'HEAP_BAD_ARGUMENT', HeapUsageError);
    if (top < bottom) {
      throw new HeapUsageError('HEAP_BAD_ARGUMENT', `top ${hex(top)} is below bottom ${hex(bottom)}`, { bottom, top });
    }
    const walk = walkHoleList(memory, bottom, top, first);
    let free = 0;
    for (const h of walk.holes) free += h.size;
    return { ok: walk.violation === null, holes: walk.holes, stats: statsOf(walk.holes, top - bottom - free, free), violation: walk.violation };
  }

  /** Strict mode: throws the right error for a free of an address that is not a live block. */
  private rejectUnknown(address: number): never {
    const inHole = this.holes().find((h) => address >= h.address && address < h.address + h.size);
    if (inHole !== undefined) {
      throw new HeapUsageError('HEAP_DOUBLE_FREE', `${hex(address)} is already free (inside the hole at ${hex(inHole.address)}): double free`, { address, hole: inHole.address });
    }
    throw new HeapUsageError('HEAP_FOREIGN_POINTER', `${hex(address)} is not the start of a live block of this heap`, { address });
  }

  private checkLive(holes: HoleInfo[]): void {
    const blocks = [...this.live!.entries()].map(([address, l]) => ({ address, end: address + adjustedSize(l.size) }));
    let used = 0;
    for (const b of blocks) used += b.end - b.address;
    if (used !== this.used) {
      throw new HeapCorruptionError('HEAP_CORRUPT_ACCOUNTING', `live blocks hold ${used} bytes but used() is ${this.used}`, { liveBytes: used, used: this.used });
    }
    const spans = [...blocks.map((b) => ({ ...b, hole: false })), ...holes.map((h) => ({ address: h.address, end: h.address + h.size, hole: true }))];
    spans.sort((x, y) => x.address - y.address);
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      if (!s.hole && (s.address < this.list.bottom || s.end > this.list.bottom + this.list.end)) {
        throw new HeapCorruptionError('HEAP_CORRUPT_LIVE_BLOCK', `live block [${hex(s.address)}, ${hex(s.end)}) is outside the heap`, { address: s.address });
      }
      if (i > 0 && s.address < spans[i - 1].end) {
        throw new HeapCorruptionError('HEAP_CORRUPT_LIVE_BLOCK', `[${hex(s.address)}, ${hex(s.end)}) overlaps [${hex(spans[i - 1].address)}, ${hex(spans[i - 1].end)})`, { address: s.address, other: spans[i - 1].address });
      }
    }
  }
}
