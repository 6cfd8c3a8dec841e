/**
 * `PageTableBuilder`: builds real x86-64 4- or 5-level page tables in `PhysicalMemory`,
 * taking table frames from any frame source. Owns the public map / unmap / protect /
 * translate API and the all-or-nothing discipline: every call validates, checks overlaps
 * and obtains every frame it needs before it writes a single entry.
 *
 * @module
 */
import { type PagingLevels, virtBits } from '../addr/virt.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { describe, hex } from '../errors.js';
import { entryAddress, flagsObject, leafFlagsHi, leafFlagsLo, P, type PageFlagsInput } from './entry.js';
import { describeMapping, PagingError, type ExistingMapping } from './errors.js';
import { type FrameSource, FrameLedger } from './frames.js';
import { clearLeaves, countTables, findEntry, firstHole, forEachLeaf, type MapContext, type MapItem, pointerWords, setLeafFlags, SPAN_PAGES, writeLeaves } from './mapper.js';
import { checkSize, checkVirtPage, checkVirtRange, flagsOf, type MapRequest, toMapItem } from './request.js';
import { splitHugeAt, type SplitRecord, undoSplits } from './split.js';
import { refreshParents, TableNode, tableWords } from './table.js';
import type { PhysRange } from '../addr/phys.js';
import { identityMap, mapKernelSections, mapPhysicalMemory, mapRecursive, mapStack, type DirectMapOptions, type KernelSection, type MappedStack, type StackOptions } from './layout.js';
import { pageSpace, pageToVirt, split, splitVirt, throwBadVirt } from './vaddr.js';
import { toMappings, toRanges, walkLeaves, type MappedRange, type Mapping } from './view.js';
import { walkPage, type Translation } from './walk.js';
import { leafPhys, RegionWalker, translateAddrsInto } from './fastwalk.js';
import { WasmWalk } from './wasm-walk.js';
import { LeafTableCache, mapOneHuge, mapOneLeaf, mapOnePage, unmapOnePage, virtHi, virtLo } from './fastpath.js';


/** Options of {@link PageTableBuilder}. */
export interface PageTableBuilderOptions {
  /** Where the tables live (table frames must be backed by it). */
  memory: PhysicalMemory;
  /** Where table frames come from: memprims' frame allocators or any `{ allocate, free }`. */
  frames: FrameSource;
  /** 4 (48-bit addresses, CR4.LA57 clear) or 5 (57-bit, LA57). Default 4. */
  levels?: PagingLevels;
}

/** Options of {@link PageTableBuilder.unmap}. */
export interface UnmapOptions {
  /** Split huge pages the range cuts through instead of refusing (default false). */
  split?: boolean;
  /** Give tables left empty back to the frame source (default true). */
  freeTables?: boolean;
}

/**
 * Builds and edits x86-64 page tables in memory.
 *
 * @example
 * ```ts
 * import { PageTableBuilder, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 16 * 1024 * 1024);
 * let next = 0x100000;
 * const frames = { allocate: () => (next += 0x1000) - 0x1000, free: () => {} };
 * const pt = new PageTableBuilder({ memory, frames, levels: 4 });
 * pt.map({ virt: 0xffffffff80000000n, phys: 0x200000, size: 0x200000, flags: { writable: true } });
 * pt.translate(0xffffffff80001234n); // { phys: 0x201234, pageSize: 0x200000, flags: {...} }
 * // load pt.root into CR3
 * ```
 */
export class PageTableBuilder {
  declare readonly memory: PhysicalMemory;
  declare readonly frames: FrameSource;
  declare readonly levels: PagingLevels;
  /** Physical address of the top table: the value for CR3 (without PCID/flag bits). */
  declare readonly root: number;
  /** @internal */ declare readonly rootNode: TableNode;
  /** @internal guard pages (page-number ranges) that `map` refuses. */ readonly guards: { vpn: number; end: number }[] = [];
  /** @internal index of the recursive entry in the root, or -1. */ recursiveIndex = -1;
  /** Translate's walk over the root's memory region (null when not one plain buffer). */
  // Written exactly once (in the constructor), so V8 can treat it as a constant field.
  private declare readonly walker: RegionWalker | null;
  /** The last page table used by the single-page fast paths (cleared when tables are released). */
  private readonly leafCache = new LeafTableCache();
  private readonly scratchItem: MapItem = { vpn: 0, end: 0, ppn: 0, leafLevel: 0, flagsLo: 0, flagsHi: 0 };
  /** Per-call state of the writing routines (one object, no closures per call). */
  private declare readonly ctx: MapContext & { ledger: FrameLedger | null; released: TableNode[] };

  constructor(options: PageTableBuilderOptions) {
    if (typeof options !== 'object' || options === null) throw new PagingError('PAGING_BAD_OPTIONS', 'PageTableBuilder needs { memory, frames, levels? }', {});
    const levels = options.levels ?? 4;
    virtBits(levels);
    if (typeof options.memory?.view !== 'function') throw new PagingError('PAGING_BAD_OPTIONS', 'options.memory must be a PhysicalMemory', {});
    this.memory = options.memory;
    this.frames = options.frames;
    this.levels = levels;
    const ledger = new FrameLedger(this.frames, this.memory);
    ledger.obtain(1);
    const phys = ledger.take();
    const words = tableWords(this.memory, phys);
    words.fill(0);
    this.root = phys;
    this.rootNode = new TableNode(phys, levels, words, null, 0);
    const region = this.memory.regionAt(phys);
    let walker: RegionWalker | null = null;
    if (region !== null && region.buffer !== null && !region.lazy && region.byteOffset % 4 === 0 && region.base % 4 === 0 && words.buffer === region.buffer) {
      const wasm = WasmWalk.for(this.memory.wasmBackingAt(phys));
      walker = new RegionWalker(new Uint32Array(region.buffer, region.byteOffset, Math.floor(region.size / 4)), region.base, region.size, phys, levels, wasm, region.byteOffset);
      if (!walker.usable()) walker = null;
    }
    this.walker = walker;
    this.ctx = {
      ledger: null,
      released: [],
      newTable: (parent: TableNode, index: number) => this.attach(parent, index, this.ctx.ledger!.take()),
      release: (node: TableNode) => void this.ctx.released.push(node),
    };
  }

  // ---- map ----------------------------------------------------------------------------------

  /** Maps `size` bytes at `virt` to `phys` (see {@link MapRequest}); all or nothing. */
  map(request: MapRequest): void {
    // Small enough to be inlined into the caller's loop: the request's fields are read here
    // and passed on as values, so a request literal built in that loop is never allocated.
    if (typeof request === 'object' && request !== null) {
      // phys goes on as two small integers (a double argument would be boxed, i.e. allocated)
      const { virt, phys, size, flags, pageSize } = request;
      if (size === 4096 && typeof phys === 'number' && this.guards.length === 0) {
        const hi = Math.floor(phys / 0x100000000);
        const lo = phys - hi * 0x100000000;
        // an integer below 2^52, 4 KiB aligned
        if (hi >= 0 && hi < 0x100000 && (lo >>> 0) === lo && (lo & 0xfff) === 0) {
          // 1 = MAPPED, -1 = NO_PAGE_TABLE (literals: an imported constant is a load per use)
          const done = mapOnePage(this.leafCache, this.rootNode, this.levels, virt, lo >>> 12, hi, flags, pageSize);
          if (done === 1) return;
          if (done === -1 && this.addPageTable(virtLo(), virtHi())) {
            mapOnePage(this.leafCache, this.rootNode, this.levels, virt, lo >>> 12, hi, flags, pageSize);
            return;
          }
        }
      }
      this.mapFields(virt, phys, size, flags, pageSize);
    } else {
      this.mapRequest(request);
    }
  }

  /**
   * Page-by-page mapping needs a new page table every 512 pages: when the directory above
   * exists and its entry is empty, one frame is obtained (with the ledger's checks and typed
   * errors, nothing changed on failure) and linked in as an empty page table. False when the
   * general path must decide (a missing directory, a huge page or anything else in the entry).
   */
  private addPageTable(vlo: number, vhi: number): boolean {
    let dir: TableNode | null = this.rootNode;
    if (this.levels === 5) dir = dir.children![(vhi >>> 16) & 511];
    if (dir !== null) dir = dir.children![(vhi >>> 7) & 511];
    if (dir !== null) dir = dir.children![((vlo >>> 30) | (vhi << 2)) & 511];
    if (dir === null) return false;
    const index = (vlo >>> 21) & 511;
    if (dir.words[index << 1] & P || dir.words[(index << 1) + 1] !== 0 || dir.children![index] !== null) return false;
    const ledger = new FrameLedger(this.frames, this.memory);
    ledger.obtain(1);
    const phys = ledger.take();
    try {
      this.attach(dir, index, phys);
    } catch (e) {
      this.frames.free(phys, 1);
      throw e;
    }
    // the directory counted a new present, executable entry: its own entry above may change
    refreshParents(dir);
    return true;
  }

  /** {@link map} past its 4 KiB fast path: one huge leaf straight into its table, else the general path. */
  private mapFields(virt: bigint, phys: number, size: number | bigint, flags: MapRequest['flags'], pageSize: MapRequest['pageSize']): void {
    if ((size === 0x200000 || size === 0x40000000) && (pageSize === size || pageSize === undefined || pageSize === 'auto') && typeof phys === 'number' && this.guards.length === 0) {
      // (a direct map built call by call)
      const hi = Math.floor(phys / 0x100000000);
      const lo = phys - hi * 0x100000000;
      if (hi >= 0 && hi < 0x100000 && (lo >>> 0) === lo && (lo & 0xfff) === 0 && mapOneHuge(this.rootNode, this.levels, virt, lo >>> 12, hi, flags, size === 0x200000 ? 2 : 3) === 1) return;
    }
    this.mapRequest({ virt, phys, size, flags, pageSize });
  }

  /** The general single-request path (every typed error is raised here). */
  private mapRequest(request: MapRequest): void {
    const item = toMapItem(request, this.levels, this.scratchItem);
    if (this.guards.length !== 0 || !mapOneLeaf(this.rootNode, this.levels, item)) this.mapItems([{ ...item }]);
  }

  /** Maps several ranges as one all-or-nothing call (used by the layout helpers). */
  mapAll(requests: readonly MapRequest[]): void {
    if (!Array.isArray(requests)) throw new PagingError('PAGING_BAD_OPTIONS', `mapAll takes an array of map requests, got ${describe(requests)}`, {});
    this.mapItems(requests.map((r) => toMapItem(r, this.levels)));
  }

  /** @internal */
  mapItems(items: MapItem[]): void {
    const sorted = [...items].sort((a, b) => a.vpn - b.vpn);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].vpn < sorted[i - 1].end) {
        const a = sorted[i - 1];
        throw new PagingError('PAGING_OVERLAP', `requested ranges overlap each other at ${hex(pageToVirt(sorted[i].vpn, this.levels))}`, { existing: { virt: pageToVirt(a.vpn, this.levels), phys: a.ppn * 4096, size: (a.end - a.vpn) * 4096 } });
      }
    }
    for (const item of items) this.checkFree(item);
    const planned = items.length > 1 ? new Set<string>() : null;
    let needed = 0;
    for (const item of items) needed += countTables(this.rootNode, this.levels, item.vpn, item.end, item.ppn, item, planned);
    const ledger = new FrameLedger(this.frames, this.memory);
    ledger.obtain(needed);
    const ctx = this.ctx;
    ctx.ledger = ledger;
    ctx.released = [];
    for (const item of items) writeLeaves(ctx, this.rootNode, this.levels, item.vpn, item.end, item.ppn, item);
    ctx.ledger = null;
    ledger.giveBack();
    this.releaseTables(ctx.released);
  }

  private checkFree(item: MapItem): void {
    for (const g of this.guards) {
      if (item.vpn < g.end && g.vpn < item.end) {
        throw new PagingError('PAGING_GUARD_PAGE', `range at ${hex(pageToVirt(item.vpn, this.levels))} covers the stack guard page ${hex(pageToVirt(g.vpn, this.levels))}`, { guard: pageToVirt(g.vpn, this.levels) });
      }
    }
    const found = findEntry(this.rootNode, this.levels, item.vpn, item.end);
    if (found === null) return;
    if (found.level === this.levels && found.index === this.recursiveIndex) {
      throw new PagingError('PAGING_RECURSIVE_SLOT', `range at ${hex(pageToVirt(item.vpn, this.levels))} lies in the recursive slot ${found.index} of the root`, { index: found.index });
    }
    const existing = this.describeLeaf(found.node, found.index, found.level, found.vpn);
    const span = SPAN_PAGES[found.level];
    if (found.level > 1 && found.vpn <= item.vpn && item.end <= found.vpn + span) {
      throw new PagingError('PAGING_INSIDE_HUGE_PAGE', `range at ${hex(pageToVirt(item.vpn, this.levels))} lies inside the existing huge page ${describeMapping(existing)}`, { existing });
    }
    throw new PagingError('PAGING_OVERLAP', `range at ${hex(pageToVirt(item.vpn, this.levels))}+${hex((item.end - item.vpn) * 4096)} overlaps the existing mapping ${describeMapping(existing)}`, { existing });
  }

  private describeLeaf(node: TableNode, index: number, level: number, vpn: number): ExistingMapping {
    const w = node.words;
    return { virt: pageToVirt(vpn, this.levels), phys: entryAddress(w[index << 1], w[(index << 1) + 1], level, true), size: SPAN_PAGES[level] * 4096 };
  }

  /** Links a fresh zeroed table at `index` of `parent` (the frame is already obtained). */
  private attach(parent: TableNode, index: number, phys: number): TableNode {
    const words = tableWords(this.memory, phys);
    words.fill(0);
    const node = new TableNode(phys, parent.level - 1, words, parent, index);
    const [lo, hi] = pointerWords(phys);
    parent.words[index << 1] = lo;
    parent.words[(index << 1) + 1] = hi;
    parent.count(lo, hi, 1);
    parent.children![index] = node;
    return node;
  }

  private releaseTables(nodes: readonly TableNode[]): void {
    if (nodes.length !== 0) this.leafCache.clear();
    for (const node of nodes) {
      node.words.fill(0);
      this.frames.free(node.phys, 1);
    }
  }

  // ---- unmap / protect ----------------------------------------------------------------------

  /**
   * Unmaps every leaf in `[virt, virt + size)` (holes are fine) and returns the bytes
   * unmapped. A huge page the range cuts through is an error unless `split` is set.
   */
  unmap(virt: bigint, size: number | bigint, options: UnmapOptions = {}): number {
    if (size === 4096 && this.recursiveIndex < 0) {
      // one 4 KiB page in a page table that stays: cleared in place
      const bytes = unmapOnePage(this.leafCache, this.rootNode, this.levels, virt, options.freeTables === false);
      if (bytes >= 0) return bytes;
    }
    const { vpn, end } = this.checkRange(virt, size);
    this.prepareEdges(vpn, end, options.split === true, 'unmap');
    const emptied: TableNode[] | null = options.freeTables === false ? null : [];
    const pages = clearLeaves(this.rootNode, this.levels, vpn, end, emptied);
    if (emptied !== null) this.releaseTables(emptied);
    return pages * 4096;
  }

  /**
   * Replaces the flags of every leaf in the range with `flags` (not a merge: a flag left out
   * is cleared, so `{ writable: true }` also drops `noExecute`); every page must be mapped.
   * Huge pages partly inside the range are an error unless `{ split: true }`.
   */
  protect(virt: bigint, size: number | bigint, flags: PageFlagsInput, options: { split?: boolean } = {}): void {
    const { vpn, end } = this.checkRange(virt, size);
    const f = flagsOf(flags);
    const hole = firstHole(this.rootNode, this.levels, vpn, end);
    if (hole >= 0) throw new PagingError('PAGING_NOT_MAPPED', `cannot protect: ${hex(pageToVirt(hole, this.levels))} is not mapped`, { virt: pageToVirt(hole, this.levels) });
    this.prepareEdges(vpn, end, options.split === true, 'protect');
    const touched = new Set<TableNode>();
    forEachLeaf(this.rootNode, this.levels, vpn, end, (node, index, level) => {
      setLeafFlags(node, index, level, f.lo, f.hi);
      touched.add(node);
    });
    for (const node of touched) refreshParents(node);
  }

  private checkRange(virt: bigint, size: number | bigint): { vpn: number; end: number } {
    const vpn = checkVirtPage(virt, this.levels);
    const pages = checkSize(size);
    const end = checkVirtRange(vpn, pages, this.levels, virt);
    if (this.recursiveIndex >= 0) {
      const span = SPAN_PAGES[this.levels];
      const slot = this.recursiveIndex * span;
      if (vpn < slot + span && slot < end) {
        throw new PagingError('PAGING_RECURSIVE_SLOT', `range ${hex(virt)}+${hex(pages * 4096)} reaches into the recursive slot ${this.recursiveIndex}`, { index: this.recursiveIndex });
      }
    }
    return { vpn, end };
  }

  /** Makes sure no huge page straddles `vpn` or `end`: splits them (all or nothing) or throws. */
  private prepareEdges(vpn: number, end: number, allowSplit: boolean, what: string): SplitRecord[] {
    const done: SplitRecord[] = [];
    let ledger: FrameLedger | null = null;
    try {
      for (const edge of [vpn, end]) {
        while (edge < pageSpace(this.levels)) {
          const found = findEntry(this.rootNode, this.levels, edge, edge + 1);
          if (found === null || found.level === 1 || found.vpn === edge) break;
          if (found.level === this.levels && found.index === this.recursiveIndex) break;
          if (!allowSplit) {
            const existing = this.describeLeaf(found.node, found.index, found.level, found.vpn);
            throw new PagingError('PAGING_PARTIAL_HUGE_PAGE', `cannot ${what} part of the huge page ${describeMapping(existing)} (pass { split: true } to split it)`, { existing });
          }
          ledger ??= new FrameLedger(this.frames, this.memory);
          ledger.obtain(1);
          done.push(splitHugeAt(found.node, found.index, found.level, ledger.take(), (p, i, phys) => this.attach(p, i, phys)));
        }
      }
    } catch (e) {
      this.releaseTables(undoSplits(done));
      ledger?.giveBack();
      throw e;
    }
    return done;
  }

  // ---- queries ------------------------------------------------------------------------------

  /** The physical address `virt` maps to, its leaf flags and page size; null when unmapped. */
  translate(virt: bigint): Translation | null {
    const walker = this.walker;
    const found = walker === null ? -2 : walker.find(virt);
    if (found === -1) return null; // NOT_MAPPED
    if (found < 0) {
      if (!splitVirt(virt, this.levels)) throwBadVirt(virt, this.levels, 'virt');
      return walkPage(this.memory, this.root, this.levels, split.vpn, split.offset);
    }
    const w = walker!.words;
    const level = found & 3;
    const k = found >>> 2;
    return { phys: leafPhys(w, found, virtLo()), flags: flagsObject(leafFlagsLo(w[k], level), leafFlagsHi(w[k + 1])), pageSize: SPAN_PAGES[level] * 4096 };
  }

  /** Just the physical address `virt` maps to, or null (the x86_64 crate's `translate_addr`). */
  translateAddr(virt: bigint): number | null {
    const walker = this.walker;
    if (walker !== null) {
      const phys = walker.walkToPhys(virt);
      if (phys >= 0) return phys;
      if (phys === -1) return null; // NOT_MAPPED (a literal: an imported constant is a load per use)
    }
    return this.translateAddrGeneral(virt);
  }

  private translateAddrGeneral(virt: bigint): number | null {
    if (!splitVirt(virt, this.levels)) throwBadVirt(virt, this.levels, 'virt');
    return walkPage(this.memory, this.root, this.levels, split.vpn, split.offset)?.phys ?? null;
  }

  /**
   * {@link translateAddr} for many addresses at once, as a tool or an emulator holds them: a
   * `BigUint64Array` in, the physical addresses out (-1 where nothing is mapped), written to
   * `out` (a new `Float64Array` by default). The addresses are read as 32-bit words, never as
   * bigints. A non-canonical address throws its typed error before anything is written.
   */
  translateAddrs(virts: BigUint64Array, out?: Float64Array): Float64Array {
    if (!(virts instanceof BigUint64Array)) throw new PagingError('PAGING_BAD_OPTIONS', `translateAddrs takes a BigUint64Array, got ${describe(virts)}`, {});
    const n = virts.length;
    if (out === undefined) out = new Float64Array(n);
    if (!(out instanceof Float64Array) || out.length < n) {
      throw new PagingError('PAGING_BAD_OPTIONS', `translateAddrs needs a Float64Array of at least ${n} elements for its results, got ${describe(out)}`, {});
    }
    if (out.buffer === virts.buffer) {
      // results written over the addresses: translate from a copy
      out.set(this.translateAddrs(virts.slice()).subarray(0, n));
      return out;
    }
    return translateAddrsInto(this.walker, this.levels, virts, out, (v) => this.translateAddrGeneral(v));
  }

  /** Every leaf mapping in address order (as the CPU sees the tables in memory). */
  mappings(): Mapping[] {
    return toMappings(this.leaves(), this.levels);
  }

  /** Contiguous leaves with equal flags, coalesced (like QEMU's `info mem`). */
  ranges(): MappedRange[] {
    return toRanges(this.leaves(), this.levels);
  }

  private leaves() {
    return walkLeaves((phys) => {
      try {
        return tableWords(this.memory, phys);
      } catch {
        return null;
      }
    }, this.root, this.levels, {}, null);
  }

  /** Physical addresses of every table frame the builder owns, root first, in walk order. */
  tableFrames(): number[] {
    const out: number[] = [];
    const visit = (n: TableNode): void => {
      out.push(n.phys);
      if (n.children !== null) for (const c of n.children) if (c !== null) visit(c);
    };
    visit(this.rootNode);
    return out;
  }

  /** Gives every table frame (root included) back to the frame source; the builder is dead after. */
  destroy(): void {
    this.leafCache.clear();
    const frames = this.tableFrames();
    for (const f of frames) {
      tableWords(this.memory, f).fill(0);
      this.frames.free(f, 1);
    }
  }

  // ---- layout helpers (see layout.ts) --------------------------------------------------------

  /** Maps kernel sections W^X (text RX, rodata R NX, data/bss RW NX); `extra` adds e.g. `global`. */
  mapKernelSections(sections: readonly KernelSection[], extra?: PageFlagsInput): void {
    mapKernelSections(this, sections, extra);
  }

  /** Direct map of RAM at `offset + phys` with the largest pages (default RW, NX). */
  mapPhysicalMemory(options: DirectMapOptions): void {
    mapPhysicalMemory(this, options);
  }

  /** Maps a physical range at the same virtual address. */
  identityMap(range: PhysRange, flags?: PageFlagsInput): void {
    identityMap(this, range, flags);
  }

  /** Makes root entry `index` point at the root; returns the virtual address of the root table. */
  mapRecursive(index: number, options?: { noExecute?: boolean }): bigint {
    return mapRecursive(this, index, options);
  }

  /** Maps a stack under `top` with unmapped guard pages below it. */
  mapStack(options: StackOptions): MappedStack {
    return mapStack(this, options);
  }
}
