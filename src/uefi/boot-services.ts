/**
 * `BootServices`: a model of the UEFI memory-allocation boot services (AllocatePages,
 * FreePages, AllocatePool, FreePool, GetMemoryMap, ExitBootServices) over PhysicalMemory
 * and an initial memory map, placing and splitting/merging descriptors the way EDK II
 * (OVMF) does, so a replay of real calls on a real OVMF map gives the bytes OVMF gave.
 *
 * Placement (EDK II `FindFreePages`): among Conventional descriptors, the one whose end
 * (clipped to the maximum address) is highest wins, and the pages are taken from its top.
 * AnyPages and MaxAddress requests first search below the *default maximum address* (EDK II's
 * `mDefaultMaximumAddress`: the memory-type bins of the firmware sit above it), then
 * everywhere. This is why real OVMF hands out the top of a block below 4 GiB even when RAM
 * above it is free. Converted ranges are split in place and merged with physically adjacent
 * descriptors of equal type and attribute; every change gives a new map key.
 *
 * @module
 */
import { PAGE_SIZE, PHYS_ADDR_LIMIT, type PhysRange } from '../addr/phys.js';
import { describe, hex } from '../errors.js';
import { PhysicalMemory } from '../memory/physical-memory.js';
import { BootServicesError } from './boot-services-errors.js';
import { FirmwarePageMap, inferDefaultMaximumAddress } from './boot-services-pages.js';
import { UefiPool, type PoolBlockInfo } from './boot-services-pool.js';
import { MemoryMap } from './memory-map.js';
import { MemoryType } from './types.js';

export * from './boot-services-errors.js';
export { inferDefaultMaximumAddress } from './boot-services-pages.js';
export { POOL_BUCKET_SIZES, POOL_FREE_SIGNATURE, POOL_HEAD_SIGNATURE, POOL_HEAD_SIZE, POOL_TAIL_SIGNATURE, POOL_TAIL_SIZE, type PoolBlockInfo } from './boot-services-pool.js';

/** How AllocatePages picks pages (`EFI_ALLOCATE_TYPE`). */
export type AllocateType = 'anyPages' | 'maxAddress' | 'address';

/** Arguments of {@link BootServices.allocatePages}. */
export interface AllocatePagesRequest {
  type: AllocateType;
  /** The memory type the pages get (LoaderData, an OEM/OS value, …; not Conventional). */
  memoryType: number;
  /** Number of 4 KiB pages (positive). */
  pages: number;
  /** `'maxAddress'`: highest address the last byte may have; `'address'`: the exact start. */
  address?: number;
}

/** What {@link BootServices.getMemoryMap} returns. */
export interface MemoryMapSnapshot {
  /** The raw buffer: `descriptorSize` bytes per descriptor (48 by default). */
  readonly buffer: Uint8Array;
  /** `buffer.length`. */
  readonly mapSize: number;
  /** The key ExitBootServices wants; changes with every change of the map. */
  readonly mapKey: number;
  readonly descriptorSize: number;
  readonly descriptorVersion: number;
  /** Same as `descriptorVersion` (the name UEFI's GetMemoryMap uses). */
  readonly version: number;
  /** The same map, decoded. */
  readonly map: MemoryMap;
}

/** Options of the {@link BootServices} constructor. */
export interface BootServicesOptions {
  /** First map key (default: the map's own `mapKey`, else 1). */
  mapKey?: number;
  /** Stride of the buffers GetMemoryMap returns (default: the map's, normally 48). */
  descriptorSize?: number;
  /**
   * EDK II's default maximum address (exclusive top of the region where allocations of types
   * without a memory-type bin go first). `'infer'` (default) derives it from the map: the end
   * of the run of Loader/Conventional descriptors above the highest LoaderCode/LoaderData
   * descriptor below 4 GiB (where OVMF loaded the running image); `null`: no default region
   * (plain highest fit).
   */
  defaultMaximumAddress?: number | 'infer' | null;
  /**
   * How many ExitBootServices calls change the map before they check the key (as an event
   * callback of real firmware may): the call then fails with INVALID_PARAMETER even with a
   * fresh key. `true` = once. Default 0.
   */
  changeMapOnExit?: number | boolean;
  /** Extra descriptors a too-small `getMemoryMap({ bufferSize })` asks for (OVMF: 7). */
  sizeQuerySlack?: number;
}

/** Types a range must not have to be given back by FreePages (not memory the firmware allocates). */
const NOT_FREEABLE = new Set<number>([MemoryType.Reserved, MemoryType.Conventional, MemoryType.Unusable, MemoryType.MemoryMappedIO, MemoryType.MemoryMappedIOPortSpace, MemoryType.PersistentMemory, MemoryType.Unaccepted]);


function invalid(message: string, details: Record<string, unknown> = {}): BootServicesError {
  return new BootServicesError('INVALID_PARAMETER', message, details);
}

/** Checks a memory type the way EDK II's CoreInternalAllocatePages/Pool do. */
function checkAllocType(memoryType: unknown, call: string): number {
  if (typeof memoryType !== 'number' || !Number.isInteger(memoryType) || memoryType < 0 || memoryType > 0xffffffff) {
    throw invalid(`${call}: memory type must be a u32, got ${describe(memoryType)}`, { memoryType });
  }
  if ((memoryType >= 16 && memoryType < MemoryType.OemMin) || memoryType === MemoryType.Conventional
    || memoryType === MemoryType.PersistentMemory || memoryType === MemoryType.Unaccepted) {
    throw invalid(`${call}: memory type ${memoryType} cannot be allocated`, { memoryType });
  }
  return memoryType;
}

/**
 * The memory-allocation boot services of UEFI firmware, modelled on EDK II (OVMF).
 *
 * @example
 * ```ts
 * import { BootServices, MemoryMap, MemoryType } from 'memprims';
 * const map = new MemoryMap([{ type: MemoryType.Conventional, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn }]);
 * const bs = new BootServices(BootServices.memoryForMap(map), map);
 * const pages = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 4 }); // 0x1fc000: the top
 * const buf = bs.allocatePool(MemoryType.LoaderData, 100); // 8-byte aligned
 * const { mapKey } = bs.getMemoryMap();
 * bs.exitBootServices(mapKey);
 * ```
 */
export class BootServices {
  /** The physical memory the pool headers are written into. */
  readonly memory: PhysicalMemory;
  /** Stride of GetMemoryMap buffers. */
  readonly descriptorSize: number;
  /** Always 1. */
  readonly descriptorVersion = 1;
  private readonly pages: FirmwarePageMap;
  private key: number;
  private readonly defaultMax: number | null;
  private readonly slack: number;
  private exitChangesLeft: number;
  private exitAttempts = 0;
  private isExited = false;
  private finalMap: MemoryMap | null = null;
  private readonly pool: UefiPool;

  /**
   * `new BootServices(memory, map, options?)`, or `new BootServices({ map, memory?, ...options })`
   * (memory defaults to {@link BootServices.memoryForMap}).
   */
  constructor(memory: PhysicalMemory, map: MemoryMap, options?: BootServicesOptions);
  constructor(init: BootServicesOptions & { map: MemoryMap; memory?: PhysicalMemory });
  constructor(first: PhysicalMemory | (BootServicesOptions & { map: MemoryMap; memory?: PhysicalMemory }), second?: MemoryMap, third: BootServicesOptions = {}) {
    let memory: PhysicalMemory;
    let map: MemoryMap;
    let options: BootServicesOptions;
    if (!(first instanceof PhysicalMemory) && typeof first === 'object' && first !== null && second === undefined && 'map' in first) {
      if (!(first.map instanceof MemoryMap)) throw invalid(`BootServices: map must be a MemoryMap, got ${describe(first.map)}`);
      map = first.map;
      memory = first.memory ?? BootServices.memoryForMap(map);
      options = first;
    } else {
      memory = first as PhysicalMemory;
      map = second as MemoryMap;
      options = third;
    }
    if (!(memory instanceof PhysicalMemory)) throw invalid(`BootServices: memory must be a PhysicalMemory, got ${describe(memory)}`);
    if (!(map instanceof MemoryMap)) throw invalid(`BootServices: map must be a MemoryMap, got ${describe(map)}`);
    if (typeof options !== 'object' || options === null) throw invalid(`BootServices: options must be an object, got ${describe(options)}`);
    const report = map.validate();
    const overlap = report.problems.find((p) => p.kind === 'overlap' || p.kind === 'unaligned-start' || p.kind === 'past-2^52');
    if (overlap) throw invalid(`BootServices: the initial map is not usable as firmware state (${overlap.kind})`, { problem: overlap });
    this.memory = memory;
    this.pages = new FirmwarePageMap(map.descriptors);
    const key = options.mapKey ?? map.mapKey ?? 1;
    if (!Number.isSafeInteger(key) || key < 0) throw invalid(`BootServices: mapKey must be a non-negative integer, got ${describe(key)}`);
    this.key = key;
    const size = options.descriptorSize ?? map.descriptorSize;
    if (!Number.isInteger(size) || size < 40 || size % 8 !== 0) throw invalid(`BootServices: descriptorSize must be a multiple of 8 and at least 40, got ${describe(size)}`);
    this.descriptorSize = size;
    const dm = options.defaultMaximumAddress === undefined ? 'infer' : options.defaultMaximumAddress;
    if (dm === 'infer') this.defaultMax = inferDefaultMaximumAddress(map);
    else if (dm === null) this.defaultMax = null;
    else if (typeof dm === 'number' && Number.isSafeInteger(dm) && dm >= 0 && dm % PAGE_SIZE === 0 && dm <= PHYS_ADDR_LIMIT) this.defaultMax = dm;
    else throw invalid(`BootServices: defaultMaximumAddress must be a page-aligned address, 'infer' or null, got ${describe(dm)}`);
    const change = options.changeMapOnExit ?? 0;
    this.exitChangesLeft = change === true ? 1 : change === false ? 0 : change;
    if (!Number.isSafeInteger(this.exitChangesLeft) || this.exitChangesLeft < 0) throw invalid(`BootServices: changeMapOnExit must be a boolean or a count, got ${describe(change)}`);
    this.slack = options.sizeQuerySlack ?? 7;
    if (!Number.isSafeInteger(this.slack) || this.slack < 0) throw invalid(`BootServices: sizeQuerySlack must be a non-negative integer, got ${describe(this.slack)}`);
    this.pool = new UefiPool(memory, {
      allocatePoolPages: (type, pages) => {
        const start = this.pages.findFreePages(PHYS_ADDR_LIMIT - 1, pages, this.defaultMax);
        if (start === null) return null;
        this.requireBacked(start, pages, 'AllocatePool');
        this.convert(start, pages, type);
        return start;
      },
      freePoolPages: (_type, address, pages) => this.convert(address, pages, MemoryType.Conventional),
    });
  }

  /**
   * A PhysicalMemory with lazily backed regions (no host memory until written) under every
   * descriptor of `map` except MMIO and I/O-port space — what the model writes pool headers
   * into, and what a kernel later uses.
   */
  static memoryForMap(map: MemoryMap, options: { shared?: boolean } = {}): PhysicalMemory {
    const memory = new PhysicalMemory({ shared: options.shared });
    const ranges: { start: number; end: number }[] = [];
    for (const d of map.descriptors) {
      if (d.numberOfPages === 0 || d.type === MemoryType.MemoryMappedIO || d.type === MemoryType.MemoryMappedIOPortSpace) continue;
      ranges.push({ start: d.physicalStart, end: Math.min(d.physicalStart + d.numberOfPages * PAGE_SIZE, PHYS_ADDR_LIMIT) });
    }
    ranges.sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number }[] = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
      else merged.push({ ...r });
    }
    for (const r of merged) memory.addRegion(r.start, r.end - r.start, { backing: 'lazy', name: `RAM ${hex(r.start)}` });
    return memory;
  }

  /** The current map key. */
  get mapKey(): number {
    return this.key;
  }

  /** True after a successful ExitBootServices. */
  get exited(): boolean {
    return this.isExited;
  }

  /** The default maximum address in use (exclusive), or null. */
  get defaultMaximumAddress(): number | null {
    return this.defaultMax;
  }

  /** How many times ExitBootServices was called (successful or not). */
  get exitAttemptCount(): number {
    return this.exitAttempts;
  }

  private alive(call: string): void {
    if (this.isExited) throw new BootServicesError('BOOT_SERVICES_EXITED', `${call}: boot services are gone (ExitBootServices succeeded)`, { call });
  }

  /**
   * AllocatePages. Returns the physical address of the first page. Errors (nothing changed):
   * INVALID_PARAMETER (bad type, memory type, page count, unaligned address), NOT_FOUND
   * (`'address'`: a page of the range is not free, or past `maxAddress`), OUT_OF_RESOURCES.
   */
  allocatePages(request: AllocatePagesRequest): number {
    this.alive('AllocatePages');
    if (typeof request !== 'object' || request === null) throw invalid(`AllocatePages: request must be an object, got ${describe(request)}`);
    const { type, pages, address } = request;
    const memoryType = checkAllocType(request.memoryType, 'AllocatePages');
    if (type !== 'anyPages' && type !== 'maxAddress' && type !== 'address') throw invalid(`AllocatePages: type must be 'anyPages', 'maxAddress' or 'address', got ${describe(type)}`, { type });
    if (typeof pages !== 'number' || !Number.isSafeInteger(pages) || pages <= 0) throw invalid(`AllocatePages: pages must be a positive integer, got ${describe(pages)}`, { pages });
    if (pages * PAGE_SIZE > PHYS_ADDR_LIMIT) throw new BootServicesError('OUT_OF_RESOURCES', `AllocatePages: ${pages} pages is more than any memory`, { pages });
    let start: number | null;
    if (type === 'address') {
      if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0) throw invalid(`AllocatePages(Address): address must be a non-negative integer, got ${describe(address)}`, { address });
      if (address % PAGE_SIZE !== 0) throw invalid(`AllocatePages(Address): ${hex(address)} is not page-aligned`, { address });
      if (address + pages * PAGE_SIZE > PHYS_ADDR_LIMIT) throw new BootServicesError('NOT_FOUND', `AllocatePages(Address): ${hex(address)} + ${pages} pages passes the address space`, { address, pages });
      const why = this.pages.rangeProblem(address, pages, (t) => t === MemoryType.Conventional);
      if (why) throw new BootServicesError('NOT_FOUND', `AllocatePages(Address ${hex(address)}, ${pages} pages): ${why}`, { address, pages });
      start = address;
    } else {
      let max = PHYS_ADDR_LIMIT - 1;
      if (type === 'maxAddress') {
        if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0) throw invalid(`AllocatePages(MaxAddress): address must be a non-negative integer, got ${describe(address)}`, { address });
        max = Math.min(address, max);
      }
      start = this.pages.findFreePages(max, pages, this.defaultMax);
      if (start === null) {
        throw new BootServicesError('OUT_OF_RESOURCES', `AllocatePages(${type === 'anyPages' ? 'AnyPages' : `MaxAddress ${hex(max)}`}, ${pages} pages): no free range is large enough`, { pages, maxAddress: max });
      }
    }
    this.convert(start, pages, memoryType);
    return start;
  }

  /** FreePages. Errors: INVALID_PARAMETER (unaligned, bad count, pool pages), NOT_FOUND (a page is free or not allocatable memory). */
  freePages(address: number, pages: number): void {
    this.alive('FreePages');
    if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0) throw invalid(`FreePages: address must be a non-negative integer, got ${describe(address)}`, { address });
    if (address % PAGE_SIZE !== 0) throw invalid(`FreePages: ${hex(address)} is not page-aligned`, { address });
    if (typeof pages !== 'number' || !Number.isSafeInteger(pages) || pages <= 0) throw invalid(`FreePages: pages must be a positive integer, got ${describe(pages)}`, { pages });
    if (address + pages * PAGE_SIZE > PHYS_ADDR_LIMIT) throw new BootServicesError('NOT_FOUND', `FreePages(${hex(address)}, ${pages}): range passes the address space`, { address, pages });
    const why = this.pages.rangeProblem(address, pages, (t) => !NOT_FREEABLE.has(t));
    if (why) throw new BootServicesError('NOT_FOUND', `FreePages(${hex(address)}, ${pages} pages): ${why}`, { address, pages });
    const end = address + pages * PAGE_SIZE;
    const poolBlock = this.pool.firstOverlapping(address, end);
    if (poolBlock) throw invalid(`FreePages(${hex(address)}, ${pages} pages): the range holds pool block ${hex(poolBlock.address)}; use FreePool`, { address, pages, poolBlock: poolBlock.address });
    this.convert(address, pages, MemoryType.Conventional);
  }

  /** AllocatePool: `size` bytes, 8-byte aligned. Errors: INVALID_PARAMETER, OUT_OF_RESOURCES. */
  allocatePool(memoryType: number, size: number): number {
    this.alive('AllocatePool');
    checkAllocType(memoryType, 'AllocatePool');
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`AllocatePool: size must be a non-negative integer, got ${describe(size)}`, { size });
    if (size > PHYS_ADDR_LIMIT) throw new BootServicesError('OUT_OF_RESOURCES', `AllocatePool: ${hex(size)} bytes is more than any memory`, { size });
    return this.pool.allocate(memoryType, size);
  }

  /** FreePool. Errors: INVALID_PARAMETER (not a live pool block, or its header was overwritten). */
  freePool(address: number): void {
    this.alive('FreePool');
    if (typeof address !== 'number' || !Number.isSafeInteger(address)) throw invalid(`FreePool: address must be an integer, got ${describe(address)}`, { address });
    this.pool.free(address);
  }

  /**
   * GetMemoryMap: the raw buffer, key, descriptor size and version. With `bufferSize`
   * smaller than the map: BUFFER_TOO_SMALL, `details.mapSize` the size to retry with
   * (like OVMF, a few descriptors more than needed).
   */
  getMemoryMap(options: { bufferSize?: number } = {}): MemoryMapSnapshot {
    this.alive('GetMemoryMap');
    const map = this.currentMap();
    const mapSize = map.length * this.descriptorSize;
    const bufferSize = options?.bufferSize;
    if (bufferSize !== undefined) {
      if (typeof bufferSize !== 'number' || !Number.isSafeInteger(bufferSize) || bufferSize < 0) throw invalid(`GetMemoryMap: bufferSize must be a non-negative integer, got ${describe(bufferSize)}`);
      if (bufferSize < mapSize) {
        const ask = mapSize + this.slack * this.descriptorSize;
        throw new BootServicesError('BUFFER_TOO_SMALL', `GetMemoryMap: buffer of ${bufferSize} bytes is too small; ${ask} bytes needed`, { bufferSize, mapSize: ask });
      }
    }
    return Object.freeze({ buffer: map.toBytes({ descriptorSize: this.descriptorSize }), mapSize, mapKey: this.key, descriptorSize: this.descriptorSize, descriptorVersion: this.descriptorVersion, version: this.descriptorVersion, map });
  }

  /**
   * ExitBootServices. A key other than the current one fails with INVALID_PARAMETER (get
   * the map again and retry). With `changeMapOnExit`, the first call(s) change the map
   * (a BootServicesData page, as an event callback would) before checking the key.
   * After success every call of this object fails with BOOT_SERVICES_EXITED.
   */
  exitBootServices(mapKey: number): void {
    this.alive('ExitBootServices');
    this.exitAttempts++;
    if (this.exitChangesLeft > 0) {
      this.exitChangesLeft--;
      const start = this.pages.findFreePages(PHYS_ADDR_LIMIT - 1, 1, this.defaultMax);
      if (start !== null) this.convert(start, 1, MemoryType.BootServicesData);
    }
    if (mapKey !== this.key) {
      throw new BootServicesError('INVALID_PARAMETER', `ExitBootServices(${describe(mapKey)}): stale map key (current ${this.key}); call GetMemoryMap and retry`, { mapKey, currentKey: this.key });
    }
    this.finalMap = this.currentMap();
    this.isExited = true;
  }

  /** The map as it is now (after exit: the final map). Not a firmware call: works at any time. */
  currentMap(): MemoryMap {
    if (this.finalMap) return this.finalMap;
    return new MemoryMap(this.pages.toDescriptors(), { descriptorSize: this.descriptorSize, descriptorVersion: 1, mapKey: this.key });
  }

  /** Live pool blocks in address order (introspection; works after exit). */
  poolBlocks(): PoolBlockInfo[] {
    return this.pool.blocks();
  }

  /** The live pool block AllocatePool returned at `address`, or null. */
  poolBlock(address: number): PoolBlockInfo | null {
    return this.pool.block(address);
  }

  /** Ranges of the current map with memory type `type` (sorted, merged). */
  rangesOfType(type: number): PhysRange[] {
    return this.pages.rangesOfType(type);
  }

  private requireBacked(start: number, pages: number, call: string): void {
    if (!this.memory.isBacked(start, pages * PAGE_SIZE)) {
      throw new BootServicesError('OUT_OF_RESOURCES', `${call}: pages at ${hex(start)} are not backed by PhysicalMemory (use BootServices.memoryForMap)`, { start, pages });
    }
  }

  /** Converts pages in the firmware map and gives the map a new key. */
  private convert(start: number, pages: number, type: number): void {
    this.pages.convert(start, pages, type);
    this.key++;
  }
}
