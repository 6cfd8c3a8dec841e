/**
 * The pool allocator behind `BootServices.allocatePool` / `freePool`, following EDK II's
 * DXE core (MdeModulePkg/Core/Dxe/Mem/Pool.c, as in OVMF 2022.11) so that addresses match
 * real firmware:
 *
 * - one pool per memory type; a request of `size` bytes needs `align8(size) + 40` bytes
 *   (a 24-byte `POOL_HEAD` before the data, a 16-byte `POOL_TAIL` after it);
 * - blocks up to 2688 bytes come from 12 size buckets (128, 256, 384, 640, 1024, 1664,
 *   2688, …): an empty bucket takes a block from a larger bucket or one fresh 4 KiB page,
 *   serves the request from its start and carves the rest into free blocks of decreasing
 *   bucket sizes; free lists are LIFO; a page whose blocks are all free goes back to the
 *   page allocator;
 * - larger requests take whole pages (`ceil(total / 4096)`), the data at page + 24.
 *
 * Headers are written into PhysicalMemory in the real layout (`"phd0"` head signature,
 * type, size; `"ptal"` tail; `"pfr0"` + bucket index for free blocks). The free lists
 * themselves are kept in JavaScript (the list links in memory are not written).
 *
 * @module
 */
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { hex } from '../errors.js';
import { BootServicesError } from './boot-services-errors.js';

/**
 * Bytes of EDK II's `POOL_HEAD` (signature, reserved, type, size): the data starts here.
 *
 * @example
 * ```ts
 * import { BootServices, MemoryMap, MemoryType, POOL_HEAD_SIGNATURE, POOL_HEAD_SIZE } from 'memprims';
 * const map = new MemoryMap([{ type: MemoryType.Conventional, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn }]);
 * const memory = BootServices.memoryForMap(map);
 * const buf = new BootServices(memory, map).allocatePool(MemoryType.LoaderData, 100);
 * memory.readU32(buf - POOL_HEAD_SIZE) === POOL_HEAD_SIGNATURE; // true: the POOL_HEAD sits just before the data
 * ```
 */
export const POOL_HEAD_SIZE = 24;
/**
 * Bytes of EDK II's `POOL_TAIL` (signature, reserved, size).
 *
 * @example
 * ```ts
 * import { POOL_BUCKET_SIZES, POOL_HEAD_SIZE, POOL_TAIL_SIZE } from 'memprims';
 * // A 100-byte request needs head + data + tail bytes, so it is served from the 256-byte bucket.
 * POOL_BUCKET_SIZES.find((size) => size >= POOL_HEAD_SIZE + 100 + POOL_TAIL_SIZE); // 256
 * ```
 */
export const POOL_TAIL_SIZE = 16;
/**
 * `'phd0'` as a little-endian u32.
 *
 * @example
 * ```ts
 * import { POOL_HEAD_SIGNATURE } from 'memprims';
 * new TextDecoder().decode(new Uint8Array(new Uint32Array([POOL_HEAD_SIGNATURE]).buffer)); // 'phd0' (on little-endian hosts)
 * ```
 */
export const POOL_HEAD_SIGNATURE = 0x30646870;
/**
 * `'ptal'` as a little-endian u32.
 *
 * @example
 * ```ts
 * import { POOL_TAIL_SIGNATURE } from 'memprims';
 * new TextDecoder().decode(new Uint8Array(new Uint32Array([POOL_TAIL_SIGNATURE]).buffer)); // 'ptal' (on little-endian hosts)
 * ```
 */
export const POOL_TAIL_SIGNATURE = 0x6c617470;
/**
 * `'pfr0'` as a little-endian u32.
 *
 * @example
 * ```ts
 * import { BootServices, MemoryMap, MemoryType, POOL_FREE_SIGNATURE, POOL_HEAD_SIZE } from 'memprims';
 * const map = new MemoryMap([{ type: MemoryType.Conventional, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn }]);
 * const memory = BootServices.memoryForMap(map);
 * const bs = new BootServices(memory, map);
 * const buf = bs.allocatePool(MemoryType.LoaderData, 100);
 * bs.freePool(buf);
 * memory.readU32(buf - POOL_HEAD_SIZE) === POOL_FREE_SIGNATURE; // true: the block is on a free list now ('pfr0')
 * ```
 */
export const POOL_FREE_SIGNATURE = 0x30726670;
/**
 * EDK II's pool bucket sizes (`mPoolSizeTable`).
 *
 * @example
 * ```ts
 * import { POOL_BUCKET_SIZES } from 'memprims';
 * POOL_BUCKET_SIZES.length; // 12
 * POOL_BUCKET_SIZES[0];     // 128: the smallest pool block, header and tail included
 * ```
 */
export const POOL_BUCKET_SIZES: readonly number[] = Object.freeze([128, 256, 384, 640, 1024, 1664, 2688, 4352, 7040, 11392, 18432, 29824]);

const GRANULARITY = 4096;
const OVERHEAD = POOL_HEAD_SIZE + POOL_TAIL_SIZE;
/** Index of the first bucket that holds a whole page: requests at or above it take pages. */
const PAGE_BUCKET = bucketIndex(GRANULARITY);

function bucketIndex(total: number): number {
  for (let i = 0; i < POOL_BUCKET_SIZES.length; i++) if (POOL_BUCKET_SIZES[i] >= total) return i;
  return POOL_BUCKET_SIZES.length;
}

/** Where pool pages come from (the boot-services page allocator). */
export interface PoolPageSource {
  /** Allocates `pages` pages as `memoryType` (AnyPages placement), or null when nothing fits. */
  allocatePoolPages(memoryType: number, pages: number): number | null;
  /** Returns pages to free memory. */
  freePoolPages(memoryType: number, address: number, pages: number): void;
}

/** A live pool block as {@link BootServices.poolBlocks} lists it. */
export interface PoolBlockInfo {
  /** What AllocatePool returned (head + 24; 8-byte aligned). */
  readonly address: number;
  /** The `POOL_HEAD` address. */
  readonly head: number;
  /** Bytes asked for. */
  readonly size: number;
  /** Bytes the block occupies: its bucket size, or whole pages for large blocks. */
  readonly span: number;
  readonly memoryType: number;
  /** True when the block has its own pages (requests above 2688 bytes with overhead). */
  readonly pages: boolean;
}

interface LiveBlock extends PoolBlockInfo {
  readonly total: number;
}

/** EDK II-style pools, one per memory type. Used by `BootServices`; not meant to be built directly. */
export class UefiPool {
  private readonly lists = new Map<number, number[][]>();
  private readonly live = new Map<number, LiveBlock>();
  /** Free block address → bucket index. */
  private readonly freeBlocks = new Map<number, number>();

  constructor(private readonly memory: PhysicalMemory, private readonly source: PoolPageSource) {}

  private listsOf(memoryType: number): number[][] {
    let l = this.lists.get(memoryType);
    if (!l) {
      l = POOL_BUCKET_SIZES.map(() => []);
      this.lists.set(memoryType, l);
    }
    return l;
  }

  /** Allocates `size` bytes of `memoryType`; throws OUT_OF_RESOURCES when no page is left. */
  allocate(memoryType: number, size: number): number {
    const total = Math.ceil(size / 8) * 8 + OVERHEAD;
    const index = bucketIndex(total);
    let head: number;
    let span: number;
    if (index >= PAGE_BUCKET) {
      const pages = Math.ceil(total / GRANULARITY);
      const got = this.source.allocatePoolPages(memoryType, pages);
      if (got === null) throw outOfResources(memoryType, size);
      head = got;
      span = pages * GRANULARITY;
    } else {
      const lists = this.listsOf(memoryType);
      span = POOL_BUCKET_SIZES[index];
      if (lists[index].length > 0) {
        head = lists[index].pop()!;
        this.freeBlocks.delete(head);
      } else {
        let bigger = index;
        let page: number | undefined;
        let maxOffset = GRANULARITY;
        while (++bigger < PAGE_BUCKET) {
          if (lists[bigger].length > 0) {
            page = lists[bigger].pop()!;
            this.freeBlocks.delete(page);
            maxOffset = POOL_BUCKET_SIZES[bigger];
            break;
          }
        }
        if (page === undefined) {
          const got = this.source.allocatePoolPages(memoryType, 1);
          if (got === null) throw outOfResources(memoryType, size);
          page = got;
        }
        head = page;
        // Carve the rest into free blocks of decreasing bucket sizes, as EDK II does.
        let offset = POOL_BUCKET_SIZES[index];
        let k = bigger - 1;
        while (offset < maxOffset) {
          const fsize = POOL_BUCKET_SIZES[k];
          while (offset + fsize <= maxOffset) {
            this.markFree(page + offset, k);
            lists[k].push(page + offset);
            offset += fsize;
          }
          k--;
        }
      }
    }
    this.memory.writeU32(head, POOL_HEAD_SIGNATURE);
    this.memory.writeU32(head + 4, 0);
    this.memory.writeU32(head + 8, memoryType);
    this.memory.writeU32(head + 12, 0);
    this.memory.writeU64Number(head + 16, total);
    const tail = head + total - POOL_TAIL_SIZE;
    this.memory.writeU32(tail, POOL_TAIL_SIGNATURE);
    this.memory.writeU32(tail + 4, 0);
    this.memory.writeU64Number(tail + 8, total);
    const address = head + POOL_HEAD_SIZE;
    this.live.set(address, Object.freeze({ address, head, size, span, total, memoryType, pages: index >= PAGE_BUCKET }));
    return address;
  }

  private markFree(block: number, index: number): void {
    this.memory.writeU32(block, POOL_FREE_SIGNATURE);
    this.memory.writeU32(block + 4, index);
    this.freeBlocks.set(block, index);
  }

  /**
   * Frees a block AllocatePool returned. Throws INVALID_PARAMETER (changing nothing) for an
   * address that is not a live block, or whose head/tail in memory was overwritten.
   */
  free(address: number): void {
    const block = this.live.get(address);
    if (!block) {
      throw new BootServicesError('INVALID_PARAMETER', `FreePool(${hex(address)}): not a block AllocatePool returned (or already freed)`, { address });
    }
    const head = block.head;
    const tail = head + block.total - POOL_TAIL_SIZE;
    if (this.memory.readU32(head) !== POOL_HEAD_SIGNATURE || this.memory.readU32(tail) !== POOL_TAIL_SIGNATURE
      || this.memory.readU64Number(head + 16) !== block.total || this.memory.readU64Number(tail + 8) !== block.total
      || this.memory.readU32(head + 8) !== block.memoryType) {
      throw new BootServicesError('INVALID_PARAMETER', `FreePool(${hex(address)}): the pool head or tail in memory was overwritten (firmware's signature check fails)`, { address, head, tail });
    }
    if (block.pages) {
      this.source.freePoolPages(block.memoryType, head, block.span / GRANULARITY);
      this.live.delete(address);
      return;
    }
    const index = bucketIndex(block.total);
    const lists = this.listsOf(block.memoryType);
    this.live.delete(address);
    this.markFree(head, index);
    lists[index].push(head);
    // When every block of the page is free, the page goes back to the page allocator.
    const page = head - (head % GRANULARITY);
    let offset = 0;
    while (offset < GRANULARITY) {
      const k = this.freeBlocks.get(page + offset);
      if (k === undefined) return;
      offset += POOL_BUCKET_SIZES[k];
    }
    offset = 0;
    while (offset < GRANULARITY) {
      const k = this.freeBlocks.get(page + offset)!;
      const list = lists[k];
      list.splice(list.lastIndexOf(page + offset), 1);
      this.freeBlocks.delete(page + offset);
      offset += POOL_BUCKET_SIZES[k];
    }
    this.source.freePoolPages(block.memoryType, page, 1);
  }

  /** The live block AllocatePool returned at `address`, or null. */
  block(address: number): PoolBlockInfo | null {
    return this.live.get(address) ?? null;
  }

  /** A live block whose span overlaps `[start, end)`, or null. */
  firstOverlapping(start: number, end: number): PoolBlockInfo | null {
    for (const b of this.live.values()) if (b.head < end && b.head + b.span > start) return b;
    return null;
  }

  /** Every live block, in address order. */
  blocks(): PoolBlockInfo[] {
    return [...this.live.values()].sort((a, b) => a.address - b.address);
  }

  /** Number of free blocks kept in the bucket lists (all types). */
  get freeBlockCount(): number {
    return this.freeBlocks.size;
  }
}

function outOfResources(memoryType: number, size: number): BootServicesError {
  return new BootServicesError('OUT_OF_RESOURCES', `AllocatePool(type ${memoryType}, ${hex(size)} bytes): no free pages left for the pool`, { memoryType, size });
}
