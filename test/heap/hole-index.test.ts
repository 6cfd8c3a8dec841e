/**
 * Property test of the indexed mode's HoleIndex against a plain sorted array: inserts, removals,
 * in-place updates, first-fit search (the crate's placement rules) and predecessor search.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HoleIndex } from '../../src/heap/hole-index.js';
import { placeInHole } from '../../src/heap/placement.js';

const runs = Number(process.env.FC_RUNS ?? 40);

type Op = { kind: 'insert' | 'remove' | 'resize' | 'find' | 'pred'; x: number; y: number };

describe('HoleIndex', () => {
  it('agrees with a sorted array model', () => {
    const op = fc.record({ kind: fc.constantFrom('insert', 'insert', 'insert', 'remove', 'resize', 'find', 'pred'), x: fc.nat(), y: fc.nat() }) as fc.Arbitrary<Op>;
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const index = new HoleIndex();
        const model: [number, number][] = [];
        const B = 0x10_0000_0000;
        index.reset([], []);
        for (const o of ops) {
          if (o.kind === 'insert') {
            // a new 8-aligned address not already present
            const addr = B + (o.x % 100_000) * 16;
            if (model.some((e) => e[0] === addr)) continue;
            const size = 16 + (o.y % 64) * 8;
            const pos = model.findIndex((e) => e[0] > addr);
            if (pos === 0 || model.length === 0) {
              index.insertFirst(addr, size);
              model.unshift([addr, size]);
            } else {
              const at = pos < 0 ? model.length - 1 : pos - 1;
              expect(index.findAtOrBefore(addr)).toBe(true);
              expect(index.address(index.ci, index.j)).toBe(model[at][0]);
              index.insertAfter(index.ci, index.j, addr, size);
              model.splice(at + 1, 0, [addr, size]);
            }
          } else if (o.kind === 'remove' && model.length > 0) {
            const k = o.x % model.length;
            index.findAtOrBefore(model[k][0]);
            index.removeAt(index.ci, index.j);
            model.splice(k, 1);
          } else if (o.kind === 'resize' && model.length > 0) {
            const k = o.x % model.length;
            const size = 16 + (o.y % 200) * 8;
            index.findAtOrBefore(model[k][0]);
            index.setSize(index.ci, index.j, size);
            model[k][1] = size;
          } else if (o.kind === 'find') {
            const adj = 16 + (o.x % 150) * 8;
            const align = 2 ** (o.y % 13);
            let want = -1;
            let wantAt = -1;
            for (let k = 0; k < model.length; k++) {
              const a = placeInHole(model[k][0], model[k][1], adj, align);
              if (a >= 0) {
                want = a;
                wantAt = k;
                break;
              }
            }
            expect(index.findFit(adj, align, 0)).toBe(want);
            if (wantAt >= 0) {
              expect(index.address(index.ci, index.j)).toBe(model[wantAt][0]);
              expect(index.prevAddress(index.ci, index.j)).toBe(wantAt > 0 ? model[wantAt - 1][0] : -1);
              expect(index.nextAddress(index.ci, index.j)).toBe(wantAt + 1 < model.length ? model[wantAt + 1][0] : -1);
            }
          } else if (o.kind === 'pred') {
            const p = B + (o.x % 100_000) * 16 + 8;
            let k = -1;
            for (let i = 0; i < model.length; i++) if (model[i][0] <= p) k = i;
            expect(index.findAtOrBefore(p)).toBe(k >= 0);
            if (k >= 0) expect([index.address(index.ci, index.j), index.size(index.ci, index.j)]).toEqual(model[k]);
          }
          expect(index.count).toBe(model.length);
        }
        expect(index.entries()).toEqual(model);
        expect(index.largest()).toBe(model.reduce((m, e) => Math.max(m, e[1]), 0));
      }),
      { numRuns: runs },
    );
  });
});
