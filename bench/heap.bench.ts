/**
 * Heap benchmarks: the linked_list_allocator 0.10.5 native workloads (test/fixtures/heap/bench,
 * copied from the shared oracles) run step by step on LinkedListHeap in 'list' and 'indexed'
 * mode and on @thi.ng/malloc's MemPool, next to the crate's native ns/op.
 *
 *   node --import tsx bench/heap.bench.ts            # everything
 *   node --import tsx bench/heap.bench.ts steady     # only workloads whose name contains "steady"
 *
 * The op streams come from the workloads' mulberry32 PRNG; every LinkedListHeap run is first
 * replayed untimed and its check values compared with the native ones (the run aborts on a
 * mismatch). Exports the workload generators for test/heap/workloads.test.ts.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { MemPool } from '@thi.ng/malloc';
import { Layout, LinkedListHeap, PhysicalMemory } from '../src/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../test/fixtures/heap/bench');
const BOTTOM = 0x1000_0000_0000;

/** The workloads' PRNG (mulberry32), as defined in workloads.json. */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Workload (a): prefill sizes and the op stream (kind 1 = alloc of `arg` bytes, 0 = free of live[arg]). */
export interface SteadyStream {
  prefill: Int32Array;
  kinds: Uint8Array;
  args: Int32Array;
}

export const STEADY_SEED = 2702966785;
export const STEADY_HEAP = 16 * 1024 * 1024;

export function steadyStream(ops = 1_000_000): SteadyStream {
  const next = mulberry32(STEADY_SEED);
  const below = (n: number) => next() % n;
  const prefill = new Int32Array(1000);
  for (let i = 0; i < 1000; i++) prefill[i] = 8 + below(505);
  const kinds = new Uint8Array(ops);
  const args = new Int32Array(ops);
  let nlive = 1000;
  for (let i = 0; i < ops; i++) {
    const x = below(2000);
    if (x >= nlive) {
      kinds[i] = 1;
      args[i] = 8 + below(505);
      nlive++;
    } else {
      args[i] = below(nlive);
      nlive--;
    }
  }
  return { prefill, kinds, args };
}

const LAYOUTS: Layout[] = [];
for (let s = 0; s <= 513; s++) LAYOUTS.push(Layout.fromSizeAlign(s, 8));

/** A fresh heap for a workload. */
export function freshHeap(size: number, mode: 'list' | 'indexed'): LinkedListHeap {
  const memory = new PhysicalMemory({ shared: false });
  memory.addRegion(BOTTOM, size);
  return LinkedListHeap.init(memory, BOTTOM, size, { mode });
}

/** State of workload (a) between the untimed prefill and the timed loop. */
export interface SteadyRun {
  heap: LinkedListHeap;
  liveAddr: Float64Array;
  liveSize: Int32Array;
  n: number;
}

export function steadyPrepare(stream: SteadyStream, mode: 'list' | 'indexed'): SteadyRun {
  const heap = freshHeap(STEADY_HEAP, mode);
  const liveAddr = new Float64Array(4096);
  const liveSize = new Int32Array(4096);
  for (let i = 0; i < stream.prefill.length; i++) {
    const p = heap.allocateFirstFit(LAYOUTS[stream.prefill[i]]);
    if (p === null) throw new Error('prefill allocation failed');
    liveAddr[i] = p;
    liveSize[i] = stream.prefill[i];
  }
  return { heap, liveAddr, liveSize, n: stream.prefill.length };
}

/** The timed loop of workload (a); returns the check values. */
export function steadyLoop(stream: SteadyStream, run: SteadyRun) {
  const { heap, liveAddr, liveSize } = run;
  const { kinds, args } = stream;
  let n = run.n;
  let nAlloc = 0;
  let sum = 0;
  let xor = 0;
  for (let i = 0; i < kinds.length; i++) {
    if (kinds[i] === 1) {
      const size = args[i];
      const p = heap.allocateFirstFit(LAYOUTS[size]);
      if (p === null) throw new Error(`allocation ${i} failed`);
      liveAddr[n] = p;
      liveSize[n] = size;
      n++;
      nAlloc++;
      sum += p - BOTTOM;
      xor ^= p - BOTTOM;
    } else {
      const k = args[i];
      const p = liveAddr[k];
      const size = liveSize[k];
      n--;
      liveAddr[k] = liveAddr[n];
      liveSize[k] = liveSize[n];
      heap.deallocate(p, LAYOUTS[size]);
    }
  }
  run.n = n;
  return { n_alloc: nAlloc, n_free: kinds.length - nAlloc, sum_alloc_offsets: sum, xor_alloc_offsets: xor >>> 0, final_used: heap.used, final_hole_count: heap.stats().holes };
}

/** Workload (b/c): 2H blocks of 64, every even one freed: H small holes and a tail hole. */
export function fragmentedHeap(holes: number, batch: number, mode: 'list' | 'indexed'): LinkedListHeap {
  const heap = freshHeap(2 * holes * 64 + batch * 128 + 1048576, mode);
  const l64 = LAYOUTS[64];
  const blocks: number[] = [];
  for (let i = 0; i < 2 * holes; i++) blocks.push(heap.allocateFirstFit(l64)!);
  for (let i = 0; i < 2 * holes; i += 2) heap.deallocate(blocks[i], l64);
  return heap;
}

/** One round of workload (b/c): returns the sum of allocation offsets. */
export function fragmentedAlloc(heap: LinkedListHeap, out: Float64Array): number {
  const l = LAYOUTS[128];
  let sum = 0;
  for (let k = 0; k < out.length; k++) {
    const p = heap.allocateFirstFit(l)!;
    out[k] = p;
    sum += p - BOTTOM;
  }
  return sum;
}

export function fragmentedFree(heap: LinkedListHeap, blocks: Float64Array): void {
  const l = LAYOUTS[128];
  for (let k = blocks.length - 1; k >= 0; k--) heap.deallocate(blocks[k], l);
}

// ---- MemPool (the JavaScript peer) on the same sequences ----------------------------------

function steadyMemPool(stream: SteadyStream) {
  const pool = new MemPool({ size: STEADY_HEAP + 4096, align: 8 });
  const liveAddr = new Int32Array(4096);
  let n = 0;
  for (const size of stream.prefill) liveAddr[n++] = pool.malloc(size);
  return {
    loop() {
      const { kinds, args } = stream;
      for (let i = 0; i < kinds.length; i++) {
        if (kinds[i] === 1) {
          const p = pool.malloc(args[i]);
          if (p === 0) throw new Error('MemPool allocation failed');
          liveAddr[n++] = p;
        } else {
          const k = args[i];
          const p = liveAddr[k];
          liveAddr[k] = liveAddr[--n];
          pool.free(p);
        }
      }
    },
  };
}

function fragmentedMemPool(holes: number, batch: number) {
  const pool = new MemPool({ size: 2 * holes * 64 + batch * 128 + 1048576 + 4096, align: 8 });
  const blocks: number[] = [];
  for (let i = 0; i < 2 * holes; i++) blocks.push(pool.malloc(64));
  for (let i = 0; i < 2 * holes; i += 2) pool.free(blocks[i]);
  const out = new Int32Array(batch);
  return {
    alloc() {
      for (let k = 0; k < batch; k++) out[k] = pool.malloc(128);
    },
    free() {
      for (let k = batch - 1; k >= 0; k--) pool.free(out[k]);
    },
  };
}

// ---- main -------------------------------------------------------------------------------------

interface Row {
  workload: string;
  impl: string;
  /** Median over the timed runs. */
  nsPerOp: number;
  /** Fastest timed run (the least disturbed by other load on a shared machine). */
  minNsPerOp: number;
  /** Median CPU time (user + system) of the timed runs: less inflated than wall time by other processes. */
  cpuNsPerOp: number;
  native: number;
}

type Latency = { latency: { p50: number; min: number } };

/** CPU microseconds of each timed call, by task name (the warm-up call included, dropped below). */
const cpuTimes = new Map<string, number[]>();

/** Wraps a task body to record its CPU time (process.cpuUsage: the machine is shared). */
function cpuTimed(name: string, body: () => void): () => void {
  const times: number[] = [];
  cpuTimes.set(name, times);
  return () => {
    const t0 = process.cpuUsage();
    body();
    const t = process.cpuUsage(t0);
    times.push(t.user + t.system);
  };
}

/** Median CPU ns per op of a task (warm-up run excluded). */
function cpuNs(name: string, ops: number): number {
  const t = (cpuTimes.get(name) ?? []).slice(1).sort((x, y) => x - y);
  return t.length === 0 ? NaN : (t[t.length >> 1] * 1000) / ops;
}

async function main(): Promise<void> {
  const filter = process.argv[2] ?? '';
  const results = JSON.parse(readFileSync(join(FIXTURES, 'results.json'), 'utf8'));
  const workloads = JSON.parse(readFileSync(join(FIXTURES, 'workloads.json'), 'utf8'));
  const rows: Row[] = [];
  const modes = ['list', 'indexed'] as const;

  if ('a-steady'.includes(filter) || filter === '') {
    const stream = steadyStream();
    const native = results.headline_ns_per_op.a_steady_1M_ops_1000_live_sizes_8_512;
    for (const mode of modes) {
      const got = steadyLoop(stream, steadyPrepare(stream, mode));
      const want = results.a_steady.check;
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`a-steady ${mode}: check ${JSON.stringify(got)} != native ${JSON.stringify(want)}`);
      console.log(`a-steady ${mode}: check values match the native run`, JSON.stringify(got));
    }
    const bench = new Bench({ iterations: 7, time: 0, warmupIterations: 1, warmupTime: 0 });
    let run: SteadyRun | null = null;
    let pool: ReturnType<typeof steadyMemPool> | null = null;
    for (const mode of modes) {
      bench.add(`a-steady heap:${mode}`, cpuTimed(`a-steady heap:${mode}`, () => void steadyLoop(stream, run!)), { beforeEach: () => void (run = steadyPrepare(stream, mode)) });
    }
    await bench.run();
    // MemPool takes ~5-10 µs per op here: 3 timed runs of the 1M ops are enough
    const poolBench = new Bench({ iterations: 3, time: 0, warmupIterations: 1, warmupTime: 0 });
    poolBench.add('a-steady MemPool', cpuTimed('a-steady MemPool', () => pool!.loop()), { beforeEach: () => void (pool = steadyMemPool(stream)) });
    await poolBench.run();
    for (const t of [...bench.tasks, ...poolBench.tasks]) {
      const { p50, min } = (t.result as Latency).latency;
      rows.push({ workload: 'a-steady (1M ops)', impl: t.name.split(' ')[1], nsPerOp: (p50 * 1e6) / stream.kinds.length, minNsPerOp: (min * 1e6) / stream.kinds.length, cpuNsPerOp: cpuNs(t.name, stream.kinds.length), native });
    }
  }

  const params: { small_holes: number; batch: number; rounds: number }[] = workloads.workloads[1].params;
  for (const p of params) {
    const name = `fragmented-${p.small_holes}`;
    if (filter !== '' && !name.includes(filter) && !'b-c-fragmented'.includes(filter)) continue;
    const nat = results.fragmented.find((f: { small_holes: number }) => f.small_holes === p.small_holes);
    for (const mode of modes) {
      const heap = fragmentedHeap(p.small_holes, p.batch, mode);
      const out = new Float64Array(p.batch);
      let sum = 0;
      for (let r = 0; r < p.rounds; r++) {
        sum += fragmentedAlloc(heap, out);
        out.forEach((a, k) => {
          if (a - BOTTOM !== 2 * p.small_holes * 64 + 128 * k) throw new Error(`${name} ${mode}: block ${k} at offset ${a - BOTTOM}`);
        });
        fragmentedFree(heap, out);
      }
      if (sum !== nat.check_sum_alloc_offsets) throw new Error(`${name} ${mode}: sum ${sum} != native ${nat.check_sum_alloc_offsets}`);
    }
    console.log(`${name}: check values match the native run (sum_alloc_offsets ${nat.check_sum_alloc_offsets})`);
    const iterations = Math.max(3, Math.min(p.rounds, 30));
    const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 });
    for (const mode of modes) {
      const heap = fragmentedHeap(p.small_holes, p.batch, mode);
      const out = new Float64Array(p.batch);
      bench.add(`${name} heap:${mode} alloc`, cpuTimed(`${name} heap:${mode} alloc`, () => void fragmentedAlloc(heap, out)), { afterEach: () => fragmentedFree(heap, out) });
      bench.add(`${name} heap:${mode} free`, cpuTimed(`${name} heap:${mode} free`, () => fragmentedFree(heap, out)), { beforeEach: () => void fragmentedAlloc(heap, out) });
    }
    const pool = fragmentedMemPool(p.small_holes, p.batch);
    bench.add(`${name} MemPool alloc`, cpuTimed(`${name} MemPool alloc`, () => pool.alloc()), { afterEach: () => pool.free() });
    bench.add(`${name} MemPool free`, cpuTimed(`${name} MemPool free`, () => pool.free()), { beforeEach: () => pool.alloc() });
    await bench.run();
    for (const t of bench.tasks) {
      const [, impl, phase] = t.name.split(' ');
      const { p50, min } = (t.result as Latency).latency;
      rows.push({ workload: `${name} ${phase}`, impl, nsPerOp: (p50 * 1e6) / p.batch, minNsPerOp: (min * 1e6) / p.batch, cpuNsPerOp: cpuNs(t.name, p.batch), native: phase === 'alloc' ? nat.alloc_median_ns_per_op : nat.free_median_ns_per_op });
    }
  }

  console.log(`load average while running: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 vCPUs: above ~1 the figures are inflated)`);
  console.table(rows.map((r) => ({ workload: r.workload, impl: r.impl, 'ns/op (p50)': Number(r.nsPerOp.toFixed(1)), 'ns/op (min)': Number(r.minNsPerOp.toFixed(1)), 'native ns/op': r.native, 'x native (p50)': Number((r.nsPerOp / r.native).toFixed(2)), 'x native (min)': Number((r.minNsPerOp / r.native).toFixed(2)), 'CPU ns/op': Number(r.cpuNsPerOp.toFixed(1)), 'x native (CPU)': Number((r.cpuNsPerOp / r.native).toFixed(2)) })));
  const byKey = new Map(rows.map((r) => [`${r.workload}|${r.impl}`, r.nsPerOp]));
  for (const w of new Set(rows.map((r) => r.workload))) {
    const list = byKey.get(`${w}|heap:list`);
    const idx = byKey.get(`${w}|heap:indexed`);
    const pool = byKey.get(`${w}|MemPool`);
    if (list !== undefined && idx !== undefined && pool !== undefined) {
      console.log(`${w}: indexed is ${(list / idx).toFixed(1)}x faster than list; list/MemPool ${(list / pool).toFixed(2)}, indexed/MemPool ${(idx / pool).toFixed(2)}`);
    }
  }
}

if (/heap\.bench\.(ts|js)$/.test(process.argv[1] ?? '') && import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
