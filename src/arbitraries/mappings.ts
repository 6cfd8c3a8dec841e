/**
 * Arbitraries for page-table work: sets of non-overlapping virtual→physical mappings with
 * page-aligned, canonical addresses (lower and higher half) and random flags.
 *
 * @module
 */
import fc from 'fast-check';

/** Page sizes of x86-64 leaves: 4 KiB, 2 MiB, 1 GiB. */
export type PageSizeBytes = 4096 | 2097152 | 1073741824;

/** Flags of a generated mapping (the names `PageTableBuilder.map` takes). */
export interface MappingFlags {
  writable: boolean;
  user: boolean;
  writeThrough: boolean;
  cacheDisable: boolean;
  global: boolean;
  noExecute: boolean;
}

/** One generated mapping: `size` bytes of `pageSize` pages from `virt` to `phys`. */
export interface PageMappingSpec {
  /** Canonical virtual address, aligned to `pageSize`. */
  readonly virt: bigint;
  /** Physical address, aligned to `pageSize`. */
  readonly phys: number;
  /** Bytes mapped, a multiple of `pageSize`. */
  readonly size: number;
  readonly pageSize: PageSizeBytes;
  readonly flags: MappingFlags;
}

/** Options of {@link pageMappings}. */
export interface PageMappingOptions {
  /** 4- or 5-level paging: decides the canonical halves (default 4). */
  levels?: 4 | 5;
  /** Most mappings per set (default 6). */
  maxMappings?: number;
  /** Most pages per mapping (default 8). */
  maxPages?: number;
  /** Page sizes to use (default all three). */
  pageSizes?: readonly PageSizeBytes[];
  /** Exclusive bound of physical addresses (default 2^40). */
  physLimit?: number;
  /** Also keep physical ranges disjoint (default true). */
  disjointPhys?: boolean;
}

const GIB = 2 ** 30;

/**
 * Sets of mappings that never overlap virtually (nor physically, by default), laid out from
 * a random base in the lower or the higher canonical half, with random gaps, page sizes and
 * flags — ready for `PageTableBuilder.map`.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { pageMappings } from 'memprims/arbitraries';
 * const [set] = fc.sample(pageMappings({ maxMappings: 4 }), 1);
 * for (const m of set) console.log(m.virt.toString(16), m.phys.toString(16), m.size);
 * ```
 */
export function pageMappings(options: PageMappingOptions = {}): fc.Arbitrary<PageMappingSpec[]> {
  const levels = options.levels ?? 4;
  const sizes = options.pageSizes ?? [4096, 2097152, 1073741824];
  const maxPages = options.maxPages ?? 8;
  const physLimit = options.physLimit ?? 2 ** 40;
  const disjointPhys = options.disjointPhys ?? true;
  const halfBits = levels === 5 ? 56n : 47n;
  const upperBase = (1n << 64n) - (1n << halfBits);
  const flags = fc.record({
    writable: fc.boolean(),
    user: fc.boolean(),
    writeThrough: fc.boolean(),
    cacheDisable: fc.boolean(),
    global: fc.boolean(),
    noExecute: fc.boolean(),
  });
  const item = fc.record({
    pageSize: fc.constantFrom(...sizes),
    pages: fc.integer({ min: 1, max: maxPages }),
    virtGap: fc.integer({ min: 0, max: 3 }),
    physGap: fc.integer({ min: 0, max: 3 }),
    flags,
  });
  // Bases leave room for the largest possible extent: maxMappings × (maxPages + 4) GiB.
  const maxMappings = options.maxMappings ?? 6;
  const extent = BigInt(maxMappings * (maxPages + 5)) * BigInt(GIB);
  const room = (1n << halfBits) - extent;
  const virtBase = fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: room > 0n ? room : 0n })).map(([upper, off]) => (upper ? upperBase : 0n) + (off & ~0xfffn));
  const physRoom = Math.max(0, physLimit - maxMappings * (maxPages + 5) * GIB);
  const physBase = fc.integer({ min: 0, max: Math.floor(physRoom / 4096) }).map((n) => n * 4096);
  return fc.tuple(virtBase, physBase, fc.array(item, { minLength: 1, maxLength: maxMappings })).map(([vb, pb, items]) => {
    const out: PageMappingSpec[] = [];
    let v = vb;
    let p = pb;
    for (const it of items) {
      const ps = BigInt(it.pageSize);
      v = ((v + ps - 1n) / ps) * ps + BigInt(it.virtGap) * ps;
      const physStart = disjointPhys ? Math.ceil(p / it.pageSize) * it.pageSize + it.physGap * it.pageSize : Math.ceil(pb / it.pageSize) * it.pageSize;
      const size = it.pages * it.pageSize;
      if (physStart + size > physLimit) break;
      out.push({ virt: v, phys: physStart, size, pageSize: it.pageSize, flags: it.flags });
      v += BigInt(size);
      if (disjointPhys) p = physStart + size;
    }
    return out;
  });
}
