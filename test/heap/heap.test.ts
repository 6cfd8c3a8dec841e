/**
 * LinkedListHeap unit tests: init/extend edge cases from the spec, the crate's placement rules
 * on hand-built cases, bad input (typed errors, nothing changed), strict mode, check() on
 * corrupted memory, inspect() of a memory image.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HeapCorruptionError, HeapRegionError, HeapUsageError, Layout, LayoutError, LinkedListHeap, PhysicalMemory, RUST_HEAP_FIRST_HOLE_OFFSET } from '../../src/index.js';

const BASE = 0x1000_0000_0000;
const L = (size: number, align = 8) => Layout.fromSizeAlign(size, align);

function setup(size: number, opts: { offset?: number; room?: number; mode?: 'list' | 'indexed'; strict?: boolean } = {}) {
  const memory = new PhysicalMemory({ shared: false });
  memory.addRegion(BASE, (opts.offset ?? 0) + size + (opts.room ?? 0) + 16);
  const heap = LinkedListHeap.init(memory, BASE + (opts.offset ?? 0), size, { mode: opts.mode ?? 'list', strict: opts.strict ?? false });
  return { memory, heap };
}

const hash = (m: PhysicalMemory, len: number) => createHash('sha256').update(m.read(BASE, len)).digest('hex');
const snapshot = (heap: LinkedListHeap, m: PhysicalMemory, len: number) => ({ hash: hash(m, len), used: heap.used, free: heap.free, top: heap.top, pending: heap.pending, first: heap.firstHole, stats: heap.stats() });

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return `${(e as Error).constructor.name}:${(e as { code?: string }).code}`;
  }
  return 'no error';
}

for (const mode of ['list', 'indexed'] as const) {
  describe(`LinkedListHeap (${mode})`, () => {
    it('init aligns the bottom up, the size down and keeps the rest pending', () => {
      const { heap, memory } = setup(21, { offset: 3, mode });
      // bottom +3 -> +8 (shift 5), req 16, usable 16, pending 0
      expect([heap.bottom, heap.size, heap.pending, heap.top]).toEqual([BASE + 8, 16, 0, BASE + 24]);
      expect(memory.readU64Number(BASE + 8)).toBe(16);
      expect(memory.readU64Number(BASE + 16)).toBe(0);
      const h2 = setup(4096 + 7, { offset: 1, mode }).heap; // shift 7, req 4096
      expect([h2.bottom - BASE, h2.size, h2.pending]).toEqual([8, 4096, 0]);
      const h3 = setup(100, { offset: 0, mode }).heap;
      expect([h3.size, h3.pending, h3.top - BASE]).toEqual([96, 4, 100]);
    });

    it('init with too few usable bytes is HEAP_TOO_SMALL (the crate panics)', () => {
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(BASE, 64);
      expect(code(() => LinkedListHeap.init(memory, BASE, 15, { mode }))).toBe('HeapRegionError:HEAP_TOO_SMALL');
      expect(code(() => LinkedListHeap.init(memory, BASE + 3, 20, { mode }))).toBe('HeapRegionError:HEAP_TOO_SMALL'); // 15 left
      expect(code(() => LinkedListHeap.init(memory, BASE + 1, 22, { mode }))).toBe('HeapRegionError:HEAP_TOO_SMALL'); // 15 left
      expect(code(() => LinkedListHeap.init(memory, BASE + 40, 32, { mode }))).toBe('HeapRegionError:HEAP_UNBACKED');
      expect(code(() => LinkedListHeap.init(memory, 0, 4096, { mode }))).toBe('HeapRegionError:HEAP_NULL_BOTTOM');
      expect(code(() => LinkedListHeap.init(memory, 2 ** 52 - 8, 64, { mode }))).toBe('HeapRegionError:HEAP_OUT_OF_RANGE');
      expect(code(() => LinkedListHeap.init(memory, BASE, 1.5, { mode }))).toBe('HeapUsageError:HEAP_BAD_ARGUMENT');
      expect(code(() => LinkedListHeap.init({} as PhysicalMemory, BASE, 64))).toBe('HeapUsageError:HEAP_BAD_ARGUMENT');
      expect(code(() => LinkedListHeap.init(memory, BASE, 64, { mode: 'fast' as 'list' }))).toBe('HeapUsageError:HEAP_BAD_OPTIONS');
      expect(code(() => LinkedListHeap.init(memory, BASE, 64, { strict: 1 as unknown as boolean }))).toBe('HeapUsageError:HEAP_BAD_OPTIONS');
      // nothing was written by the failed inits
      expect([...memory.read(BASE, 64)].every((b) => b === 0)).toBe(true);
      expect(LinkedListHeap.init(memory, BASE + 1, 23, { mode }).size).toBe(16);
    });

    it('size 0 takes 16 bytes; sizes round up to 8; padding is never counted in used', () => {
      const { heap } = setup(4096, { mode });
      expect(heap.allocateFirstFit(L(0, 1))).toBe(BASE);
      expect(heap.allocateFirstFit(L(17, 1))).toBe(BASE + 16);
      expect(heap.used).toBe(16 + 24);
      // front padding: hole at +40 is not 64-aligned -> first multiple of 64 >= +56 is +64
      expect(heap.allocateFirstFit(L(8, 64))).toBe(BASE + 64);
      expect(heap.used).toBe(56);
      expect(heap.holes().map((h) => [h.address - BASE, h.size])).toEqual([[40, 24], [80, 4096 - 80]]);
      heap.check();
    });

    it('front padding needs room for a node: an 8-byte gap moves the block one align further', () => {
      const { heap } = setup(4096, { mode });
      heap.allocateFirstFit(L(56)); // hole now starts at +56, 8 below +64
      expect(heap.allocateFirstFit(L(16, 64))).toBe(BASE + 128);
      expect(heap.holes().map((h) => [h.address - BASE, h.size])).toEqual([[56, 72], [144, 4096 - 144]]);
    });

    it('a hole that would leave an 8-byte back remainder is skipped', () => {
      const { heap } = setup(4096, { mode });
      const a = heap.allocateFirstFit(L(16))!;
      const b = heap.allocateFirstFit(L(32))!;
      heap.allocateFirstFit(L(16)); // keeps b's hole apart from the tail
      heap.deallocate(b, L(32)); // hole of 32 at +16
      heap.deallocate(a, L(16)); // merges: hole of 48 at +0
      expect(heap.holes()[0]).toMatchObject({ address: BASE, size: 48 });
      expect(heap.allocateFirstFit(L(40))).toBe(BASE + 64); // 48 - 40 = 8: skipped
      expect(heap.allocateFirstFit(L(32))).toBe(BASE); // 48 - 32 = 16: fits
      heap.check();
    });

    it('returns null (nothing changed) when nothing fits, also for huge aligns', () => {
      const { heap, memory } = setup(256, { mode });
      const before = snapshot(heap, memory, 256 + 16);
      expect(heap.allocateFirstFit(L(257))).toBeNull();
      expect(heap.allocateFirstFit(L(16, 2 ** 51))).toBeNull();
      expect(snapshot(heap, memory, 256 + 16)).toEqual(before);
      // a hole start that is itself a multiple of a huge align takes it with no padding
      expect(heap.allocateFirstFit(L(16, 2 ** 44))).toBe(BASE);
    });

    it('extend: under 16 bytes stays pending; the rest goes through the free path without used', () => {
      const { heap } = setup(64, { mode, room: 256 });
      const p = heap.allocateFirstFit(L(64))!;
      expect(heap.firstHole).toBeNull();
      heap.extend(7);
      expect([heap.size, heap.pending, heap.top - BASE, heap.firstHole]).toEqual([64, 7, 71, null]);
      heap.extend(8); // 15 pending
      expect([heap.size, heap.pending]).toEqual([64, 15]);
      heap.extend(2); // 17 -> 16 usable, 1 pending
      expect([heap.size, heap.pending, heap.used, heap.firstHole]).toEqual([80, 1, 64, BASE + 64]);
      heap.extend(0);
      expect(heap.pending).toBe(1);
      heap.deallocate(p, L(64)); // merges with the extension
      expect(heap.holes().map((h) => [h.address - BASE, h.size])).toEqual([[0, 80]]);
      heap.extend(31); // 32: merges into the last hole
      expect(heap.holes().map((h) => [h.address - BASE, h.size])).toEqual([[0, 112]]);
      expect([heap.used, heap.free, heap.pending]).toEqual([0, 112, 0]);
      heap.check();
    });

    it('extend of unbacked memory or bad amounts is a typed error with nothing changed', () => {
      const { heap, memory } = setup(64, { mode, room: 0 }); // 16 spare bytes in the region
      const before = snapshot(heap, memory, 80);
      expect(code(() => heap.extend(64))).toBe('HeapRegionError:HEAP_UNBACKED');
      expect(code(() => heap.extend(-1))).toBe('HeapUsageError:HEAP_BAD_ARGUMENT');
      expect(code(() => heap.extend(0.5))).toBe('HeapUsageError:HEAP_BAD_ARGUMENT');
      expect(snapshot(heap, memory, 80)).toEqual(before);
      heap.extend(16);
      expect(heap.size).toBe(80);
    });

    it('deallocate merges with the previous hole, the next hole, or both, leaving stale headers', () => {
      const { heap, memory } = setup(4096, { mode });
      const [a, b, c, d] = [0, 1, 2, 3].map(() => heap.allocateFirstFit(L(32))!);
      heap.deallocate(a, L(32)); // before the head (the tail hole): no merge
      heap.deallocate(c, L(32)); // between a and the tail; touches neither... d is live
      expect(heap.holes().map((h) => [h.address - BASE, h.size])).toEqual([[0, 32], [64, 32], [128, 4096 - 128]]);
      heap.deallocate(b, L(32)); // merges a+b+c
      expect(heap.holes().map((h) => [h.address - BASE, h.size])).toEqual([[0, 96], [128, 4096 - 128]]);
      // b's header {32, 0} and c's absorbed header {32, 0} stay in memory
      expect([memory.readU64Number(b), memory.readU64Number(b + 8)]).toEqual([32, 0]);
      expect([memory.readU64Number(c), memory.readU64Number(c + 8)]).toEqual([32, 0]);
      heap.deallocate(d, L(32));
      expect(heap.holes().map((h) => [h.address - BASE, h.size])).toEqual([[0, 4096]]);
      expect(heap.used).toBe(0);
      heap.check();
    });

    it('invalid layouts are typed errors', () => {
      const { heap } = setup(256, { mode });
      expect(code(() => heap.allocateFirstFit(null as unknown as Layout))).toBe('HeapUsageError:HEAP_BAD_LAYOUT');
      expect(code(() => heap.allocateFirstFit(16 as unknown as Layout))).toBe('HeapUsageError:HEAP_BAD_LAYOUT');
      expect(code(() => heap.allocateFirstFit({ size: 16, align: 3 } as unknown as Layout))).toBe('LayoutError:LAYOUT_BAD_ALIGN');
      expect(code(() => heap.allocateFirstFit({ size: -1, align: 8 } as unknown as Layout))).toBe('LayoutError:LAYOUT_BAD_SIZE');
      expect(heap.allocateFirstFit({ size: 16, align: 8 } as unknown as Layout)).toBe(BASE);
      expect(() => Layout.fromSizeAlign(8, 12)).toThrow(LayoutError);
      expect(heap.used).toBe(16);
    });

    it('bad frees (non-strict) that the crate would corrupt itself on are rejected, nothing changed', () => {
      const { heap, memory } = setup(1024, { mode });
      const a = heap.allocateFirstFit(L(64))!;
      heap.allocateFirstFit(L(64));
      const c = heap.allocateFirstFit(L(64))!;
      heap.deallocate(c, L(64));
      const before = snapshot(heap, memory, 1040);
      expect(code(() => heap.deallocate(c, L(64)))).toBe('HeapUsageError:HEAP_FREE_OVERLAPS_HOLE');
      expect(code(() => heap.deallocate(c + 8, L(16)))).toBe('HeapUsageError:HEAP_FREE_OVERLAPS_HOLE');
      expect(code(() => heap.deallocate(a + 3, L(16)))).toBe('HeapUsageError:HEAP_BAD_ADDRESS');
      expect(code(() => heap.deallocate(Number.NaN, L(16)))).toBe('HeapUsageError:HEAP_BAD_ADDRESS');
      expect(code(() => heap.deallocate(BASE - 64, L(16)))).toBe('HeapUsageError:HEAP_FREE_OUT_OF_BOUNDS');
      expect(code(() => heap.deallocate(BASE + 1024 - 8, L(16)))).toBe('HeapUsageError:HEAP_FREE_OUT_OF_BOUNDS');
      expect(code(() => heap.deallocate(a, L(200)))).toBe('HeapUsageError:HEAP_USED_UNDERFLOW');
      expect(code(() => heap.deallocate(a, 'x' as unknown as Layout))).toBe('HeapUsageError:HEAP_BAD_LAYOUT');
      expect(snapshot(heap, memory, 1040)).toEqual(before);
      heap.check();
    });

    it('strict mode: double free, foreign pointer, wrong layout are typed errors with nothing changed', () => {
      const { heap, memory } = setup(1024, { mode, strict: true });
      const a = heap.allocateFirstFit(L(40))!;
      const b = heap.allocateFirstFit(L(24, 16))!;
      heap.allocateFirstFit(L(16));
      heap.deallocate(a, L(40));
      const before = snapshot(heap, memory, 1040);
      expect(code(() => heap.deallocate(a, L(40)))).toBe('HeapUsageError:HEAP_DOUBLE_FREE');
      expect(code(() => heap.deallocate(b + 8, L(16)))).toBe('HeapUsageError:HEAP_FOREIGN_POINTER');
      expect(code(() => heap.deallocate(BASE + 4096, L(16)))).toBe('HeapUsageError:HEAP_FOREIGN_POINTER');
      expect(code(() => heap.deallocate(b, L(24, 8)))).toBe('HeapUsageError:HEAP_LAYOUT_MISMATCH');
      expect(code(() => heap.deallocate(b, L(20, 16)))).toBe('HeapUsageError:HEAP_LAYOUT_MISMATCH');
      expect(snapshot(heap, memory, 1040)).toEqual(before);
      heap.deallocate(b, L(24, 16));
      heap.check();
      expect(heap.strict).toBe(true);
    });

    it('check() reports the first violation precisely', () => {
      const cases: [string, (m: PhysicalMemory, h: LinkedListHeap, holes: number[]) => void][] = [
        ['HEAP_CORRUPT_HOLE_SIZE', (m, _h, hs) => m.writeU64Number(hs[0], 12)],
        ['HEAP_CORRUPT_UNSORTED', (m, _h, hs) => m.writeU64Number(hs[1] + 8, hs[0])],
        ['HEAP_CORRUPT_HOLE_BOUNDS', (m, _h, hs) => m.writeU64Number(hs[1] + 8, BASE + 8192)],
        ['HEAP_CORRUPT_HOLE_ALIGN', (m, _h, hs) => m.writeU64Number(hs[0] + 8, hs[1] + 4)],
        ['HEAP_CORRUPT_OVERLAP', (m, _h, hs) => m.writeU64Number(hs[0], hs[1] - hs[0] + 16)],
        ['HEAP_CORRUPT_UNMERGED', (m, _h, hs) => m.writeU64Number(hs[0], hs[1] - hs[0])],
        ['HEAP_CORRUPT_ACCOUNTING', (m, _h, hs) => m.writeU64Number(hs[0], m.readU64Number(hs[0]) - 16)],
        // a valid list with the same free bytes, changed behind the heap's back: the index
        // ('indexed') or the mirror the walks run on ('list') no longer matches it
        ['HEAP_CORRUPT_INDEX', (m, _h, hs) => {
          const tail = m.readU64Number(hs[1]);
          m.writeU64Number(hs[0], m.readU64Number(hs[0]) + 16);
          m.writeU64Number(hs[0] + 8, hs[1] + 16);
          m.writeU64Number(hs[1] + 16, tail - 16);
          m.writeU64Number(hs[1] + 24, 0);
        }],
      ];
      for (const [want, corrupt] of cases) {
        const { heap, memory } = setup(4096, { mode });
        const blocks = [0, 1, 2, 3].map(() => heap.allocateFirstFit(L(64))!);
        heap.deallocate(blocks[1], L(64));
        heap.check();
        corrupt(memory, heap, heap.holes().map((h) => h.address));
        let err: unknown;
        try {
          heap.check();
        } catch (e) {
          err = e;
        }
        expect(err, want).toBeInstanceOf(HeapCorruptionError);
        expect((err as HeapCorruptionError).code, want).toBe(want);
      }
    });

    it('inspect() walks a heap in a memory image read-only, with the same stats', () => {
      const { heap, memory } = setup(4096, { mode });
      const blocks = [0, 1, 2, 3, 4].map((i) => heap.allocateFirstFit(L(24 * (i + 1)))!);
      heap.deallocate(blocks[1], L(48));
      heap.deallocate(blocks[3], L(96));
      const image = PhysicalMemory.fromImage(memory.read(BASE, 4096 + 16).slice(), BASE);
      const found = LinkedListHeap.inspect(image, { bottom: heap.bottom, top: heap.top, firstHole: heap.firstHole });
      expect(found.ok).toBe(true);
      expect(found.violation).toBeNull();
      expect(found.holes).toEqual(heap.holes());
      expect(found.stats).toEqual(heap.stats());
      expect(found.stats.holes).toBe(3);
      expect(found.stats.largestHole).toBe(4096 - 24 * 15);
      expect(found.stats.fragmentation).toBeCloseTo(1 - found.stats.largestHole / heap.free, 12);
      const bytes = image.read(BASE, 4096);
      image.writeU64Number(found.holes[1].address + 8, found.holes[0].address); // a cycle
      const bad = LinkedListHeap.inspect(image, { bottom: heap.bottom, top: heap.top, firstHole: heap.firstHole });
      expect(bad.ok).toBe(false);
      expect(bad.violation).toMatchObject({ code: 'HEAP_CORRUPT_UNSORTED', details: { index: 2 } });
      expect(bad.holes.length).toBe(2);
      image.writeU64Number(found.holes[1].address + 8, found.holes[2].address);
      expect(Buffer.compare(image.read(BASE, 4096), bytes)).toBe(0);
      expect(LinkedListHeap.inspect(image, { bottom: heap.bottom, top: heap.top, firstHole: null }).holes).toEqual([]);
      const unread = LinkedListHeap.inspect(image, { bottom: BASE, top: BASE + 2 ** 20, firstHole: BASE + 8192 });
      expect(unread.violation?.code).toBe('HEAP_CORRUPT_UNREADABLE');
      expect(code(() => LinkedListHeap.inspect(image, { bottom: BASE, top: BASE - 8, firstHole: null }))).toBe('HeapUsageError:HEAP_BAD_ARGUMENT');
    });
  });
}

describe('LinkedListHeap misc', () => {
  it('the exported error classes are MemprimsErrors', async () => {
    const { MemprimsError } = await import('../../src/index.js');
    for (const C of [HeapCorruptionError, HeapRegionError, HeapUsageError]) expect(new C('X', 'x')).toBeInstanceOf(MemprimsError);
  });

  it('works on lazily backed memory (no raw window) exactly like on a buffer', () => {
    const big = new PhysicalMemory({ shared: false });
    big.addRegion(BASE, 2 ** 33); // lazily backed: chunks, no single buffer
    const small = new PhysicalMemory({ shared: false });
    small.addRegion(BASE, 0x30000);
    const h1 = LinkedListHeap.init(big, BASE + 0xfff8, 0x20000);
    const h2 = LinkedListHeap.init(small, BASE + 0xfff8, 0x20000, { mode: 'indexed' });
    const live: [number, Layout][] = [];
    let x = 7;
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      if (x % 3 !== 0 || live.length === 0) {
        const l = L(x % 3000, 1 << (x % 9));
        const a = h1.allocateFirstFit(l);
        expect(h2.allocateFirstFit(l)).toBe(a);
        if (a !== null) live.push([a, l]);
      } else {
        const [a, l] = live.splice(x % live.length, 1)[0];
        h1.deallocate(a, l);
        h2.deallocate(a, l);
      }
    }
    h1.check();
    h2.check();
    expect(Buffer.compare(big.read(BASE, 0x30000), small.read(BASE, 0x30000))).toBe(0);
  });

  it('a heap that straddles a 4 GiB boundary writes the same pointers through the raw window and the accessors', () => {
    const base = 2 ** 32 - 0x8000; // next pointers cross from high word 0 to high word 1
    const fast = new PhysicalMemory({ shared: false });
    fast.addRegion(base, 0x10000);
    const slow = new PhysicalMemory({ shared: false });
    slow.addRegion(0, 2 ** 34); // lazily backed: the accessor path
    const fastIndexed = new PhysicalMemory({ shared: false });
    fastIndexed.addRegion(base, 0x10000);
    const slowList = new PhysicalMemory({ shared: false });
    slowList.addRegion(0, 2 ** 34);
    const heaps = [
      LinkedListHeap.init(fast, base, 0x10000),
      LinkedListHeap.init(slow, base, 0x10000, { mode: 'indexed' }),
      LinkedListHeap.init(fastIndexed, base, 0x10000, { mode: 'indexed' }),
      LinkedListHeap.init(slowList, base, 0x10000),
    ];
    const live: [number, Layout][] = [];
    for (let i = 0; i < 600; i++) {
      if (i % 3 === 2 && live.length > 0) {
        const [a, l] = live.splice((i * 7) % live.length, 1)[0];
        for (const h of heaps) h.deallocate(a, l);
      } else {
        const l = L(16 + ((i * 37) % 300), 1 << (i % 7));
        const [a, ...others] = heaps.map((h) => h.allocateFirstFit(l));
        for (const b of others) expect(b).toBe(a);
        if (a !== null) live.push([a, l]);
      }
    }
    expect(heaps[0].holes().some((h) => h.address >= 2 ** 32)).toBe(true);
    expect(heaps[0].holes().some((h) => h.address < 2 ** 32)).toBe(true);
    for (const h of heaps) h.check();
    for (const other of [slow, fastIndexed, slowList]) expect(Buffer.compare(fast.read(base, 0x10000), other.read(base, 0x10000))).toBe(0);
  });

  it('inspect() finds the list from a Rust Heap struct image (first hole at offset 16)', () => {
    const { heap, memory } = setup(4096);
    heap.allocateFirstFit(L(100));
    const struct = new PhysicalMemory({ shared: false });
    struct.addRegion(0x1000, 48);
    // a 48-byte Heap struct as the oracle driver found it: the first hole's address at +16
    struct.writeU64Number(0x1000 + RUST_HEAP_FIRST_HOLE_OFFSET, heap.firstHole!);
    const firstHole = struct.readU64Number(0x1000 + RUST_HEAP_FIRST_HOLE_OFFSET);
    const found = LinkedListHeap.inspect(memory, { bottom: heap.bottom, top: heap.top, firstHole });
    expect(found.holes).toEqual([{ address: BASE + 104, size: 4096 - 104, next: null }]);
    expect(found.stats.used).toBe(104);
  });
});
