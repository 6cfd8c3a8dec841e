/**
 * The native benchmark workloads (test/fixtures/heap/bench) replayed on LinkedListHeap: their
 * PRNG, op streams and the check values the native crate produced.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fragmentedAlloc, fragmentedFree, fragmentedHeap, mulberry32, steadyLoop, steadyPrepare, steadyStream } from '../../bench/heap.bench.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/heap/bench');
const workloads = JSON.parse(readFileSync(join(dir, 'workloads.json'), 'utf8'));
const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));

describe('lla bench workloads', () => {
  it('mulberry32 matches the test vector', () => {
    const next = mulberry32(workloads.prng_test_vector.seed);
    expect([next(), next(), next()]).toEqual(workloads.prng_test_vector.outputs);
  });

  it('a-steady (indexed, 1M ops) reproduces every native check value', () => {
    const stream = steadyStream();
    expect(steadyLoop(stream, steadyPrepare(stream, 'indexed'))).toEqual(results.a_steady.check);
  });

  it('a-steady: list mode equals indexed mode on the first 100k ops', () => {
    const stream = steadyStream(100_000);
    const a = steadyPrepare(stream, 'list');
    const b = steadyPrepare(stream, 'indexed');
    expect(steadyLoop(stream, a)).toEqual(steadyLoop(stream, b));
    expect(a.heap.holes()).toEqual(b.heap.holes());
    a.heap.check();
    b.heap.check();
  });

  for (const p of workloads.workloads[1].params as { small_holes: number; batch: number; rounds: number }[]) {
    it(`fragmented H=${p.small_holes}: native offsets and check sum in both modes`, () => {
      const native = results.fragmented.find((f: { small_holes: number }) => f.small_holes === p.small_holes);
      for (const mode of ['list', 'indexed'] as const) {
        const heap = fragmentedHeap(p.small_holes, p.batch, mode);
        expect(heap.stats().holes).toBe(native.holes_in_list);
        const before = heap.holes();
        const out = new Float64Array(p.batch);
        let sum = 0;
        for (let r = 0; r < p.rounds; r++) {
          sum += fragmentedAlloc(heap, out);
          expect(out[p.batch - 1] - heap.bottom).toBe(2 * p.small_holes * 64 + 128 * (p.batch - 1));
          fragmentedFree(heap, out);
          expect(heap.holes().length).toBe(before.length);
        }
        expect(sum).toBe(native.check_sum_alloc_offsets);
        expect(heap.holes()).toEqual(before);
        heap.check();
      }
    });
  }
});
