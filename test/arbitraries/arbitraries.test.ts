import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocationSequences, layouts, pageMappings } from '../../src/arbitraries/index.js';
import { isCanonical, Layout } from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 200);

describe('layouts', () => {
  it('gives valid layouts inside the asked bounds', () => {
    fc.assert(
      fc.property(layouts({ minSize: 8, maxSize: 300, maxAlign: 64 }), (l) => {
        expect(l).toBeInstanceOf(Layout);
        expect(l.size).toBeGreaterThanOrEqual(8);
        expect(l.size).toBeLessThanOrEqual(300);
        expect(l.align).toBeLessThanOrEqual(64);
        expect(Number.isInteger(Math.log2(l.align))).toBe(true);
      }),
      { numRuns: runs },
    );
  });
});

describe('allocationSequences', () => {
  it('frees only live blocks, each once, and freeAll leaves nothing live', () => {
    fc.assert(
      fc.property(allocationSequences({ maxLength: 60, freeAll: true }), (steps) => {
        const live = new Set<number>();
        const seen = new Set<number>();
        for (const s of steps) {
          if (s.op === 'alloc') {
            expect(seen.has(s.id)).toBe(false);
            seen.add(s.id);
            live.add(s.id);
          } else {
            expect(live.has(s.id)).toBe(true);
            live.delete(s.id);
          }
        }
        expect(live.size).toBe(0);
      }),
      { numRuns: runs },
    );
  });

  it('generates frees at all (not only allocations)', () => {
    const samples = fc.sample(allocationSequences({ maxLength: 50 }), { numRuns: 50, seed: 1 });
    expect(samples.some((steps) => steps.some((s) => s.op === 'free'))).toBe(true);
  });
});

describe('pageMappings', () => {
  it.each([4, 5] as const)('gives canonical, aligned, disjoint mappings (%i-level)', (levels) => {
    fc.assert(
      fc.property(pageMappings({ levels, physLimit: 2 ** 46 }), (set) => {
        const sorted = [...set].sort((a, b) => (a.virt < b.virt ? -1 : 1));
        for (const m of set) {
          expect(isCanonical(m.virt, levels)).toBe(true);
          const last = m.virt + BigInt(m.size) - 1n;
          expect(last < 1n << 64n).toBe(true);
          expect(isCanonical(last, levels)).toBe(true);
          expect(m.virt % BigInt(m.pageSize)).toBe(0n);
          expect(m.phys % m.pageSize).toBe(0);
          expect(m.size % m.pageSize).toBe(0);
          expect(m.phys + m.size).toBeLessThanOrEqual(2 ** 46);
        }
        for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1].virt + BigInt(sorted[i - 1].size) <= sorted[i].virt).toBe(true);
        const byPhys = [...set].sort((a, b) => a.phys - b.phys);
        for (let i = 1; i < byPhys.length; i++) expect(byPhys[i - 1].phys + byPhys[i - 1].size).toBeLessThanOrEqual(byPhys[i].phys);
      }),
      { numRuns: runs },
    );
  });

  it('uses both halves and every page size', () => {
    const sets = fc.sample(pageMappings(), { numRuns: 200, seed: 7 });
    const all = sets.flat();
    expect(all.some((m) => m.virt >= 0xffff800000000000n)).toBe(true);
    expect(all.some((m) => m.virt < 0x800000000000n)).toBe(true);
    expect(new Set(all.map((m) => m.pageSize))).toEqual(new Set([4096, 2 ** 21, 2 ** 30]));
  });
});
