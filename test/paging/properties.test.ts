/**
 * Properties of PageTableBuilder against a model of extents (virtual page range -> physical
 * page, flags): random sequences of map / unmap / protect (with huge pages split on
 * request) keep the tables equal to the model; rejected calls change neither bytes nor
 * frames; the reader sees exactly what the builder sees; map then unmap restores the bytes
 * and the frame source; running out of frames at any point rolls back completely.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemprimsError, PageTableBuilder, PhysicalMemory, readPageTables, type PageFlagsInput } from '../../src/index.js';
import { ListFrames } from './helpers.js';

const runs = Number(process.env.FC_RUNS ?? 25);
const REGION = 2 * 1024 * 1024;
const SPAN = [1, 512, 512 * 512];

interface Extent { vpn: number; pages: number; ppn: number; key: string }

const flagsArb = fc.record(
  { writable: fc.boolean(), user: fc.boolean(), noExecute: fc.boolean(), global: fc.boolean(), pat: fc.boolean(), dirty: fc.boolean(), available: fc.integer({ min: 0, max: 0x3ff }) },
  { requiredKeys: [] },
);
const keyOf = (f: PageFlagsInput) => JSON.stringify({ writable: !!f.writable, user: !!f.user, noExecute: !!f.noExecute, global: !!f.global, pat: !!f.pat, dirty: !!f.dirty, available: f.available ?? 0 });

/** A range of pages aligned to a random page size, inside the first 4 GiB (or the upper half). */
const rangeArb = fc.record({
  unit: fc.constantFrom(0, 0, 0, 1, 1, 2),
  at: fc.integer({ min: 0, max: 3 * 512 * 512 }),
  count: fc.integer({ min: 1, max: 3 }),
  upper: fc.boolean(),
}).map(({ unit, at, count, upper }) => {
  const span = SPAN[unit];
  const pages = unit === 0 ? (count === 1 ? 1 : count * 97) : count * span;
  const vpn = Math.floor(at / span) * span;
  return { unit, vpn, pages, upper };
});

const opArb = fc.oneof(
  fc.record({ op: fc.constant('map' as const), r: rangeArb, phys: fc.integer({ min: 0, max: 1 << 20 }), flags: flagsArb, fixed: fc.boolean() }),
  fc.record({ op: fc.constant('unmap' as const), r: rangeArb }),
  fc.record({ op: fc.constant('protect' as const), r: rangeArb, flags: flagsArb }),
);

function toVirt(vpn: number, upper: boolean, levels: 4 | 5): bigint {
  const base = upper ? (levels === 4 ? 0xffff800000000000n : 0xff00000000000000n) : 0n;
  return base + BigInt(vpn) * 4096n;
}

/** Cuts [vpn, vpn + pages) out of the model extents. */
function cut(model: Extent[], vpn: number, pages: number): Extent[] {
  const out: Extent[] = [];
  for (const e of model) {
    const end = e.vpn + e.pages;
    if (end <= vpn || e.vpn >= vpn + pages) {
      out.push(e);
      continue;
    }
    if (e.vpn < vpn) out.push({ ...e, pages: vpn - e.vpn });
    if (end > vpn + pages) out.push({ vpn: vpn + pages, pages: end - vpn - pages, ppn: e.ppn + (vpn + pages - e.vpn), key: e.key });
  }
  return out;
}

/** Merges extents that continue each other (virtually and physically, same flags). */
function merged(list: Extent[]): string[] {
  const sorted = [...list].sort((a, b) => a.vpn - b.vpn);
  const out: Extent[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    if (last && last.vpn + last.pages === e.vpn && last.ppn + last.pages === e.ppn && last.key === e.key) last.pages += e.pages;
    else out.push({ ...e });
  }
  return out.map((e) => `${e.vpn.toString(16)}+${e.pages.toString(16)}->${e.ppn.toString(16)} ${e.key}`);
}

function builderExtents(pt: PageTableBuilder, levels: 4 | 5): Extent[] {
  const upperBase = levels === 4 ? 0xffff800000000000n : 0xff00000000000000n;
  return pt.mappings().map((m) => {
    const upper = m.virt >= upperBase;
    const vpn = Number((m.virt - (upper ? upperBase : 0n)) / 4096n) + (upper ? 2 ** 40 : 0);
    return { vpn, pages: m.size / 4096, ppn: m.phys / 4096, key: keyOf(m.flags) };
  });
}

function setup(levels: 4 | 5) {
  const memory = new PhysicalMemory();
  memory.addRegion(0, REGION);
  const frames = new ListFrames(0, REGION);
  return { memory, frames, pt: new PageTableBuilder({ memory, frames, levels }) };
}

describe('PageTableBuilder against a model', () => {
  for (const levels of [4, 5] as const) {
    it(`random map/unmap/protect sequences (${levels}-level)`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 14 }), (ops) => {
          const { memory, frames, pt } = setup(levels);
          let model: Extent[] = [];
          for (const o of ops) {
            const vpn = o.r.vpn + (o.r.upper ? 2 ** 40 : 0);
            const virt = toVirt(o.r.vpn, o.r.upper, levels);
            const before = memory.read(0, REGION);
            const free = frames.freeCount;
            try {
              if (o.op === 'map') {
                const span = SPAN[o.r.unit];
                const ppn = Math.floor(o.phys / span) * span;
                pt.map({ virt, phys: ppn * 4096, size: o.r.pages * 4096, flags: o.flags, pageSize: o.fixed && o.r.unit > 0 ? ((span * 4096) as 0x200000) : 'auto' });
                expect(model.some((e) => e.vpn < vpn + o.r.pages && vpn < e.vpn + e.pages)).toBe(false);
                model.push({ vpn, pages: o.r.pages, ppn, key: keyOf(o.flags) });
              } else if (o.op === 'unmap') {
                pt.unmap(virt, o.r.pages * 4096, { split: true });
                model = cut(model, vpn, o.r.pages);
              } else {
                pt.protect(virt, o.r.pages * 4096, o.flags, { split: true });
                const covered = model.filter((e) => e.vpn < vpn + o.r.pages && vpn < e.vpn + e.pages).reduce((n, e) => n + Math.min(e.vpn + e.pages, vpn + o.r.pages) - Math.max(e.vpn, vpn), 0);
                expect(covered).toBe(o.r.pages);
                const inside = model.filter((e) => e.vpn < vpn + o.r.pages && vpn < e.vpn + e.pages);
                model = cut(model, vpn, o.r.pages);
                for (const e of inside) {
                  const s = Math.max(e.vpn, vpn);
                  model.push({ vpn: s, pages: Math.min(e.vpn + e.pages, vpn + o.r.pages) - s, ppn: e.ppn + (s - e.vpn), key: keyOf(o.flags) });
                }
              }
            } catch (e) {
              if (!(e instanceof MemprimsError)) throw e;
              expect(['PAGING_OVERLAP', 'PAGING_INSIDE_HUGE_PAGE', 'PAGING_NOT_MAPPED']).toContain(e.code);
              expect(Buffer.compare(memory.read(0, REGION), before)).toBe(0);
              expect(frames.freeCount).toBe(free);
            }
            expect(merged(builderExtents(pt, levels))).toEqual(merged(model));
          }
          // the reader sees the builder's view, and translate agrees at every extent boundary
          const view = readPageTables(memory, { root: pt.root, levels });
          expect(view.mappings()).toEqual(pt.mappings());
          expect(view.ranges()).toEqual(pt.ranges());
          for (const e of model) {
            for (const p of [e.vpn, e.vpn + e.pages - 1]) {
              const upper = p >= 2 ** 40;
              const virt = toVirt(upper ? p - 2 ** 40 : p, upper, levels) + 8n;
              const t = pt.translate(virt);
              expect(t?.phys).toBe((e.ppn + p - e.vpn) * 4096 + 8);
              expect(keyOf(t!.flags)).toBe(e.key);
              expect(view.translate(virt)).toEqual(t);
              expect(pt.translateAddr(virt)).toBe(t!.phys);
            }
          }
          // unmapping everything gives every table back and leaves a zero root
          pt.unmap(toVirt(0, false, levels), 2 ** 33);
          pt.unmap(toVirt(0, true, levels), 2 ** 33);
          expect(frames.inUse.size).toBe(1);
          expect(memory.read(pt.root, 4096).every((b) => b === 0)).toBe(true);
        }),
        { numRuns: runs },
      );
    });
  }

  it('map then unmap restores the bytes and the frame source', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(rangeArb, flagsArb), { minLength: 1, maxLength: 6 }), rangeArb, flagsArb, (setupOps, r, flags) => {
        const { memory, frames, pt } = setup(4);
        for (const [x, f] of setupOps) {
          try {
            pt.map({ virt: toVirt(x.vpn, x.upper, 4), phys: x.vpn * 4096, size: x.pages * 4096, flags: f });
          } catch {
            /* overlaps are fine here */
          }
        }
        const before = memory.read(0, REGION);
        const free = frames.freeCount;
        const virt = toVirt(r.vpn, r.upper, 4);
        try {
          pt.map({ virt, phys: r.vpn * 4096, size: r.pages * 4096, flags });
        } catch {
          return;
        }
        pt.unmap(virt, r.pages * 4096);
        expect(Buffer.compare(memory.read(0, REGION), before)).toBe(0);
        expect(frames.freeCount).toBe(free);
      }),
      { numRuns: runs },
    );
  });

  it('running out of frames at any point rolls back completely', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(rangeArb, flagsArb, fc.nat(12)), { minLength: 1, maxLength: 8 }), (ops) => {
        const { memory, frames, pt } = setup(5);
        for (const [r, flags, budget] of ops) {
          const before = memory.read(0, REGION);
          const free = frames.freeCount;
          frames.failAfter = frames.calls + budget;
          try {
            pt.map({ virt: toVirt(r.vpn, r.upper, 5), phys: 0, size: r.pages * 4096, flags, pageSize: 4096 });
          } catch (e) {
            expect(e).toBeInstanceOf(MemprimsError);
            expect(Buffer.compare(memory.read(0, REGION), before)).toBe(0);
            expect(frames.freeCount).toBe(free);
          }
        }
      }),
      { numRuns: runs },
    );
  });
});
