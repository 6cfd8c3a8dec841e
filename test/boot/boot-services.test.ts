import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BootServices, BootServicesError, bundledOvmfMap, MemoryMap, MemoryType, POOL_FREE_SIGNATURE, POOL_HEAD_SIGNATURE, POOL_HEAD_SIZE, POOL_TAIL_SIGNATURE,
  type MemoryDescriptor,
} from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 20);
const PAGE = 4096;
const WB = 0xfn;

function d(type: number, start: number, pages: number, attribute = WB): MemoryDescriptor {
  return { type, physicalStart: start, virtualStart: 0n, numberOfPages: pages, attribute };
}

/** A small firmware-like map: low RAM, a loader image, bins, MMIO. */
function smallMap(): MemoryMap {
  return new MemoryMap([
    d(MemoryType.BootServicesCode, 0, 1),
    d(MemoryType.Conventional, 0x1000, 0x9f),
    d(MemoryType.Conventional, 0x100000, 0x100),
    d(MemoryType.ACPIMemoryNVS, 0x200000, 2),
    d(MemoryType.Conventional, 0x202000, 0x1fe),
    d(MemoryType.LoaderCode, 0x400000, 0x10),
    d(MemoryType.Conventional, 0x410000, 0x30),
    d(MemoryType.BootServicesData, 0x440000, 0x40),
    d(MemoryType.Conventional, 0x480000, 0x80),
    d(MemoryType.MemoryMappedIO, 0xffc00000, 0x400, 0x8000000000000001n),
  ]);
}

function fresh(options = {}, map = smallMap()) {
  return new BootServices(BootServices.memoryForMap(map), map, options);
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof BootServicesError) return e.code;
    throw e;
  }
  return 'ok';
}

function state(bs: BootServices) {
  return { key: bs.mapKey, bytes: Array.from(bs.currentMap().toBytes()), pool: bs.poolBlocks() };
}

describe('BootServices: pages', () => {
  it('AnyPages takes the top of the highest free block of the default region', () => {
    const bs = fresh();
    // Loader image at 0x400000..0x410000, free run above it up to 0x440000: the default region top.
    expect(bs.defaultMaximumAddress).toBe(0x440000);
    expect(bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 2 })).toBe(0x43e000);
    // Exhaust the default region's top block: the next comes from below, then above.
    expect(bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 0x2e })).toBe(0x410000);
    expect(bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 1 })).toBe(0x3ff000);
    // Empty the rest of the default region; then AnyPages falls back to the top of the block above it.
    bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 0x1fd });
    bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 0x100 });
    bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 0x9f });
    expect(bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 1 })).toBe(0x4ff000);
  });

  it('MaxAddress rounds a limit that does not end in 0xfff down to the page below', () => {
    const bs = fresh();
    expect(fresh().allocatePages({ type: 'maxAddress', memoryType: MemoryType.LoaderData, pages: 1, address: 0xfffff })).toBe(0x9f000);
    // 0x9f000 does not end in 0xfff: the limit becomes 0x9efff, so the page is 0x9e000.
    expect(bs.allocatePages({ type: 'maxAddress', memoryType: MemoryType.LoaderData, pages: 1, address: 0x9f000 })).toBe(0x9e000);
    expect(code(() => bs.allocatePages({ type: 'maxAddress', memoryType: MemoryType.LoaderData, pages: 1, address: 0xfff }))).toBe('OUT_OF_RESOURCES');
  });

  it('rejects bad requests with the firmware status and changes nothing', () => {
    const bs = fresh();
    const before = state(bs);
    expect(code(() => bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.Conventional, pages: 1 }))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.allocatePages({ type: 'anyPages', memoryType: 16, pages: 1 }))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 0 }))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.allocatePages({ type: 'bogus' as 'address', memoryType: MemoryType.LoaderData, pages: 1 }))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.allocatePages({ type: 'address', memoryType: MemoryType.LoaderData, pages: 1, address: 0x100800 }))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.allocatePages({ type: 'address', memoryType: MemoryType.LoaderData, pages: 1, address: 0x400000 }))).toBe('NOT_FOUND');
    expect(code(() => bs.allocatePages({ type: 'address', memoryType: MemoryType.LoaderData, pages: 2, address: 0x1ff000 }))).toBe('NOT_FOUND');
    expect(code(() => bs.allocatePages({ type: 'address', memoryType: MemoryType.LoaderData, pages: 1, address: 0xa0000 }))).toBe('NOT_FOUND');
    expect(code(() => bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 0x1ff }))).toBe('OUT_OF_RESOURCES');
    expect(code(() => bs.freePages(0x100000, 1))).toBe('NOT_FOUND');
    expect(code(() => bs.freePages(0xffc00000, 1))).toBe('NOT_FOUND');
    expect(code(() => bs.freePages(0x440001, 1))).toBe('INVALID_PARAMETER');
    expect(state(bs)).toEqual(before);
  });

  it('OEM and OS memory types can be allocated and keep their value', () => {
    const bs = fresh();
    const a = bs.allocatePages({ type: 'anyPages', memoryType: 0x80000001, pages: 1 });
    expect(bs.currentMap().descriptors.find((x) => x.physicalStart === a)!.type).toBe(0x80000001);
  });

  it('allocate then free restores the map bytes (merged back) under a new key', () => {
    const bs = fresh();
    const initial = bs.currentMap().toBytes();
    const key0 = bs.mapKey;
    const a = bs.allocatePages({ type: 'address', memoryType: MemoryType.LoaderData, pages: 3, address: 0x120000 });
    const key1 = bs.mapKey;
    expect(key1).not.toBe(key0);
    expect(bs.currentMap().length).toBe(smallMap().length + 2);
    bs.freePages(a, 3);
    expect(bs.mapKey).not.toBe(key1);
    expect(bs.currentMap().toBytes()).toEqual(initial);
  });

  it('firmware allocations (BootServicesData) may be freed, as EDK II allows', () => {
    const bs = fresh();
    bs.freePages(0x440000, 0x40);
    const merged = bs.currentMap().descriptors.find((x) => x.physicalStart === 0x410000)!;
    expect(merged.type).toBe(MemoryType.Conventional);
    expect(merged.numberOfPages).toBe(0x30 + 0x40 + 0x80);
  });
});

describe('BootServices: pool', () => {
  it('writes real EDK II pool heads, tails and free blocks into memory', () => {
    const bs = fresh();
    const p = bs.allocatePool(MemoryType.LoaderData, 100);
    expect(p % 8).toBe(0);
    const head = p - POOL_HEAD_SIZE;
    expect(head % PAGE).toBe(0); // first block of a fresh page
    expect(bs.memory.readU32(head)).toBe(POOL_HEAD_SIGNATURE);
    expect(bs.memory.readU32(head + 8)).toBe(MemoryType.LoaderData);
    expect(bs.memory.readU64Number(head + 16)).toBe(104 + 40);
    expect(bs.memory.readU32(head + 144 - 16)).toBe(POOL_TAIL_SIGNATURE);
    expect(bs.memory.readU32(head + 256)).toBe(POOL_FREE_SIGNATURE); // carved rest starts after the 256-byte bucket
    expect(bs.memory.readU32(head + 256 + 4)).toBe(6); // the 2688-byte bucket
    // The page shows up as LoaderData in the map.
    const desc = bs.currentMap().descriptors.find((x) => x.physicalStart <= head && head < x.physicalStart + x.numberOfPages * PAGE)!;
    expect(desc.type).toBe(MemoryType.LoaderData);
  });

  it('small blocks share a page; freeing all of them gives the page back', () => {
    const bs = fresh();
    const initial = bs.currentMap().toBytes();
    const blocks = [8, 100, 500, 1000, 16, 2000].map((n) => bs.allocatePool(MemoryType.LoaderData, n));
    const pages = new Set(blocks.map((b) => b - (b % PAGE)));
    expect(pages.size).toBeLessThan(blocks.length);
    for (const b of blocks.reverse()) bs.freePool(b);
    expect(bs.poolBlocks()).toEqual([]);
    expect(bs.currentMap().toBytes()).toEqual(initial);
  });

  it('a large block takes whole pages, data at page + 24', () => {
    const bs = fresh();
    const p = bs.allocatePool(MemoryType.LoaderData, 0x10000);
    expect(p % PAGE).toBe(POOL_HEAD_SIZE);
    expect(bs.poolBlock(p)!.span).toBe(17 * PAGE);
  });

  it('FreePool of garbage, twice, or over an overwritten head is INVALID_PARAMETER and changes nothing', () => {
    const bs = fresh();
    const p = bs.allocatePool(MemoryType.LoaderData, 64);
    const q = bs.allocatePool(MemoryType.LoaderData, 64);
    const before = state(bs);
    expect(code(() => bs.freePool(p + 8))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.freePool(0x12345))).toBe('INVALID_PARAMETER');
    bs.memory.writeU32(q - POOL_HEAD_SIZE, 0xdeadbeef);
    expect(code(() => bs.freePool(q))).toBe('INVALID_PARAMETER');
    expect(state(bs)).toEqual(before);
    bs.freePool(p);
    expect(code(() => bs.freePool(p))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.freePages(p - (p % PAGE), 1))).toBe('INVALID_PARAMETER');
  });

  it('pool exhaustion is OUT_OF_RESOURCES with nothing changed', () => {
    const bs = fresh();
    const before = state(bs);
    expect(code(() => bs.allocatePool(MemoryType.LoaderData, 0x1000000))).toBe('OUT_OF_RESOURCES');
    expect(code(() => bs.allocatePool(MemoryType.Conventional, 8))).toBe('INVALID_PARAMETER');
    expect(code(() => bs.allocatePool(MemoryType.LoaderData, -1))).toBe('INVALID_PARAMETER');
    expect(state(bs)).toEqual(before);
  });
});

describe('BootServices: ExitBootServices', () => {
  it('stale key → INVALID_PARAMETER; fresh key exits; then every call fails typed', () => {
    const bs = fresh();
    const { mapKey } = bs.getMemoryMap();
    bs.allocatePool(MemoryType.LoaderData, 32);
    expect(code(() => bs.exitBootServices(mapKey))).toBe('INVALID_PARAMETER');
    bs.exitBootServices(bs.getMemoryMap().mapKey);
    expect(bs.exited).toBe(true);
    for (const f of [
      () => bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 1 }),
      () => bs.freePages(0x400000, 1),
      () => bs.allocatePool(MemoryType.LoaderData, 8),
      () => bs.freePool(0),
      () => bs.getMemoryMap(),
      () => bs.exitBootServices(bs.mapKey),
    ]) expect(code(f)).toBe('BOOT_SERVICES_EXITED');
    expect(bs.currentMap().mapKey).toBe(bs.mapKey);
  });

  it('changeMapOnExit makes the first call fail even with a fresh key; a retry loop succeeds', () => {
    const bs = fresh({ changeMapOnExit: true });
    let attempts = 0;
    for (;;) {
      const snap = bs.getMemoryMap();
      attempts++;
      try {
        bs.exitBootServices(snap.mapKey);
        break;
      } catch (e) {
        expect((e as BootServicesError).code).toBe('INVALID_PARAMETER');
        expect(bs.getMemoryMap().mapKey).not.toBe(snap.mapKey);
      }
    }
    expect(attempts).toBe(2);
    expect(bs.exitAttemptCount).toBe(2);
    // The change the firmware made during the call is in the final map.
    expect(bs.currentMap().toBytes()).not.toEqual(smallMap().toBytes());
  });
});

describe('BootServices: model-based', () => {
  it('random page and pool operations keep the map consistent with a simple model', () => {
    type Model = { pages: Map<number, number>; pool: Set<number> };
    let totalPages = 0;
    let conventional0 = 0;

    const checkInvariants = (bs: BootServices, m: Model) => {
      const map = bs.currentMap();
      expect(map.validate().ok).toBe(true);
      expect(map.descriptors.reduce((s, x) => s + x.numberOfPages, 0)).toBe(totalPages);
      // No two adjacent descriptors of equal type and attribute stay unmerged.
      const sorted = [...map.descriptors].sort((a, b) => a.physicalStart - b.physicalStart);
      let unmerged = 0;
      for (let i = 1; i < sorted.length; i++) {
        const a = sorted[i - 1];
        const b = sorted[i];
        if (a.physicalStart + a.numberOfPages * PAGE === b.physicalStart && a.type === b.type && a.attribute === b.attribute) unmerged++;
      }
      expect(unmerged).toBe(0);
      // Every page range the model owns is LoaderData in the map.
      let owned = 0;
      for (const [start, n] of m.pages) {
        owned += n;
        const desc = map.descriptors.find((x) => x.physicalStart <= start && start + n * PAGE <= x.physicalStart + x.numberOfPages * PAGE);
        expect(desc?.type).toBe(MemoryType.LoaderData);
      }
      const blocks = bs.poolBlocks();
      const poolPages = new Set(blocks.flatMap((b) => Array.from({ length: Math.ceil((b.head % PAGE + b.span) / PAGE) }, (_, k) => b.head - (b.head % PAGE) + k * PAGE)));
      const conventional = map.descriptors.filter((x) => x.type === MemoryType.Conventional).reduce((s, x) => s + x.numberOfPages, 0);
      expect(conventional + owned + poolPages.size).toBeLessThanOrEqual(conventional0);
      // Pool blocks never overlap each other or owned pages.
      const spans = blocks.map((b) => [b.head, b.head + b.span] as const);
      let disjoint = true;
      for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1]) disjoint = false;
      for (const [start, n] of m.pages) for (const [a, b] of spans) if (!(a >= start + n * PAGE || b <= start)) disjoint = false;
      expect(disjoint).toBe(true);
      expect(new Set(blocks.map((b) => b.address))).toEqual(m.pool);
    };

    class AllocAny implements fc.Command<Model, BootServices> {
      constructor(readonly pages: number, readonly max: number | null) {}
      check = () => true;
      run(m: Model, bs: BootServices) {
        const key = bs.mapKey;
        try {
          const a = bs.allocatePages(this.max === null ? { type: 'anyPages', memoryType: MemoryType.LoaderData, pages: this.pages } : { type: 'maxAddress', memoryType: MemoryType.LoaderData, pages: this.pages, address: this.max });
          if (this.max !== null) expect(a + this.pages * PAGE - 1).toBeLessThanOrEqual(this.max);
          expect(bs.mapKey).not.toBe(key);
          m.pages.set(a, this.pages);
        } catch (e) {
          expect((e as BootServicesError).code).toBe('OUT_OF_RESOURCES');
          expect(bs.mapKey).toBe(key);
        }
        checkInvariants(bs, m);
      }
      toString = () => `alloc(${this.pages}, ${this.max})`;
    }
    class AllocAt implements fc.Command<Model, BootServices> {
      constructor(readonly page: number, readonly pages: number) {}
      check = () => true;
      run(m: Model, bs: BootServices) {
        const address = this.page * PAGE;
        const free = bs.currentMap().descriptors.some((x) => x.type === MemoryType.Conventional && x.physicalStart <= address && address + this.pages * PAGE <= x.physicalStart + x.numberOfPages * PAGE);
        const result = code(() => m.pages.set(bs.allocatePages({ type: 'address', memoryType: MemoryType.LoaderData, pages: this.pages, address }), this.pages));
        expect(result).toBe(free ? 'ok' : 'NOT_FOUND');
        checkInvariants(bs, m);
      }
      toString = () => `allocAt(${this.page}, ${this.pages})`;
    }
    class FreePages implements fc.Command<Model, BootServices> {
      constructor(readonly pick: number) {}
      check = (m: Readonly<Model>) => m.pages.size > 0;
      run(m: Model, bs: BootServices) {
        const [start, n] = [...m.pages][this.pick % m.pages.size];
        bs.freePages(start, n);
        m.pages.delete(start);
        checkInvariants(bs, m);
      }
      toString = () => `freePages(#${this.pick})`;
    }
    class Pool implements fc.Command<Model, BootServices> {
      constructor(readonly size: number) {}
      check = () => true;
      run(m: Model, bs: BootServices) {
        try {
          const p = bs.allocatePool(MemoryType.LoaderData, this.size);
          expect(p % 8).toBe(0);
          m.pool.add(p);
        } catch (e) {
          expect((e as BootServicesError).code).toBe('OUT_OF_RESOURCES');
        }
        checkInvariants(bs, m);
      }
      toString = () => `pool(${this.size})`;
    }
    class FreePool implements fc.Command<Model, BootServices> {
      constructor(readonly pick: number) {}
      check = (m: Readonly<Model>) => m.pool.size > 0;
      run(m: Model, bs: BootServices) {
        const p = [...m.pool][this.pick % m.pool.size];
        bs.freePool(p);
        m.pool.delete(p);
        checkInvariants(bs, m);
      }
      toString = () => `freePool(#${this.pick})`;
    }
    const commands = [
      fc.tuple(fc.integer({ min: 1, max: 64 }), fc.option(fc.integer({ min: 0, max: 0x500000 }))).map(([n, max]) => new AllocAny(n, max)),
      fc.tuple(fc.integer({ min: 0, max: 0x4ff }), fc.integer({ min: 1, max: 8 })).map(([p, n]) => new AllocAt(p, n)),
      fc.nat().map((i) => new FreePages(i)),
      fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 40000 })).map((n) => new Pool(n)),
      fc.nat().map((i) => new FreePool(i)),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { size: '+1' }), fc.boolean(), (cmds, real) => {
        const map = real ? bundledOvmfMap() : smallMap();
        totalPages = map.descriptors.reduce((s, x) => s + x.numberOfPages, 0);
        conventional0 = map.descriptors.filter((x) => x.type === MemoryType.Conventional).reduce((s, x) => s + x.numberOfPages, 0);
        const bs = fresh({}, map);
        const initial = bs.currentMap().toBytes();
        const m: Model = { pages: new Map(), pool: new Set() };
        fc.modelRun(() => ({ model: m, real: bs }), cmds);
        // Freeing everything gives the original map back.
        for (const p of [...m.pool]) bs.freePool(p);
        for (const [s, n] of m.pages) bs.freePages(s, n);
        expect(bs.currentMap().toBytes()).toEqual(initial);
      }),
      { numRuns: runs },
    );
  });
});

describe('BootServices: construction', () => {
  it('accepts an options object with the map (memory made for it)', () => {
    const bs = new BootServices({ map: smallMap(), defaultMaximumAddress: null });
    expect(bs.defaultMaximumAddress).toBeNull();
    const snap = bs.getMemoryMap();
    expect(snap.version).toBe(1);
    expect(snap.descriptorSize).toBe(48);
    expect(snap.buffer.length).toBe(smallMap().length * 48);
    expect(bs.allocatePool(MemoryType.LoaderData, 8) % 8).toBe(0);
  });

  it('rejects a map with overlapping descriptors and bad options', () => {
    const overlapping = new MemoryMap([d(MemoryType.Conventional, 0x100000, 16), d(MemoryType.LoaderData, 0x108000, 16)]);
    expect(code(() => new BootServices(BootServices.memoryForMap(smallMap()), overlapping))).toBe('INVALID_PARAMETER');
    expect(code(() => fresh({ defaultMaximumAddress: 0x1234 }))).toBe('INVALID_PARAMETER');
    expect(code(() => fresh({ descriptorSize: 44 }))).toBe('INVALID_PARAMETER');
    expect(code(() => fresh({ changeMapOnExit: -1 }))).toBe('INVALID_PARAMETER');
  });

  it('a custom descriptor size changes the stride of the buffer', () => {
    const snap = fresh({ descriptorSize: 56 }).getMemoryMap();
    expect(snap.mapSize).toBe(smallMap().length * 56);
  });
});
