/**
 * Replays every linked_list_allocator 0.10.5 oracle trace on both modes: addresses, used/free,
 * hole counts and lists after each op, final hole headers (raw bytes) and the SHA-256 of the
 * whole memory region.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headerHex, loadTrace, replay, TRACE_DIR, traceNames } from './traces.js';

const names = traceNames();

describe('oracle traces (linked_list_allocator 0.10.5)', () => {
  it('has the 12 sample traces, unchanged (SHA256SUMS)', () => {
    expect(names.length).toBe(12);
    const sums = readFileSync(join(TRACE_DIR, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums.length).toBe(24);
    for (const line of sums) {
      const [sum, file] = line.split(/\s+/);
      expect(createHash('sha256').update(readFileSync(join(TRACE_DIR, file))).digest('hex'), file).toBe(sum);
    }
  });

  for (const name of names) {
    for (const mode of ['list', 'indexed'] as const) {
      it(`${name} (${mode === 'list' ? 'list' : 'indexed, strict'})`, () => {
        const trace = loadTrace(name);
        const { init, steps, final } = trace;
        let checked = 0;
        // the indexed replays also run in strict mode (tracking live blocks changes no result)
        const run = replay(trace, mode, mode === 'indexed', (i, heap) => {
          const g = steps[i];
          expect(g.i).toBe(i);
          if (g.holes !== undefined) {
            expect(heap.holes().map((x) => [x.address, x.size])).toEqual(g.holes);
            heap.check();
            checked++;
          }
        });
        for (let i = 0; i < steps.length; i++) {
          const g = steps[i];
          const r = run.results[i];
          const want = { u: g.u, f: g.f, nh: g.nh, ...('a' in g ? { a: g.a } : {}) };
          if (JSON.stringify(r) !== JSON.stringify(want)) {
            expect({ op: trace.ops[i], ...r }, `op #${i}`).toEqual({ op: trace.ops[i], ...want });
          }
        }
        const heap = run.heap;
        heap.check();
        expect([heap.bottom, heap.top, heap.size, heap.pending, heap.used, heap.free]).toEqual([final.bottom, final.top, final.size, final.pending, final.used, final.free]);
        const holes = heap.holes();
        expect(holes.map((h) => ({ addr: h.address, size: h.size, next: h.next, hex: headerHex(run.memory, h.address) }))).toEqual(final.holes);
        expect(run.live).toBe(final.live);
        expect(run.sha256).toBe(final.sha256);
        expect(checked).toBe(steps.filter((s) => s.holes !== undefined).length);
        // the init line
        expect(init.used).toBe(0);
      });
    }
  }

  it('init state matches every golden init line', async () => {
    const { Layout: _L, LinkedListHeap, PhysicalMemory } = await import('../../src/index.js');
    for (const name of names) {
      const { header: h, init } = loadTrace(name);
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(h.region_start, h.region_len);
      const heap = LinkedListHeap.init(memory, h.bottom, h.size);
      expect([heap.bottom, heap.top, heap.size, heap.pending, heap.used, heap.free], name).toEqual([init.bottom, init.top, init.size, init.pending, init.used, init.free]);
      expect(heap.holes().map((x) => [x.address, x.size]), name).toEqual(init.holes);
    }
  });
});
