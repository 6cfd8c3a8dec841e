/**
 * `bootFlow`: the seed scenario end to end, as one function. A kernel that is one UEFI
 * application (loader and higher-half kernel in one LoaderCode image) allocates through boot
 * services, reserves its heap, page-table frames and stack as LoaderData, builds its page
 * tables, exits boot services (retrying on a stale key), switches its one global allocator
 * to its own heap, and builds a frame allocator over the final map that reclaims
 * boot-services memory but not what the kernel still uses. Every step reports what it did;
 * a failing step throws a `BootFlowError` naming the step, what completed, and why.
 *
 * @module
 */
import { Layout } from '../addr/layout.js';
import { PAGE_SIZE, normalizeRanges, type PhysRange } from '../addr/phys.js';
import { describe, hex, MemprimsError } from '../errors.js';
import { BitmapFrameAllocator } from '../frames/index.js';
import { LinkedListHeap } from '../heap/index.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { PageTableBuilder, type KernelSection, type MappedStack } from '../paging/index.js';
import { ShimAllocator, type ShimOptions } from '../shim/index.js';
import { BootServices, BootServicesError, type BootServicesOptions } from '../uefi/boot-services.js';
import type { MemoryMap } from '../uefi/memory-map.js';
import { MemoryType } from '../uefi/types.js';
import { BootFlowError } from './errors.js';
import { ReservedFramePool } from './frame-pool.js';
import { bundledOvmfMap } from './ovmf-map.js';
import { BOOT_STEP_NAMES, bytesText, rangeText, type BootStep } from './steps.js';

/** Options of {@link bootFlow}. Every one has a default; `bootFlow()` runs the bundled OVMF map. */
export interface BootFlowOptions {
  /** The firmware's initial map (default: the bundled real OVMF q35 2 GiB map). */
  map?: MemoryMap;
  /** Physical memory (default: `BootServices.memoryForMap(map)`, lazily backed). */
  memory?: PhysicalMemory;
  /** Options of the boot-services model (default `{ changeMapOnExit: 1 }`: the first exit fails once). */
  bootServices?: BootServicesOptions;
  /** Policies of the shim allocator. */
  shim?: ShimOptions;
  /** Heap bytes (rounded up to pages; default 1 MiB). */
  heapSize?: number;
  /** Heap mode (default `'list'`). */
  heapMode?: 'list' | 'indexed';
  /** Kernel stack bytes (rounded up to pages; default 64 KiB), mapped below a guard page. */
  stackSize?: number;
  /** Frames reserved for page tables (default 64). */
  pageTableFrames?: number;
  /** Paging levels (default 4). */
  levels?: 4 | 5;
  /** Where the kernel is linked (default 0xffffffff80000000). */
  kernelBase?: bigint;
  /** Virtual address of physical 0 in the direct map (default 0xffff800000000000; 5-level 0xff11000000000000). */
  directMapOffset?: bigint;
  /** Exclusive top of the kernel stack (default 0xfffffe0000000000). */
  stackTop?: bigint;
  /** The loaded image (default: the largest LoaderCode descriptor below 4 GiB, else 64 pages allocated as LoaderCode). */
  kernelImage?: { start: number; pages: number };
  /** How many times to get the map and call ExitBootServices (default 4). */
  exitAttempts?: number;
  /** Called after the heap is set up and before the exit: allocations made here cross the switch. */
  beforeExit?: (context: { shim: ShimAllocator; bootServices: BootServices; heap: LinkedListHeap }) => void;
}

/** What {@link bootFlow} built. */
export interface BootResult {
  readonly steps: readonly BootStep[];
  readonly initialMap: MemoryMap;
  /** The map whose key ExitBootServices accepted. */
  readonly finalMap: MemoryMap;
  readonly memory: PhysicalMemory;
  readonly bootServices: BootServices;
  readonly shim: ShimAllocator;
  readonly heap: LinkedListHeap;
  readonly pageTables: PageTableBuilder;
  readonly pageTableFrames: ReservedFramePool;
  readonly frames: BitmapFrameAllocator;
  readonly kernel: { readonly image: PhysRange; readonly sections: readonly KernelSection[] };
  readonly heapRange: PhysRange;
  readonly stack: MappedStack & { readonly range: PhysRange };
  /** Physical ranges the kernel keeps after the exit (image, heap, page tables, stack). */
  readonly kernelRanges: readonly PhysRange[];
}

/** Memory types the direct map covers (RAM, including ACPI and runtime memory). */
const RAM_TYPES = new Set<number>([1, 2, 3, 4, 5, 6, 7, 9, 10, 14]);

function positive(value: unknown, name: string, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new BootFlowError('BOOT_BAD_OPTIONS', `bootFlow: ${name} must be a positive integer, got ${describe(v)}`);
  return v;
}

function why(e: unknown): string {
  if (e instanceof MemprimsError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Splits an image of at least 4 pages into text/rodata/data/bss (rest, 1/5, 3/20, 3/20), at least one page each. */
function sectionsOf(image: { start: number; pages: number }, kernelBase: bigint): KernelSection[] {
  const rodata = Math.max(1, Math.floor(image.pages / 5));
  const data = Math.max(1, Math.floor((image.pages * 3) / 20));
  const bss = Math.max(1, Math.floor((image.pages * 3) / 20));
  const text = image.pages - rodata - data - bss;
  const parts: [KernelSection['kind'], number][] = [['text', text], ['rodata', rodata], ['data', data], ['bss', bss]];
  const out: KernelSection[] = [];
  let offset = 0;
  for (const [kind, pages] of parts) {
    out.push({ name: `.${kind}`, kind, vma: kernelBase + BigInt(offset), lma: image.start + offset, size: pages * PAGE_SIZE });
    offset += pages * PAGE_SIZE;
  }
  return out;
}

/**
 * Runs the seven boot steps (see the module comment) and returns everything it built.
 *
 * @example
 * ```ts
 * import { bootFlow, formatSteps } from 'memprims';
 * const boot = bootFlow(); // the bundled real OVMF map
 * console.log(formatSteps(boot.steps));
 * boot.shim.phase; // 'ownHeap'
 * boot.frames.stats().free > 0; // true
 * ```
 */
export function bootFlow(options: BootFlowOptions = {}): BootResult {
  if (typeof options !== 'object' || options === null) throw new BootFlowError('BOOT_BAD_OPTIONS', `bootFlow: options must be an object, got ${describe(options)}`);
  const heapPages = Math.ceil(positive(options.heapSize, 'heapSize', 1 << 20) / PAGE_SIZE);
  const stackPages = Math.ceil(positive(options.stackSize, 'stackSize', 64 << 10) / PAGE_SIZE);
  const ptFrames = positive(options.pageTableFrames, 'pageTableFrames', 64);
  const exitAttempts = positive(options.exitAttempts, 'exitAttempts', 4);
  const levels = options.levels ?? 4;
  if (levels !== 4 && levels !== 5) throw new BootFlowError('BOOT_BAD_OPTIONS', `bootFlow: levels must be 4 or 5, got ${describe(levels)}`);
  const kernelBase = options.kernelBase ?? 0xffffffff80000000n;
  const directMapOffset = options.directMapOffset ?? (levels === 5 ? 0xff11000000000000n : 0xffff800000000000n);
  const stackTop = options.stackTop ?? 0xfffffe0000000000n;

  const steps: BootStep[] = [];
  const run = <T>(n: number, body: () => { result: T; summary: string; lines: string[]; details: Record<string, unknown> }): T => {
    const name = BOOT_STEP_NAMES[n - 1];
    let out: ReturnType<typeof body>;
    try {
      out = body();
    } catch (e) {
      if (e instanceof BootFlowError && e.code === 'BOOT_STEP_FAILED') throw e;
      throw new BootFlowError('BOOT_STEP_FAILED', `boot step ${n} (${name}) failed: ${why(e)}`, { step: n, stepName: name, completed: [...steps] }, { cause: e });
    }
    steps.push(Object.freeze({ step: n, name, summary: out.summary, lines: Object.freeze(out.lines), details: Object.freeze(out.details) }));
    return out.result;
  };

  const initialMap = options.map ?? bundledOvmfMap();
  let memory: PhysicalMemory;
  let bs: BootServices;
  try {
    memory = options.memory ?? BootServices.memoryForMap(initialMap);
    bs = new BootServices(memory, initialMap, { changeMapOnExit: 1, ...options.bootServices });
  } catch (e) {
    throw new BootFlowError('BOOT_BAD_OPTIONS', `bootFlow: the map cannot start the boot-services model: ${why(e)}`, {}, { cause: e });
  }
  const shim = new ShimAllocator(options.shim);
  shim.initBootServices(bs);

  // 1. The memory map, copied into a buffer the shim allocates (a Vec in a real kernel).
  const mapCopy = run(1, () => {
    const snap = bs.getMemoryMap();
    const layout = Layout.fromSizeAlign(snap.mapSize, 8);
    const address = shim.alloc(layout);
    if (address === null) throw new BootServicesError('OUT_OF_RESOURCES', `no pool memory for a ${snap.mapSize}-byte copy of the map`);
    memory.write(address, snap.buffer);
    const conv = snap.map.descriptors.filter((d) => d.type === MemoryType.Conventional).reduce((s, d) => s + d.numberOfPages, 0);
    return {
      result: { address, layout, snap },
      summary: `${snap.map.length} descriptors of ${snap.descriptorSize} bytes (version ${snap.descriptorVersion}), map key ${snap.mapKey}, ${bytesText(conv * PAGE_SIZE)} conventional`,
      lines: [
        `copied to pool block ${hex(address)} (${snap.mapSize} bytes, LoaderData, through the shim in phase 'bootServices')`,
        bs.defaultMaximumAddress === null ? 'firmware model: EDK II placement, highest free block first' : `firmware model: EDK II placement, default allocation region below ${hex(bs.defaultMaximumAddress)} (top of the loaded image's region, as OVMF)`,
      ],
      details: { descriptors: snap.map.length, mapKey: snap.mapKey, descriptorSize: snap.descriptorSize, copy: address, conventionalPages: conv },
    };
  });

  // 2. LoaderData pages for the heap, the page tables and the stack; the kernel image.
  const alloc = run(2, () => {
    const loaderCode = initialMap.descriptors
      .filter((d) => d.type === MemoryType.LoaderCode && d.physicalStart < 2 ** 32 && d.numberOfPages >= 4)
      .sort((a, b) => b.numberOfPages - a.numberOfPages)[0];
    let image = options.kernelImage ?? (loaderCode ? { start: loaderCode.physicalStart, pages: loaderCode.numberOfPages } : null);
    const lines: string[] = [];
    if (image === null) {
      const start = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderCode, pages: 64 });
      image = { start, pages: 64 };
      lines.push(`kernel image: 64 pages allocated as LoaderCode at ${hex(start)} (the map had no loaded image)`);
    } else {
      lines.push(`kernel image (LoaderCode, loaded by the firmware): ${rangeText(image.start, image.start + image.pages * PAGE_SIZE)}, ${image.pages} pages`);
    }
    if (image.pages < 4) throw new BootFlowError('BOOT_BAD_OPTIONS', `kernel image needs at least 4 pages (text, rodata, data, bss), has ${image.pages}`);
    const heap = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: heapPages });
    lines.push(`heap: AllocatePages(AnyPages, LoaderData, ${heapPages}) = ${hex(heap)}`);
    const pt = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: ptFrames });
    lines.push(`page-table frames: AllocatePages(AnyPages, LoaderData, ${ptFrames}) = ${hex(pt)}`);
    const stack = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: stackPages });
    lines.push(`stack: AllocatePages(AnyPages, LoaderData, ${stackPages}) = ${hex(stack)}`);
    return {
      result: { image, heap, pt, stack },
      summary: `heap ${bytesText(heapPages * PAGE_SIZE)}, ${ptFrames} page-table frames and a ${bytesText(stackPages * PAGE_SIZE)} stack as LoaderData; map key now ${bs.mapKey}`,
      lines,
      details: { image, heap, heapPages, pageTableFrames: pt, pageTableFrameCount: ptFrames, stack, stackPages, mapKey: bs.mapKey },
    };
  });
  const imageRange = { start: alloc.image.start, end: alloc.image.start + alloc.image.pages * PAGE_SIZE };
  const heapRange = { start: alloc.heap, end: alloc.heap + heapPages * PAGE_SIZE };
  const stackRange = { start: alloc.stack, end: alloc.stack + stackPages * PAGE_SIZE };
  const framePool = new ReservedFramePool(alloc.pt, ptFrames);

  // 3. The heap in those pages.
  const heap = run(3, () => {
    const h = LinkedListHeap.init(memory, heapRange.start, heapPages * PAGE_SIZE, { mode: options.heapMode ?? 'list' });
    return {
      result: h,
      summary: `LinkedListHeap.init(${hex(h.bottom)}, ${bytesText(h.size)}) in ${options.heapMode ?? 'list'} mode: one hole, ${h.free} bytes free`,
      lines: [`bottom ${hex(h.bottom)}, top ${hex(h.top)}; the shim still forwards to AllocatePool until step 6`],
      details: { bottom: h.bottom, top: h.top, size: h.size, free: h.free },
    };
  });

  // 4. Page tables for the higher-half kernel.
  const kernelSections = sectionsOf(alloc.image, kernelBase);
  const paging = run(4, () => {
    const pt = new PageTableBuilder({ memory, frames: framePool, levels });
    pt.mapKernelSections(kernelSections, { global: true });
    const ram = normalizeRanges(initialMap.descriptors.filter((d) => RAM_TYPES.has(d.type) && d.numberOfPages > 0).map((d) => ({ start: d.physicalStart, end: d.physicalStart + d.numberOfPages * PAGE_SIZE })));
    pt.mapPhysicalMemory({ offset: directMapOffset, ranges: ram });
    const text = kernelSections[0];
    pt.identityMap({ start: text.lma, end: text.lma + text.size }, { writable: false, noExecute: false });
    const stack = pt.mapStack({ top: stackTop, size: stackPages * PAGE_SIZE, guardPages: 1, phys: alloc.stack });
    const ranges = pt.ranges();
    const lines = kernelSections.map((s) => `${s.name.padEnd(8)} vma ${hex(s.vma)} -> lma ${hex(s.lma)} (${bytesText(s.size)}, ${s.kind})`);
    lines.push(`direct map: ${ram.length} RAM ranges at ${hex(directMapOffset)} + phys (${bytesText(ram.reduce((n, r) => n + r.end - r.start, 0))})`);
    lines.push(`identity map of the loader's text: ${rangeText(text.lma, text.lma + text.size)} (runs while CR3 switches)`);
    lines.push(`stack ${hex(stack.bottom)}..${hex(stack.top)} -> ${hex(stack.phys)}, guard page at ${hex(stack.guard)} unmapped`);
    lines.push(`CR3 = ${hex(pt.root)}; ${framePool.used} of ${ptFrames} reserved table frames used; ${ranges.length} coalesced ranges`);
    return {
      result: { pt, stack, ram },
      summary: `${levels}-level tables at CR3 ${hex(pt.root)}: kernel at ${hex(kernelBase)}, direct map, identity map, stack with guard`,
      lines,
      details: { root: pt.root, levels, tableFrames: framePool.used, ranges: ranges.length, kernelBase, directMapOffset, stackTop: stack.top, guard: stack.guard },
    };
  });

  options.beforeExit?.({ shim, bootServices: bs, heap });

  // 5. The final map and ExitBootServices, retrying on a stale key.
  const finalMap = run(5, () => {
    const tries: string[] = [];
    for (let attempt = 1; attempt <= exitAttempts; attempt++) {
      const snap = bs.getMemoryMap();
      try {
        bs.exitBootServices(snap.mapKey);
        tries.push(`attempt ${attempt}: GetMemoryMap key ${snap.mapKey} -> ExitBootServices = EFI_SUCCESS`);
        const map = bs.currentMap();
        return {
          result: map,
          summary: `boot services exited after ${attempt} attempt${attempt > 1 ? 's' : ''}; final map has ${map.length} descriptors, key ${snap.mapKey}`,
          lines: tries,
          details: { attempts: attempt, mapKey: snap.mapKey, descriptors: map.length },
        };
      } catch (e) {
        if (!(e instanceof BootServicesError) || e.code !== 'INVALID_PARAMETER') throw e;
        tries.push(`attempt ${attempt}: GetMemoryMap key ${snap.mapKey} -> ExitBootServices = ${e.status} (the map changed during the call; get it again)`);
      }
    }
    throw new BootServicesError('INVALID_PARAMETER', `ExitBootServices kept reporting a stale map key after ${exitAttempts} attempts: ${tries.join('; ')}`);
  });

  // 6. The one switch of the global allocator.
  run(6, () => {
    const before = shim.stats();
    shim.switchToHeap(heap);
    return {
      result: null,
      summary: `shim switched from 'bootServices' to 'ownHeap' (heap checked first); ${before.live.blocks} boot-services block(s) stay live`,
      lines: [`boot-services phase: ${before.phases.bootServices.allocs} allocations (${before.phases.bootServices.bytesAllocated} bytes), ${before.phases.bootServices.deallocs} frees`,
        `later deallocs of those blocks: policy '${options.shim?.freedAfterExit ?? 'leak'}' (firmware is gone)`],
      details: { liveBootServicesBlocks: before.live.bootServices.blocks, heapFree: heap.free },
    };
  });

  // 7. The frame allocator over the final map.
  const frames = run(7, () => {
    const kernelRanges = normalizeRanges([imageRange, heapRange, framePool.range, stackRange]);
    const ranges = finalMap.usableAfterExitBootServices({ inUse: kernelRanges });
    const livePool = shim.bootServicesPages();
    const fa = BitmapFrameAllocator.fromMemoryMap(memory, finalMap, { ranges, inUse: livePool });
    const reclaimedNow = options.shim?.freedAfterExit === 'reclaim' ? shim.attachFrameAllocator(fa) : 0;
    // The kernel is done with the boot-time copy of the map.
    shim.dealloc(mapCopy.address, mapCopy.layout);
    const st = fa.stats();
    const bsPages = finalMap.descriptors.filter((d) => d.type === MemoryType.BootServicesCode || d.type === MemoryType.BootServicesData).reduce((n, d) => n + d.numberOfPages, 0);
    const ss = shim.stats();
    return {
      result: fa,
      summary: `${st.total} frames managed (${bytesText(st.total * PAGE_SIZE)}), ${st.free} free; ${bsPages} boot-services pages reclaimed; kernel memory kept out`,
      lines: [
        `kept by the kernel: ${kernelRanges.map((r) => rangeText(r.start, r.end)).join(', ')}`,
        `live boot-services pool pages marked used: ${livePool.length ? livePool.map((r) => rangeText(r.start, r.end)).join(', ') : 'none'}`,
        `frames: total ${st.total}, free ${st.free}, used ${st.used}, reserved ${st.reserved} (allocator metadata at ${hex(fa.metadataAddress)}), largest free run ${st.largestFreeRun}`,
        `map copy freed after the exit: ${ss.leaked.blocks ? `leaked (${ss.leaked.bytes} bytes counted)` : `${ss.reclaimedFrames + reclaimedNow > 0 ? `its pages went to the frame allocator (${ss.reclaimedFrames} frames)` : 'released'}`}`,
        `heap: ${heap.stats().used} used, ${heap.stats().free} free, ${heap.stats().holes} hole(s)`,
      ],
      details: { frames: st, kernelRanges, livePoolPages: livePool, shim: ss, heap: heap.stats(), bootServicesPagesReclaimed: bsPages },
    };
  });

  return Object.freeze({
    steps: Object.freeze(steps),
    initialMap,
    finalMap,
    memory,
    bootServices: bs,
    shim,
    heap,
    pageTables: paging.pt,
    pageTableFrames: framePool,
    frames,
    kernel: Object.freeze({ image: imageRange, sections: Object.freeze(kernelSections) }),
    heapRange,
    stack: Object.freeze({ ...paging.stack, range: stackRange }),
    kernelRanges: Object.freeze(normalizeRanges([imageRange, heapRange, framePool.range, stackRange])),
  });
}
