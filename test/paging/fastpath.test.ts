/**
 * The builder's per-call fast paths (single 4 KiB map / unmap through the cached page table,
 * translate's walk over the region words) against its general paths: random sequences of
 * page-by-page calls on one builder and the same calls sent the long way on a twin builder
 * (`mapAll`, a bigint size for `unmap`) must leave identical table bytes, frames and
 * translations; the reader agrees with translate; errors from the fast path are the typed
 * errors of the general path and change nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressError, PageTableBuilder, PagingError, PhysicalMemory, readPageTables } from '../../src/index.js';
import { BumpFrames, ListFrames } from './helpers.js';

const runs = Number(process.env.FC_RUNS ?? 30);
const BASE = 0xffff800000000000n;
const MEM = 64 * 1024;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const flagSets = [Object.freeze({ writable: true }), Object.freeze({ user: true, noExecute: true }), {}];

function twin(levels: 4 | 5) {
  const make = () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, MEM);
    const frames = new ListFrames(0x1000, MEM);
    return { memory, frames, pt: new PageTableBuilder({ memory, frames, levels }) };
  };
  return [make(), make()] as const;
}

const opArb = fc.oneof(
  fc.record({ op: fc.constant('map' as const), page: fc.integer({ min: 0, max: 2047 }), phys: fc.integer({ min: 0, max: 1 << 20 }), flags: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ op: fc.constant('unmap' as const), page: fc.integer({ min: 0, max: 2047 }), keep: fc.boolean() }),
  fc.record({
    op: fc.constant('huge' as const),
    unit: fc.integer({ min: 0, max: 3 }),
    gib: fc.boolean(),
    phys: fc.constantFrom(0x40000000, 0x80000000, 0x40001000, 0x40200000, 2 ** 51, 0x40000800, 0x80000fff),
    flags: fc.integer({ min: 0, max: 5 }),
    auto: fc.boolean(),
  }),
  fc.record({ op: fc.constant('clear' as const), unit: fc.integer({ min: 0, max: 3 }), keep: fc.boolean() }),
);

describe('single-page fast paths', () => {
  for (const levels of [4, 5] as const) {
    it(`equal the general paths on random page-by-page sequences (${levels}-level)`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), (ops) => {
          const [fast, slow] = twin(levels);
          for (const o of ops) {
            const outcome = (b: typeof fast, general: boolean): string => {
              try {
                if (o.op === 'map') {
                  const req = { virt: BASE + BigInt(o.page * 4096), phys: o.phys * 4096, size: 4096, flags: o.flags === 3 ? { writable: true, global: true } : flagSets[o.flags] };
                  if (general) b.pt.mapAll([req]);
                  else b.pt.map(req);
                } else if (o.op === 'unmap') {
                  return String(b.pt.unmap(BASE + BigInt(o.page * 4096), general ? 4096n : 4096, { freeTables: !o.keep }));
                } else if (o.op === 'huge') {
                  // one 2 MiB or 1 GiB leaf per call (the fast path when its table exists)
                  const size = (o.gib ? 0x40000000 : 0x200000) as 0x200000 | 0x40000000;
                  const flags = o.flags === 5 ? ({ bogus: true } as never) : o.flags === 4 ? { pat: true, user: true, noExecute: true, dirty: true } : o.flags === 3 ? { writable: true, global: true } : flagSets[o.flags];
                  const req = { virt: BASE + BigInt(o.unit) * BigInt(size), phys: o.phys, size, flags, pageSize: o.auto ? ('auto' as const) : size };
                  if (general) b.pt.mapAll([req]);
                  else b.pt.map(req);
                } else {
                  return String(b.pt.unmap(BASE + BigInt(o.unit) * 0x200000n, 0x200000, { freeTables: !o.keep }));
                }
                return 'ok';
              } catch (e) {
                if (!(e instanceof PagingError)) throw e;
                return e.code;
              }
            };
            expect(outcome(fast, false)).toBe(outcome(slow, true));
            expect([...fast.frames.inUse].join()).toBe([...slow.frames.inUse].join());
          }
          expect(same(fast.memory.read(0, MEM), slow.memory.read(0, MEM))).toBe(true);
          const reader = readPageTables(fast.memory, { root: fast.pt.root, levels });
          for (let page = 0; page < 2048; page += 7) {
            const virt = BASE + BigInt(page * 4096 + 123);
            const t = fast.pt.translate(virt);
            expect(t).toEqual(reader.translate(virt));
            expect(fast.pt.translateAddr(virt)).toBe(t === null ? null : t.phys);
          }
        }),
        { numRuns: runs },
      );
    });
  }

  it('a single-page map onto a mapped page is PAGING_OVERLAP and changes nothing', () => {
    const [{ memory, pt }] = twin(4);
    pt.map({ virt: BASE, phys: 0x5000, size: 4096, flags: flagSets[0] });
    pt.map({ virt: BASE + 0x1000n, phys: 0x6000, size: 4096, flags: flagSets[0] });
    const before = memory.read(0, MEM);
    expect(() => pt.map({ virt: BASE + 0x1000n, phys: 0x7000, size: 4096, flags: flagSets[0] })).toThrow(expect.objectContaining({ code: 'PAGING_OVERLAP' }));
    expect(() => pt.map({ virt: BASE + 0x2000n, phys: 0x7000, size: 4096, flags: { writable: 1 } as never })).toThrow(expect.objectContaining({ code: 'PAGING_BAD_FLAGS' }));
    expect(() => pt.map({ virt: BASE + 0x2001n, phys: 0x7000, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_MISALIGNED' }));
    expect(() => pt.map({ virt: BASE + 0x2000n, phys: 0x7001, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_MISALIGNED' }));
    expect(() => pt.map({ virt: BASE + 0x2000n, phys: 2 ** 52, size: 4096 })).toThrow(MemprimsErrorLike);
    expect(() => pt.map({ virt: 0x0000800000000000n, phys: 0x7000, size: 4096 })).toThrow(AddressError);
    expect(() => pt.map({ virt: -4096n, phys: 0x7000, size: 4096 })).toThrow(AddressError);
    expect(same(memory.read(0, MEM), before)).toBe(true);
  });

  it('a single-page map that needs a new page table fails as the general path does, changing nothing', () => {
    // page by page over 2 MiB boundaries: each new page table comes from the fast path
    const [{ memory, frames, pt }] = twin(4);
    for (let page = 0; page < 600; page++) pt.map({ virt: BASE + BigInt(page * 4096), phys: page * 4096, size: 4096, flags: flagSets[0] });
    expect(frames.inUse.size).toBe(5); // root, PDPT, PD and two page tables
    expect(pt.translateAddr(BASE + 0x200123n)).toBe(0x200123);
    const next = BASE + 0x400000n; // the third page table
    const before = memory.read(0, MEM);
    const inUse = [...frames.inUse].join();
    frames.failAfter = frames.calls; // out of frames
    expect(() => pt.map({ virt: next, phys: 0x1000, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_OUT_OF_FRAMES' }));
    expect(same(memory.read(0, MEM), before)).toBe(true);
    expect([...frames.inUse].join()).toBe(inUse);
    frames.failAfter = Infinity;
    const bad = { allocate: () => 0x7fff000, free: () => {} }; // not backed by memory
    const other = new PageTableBuilder({ memory, frames: { allocate: (n: number) => frames.allocate(n), free: (a: number, n: number) => frames.free(a, n) }, levels: 4 });
    other.map({ virt: BASE, phys: 0, size: 4096 });
    const twinBefore = memory.read(0, MEM);
    const otherInUse = [...frames.inUse].join();
    Object.assign(other.frames, bad);
    expect(() => other.map({ virt: BASE + 0x200000n, phys: 0, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_BAD_FRAME' }));
    expect(() => other.map({ virt: BASE + 0x200000n, phys: 0, size: 4096, flags: { bogus: true } as never })).toThrow(expect.objectContaining({ code: 'PAGING_BAD_FLAGS' }));
    expect(same(memory.read(0, MEM), twinBefore)).toBe(true);
    expect([...frames.inUse].join()).toBe(otherInUse);
    expect(inUse.split(',').length).toBe(5);
    // the first builder is unchanged by all of this and goes on mapping
    pt.map({ virt: next, phys: 0x1000, size: 4096 });
    expect(pt.translateAddr(next + 0x10n)).toBe(0x1010);
  });

  it('translateAddrs equals translateAddr on every address, general walks included', () => {
    for (const levels of [4, 5] as const) {
      const [{ memory, pt }] = twin(levels);
      pt.map({ virt: BASE, phys: 0x123000, size: 0x5000, flags: flagSets[0] });
      pt.map({ virt: BASE + 0x40000000n, phys: 0x40000000, size: 0x40000000, pageSize: 0x40000000 });
      pt.map({ virt: 0x200000n, phys: 0x200000, size: 0x200000, pageSize: 0x200000 });
      const virts = new BigUint64Array([BASE, BASE + 0x4fffn, BASE + 0x5000n, BASE + 0x40000000n + 0x12345678n, 0x2abcdefn, 0x400000n, 0n, 0xffffffffffffffffn]);
      const out = pt.translateAddrs(virts);
      expect([...out]).toEqual([...virts].map((v) => pt.translateAddr(v) ?? -1));
      expect(out[1]).toBe(0x127fff);
      // a page table outside the root's region: those addresses take the general walk
      const far = new PhysicalMemory({ shared: false });
      far.addRegion(0, 0x2000);
      far.addRegion(0x100000000, 0x10000);
      let firstFrame = true;
      const bump = new BumpFrames(0x100000000);
      const ptFar = new PageTableBuilder({ memory: far, frames: { allocate: (n: number) => (firstFrame ? ((firstFrame = false), 0) : bump.allocate(n)), free: () => {} }, levels });
      ptFar.map({ virt: BASE, phys: 0x777000, size: 0x2000 });
      expect([...ptFar.translateAddrs(new BigUint64Array([BASE + 0x1010n, BASE + 0x2000n]))]).toEqual([0x778010, -1]);
      // a non-canonical address anywhere: a typed error before anything is written
      const before = memory.read(0, MEM);
      const target = new Float64Array(3).fill(7);
      expect(() => pt.translateAddrs(new BigUint64Array([BASE, 0x0000800000000000n << (levels === 5 ? 9n : 0n), BASE]), target)).toThrow(AddressError);
      expect([...target]).toEqual([7, 7, 7]);
      expect(() => pt.translateAddrs([BASE] as never)).toThrow(expect.objectContaining({ code: 'PAGING_BAD_OPTIONS' }));
      expect(() => pt.translateAddrs(virts, new Float64Array(2))).toThrow(expect.objectContaining({ code: 'PAGING_BAD_OPTIONS' }));
      expect(same(memory.read(0, MEM), before)).toBe(true);
    }
  });

  it('huge leaves with reserved bits set are not mapped on the fast walks either (the CPU faults)', () => {
    for (const levels of [4, 5] as const) {
      const answers: Record<string, unknown[]> = {};
      for (const backing of ['eager', 'lazy'] as const) {
        // an eager root region takes the fast walks; a lazy one the general walk
        const memory = new PhysicalMemory({ shared: false });
        memory.addRegion(0, 1 << 20, { backing });
        let next = 0x10000;
        const pt = new PageTableBuilder({ memory, frames: { allocate: () => (next += 0x1000) - 0x1000, free: () => {} }, levels });
        pt.map({ virt: BASE, phys: 0x200000, size: 0x200000, pageSize: 0x200000 });
        pt.map({ virt: BASE + 0x40000000n, phys: 0x40000000, size: 0x40000000, pageSize: 0x40000000 });
        const virts = [BASE + 0x1234n, BASE + 0x40001234n];
        const reader = readPageTables(memory, { root: pt.root, levels });
        expect(virts.map((v) => pt.translateAddr(v))).toEqual([0x201234, 0x40001234]);
        for (const v of virts) {
          const leaf = reader.explain(v).steps.at(-1)!;
          memory.writeU32(leaf.entryAddress, memory.readU32(leaf.entryAddress) | 0x2000); // bit 13: reserved in both
        }
        expect(virts.map((v) => reader.translate(v))).toEqual([null, null]);
        answers[backing] = [...virts.map((v) => pt.translateAddr(v)), ...pt.translateAddrs(new BigUint64Array(virts)), ...virts.map((v) => pt.translate(v))];
      }
      expect(answers.lazy).toEqual([null, null, -1, -1, null, null]);
      expect(answers.eager).toEqual(answers.lazy);
    }
  });

  it('translateAddrs writes over its own addresses correctly and refuses bad arguments with typed errors', () => {
    const [{ pt }] = twin(4);
    pt.map({ virt: BASE, phys: 0x123000, size: 0x2000 });
    const virts = new BigUint64Array([BASE + 0x10n, BASE + 0x1010n, BASE + 0x2000n]);
    const want = [...pt.translateAddrs(virts)];
    expect(want).toEqual([0x123010, 0x124010, -1]);
    expect([...pt.translateAddrs(virts, new Float64Array(virts.buffer))]).toEqual(want); // in place
    for (const bad of [{ length: -1 }, { length: 2 ** 40 }, null, [BASE]]) {
      expect(() => pt.translateAddrs(bad as never)).toThrow(expect.objectContaining({ code: 'PAGING_BAD_OPTIONS' }));
    }
  });

  it('translate refuses bad addresses with typed errors on the fast walk too', () => {
    const [{ pt }] = twin(4);
    pt.map({ virt: BASE, phys: 0x5000, size: 4096 });
    expect(() => pt.translate(0x0000800000000000n)).toThrow(AddressError);
    expect(() => pt.translateAddr(2n ** 64n)).toThrow(AddressError);
    expect(() => pt.translateAddr(-1n)).toThrow(AddressError);
    expect(() => pt.translateAddr(5 as never)).toThrow(AddressError);
    expect(pt.translateAddr(BASE + 0xabcn)).toBe(0x5abc);
  });

  it('tables outside the root region (another region, above 4 GiB) are walked the general way', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 0x1000);
    memory.addRegion(0x100000000, 0x100000);
    let first = true;
    const bump = new BumpFrames(0x100000000);
    const frames = { allocate: (n: number) => (first ? ((first = false), 0) : bump.allocate(n)), free: () => {} };
    const pt = new PageTableBuilder({ memory, frames, levels: 4 });
    pt.map({ virt: BASE, phys: 0x123000, size: 0x3000, flags: { writable: true } });
    pt.map({ virt: BASE + 0x3000n, phys: 0x200000, size: 4096 });
    expect(pt.translateAddr(BASE + 0x1234n)).toBe(0x124234);
    expect(pt.translate(BASE + 0x3010n)).toEqual(readPageTables(memory, { root: 0, levels: 4 }).translate(BASE + 0x3010n));
    expect(pt.unmap(BASE + 0x1000n, 4096, { freeTables: false })).toBe(4096);
    expect(pt.translateAddr(BASE + 0x1000n)).toBeNull();
  });
});

const MemprimsErrorLike = expect.objectContaining({ code: expect.any(String) });
