// Properties of the whole boot flow over random firmware-shaped maps and random allocation
// sequences across the switch (before the exit through boot services, after it from the heap).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bootFlow, Layout, type BootFlowOptions, MemoryMap, MemoryType, type MemoryDescriptor, type PhysRange } from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 12);
const PAGE = 4096;
const RUNTIME = 0x8000000000000000n;

/** A firmware-shaped map: low RAM, a legacy hole, mixed blocks above 1 MiB, MMIO, maybe RAM above 4 GiB (listed before MMIO, unsorted as OVMF does). */
const mapArb = fc.record({
  blocks: fc.array(fc.record({
    type: fc.constantFrom(MemoryType.Conventional, MemoryType.Conventional, MemoryType.Conventional, MemoryType.BootServicesData, MemoryType.BootServicesCode,
      MemoryType.ACPIReclaim, MemoryType.ACPIMemoryNVS, MemoryType.RuntimeServicesData, MemoryType.Reserved, MemoryType.LoaderData),
    pages: fc.integer({ min: 1, max: 400 }),
  }), { minLength: 2, maxLength: 14 }),
  bigConventionalAt: fc.nat(),
  image: fc.option(fc.integer({ min: 4, max: 100 })),
  high: fc.option(fc.integer({ min: 16, max: 512 })),
}).map(({ blocks, bigConventionalAt, image, high }) => {
  const list: { type: number; pages: number }[] = [...blocks];
  list.splice(bigConventionalAt % (list.length + 1), 0, { type: MemoryType.Conventional, pages: 1024 });
  if (image !== null) list.splice(bigConventionalAt % list.length, 0, { type: MemoryType.LoaderCode, pages: image });
  const out: MemoryDescriptor[] = [
    { type: MemoryType.BootServicesCode, physicalStart: 0, virtualStart: 0n, numberOfPages: 1, attribute: 0xfn },
    { type: MemoryType.Conventional, physicalStart: 0x1000, virtualStart: 0n, numberOfPages: 0x9f, attribute: 0xfn },
  ];
  let at = 0x100000;
  for (const b of list) {
    out.push({ type: b.type, physicalStart: at, virtualStart: 0n, numberOfPages: b.pages, attribute: b.type === MemoryType.RuntimeServicesData ? RUNTIME | 0xfn : 0xfn });
    at += b.pages * PAGE;
  }
  if (high !== null) out.push({ type: MemoryType.Conventional, physicalStart: 2 ** 32, virtualStart: 0n, numberOfPages: high, attribute: 0xfn });
  out.push({ type: MemoryType.MemoryMappedIO, physicalStart: 0xffc00000, virtualStart: 0n, numberOfPages: 0x400, attribute: RUNTIME | 1n });
  return new MemoryMap(out);
});

const opArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('alloc' as const), size: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 9000 })), align: fc.constantFrom(1, 8, 32, 4096) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('free' as const), pick: fc.nat() }) },
);

const overlaps = (a: PhysRange, b: PhysRange) => a.start < b.end && b.start < a.end;
const inside = (a: PhysRange, rs: readonly PhysRange[]) => rs.some((r) => r.start <= a.start && a.end <= r.end);

describe('boot flow properties', () => {
  it('no overlap, nothing outside usable memory, bytes kept across the exit, accounting balances, kernel frames never handed out', () => {
    fc.assert(
      fc.property(mapArb, fc.array(opArb, { maxLength: 25 }), fc.array(opArb, { maxLength: 25 }), fc.constantFrom('leak' as const, 'reclaim' as const), fc.constantFrom(4 as const, 5 as const), (map, before, after, policy, levels) => {
        type Block = { start: number; end: number; size: number; align: number; fill: number; early: boolean };
        const live: Block[] = [];
        let fill = 1;
        let ctx: Parameters<NonNullable<BootFlowOptions['beforeExit']>>[0] | null = null;
        const apply = (o: (typeof before)[number], early: boolean) => {
          const shim = ctx!.shim;
          if (o.op === 'alloc') {
            const a = shim.alloc(Layout.fromSizeAlign(o.size, o.align));
            if (a === null) return;
            const b = { start: a, end: a + o.size, size: o.size, align: o.align, fill: fill++ & 0xff || 1, early };
            for (const x of live) expect(overlaps(b, x)).toBe(false);
            ctx!.bootServices.memory.fill(a, o.size, b.fill);
            live.push(b);
          } else if (live.length > 0) {
            const [b] = live.splice(o.pick % live.length, 1);
            shim.dealloc(b.start, Layout.fromSizeAlign(b.size, b.align));
          }
        };
        const boot = bootFlow({
          map, levels, heapSize: 64 * 1024, stackSize: 16 * 1024, pageTableFrames: 32, shim: { freedAfterExit: policy },
          beforeExit: (c) => {
            ctx = c;
            before.forEach((o) => apply(o, true));
          },
        });
        after.forEach((o) => apply(o, false));

        const final = boot.finalMap;
        const loader = final.descriptors.filter((d) => d.type === MemoryType.LoaderData).map((d) => ({ start: d.physicalStart, end: d.physicalStart + d.numberOfPages * PAGE }));
        const heapRange = { start: boot.heap.bottom, end: boot.heap.top };
        for (const b of live) {
          // Nothing outside usable memory: early blocks in LoaderData pool pages (not the heap), late ones in the heap.
          if (b.early) {
            expect(inside(b, loader)).toBe(true);
            expect(overlaps(b, heapRange)).toBe(false);
          } else expect(inside(b, [heapRange])).toBe(true);
          // Bytes written before the exit (and after) are still there.
          expect(boot.memory.read(b.start, b.size).every((x) => x === b.fill)).toBe(true);
          if (b.early) for (const k of boot.kernelRanges) expect(overlaps(b, k)).toBe(false);
        }
        // Accounting balances.
        const s = boot.shim.stats();
        expect(s.live.blocks).toBe(live.length);
        expect(s.allocated.blocks).toBe(s.freed.blocks + s.live.blocks + s.leaked.blocks);
        expect(s.allocated.bytes).toBe(s.freed.bytes + s.live.bytes + s.leaked.bytes);
        if (policy === 'reclaim') expect(s.leaked.blocks).toBe(0);

        // Drain the frame allocator: no frame holds the kernel, heap, page tables, stack or a live block.
        const usable = final.usableAfterExitBootServices();
        const forbidden = new Set<number>();
        const addPages = (r: PhysRange) => { for (let p = Math.floor(r.start / PAGE); p < Math.ceil(r.end / PAGE); p++) forbidden.add(p); };
        boot.kernelRanges.forEach(addPages);
        boot.pageTables.tableFrames().forEach((t) => addPages({ start: t, end: t + PAGE }));
        live.forEach(addPages);
        let frame: number | null;
        let count = 0;
        const free0 = boot.frames.stats().free;
        while ((frame = boot.frames.allocate(1)) !== null) {
          count++;
          expect(forbidden.has(frame / PAGE)).toBe(false);
          expect(inside({ start: frame, end: frame + PAGE }, usable)).toBe(true);
        }
        expect(count).toBe(free0);
        boot.frames.check();
        boot.heap.check();
        // Kernel bytes untouched by the drain: live blocks still hold their fill.
        for (const b of live) expect(boot.memory.read(b.start, b.size).every((x) => x === b.fill)).toBe(true);
      }),
      { numRuns: runs },
    );
  });
});
