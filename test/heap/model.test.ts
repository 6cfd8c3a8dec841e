/**
 * Model-based tests (fc.commands): the same alloc/dealloc/extend commands run on a 'list' heap,
 * an 'indexed' heap and a strict 'indexed' heap, each in its own memory, against a simple model
 * of live blocks. Checked after every command: same results in all heaps, byte-identical heap
 * memory, blocks aligned, inside the heap and disjoint, used/free accounting, check() passes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Layout, LinkedListHeap, PhysicalMemory } from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 60);
const BASE = 0x7_0000_0000;

interface Block {
  address: number;
  layout: Layout;
  adj: number;
}

interface Model {
  blocks: Block[];
  used: number;
  extendRoom: number;
}

interface Real {
  heaps: LinkedListHeap[];
  memories: PhysicalMemory[];
  start: number;
  length: number;
}

const adjusted = (size: number) => Math.ceil(Math.max(size, 16) / 8) * 8;

function assertSame(model: Model, real: Real): void {
  const [first, ...others] = real.heaps;
  for (const h of real.heaps) {
    h.check();
    expect(h.used).toBe(model.used);
    expect(h.used + h.free).toBe(h.size);
  }
  const bytes0 = real.memories[0].read(real.start, real.length);
  for (let i = 0; i < others.length; i++) {
    const o = others[i];
    expect([o.top, o.size, o.pending, o.firstHole]).toEqual([first.top, first.size, first.pending, first.firstHole]);
    expect(o.stats()).toEqual(first.stats());
    expect(Buffer.compare(real.memories[i + 1].read(real.start, real.length), bytes0)).toBe(0);
  }
  // blocks: aligned, inside [bottom, bottom + size), disjoint from each other and from holes
  const spans = [
    ...model.blocks.map((b) => [b.address, b.address + b.adj] as const),
    ...first.holes().map((h) => [h.address, h.address + h.size] as const),
  ].sort((x, y) => x[0] - y[0]);
  for (const b of model.blocks) {
    expect(b.address % b.layout.align).toBe(0);
    expect(b.address).toBeGreaterThanOrEqual(first.bottom);
    expect(b.address + b.adj).toBeLessThanOrEqual(first.bottom + first.size);
  }
  for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
}

class AllocCmd implements fc.Command<Model, Real> {
  constructor(readonly size: number, readonly align: number) {}
  check(): boolean {
    return true;
  }
  run(model: Model, real: Real): void {
    const layout = Layout.fromSizeAlign(this.size, this.align);
    const results = real.heaps.map((h) => h.allocateFirstFit(layout));
    for (const r of results) expect(r).toBe(results[0]);
    const a = results[0];
    if (a !== null) {
      const adj = adjusted(this.size);
      model.blocks.push({ address: a, layout, adj });
      model.used += adj;
    }
    assertSame(model, real);
  }
  toString(): string {
    return `alloc(${this.size}, ${this.align})`;
  }
}

class FreeCmd implements fc.Command<Model, Real> {
  constructor(readonly pick: number) {}
  check(model: Readonly<Model>): boolean {
    return model.blocks.length > 0;
  }
  run(model: Model, real: Real): void {
    const i = this.pick % model.blocks.length;
    const b = model.blocks[i];
    model.blocks.splice(i, 1);
    for (const h of real.heaps) h.deallocate(b.address, b.layout);
    model.used -= b.adj;
    assertSame(model, real);
  }
  toString(): string {
    return `free(#${this.pick})`;
  }
}

class ExtendCmd implements fc.Command<Model, Real> {
  constructor(readonly by: number) {}
  check(model: Readonly<Model>): boolean {
    return model.extendRoom >= this.by;
  }
  run(model: Model, real: Real): void {
    const before = real.heaps[0].top;
    for (const h of real.heaps) h.extend(this.by);
    model.extendRoom -= this.by;
    for (const h of real.heaps) expect(h.top).toBe(before + this.by);
    assertSame(model, real);
  }
  toString(): string {
    return `extend(${this.by})`;
  }
}

const sizeArb = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 600 }), fc.constantFrom(8, 16, 24, 32, 64, 128));
const alignArb = fc.oneof(fc.constantFrom(1, 2, 4, 8), fc.constantFrom(16, 32, 64, 128, 256, 4096));
const commands = [
  sizeArb.chain((s) => alignArb.map((a) => new AllocCmd(s, a))),
  sizeArb.chain((s) => alignArb.map((a) => new AllocCmd(s, a))),
  fc.nat().map((p) => new FreeCmd(p)),
  fc.nat().map((p) => new FreeCmd(p)),
  fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 16, max: 700 })).map((b) => new ExtendCmd(b)),
];

function setup(offset: number, size: number, room: number): () => { model: Model; real: Real } {
  return () => {
    const length = offset + size + room;
    const memories = [0, 1, 2].map(() => {
      const m = new PhysicalMemory({ shared: false });
      m.addRegion(BASE, length);
      return m;
    });
    const heaps = [
      LinkedListHeap.init(memories[0], BASE + offset, size),
      LinkedListHeap.init(memories[1], BASE + offset, size, { mode: 'indexed' }),
      LinkedListHeap.init(memories[2], BASE + offset, size, { mode: 'indexed', strict: true }),
    ];
    return { model: { blocks: [], used: 0, extendRoom: room }, real: { heaps, memories, start: BASE, length } };
  };
}

describe('LinkedListHeap model-based', () => {
  it('list, indexed and strict heaps agree with the model and each other', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 15 }),
        fc.oneof(fc.integer({ min: 24, max: 200 }), fc.integer({ min: 200, max: 8192 })),
        fc.commands(commands, { maxCommands: 120 }),
        (offset, size, cmds) => {
          fc.modelRun(setup(offset, size, 4096), cmds);
        },
      ),
      { numRuns: runs },
    );
  });

  it('many holes (index chunks split and merge): modes agree', () => {
    // a pre-fragmented heap: 300 blocks of mixed sizes, every other one freed, then commands
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7 }), fc.commands(commands, { maxCommands: 100 }), fc.integer({ min: 1, max: 2 ** 31 }), (offset, cmds, seed) => {
        const make = setup(offset, 64 * 1024, 2048);
        fc.modelRun(() => {
          const s = make();
          let x = seed;
          const all: Block[] = [];
          for (let i = 0; i < 300; i++) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            const layout = Layout.fromSizeAlign(16 + (x % 97), 8);
            const as = s.real.heaps.map((h) => h.allocateFirstFit(layout));
            if (as[0] === null) break;
            all.push({ address: as[0], layout, adj: adjusted(layout.size) });
          }
          const keep = all.filter((_, i) => i % 2 === 1);
          for (const b of all.filter((_, i) => i % 2 === 0)) for (const h of s.real.heaps) h.deallocate(b.address, b.layout);
          for (const b of keep) s.model.used += b.adj;
          s.model.blocks = keep;
          assertSame(s.model, s.real);
          expect(s.real.heaps[1].stats().holes).toBeGreaterThan(100);
          return s;
        }, cmds);
      }),
      { numRuns: Math.max(4, Math.floor(runs / 8)) },
    );
  });
});
