/**
 * Property test of list mode's HoleMirror (the chunked copy of the hole list the walks run on)
 * against a plain sorted array: insertions and removals anywhere (chunk splits, emptied
 * chunks), first fit with and without alignment, the predecessor search and `nextOf`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Layout, LinkedListHeap, PhysicalMemory } from '../../src/index.js';
import { HoleMirror } from '../../src/heap/hole-mirror.js';
import { nodeMemoryFor } from '../../src/heap/node-memory.js';
import { placeInHole } from '../../src/heap/placement.js';

const runs = Number(process.env.FC_RUNS ?? 40);

type Op = { kind: 'insert' | 'remove' | 'drain' | 'fit' | 'pred'; x: number; y: number };

/** The mirror's position of the k-th hole, by `nextOf` from the front. */
function positionOf(m: HoleMirror, k: number): number {
  let j = m.nextOf(-1);
  for (let i = 0; i < k; i++) j = m.nextOf(j);
  return j;
}

describe('HoleMirror', () => {
  it('agrees with a sorted array model', () => {
    const op = fc.record({ kind: fc.constantFrom(...Array(10).fill('insert'), 'remove', 'remove', 'remove', 'drain', 'fit', 'fit', 'pred', 'pred'), x: fc.nat(), y: fc.nat() }) as fc.Arbitrary<Op>;
    fc.assert(
      fc.property(fc.array(op, { minLength: 200, maxLength: 800 }), fc.nat(2), (ops, bias) => {
        const m = new HoleMirror();
        const model: [number, number][] = []; // [byte offset, size]
        for (const o of ops) {
          if (o.kind === 'insert') {
            // a new 16-aligned offset
            const off = (o.x % 100_000) * 16;
            if (model.some((e) => e[0] === off)) continue;
            const size = 16 + (o.y % 64) * 8;
            const k = model.filter((e) => e[0] < off).length;
            const at = m.insertAfter(k === 0 ? -1 : positionOf(m, k - 1), off >> 2, size);
            expect(at).toBe(positionOf(m, k));
            model.splice(k, 0, [off, size]);
          } else if (o.kind === 'remove' && model.length > 0) {
            // a bias towards the front or the back (chunks there empty), or anywhere
            const near = o.x % Math.min(model.length, 3);
            const k = bias === 0 ? near : bias === 1 ? model.length - 1 - near : o.x % model.length;
            m.removeAfter(k === 0 ? -1 : positionOf(m, k - 1));
            model.splice(k, 1);
          } else if (o.kind === 'drain' && o.y % 8 === 0) {
            // (now and then) many removals in a row: whole chunks empty, leave the list and
            // are reused later
            for (let r = 10 + (o.y % 30); r > 0 && model.length > 0; r--) {
              const k = bias === 1 ? model.length - 1 : bias === 0 ? 0 : o.x % model.length;
              m.removeAfter(k === 0 ? -1 : positionOf(m, k - 1));
              model.splice(k, 1);
            }
          } else if (o.kind === 'fit') {
            const adj = 16 + (o.x % 80) * 8;
            const align = 2 ** (o.y % 10);
            const k = model.findIndex((e) => placeInHole(e[0], e[1], adj, align) >= 0);
            const j = align <= 8 ? m.findFit(adj) : m.findFitAligned(adj, align, 0);
            expect(j).toBe(k < 0 ? -1 : positionOf(m, k));
            if (k >= 0) {
              expect(m.prev).toBe(k === 0 ? -1 : positionOf(m, k - 1));
              if (align > 8) expect(m.block).toBe(placeInHole(model[k][0], model[k][1], adj, align));
            }
          } else if (o.kind === 'pred' && model.length > 0) {
            const p = model[0][0] + (o.x % 70_000);
            let k = 0;
            while (k + 1 < model.length && model[k + 1][0] <= p) k++;
            expect(m.findAtOrBefore(p >> 2)).toBe(positionOf(m, k));
          }
        }
        expect(m.entries()).toEqual(model);
        expect(positionOf(m, model.length)).toBe(-1);
      }),
      { numRuns: runs },
    );
  });

  it('copyOf reads a hole list from memory (used when memory turns into one window)', () => {
    const memory = new PhysicalMemory();
    const bottom = 0x10_0000;
    memory.addRegion(bottom, 0x10000);
    const heap = LinkedListHeap.init(memory, bottom, 0x10000);
    const l = Layout.fromSizeAlign(48, 8);
    const blocks = Array.from({ length: 120 }, () => heap.allocateFirstFit(l)!);
    for (let i = 0; i < blocks.length; i += 2) heap.deallocate(blocks[i], l);
    const holes = heap.holes();
    expect(holes.length).toBeGreaterThan(60);
    const m = HoleMirror.copyOf(nodeMemoryFor(memory, bottom, bottom + 0x10000), heap.firstHole! - bottom, 0x10000 / 16);
    expect(m.entries()).toEqual(holes.map((h) => [h.address - bottom, h.size]));
  });
});
