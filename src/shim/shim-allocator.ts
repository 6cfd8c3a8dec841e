/**
 * `ShimAllocator`: one global allocator object for a kernel that starts as a UEFI
 * application. It moves through three phases — `uninitialized` → `bootServices` (forwards
 * to AllocatePool) → `ownHeap` (a LinkedListHeap in pages reserved before ExitBootServices)
 * — and routes every `dealloc` to whoever owns the block: the heap, the firmware's pool
 * (while boot services live) or, once they are gone, a policy (leak and count, or give the
 * pages to the frame allocator once that is safe). Owns the shim's bookkeeping and stats.
 *
 * @module
 */
import { PAGE_SIZE, normalizeRanges, type PhysRange } from '../addr/phys.js';
import { Layout } from '../addr/layout.js';
import { describe, hex } from '../errors.js';
import { LinkedListHeap } from '../heap/index.js';
import { BootServices, BootServicesError } from '../uefi/boot-services.js';
import { MemoryType } from '../uefi/types.js';
import { ShimError } from './errors.js';

/** The phase a {@link ShimAllocator} is in. */
export type ShimPhase = 'uninitialized' | 'bootServices' | 'ownHeap';

/** Who owns a live block. */
export type ShimOwner = 'bootServices' | 'ownHeap';

/** Options of the {@link ShimAllocator} constructor. */
export interface ShimOptions {
  /** `alloc` before initialization: `'error'` (default, SHIM_NOT_INITIALIZED) or `'null'`. */
  beforeInit?: 'error' | 'null';
  /**
   * A boot-services block deallocated after ExitBootServices: `'leak'` (default: counted,
   * never reused) or `'reclaim'` (its pages go to the frame allocator given to
   * {@link ShimAllocator.attachFrameAllocator} once no live pool block shares them).
   */
  freedAfterExit?: 'leak' | 'reclaim';
  /** Memory type of the pool allocations (default LoaderData). */
  memoryType?: number;
}

/** Counters of one phase. */
export interface ShimPhaseStats {
  /** Successful allocations made in this phase. */
  allocs: number;
  bytesAllocated: number;
  /** Allocations that returned null (out of memory). */
  failed: number;
  /** Allocations refused before initialization (policy `'null'`). */
  refused: number;
  /** Deallocations made in this phase (whoever owned the block). */
  deallocs: number;
  bytesFreed: number;
}

/** Blocks and bytes. */
export interface ShimAmount {
  blocks: number;
  bytes: number;
}

/** What {@link ShimAllocator.stats} returns. Always `allocated = freed + live + leaked`. */
export interface ShimStats {
  phase: ShimPhase;
  phases: Record<ShimPhase, ShimPhaseStats>;
  allocated: ShimAmount;
  /** Given back: to the heap, to the pool, or (policy `'reclaim'`) released after exit. */
  freed: ShimAmount;
  live: ShimAmount & { bootServices: ShimAmount; ownHeap: ShimAmount };
  /** Boot-services blocks deallocated after exit under policy `'leak'`. */
  leaked: ShimAmount;
  /** Frames given to the frame allocator (policy `'reclaim'`). */
  reclaimedFrames: number;
  /** Frames whose return to the frame allocator failed (they stay unused). */
  reclaimErrors: number;
}

/** A live block as {@link ShimAllocator.liveBlocks} lists it. */
export interface ShimBlock {
  readonly address: number;
  readonly size: number;
  readonly align: number;
  readonly owner: ShimOwner;
  /** The phase the block was allocated in. */
  readonly phase: ShimPhase;
  /** For boot-services blocks: what AllocatePool returned (differs from `address` when align > 8). */
  readonly poolAddress: number | null;
}

/** The part of a frame allocator the shim needs to give frames back. */
export interface ReclaimTarget {
  free(address: number, count: number): void;
}

function toLayout(layout: unknown): Layout {
  if (layout instanceof Layout) return layout;
  if (typeof layout === 'object' && layout !== null && 'size' in layout && 'align' in layout) {
    return Layout.fromSizeAlign((layout as { size: number }).size, (layout as { align: number }).align);
  }
  throw new ShimError('SHIM_BAD_ARGUMENT', `expected a Layout, got ${describe(layout)}`, { layout });
}

function emptyPhase(): ShimPhaseStats {
  return { allocs: 0, bytesAllocated: 0, failed: 0, refused: 0, deallocs: 0, bytesFreed: 0 };
}

const POOL_ALIGN = 8;

/**
 * The kernel's one global allocator across ExitBootServices.
 *
 * @example
 * ```ts
 * import { BootServices, Layout, LinkedListHeap, MemoryMap, MemoryType, ShimAllocator } from 'memprims';
 * const map = new MemoryMap([{ type: MemoryType.Conventional, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn }]);
 * const bs = new BootServices(BootServices.memoryForMap(map), map);
 * const shim = new ShimAllocator();
 * shim.initBootServices(bs);
 * const early = shim.alloc(Layout.fromSizeAlign(64, 8)); // from AllocatePool
 * const heapBase = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 16 });
 * const heap = LinkedListHeap.init(bs.memory, heapBase, 16 * 4096);
 * bs.exitBootServices(bs.getMemoryMap().mapKey);
 * shim.switchToHeap(heap);
 * const late = shim.alloc(Layout.fromSizeAlign(64, 8)); // from the heap
 * shim.dealloc(early!, Layout.fromSizeAlign(64, 8)); // leaked and counted: firmware is gone
 * shim.stats().leaked; // { blocks: 1, bytes: 64 }
 * ```
 */
export class ShimAllocator {
  private currentPhase: ShimPhase = 'uninitialized';
  private bs: BootServices | null = null;
  private heap: LinkedListHeap | null = null;
  private frames: ReclaimTarget | null = null;
  private readonly beforeInit: 'error' | 'null';
  private readonly freedAfterExit: 'leak' | 'reclaim';
  /** Memory type of the shim's pool allocations. */
  readonly memoryType: number;
  private readonly live = new Map<number, ShimBlock>();
  private readonly released = new Set<number>();
  /** Pool addresses of boot-services blocks released after exit (policy 'reclaim'). */
  private readonly deadPool = new Set<number>();
  private readonly reclaimedPages = new Set<number>();
  private readonly phaseStats: Record<ShimPhase, ShimPhaseStats> = { uninitialized: emptyPhase(), bootServices: emptyPhase(), ownHeap: emptyPhase() };
  private readonly totals = { allocated: { blocks: 0, bytes: 0 }, freed: { blocks: 0, bytes: 0 }, leaked: { blocks: 0, bytes: 0 }, reclaimErrors: 0 };

  constructor(options: ShimOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new ShimError('SHIM_BAD_ARGUMENT', `options must be an object, got ${describe(options)}`);
    const beforeInit = options.beforeInit ?? 'error';
    const freed = options.freedAfterExit ?? 'leak';
    if (beforeInit !== 'error' && beforeInit !== 'null') throw new ShimError('SHIM_BAD_ARGUMENT', `beforeInit must be 'error' or 'null', got ${describe(beforeInit)}`);
    if (freed !== 'leak' && freed !== 'reclaim') throw new ShimError('SHIM_BAD_ARGUMENT', `freedAfterExit must be 'leak' or 'reclaim', got ${describe(freed)}`);
    const memoryType = options.memoryType ?? MemoryType.LoaderData;
    if (!Number.isInteger(memoryType) || memoryType < 0 || memoryType > 0xffffffff) throw new ShimError('SHIM_BAD_ARGUMENT', `memoryType must be a u32, got ${describe(memoryType)}`);
    this.beforeInit = beforeInit;
    this.freedAfterExit = freed;
    this.memoryType = memoryType;
  }

  /** The current phase. */
  get phase(): ShimPhase {
    return this.currentPhase;
  }

  /** The boot services the shim forwards to (null before initialization). */
  get bootServices(): BootServices | null {
    return this.bs;
  }

  /** Phase `uninitialized` → `bootServices`: from now on `alloc` forwards to AllocatePool. */
  initBootServices(bootServices: BootServices): void {
    if (!(bootServices instanceof BootServices)) throw new ShimError('SHIM_BAD_ARGUMENT', `expected BootServices, got ${describe(bootServices)}`);
    if (this.currentPhase !== 'uninitialized') throw new ShimError('SHIM_BAD_PHASE', `initBootServices: the shim is already in phase '${this.currentPhase}'`, { phase: this.currentPhase });
    if (bootServices.exited) throw new ShimError('SHIM_BOOT_SERVICES_EXITED', 'initBootServices: these boot services have already exited', {});
    this.bs = bootServices;
    this.currentPhase = 'bootServices';
  }

  /** Same as {@link ShimAllocator.initBootServices}. */
  init(bootServices: BootServices): void {
    this.initBootServices(bootServices);
  }

  /** Same as {@link ShimAllocator.switchToHeap}. */
  switchToOwnHeap(heap: LinkedListHeap): void {
    this.switchToHeap(heap);
  }

  /** Allocates a block for `layout`; null when memory is exhausted (or before init, by policy). */
  alloc(layoutLike: Layout): number | null {
    const layout = toLayout(layoutLike);
    const phase = this.currentPhase;
    const ps = this.phaseStats[phase];
    if (phase === 'uninitialized') {
      if (this.beforeInit === 'null') {
        ps.refused++;
        return null;
      }
      throw new ShimError('SHIM_NOT_INITIALIZED', `alloc(${layout.size}, align ${layout.align}) before the shim was initialized`, { size: layout.size, align: layout.align });
    }
    let address: number | null;
    let poolAddress: number | null = null;
    if (phase === 'ownHeap') {
      address = this.heap!.allocateFirstFit(layout);
    } else {
      const bs = this.bs!;
      if (bs.exited) throw new ShimError('SHIM_BOOT_SERVICES_EXITED', `alloc(${layout.size}): boot services have exited; call switchToHeap first`, { size: layout.size });
      const extra = layout.align > POOL_ALIGN ? layout.align : 0;
      try {
        poolAddress = bs.allocatePool(this.memoryType, layout.size + extra);
      } catch (e) {
        if (e instanceof BootServicesError && e.code === 'OUT_OF_RESOURCES') poolAddress = null;
        else throw e;
      }
      if (poolAddress === null) address = null;
      else if (extra === 0) address = poolAddress;
      else {
        // As uefi-rs does: skip to the next aligned address (never the pool address itself)
        // and keep the pool address in the 8 bytes just below the block.
        address = poolAddress + (layout.align - (poolAddress % layout.align));
        bs.memory.writeU64Number(address - 8, poolAddress);
      }
    }
    if (address === null) {
      ps.failed++;
      return null;
    }
    this.live.set(address, { address, size: layout.size, align: layout.align, owner: phase as ShimOwner, phase, poolAddress });
    this.released.delete(address);
    ps.allocs++;
    ps.bytesAllocated += layout.size;
    this.totals.allocated.blocks++;
    this.totals.allocated.bytes += layout.size;
    return address;
  }

  /**
   * Deallocates a block, routed by its owner. Throws SHIM_UNKNOWN_POINTER, SHIM_DOUBLE_FREE
   * or SHIM_LAYOUT_MISMATCH (changing nothing) on misuse.
   */
  dealloc(address: number, layoutLike: Layout): void {
    const layout = toLayout(layoutLike);
    const block = this.live.get(address);
    if (!block) {
      if (this.released.has(address)) throw new ShimError('SHIM_DOUBLE_FREE', `dealloc(${hex(address)}): block already deallocated`, { address });
      throw new ShimError('SHIM_UNKNOWN_POINTER', `dealloc(${describe(address)}): not a block this allocator handed out`, { address });
    }
    if (block.size !== layout.size || block.align !== layout.align) {
      throw new ShimError('SHIM_LAYOUT_MISMATCH', `dealloc(${hex(address)}): allocated with size ${block.size} align ${block.align}, freed with size ${layout.size} align ${layout.align}`, { address, allocated: { size: block.size, align: block.align }, given: { size: layout.size, align: layout.align } });
    }
    let leaked = false;
    if (block.owner === 'ownHeap') {
      this.heap!.deallocate(address, layout);
    } else if (!this.bs!.exited) {
      this.bs!.freePool(block.poolAddress!);
    } else if (this.freedAfterExit === 'leak') {
      leaked = true;
    } else {
      this.deadPool.add(block.poolAddress!);
    }
    this.live.delete(address);
    this.released.add(address);
    const ps = this.phaseStats[this.currentPhase];
    ps.deallocs++;
    ps.bytesFreed += block.size;
    const bucket = leaked ? this.totals.leaked : this.totals.freed;
    bucket.blocks++;
    bucket.bytes += block.size;
    if (!leaked && block.owner === 'bootServices' && this.bs!.exited) this.reclaim();
  }

  /**
   * The one switch to the own heap. Validates first (changing nothing on failure): the heap
   * passes `check()`, does not overlap a live boot-services block and, while the firmware map
   * is known, lies in LoaderCode/LoaderData pages (so no frame allocator built from the final
   * map can hand its memory out). Allowed from `bootServices` (or `uninitialized`).
   */
  switchToHeap(heap: LinkedListHeap): void {
    if (!(heap instanceof LinkedListHeap)) throw new ShimError('SHIM_BAD_ARGUMENT', `expected a LinkedListHeap, got ${describe(heap)}`);
    if (this.currentPhase === 'ownHeap') throw new ShimError('SHIM_BAD_PHASE', 'switchToHeap: the shim already uses its own heap', { phase: this.currentPhase });
    try {
      heap.check();
    } catch (e) {
      throw new ShimError('SHIM_HEAP_INVALID', `switchToHeap: the heap fails its check: ${(e as Error).message}`, { bottom: heap.bottom, top: heap.top }, { cause: e });
    }
    const range = { start: heap.bottom, end: heap.top };
    for (const b of this.live.values()) {
      if (b.address < range.end && b.address + Math.max(b.size, 1) > range.start) {
        throw new ShimError('SHIM_HEAP_INVALID', `switchToHeap: heap [${hex(range.start)}, ${hex(range.end)}) overlaps live boot-services block ${hex(b.address)}`, { bottom: range.start, top: range.end, block: b.address });
      }
    }
    if (this.bs) {
      const loader = normalizeRanges([...this.bs.rangesOfType(MemoryType.LoaderData), ...this.bs.rangesOfType(MemoryType.LoaderCode)]);
      if (!loader.some((r) => r.start <= range.start && r.end >= range.end)) {
        throw new ShimError('SHIM_HEAP_INVALID', `switchToHeap: heap [${hex(range.start)}, ${hex(range.end)}) is not inside LoaderData/LoaderCode pages of the firmware map; the frame allocator could hand it out`, { bottom: range.start, top: range.end });
      }
      for (const p of this.bs.poolBlocks()) {
        if (p.head < range.end && p.head + p.span > range.start) {
          throw new ShimError('SHIM_HEAP_INVALID', `switchToHeap: heap [${hex(range.start)}, ${hex(range.end)}) overlaps pool memory at ${hex(p.head)}`, { bottom: range.start, top: range.end, pool: p.head });
        }
      }
    }
    this.heap = heap;
    this.currentPhase = 'ownHeap';
  }

  /**
   * Gives the shim a frame allocator to return boot-services pages to (policy `'reclaim'`),
   * and returns the pages that are already safe to give. Call it after ExitBootServices, once
   * the allocator is built and has the pool pages of {@link ShimAllocator.bootServicesPages}
   * reserved. Returns the number of frames freed now.
   */
  attachFrameAllocator(frames: ReclaimTarget): number {
    if (typeof frames !== 'object' || frames === null || typeof frames.free !== 'function') throw new ShimError('SHIM_BAD_ARGUMENT', `expected an object with free(address, count), got ${describe(frames)}`);
    if (!this.bs || !this.bs.exited) throw new ShimError('SHIM_BAD_PHASE', 'attachFrameAllocator: frames can only be reclaimed after ExitBootServices', {});
    this.frames = frames;
    return this.reclaim();
  }

  /**
   * Page ranges still holding live pool blocks of the firmware (the shim's and any other),
   * excluding pages already reclaimed: what a kernel must keep out of its frame allocator.
   */
  bootServicesPages(): PhysRange[] {
    if (!this.bs) return [];
    const out: PhysRange[] = [];
    for (const p of this.bs.poolBlocks()) {
      if (this.deadPool.has(p.address)) continue;
      const start = p.head - (p.head % PAGE_SIZE);
      const end = Math.ceil((p.head + p.span) / PAGE_SIZE) * PAGE_SIZE;
      out.push({ start, end });
    }
    return normalizeRanges(out);
  }

  /** Live blocks in address order. */
  liveBlocks(): ShimBlock[] {
    return [...this.live.values()].sort((a, b) => a.address - b.address);
  }

  /** The live block at `address`, or null. */
  block(address: number): ShimBlock | null {
    return this.live.get(address) ?? null;
  }

  /** Counters per phase and the balance `allocated = freed + live + leaked`. */
  stats(): ShimStats {
    const live = { blocks: 0, bytes: 0, bootServices: { blocks: 0, bytes: 0 }, ownHeap: { blocks: 0, bytes: 0 } };
    for (const b of this.live.values()) {
      live.blocks++;
      live.bytes += b.size;
      live[b.owner].blocks++;
      live[b.owner].bytes += b.size;
    }
    const copy = (p: ShimPhaseStats): ShimPhaseStats => ({ ...p });
    return {
      phase: this.currentPhase,
      phases: { uninitialized: copy(this.phaseStats.uninitialized), bootServices: copy(this.phaseStats.bootServices), ownHeap: copy(this.phaseStats.ownHeap) },
      allocated: { ...this.totals.allocated },
      freed: { ...this.totals.freed },
      live,
      leaked: { ...this.totals.leaked },
      reclaimedFrames: this.reclaimedPages.size - this.totals.reclaimErrors,
      reclaimErrors: this.totals.reclaimErrors,
    };
  }

  /** Frees to the frame allocator every pool page whose blocks are all dead. */
  private reclaim(): number {
    if (!this.frames || !this.bs || this.deadPool.size === 0) return 0;
    const pages = new Map<number, boolean>();
    for (const p of this.bs.poolBlocks()) {
      const dead = this.deadPool.has(p.address);
      for (let page = p.head - (p.head % PAGE_SIZE); page < p.head + p.span; page += PAGE_SIZE) {
        pages.set(page, (pages.get(page) ?? true) && dead);
      }
    }
    const ready = [...pages.entries()].filter(([page, dead]) => dead && !this.reclaimedPages.has(page)).map(([page]) => page).sort((a, b) => a - b);
    let freed = 0;
    let i = 0;
    while (i < ready.length) {
      let j = i + 1;
      while (j < ready.length && ready[j] === ready[j - 1] + PAGE_SIZE) j++;
      const start = ready[i];
      const count = j - i;
      try {
        this.frames.free(start, count);
        freed += count;
      } catch {
        this.totals.reclaimErrors += count;
      }
      // Either way these pages are settled: never offered twice.
      for (let k = i; k < j; k++) this.reclaimedPages.add(ready[k]);
      i = j;
    }
    return freed;
  }
}
