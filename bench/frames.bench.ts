/**
 * Frame-allocator benchmarks: the native workloads of rcore's bitmap-allocator and
 * buddy_system_allocator (test/fixtures/frames/native, copied from the shared oracles) on
 * BitmapFrameAllocator and BuddyFrameAllocator, next to the native medians as ratios; a
 * tinybench table of single operations; construction time and RSS growth over 64 GiB,
 * 12 TiB and 1 PiB maps (each in a fresh child process); and throughput with 1 and 2
 * worker threads sharing one allocator.
 *
 *   node --import tsx --expose-gc bench/frames.bench.ts            # everything
 *   node --import tsx --expose-gc bench/frames.bench.ts native     # only the native workloads
 *   (sections: native, tiny, scale, workers)
 *
 * The bitmap runs over the workloads' 2^24 frames (64 GiB). The buddy keeps its free lists
 * inside free frames, so filling it touches every frame: it runs the same workloads over
 * 2^18 frames (1 GiB of real memory), with the counts N scaled by 1/64.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { BitmapFrameAllocator, BuddyFrameAllocator, PhysicalMemory, type FrameAllocator } from '../src/index.js';
import { xs32 } from './xorshift.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const FIX = new URL('../test/fixtures/frames/native/', import.meta.url);
// child processes run this same file: the bundle (scripts/bench.mjs) by plain node, the
// TypeScript source through the tsx loader
const LOADER = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
const native = JSON.parse(readFileSync(new URL('results.json', FIX), 'utf8')) as { results: { name: string; median: number; unit: string }[] };
const uefiLike = JSON.parse(readFileSync(new URL('uefi_like_ranges.json', FIX), 'utf8')) as { ranges: [number, number][] };
const only = process.argv[2] ?? '';
const want = (s: string) => only === '' || only === s;

function shuffle(a: Float64Array, seed: number): void {
  const next = xs32(seed);
  for (let i = a.length - 1; i >= 1; i--) {
    const j = next() % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function nativeMedian(name: string): number | null {
  return native.results.find((r) => r.name === name)?.median ?? null;
}

/** Wall-clock and this process's CPU time, in ms (CPU time is the fairer figure on a loaded machine). */
interface Clock {
  wall: number;
  cpu: number;
}
function clock(): () => Clock {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const c = process.cpuUsage(c0);
    return { wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 };
  };
}
function per(c: Clock, ops: number, scale = 1e6): Clock {
  return { wall: (c.wall * scale) / ops, cpu: (c.cpu * scale) / ops };
}
function med(xs: Clock[]): Clock {
  return { wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) };
}

interface Row {
  workload: string;
  'ours (wall)': string;
  'ours (cpu)': string;
  native: string;
  'ratio (cpu)': string;
}
const rows: Row[] = [];
function report(workload: string, value: Clock, unit: string, nativeName: string | null): void {
  const n = nativeName ? nativeMedian(nativeName) : null;
  const f = (v: number) => `${v.toFixed(v < 10 ? 3 : 1)} ${unit}`;
  rows.push({ workload, 'ours (wall)': f(value.wall), 'ours (cpu)': f(value.cpu), native: n === null ? '-' : `${n} ${unit}`, 'ratio (cpu)': n === null ? '-' : (value.cpu / n).toFixed(2) + 'x' });
}

type Kind = 'bitmap' | 'buddy';
interface Setup {
  kind: Kind;
  frames: number;
  shared: boolean;
  label: string;
  nativePrefix: string;
}

function makeMemory(s: Setup): PhysicalMemory {
  const memory = new PhysicalMemory({ shared: s.shared });
  const bytes = s.frames * 4096;
  if (s.kind === 'bitmap') {
    memory.addRegion(0, 16 * MiB, { shared: s.shared });
    memory.addRegion(16 * MiB, bytes - 16 * MiB, { backing: 'lazy', shared: false });
  } else memory.addRegion(0, bytes, { backing: 'eager', shared: s.shared });
  return memory;
}
function build(s: Setup, memory: PhysicalMemory, ranges?: { start: number; end: number }[]): FrameAllocator {
  const r = ranges ?? [{ start: 0, end: s.frames * 4096 }];
  return s.kind === 'bitmap'
    ? BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: r, includePageZero: true })
    : BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: r, includePageZero: true, maxOrder: 18 });
}

/**
 * Untimed runs (each on a fresh allocator) before the timed ones of every workload: the first
 * runs of a loop execute while V8 is still compiling it (interpreter, then baseline, then
 * optimized code), which the native code has no counterpart of. The native figures are 5 runs
 * of code compiled ahead of time.
 */
const WARMUP = 2;
// Each timed loop is its own small function, as a caller's hot loop would be: V8 then
// optimises it on its own, with its own inlining budget. Inside one large function holding
// every workload, the budget is spent before the later loops and the allocator's calls stay
// calls (a 1.5-2x difference on the single-frame rows, measured).
function loopFill(a: FrameAllocator, order: Float64Array): number {
  let n = 0;
  for (;;) {
    const f = a.allocate();
    if (f === null) return n;
    order[n++] = f;
  }
}
function loopFree(a: FrameAllocator, list: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) a.free(list[i]);
}
function loopAllocRuns(a: FrameAllocator, list: Float64Array, n: number, count: number, align: { align: number } | undefined): void {
  for (let i = 0; i < n; i++) list[i] = a.allocate(count, align)!;
}
function loopFreeRuns(a: FrameAllocator, list: Float64Array, n: number, count: number): void {
  for (let i = 0; i < n; i++) a.free(list[i], count);
}
function loopChurn(a: FrameAllocator, pool: Float64Array, idx: Uint32Array, ops: number): void {
  for (let i = 0; i < ops; i++) {
    const j = idx[i];
    a.free(pool[j]);
    pool[j] = a.allocate()!;
  }
}
function loopCount(a: FrameAllocator): number {
  let n = 0;
  while (a.allocate() !== null) n++;
  return n;
}

function runNative(s: Setup): void {
  const scale = s.frames / 2 ** 24;
  const memory = makeMemory(s);
  const fresh = () => build(s, memory);
  const label = (w: string) => `${s.label} ${w}`;
  const nat = (w: string) => `${s.nativePrefix}.${w}`;
  // construction
  {
    const t: Clock[] = [];
    for (let r = -WARMUP; r < 5; r++) {
      const stop = clock();
      fresh();
      if (r >= 0) t.push(stop());
    }
    report(label('init_insert_0..2^' + Math.log2(s.frames)), med(t), 'ms', scale === 1 ? nat('init_insert_0..2^24') : null);
  }
  // fill all + free all in random order
  {
    const tf: Clock[] = [];
    const tr: Clock[] = [];
    // the recording array is allocated once and touched before timing (as native's presized
    // Vec): first-touch page faults on 128 MiB cost more than the allocator on a busy machine
    const order = new Float64Array(s.frames).fill(0);
    for (let r = -WARMUP; r < 5; r++) {
      const a = fresh();
      let n = 0;
      const stop = clock();
      n = loopFill(a, order);
      const fill = per(stop(), n);
      const list = order.subarray(0, n);
      shuffle(list, 0x12345678);
      const stop2 = clock();
      loopFree(a, list, n);
      const free = per(stop2(), n);
      if (r < 0) continue;
      tf.push(fill);
      tr.push(free);
    }
    report(label('alloc1.fill_all'), med(tf), 'ns/op', nat('alloc1.fill_all_2^24'));
    report(label('free1.random_all'), med(tr), 'ns/op', nat('free1.random_all_2^24'));
  }
  // aligned power-of-two blocks
  for (const k of [0, 3, 6, 9, 12]) {
    const N = Math.max(1, Math.round(Math.min(2 ** 20, 2 ** (23 - k)) * scale));
    const ta: Clock[] = [];
    const tr: Clock[] = [];
    const align = { align: 4096 * 2 ** k };
    // short rows (a few hundred microseconds each) get more runs: one page fault or timer
    // interrupt moves a single run by tens of percent on this VM
    const runs = N < 65536 ? 15 : 5;
    const list = new Float64Array(N).fill(0); // touched once, before timing (as native's presized Vec)
    for (let r = -WARMUP; r < runs; r++) {
      const a = fresh();
      const stop = clock();
      loopAllocRuns(a, list, N, 2 ** k, k === 0 ? undefined : align);
      const alloc = per(stop(), N);
      shuffle(list, 0x12345678);
      const stop2 = clock();
      loopFreeRuns(a, list, N, 2 ** k);
      const free = per(stop2(), N);
      if (r < 0) continue;
      ta.push(alloc);
      tr.push(free);
    }
    const full = Math.min(2 ** 20, 2 ** (23 - k));
    report(label(`alloc_2^${k}_aligned.x${N}`), med(ta), 'ns/op', nat(`alloc_2^${k}_aligned.x${full}`));
    report(label(`free_2^${k}.random.x${N}`), med(tr), 'ns/op', nat(`free_2^${k}.random.x${full}`));
  }
  // churn
  {
    const POOL = Math.max(1024, Math.round(65536 * scale));
    const OPS = 2 ** 20;
    const idx = new Uint32Array(OPS);
    const next = xs32(0xdeadbeef);
    for (let i = 0; i < OPS; i++) idx[i] = next() % POOL;
    const t: Clock[] = [];
    for (let r = -WARMUP; r < 5; r++) {
      const a = fresh();
      const pool = new Float64Array(POOL);
      for (let j = 0; j < POOL; j++) pool[j] = a.allocate()!;
      const stop = clock();
      loopChurn(a, pool, idx, OPS);
      if (r >= 0) t.push(per(stop(), OPS));
    }
    report(label(`churn_free1+alloc1.pool${POOL}`), med(t), 'ns/pair', nat('churn_free1+alloc1.pool65536.x2^20'));
  }
  // uefi-like map
  {
    const ranges = uefiLike.ranges
      .map(([a, b]) => ({ start: a * 4096, end: Math.min(b, s.frames) * 4096 }))
      .filter((r) => r.end > r.start);
    const ti: Clock[] = [];
    const tf: Clock[] = [];
    for (let r = -WARMUP; r < 5; r++) {
      const stop = clock();
      const a = build(s, memory, ranges);
      const init = stop();
      let n = 0;
      const stop2 = clock();
      n = loopCount(a);
      const fill = per(stop2(), n);
      if (r < 0) continue;
      ti.push(init);
      tf.push(fill);
    }
    report(label(`uefi_like.init_${ranges.length}ranges`), med(ti), 'ms', scale === 1 ? nat('uefi_like.init_511ranges') : null);
    report(label('uefi_like.alloc1.fill_all'), med(tf), 'ns/op', nat('uefi_like.alloc1.fill_all_16760215'));
  }
}

async function tiny(): Promise<void> {
  const bench = new Bench({ time: 300, warmupTime: 100 });
  for (const kind of ['bitmap', 'buddy'] as const) {
    for (const shared of [false, true]) {
      const memory = new PhysicalMemory({ shared });
      memory.addRegion(0, 256 * MiB, { shared });
      const a = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 256 * MiB }] }) : BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 256 * MiB }] });
      for (let i = 0; i < 1000; i++) a.allocate();
      const tag = `${kind}${shared ? ' (shared, locking)' : ''}`;
      bench.add(`${tag}: allocate()+free() one frame`, () => {
        a.free(a.allocate()!);
      });
      bench.add(`${tag}: allocate(512, 2 MiB aligned)+free`, () => {
        a.free(a.allocate(512, { align: 2 * MiB })!, 512);
      });
    }
  }
  const m64 = new PhysicalMemory({ shared: false });
  m64.addRegion(0, 64 * GiB, { backing: 'lazy' });
  bench.add('bitmap: construction over 64 GiB (lazy memory)', () => {
    BitmapFrameAllocator.fromMemoryMap(m64, null, { ranges: [{ start: 0, end: 64 * GiB }] });
  });
  bench.add('buddy (maxOrder 18): construction over 64 GiB (lazy memory)', () => {
    BuddyFrameAllocator.fromMemoryMap(m64, null, { ranges: [{ start: 0, end: 64 * GiB }], maxOrder: 18 });
  });
  await bench.run();
  console.table(bench.table());
  const m64b = new PhysicalMemory({ shared: false });
  m64b.addRegion(0, 64 * GiB, { backing: 'lazy' });
  const b = BitmapFrameAllocator.fromMemoryMap(m64, null, { ranges: [{ start: 0, end: 64 * GiB }] });
  const u = BuddyFrameAllocator.fromMemoryMap(m64b, null, { ranges: [{ start: 0, end: 64 * GiB }] });
  console.log(`metadata per GiB of usable memory: bitmap ${((b.stats().reserved * 4096) / 64 / 1024).toFixed(1)} KiB, buddy ${((u.stats().reserved * 4096) / 64 / 1024).toFixed(1)} KiB (reserved frames / 64 GiB)`);
}

function serverRanges(total: number, pieces: number): { start: number; end: number }[] {
  const ranges = [{ start: 0x1000, end: 0x9f000 }, { start: 0x100000, end: 0x7f000000 }];
  let at = 2 ** 32;
  const per = Math.floor((total - 0x7f000000) / pieces / 4096) * 4096;
  for (let i = 0; i < pieces; i++) {
    ranges.push({ start: at, end: at + per - (i % 3) * 0x200000 });
    at += per + 0x40000000 * (i % 2);
  }
  return ranges;
}

/** One construction in this (fresh) process: prints JSON { ms, rssMiB, hostMiB }. */
function scaleChild(kind: Kind, total: number): void {
  const ranges = total <= 64 * GiB ? [{ start: 0x1000, end: 0x9f000 }, { start: 0x100000, end: total }] : serverRanges(total, 68);
  const top = ranges[ranges.length - 1].end;
  const memory = new PhysicalMemory({ shared: false });
  memory.addRegion(0, Math.ceil(top / GiB) * GiB, { backing: 'lazy' });
  // warm the code paths on a small map first
  for (let i = 0; i < 3; i++) {
    const m = new PhysicalMemory({ shared: false });
    m.addRegion(0, 64 * MiB);
    (kind === 'bitmap' ? BitmapFrameAllocator : BuddyFrameAllocator).fromMemoryMap(m, null, { ranges: [{ start: MiB, end: 64 * MiB }] });
  }
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  if (kind === 'bitmap') BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges });
  else BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges, maxOrder: 18 });
  const ms = performance.now() - t0;
  const rss = (process.memoryUsage().rss - rss0) / MiB;
  console.log(JSON.stringify({ ms, rssMiB: rss, hostMiB: memory.hostBytes() / MiB, ranges: ranges.length }));
}

function scale(): void {
  const table: Record<string, string>[] = [];
  for (const kind of ['bitmap', 'buddy'] as const) {
    for (const [name, total] of [['64 GiB', 64 * GiB], ['12 TiB', 12 * 2 ** 40], ['1 PiB', 2 ** 50]] as const) {
      const r = spawnSync(process.execPath, [...LOADER, '--expose-gc', new URL(import.meta.url).pathname, '--scale-child', kind, String(total)], { encoding: 'utf8' });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      try {
        const j = JSON.parse(line) as { ms: number; rssMiB: number; hostMiB: number; ranges: number };
        table.push({ allocator: kind === 'buddy' ? 'buddy (maxOrder 18)' : kind, map: `${name} (${j.ranges} ranges)`, construction: `${j.ms.toFixed(1)} ms`, 'RSS growth': `${j.rssMiB.toFixed(1)} MiB`, 'lazy chunks created': `${j.hostMiB.toFixed(1)} MiB` });
      } catch {
        table.push({ allocator: kind, map: name, construction: 'failed: ' + r.stderr.slice(0, 200) });
      }
    }
  }
  console.table(table);
}

async function workers(): Promise<void> {
  const OPS = Number(process.env.FRAMES_BENCH_WORKER_OPS ?? 200_000);
  const table: Record<string, string>[] = [];
  for (const [kind, mix] of [['bitmap', 'mixed'], ['bitmap', 'single'], ['buddy', 'mixed'], ['buddy', 'single']] as const) {
    for (const n of [1, 2]) {
      const memory = new PhysicalMemory({ shared: true });
      memory.addRegion(0, 64 * MiB);
      const ranges = [{ start: MiB, end: 64 * MiB }];
      const a = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges }) : BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges });
      const ledger = new SharedArrayBuffer(((64 * MiB) / 4096) * 4);
      const start = new SharedArrayBuffer(4);
      const handle = memory.toShared();
      const jobs = Array.from({ length: n }, (_, id) => {
        const w = new Worker(new URL('../test/frames/worker-entry.mjs', import.meta.url), { workerData: { handle, metadataAddress: a.metadataAddress, kind, ops: OPS, seed: 1234 + id, id, ledger, start, mix } });
        return new Promise<{ ms: number; violations: number }>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        });
      });
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = performance.now();
      Atomics.store(new Int32Array(start), 0, 1);
      Atomics.notify(new Int32Array(start), 0);
      const results = await Promise.all(jobs);
      const wall = performance.now() - t0;
      const ops = OPS * n;
      table.push({ allocator: kind, mix: mix === 'single' ? 'allocate()/free() one frame' : 'mixed (test stream)', workers: String(n), 'ops (incl. final frees)': String(ops), wall: `${wall.toFixed(0)} ms`, throughput: `${((ops / wall) * 1000 / 1e6).toFixed(2)} M ops/s`, violations: String(results.reduce((x, r) => x + r.violations, 0)) });
      a.check();
    }
  }
  console.table(table);
}

/** The native workloads of one allocator kind (unshared, then shared memory); prints the rows as JSON. */
function nativeChild(kind: Kind): void {
  if (kind === 'bitmap') {
    runNative({ kind: 'bitmap', frames: 2 ** 24, shared: false, label: 'bitmap', nativePrefix: 'bitmap(BitAlloc16M)' });
    runNative({ kind: 'bitmap', frames: 2 ** 24, shared: true, label: 'bitmap shared+lock', nativePrefix: 'bitmap(BitAlloc16M)' });
  } else {
    runNative({ kind: 'buddy', frames: 2 ** 18, shared: false, label: 'buddy 2^18', nativePrefix: 'buddy(FrameAllocator<33>)' });
    runNative({ kind: 'buddy', frames: 2 ** 18, shared: true, label: 'buddy 2^18 shared+lock', nativePrefix: 'buddy(FrameAllocator<33>)' });
  }
  console.log(JSON.stringify(rows));
}

if (process.argv[2] === '--scale-child') {
  scaleChild(process.argv[3] as Kind, Number(process.argv[4]));
} else if (process.argv[2] === '--native-child') {
  nativeChild(process.argv[3] as Kind);
} else {
  if (want('native') || only === 'bitmap' || only === 'buddy') {
    // each kind in its own process, as a program using one allocator runs: in one process the
    // timed loops would see both classes, and V8 would not inline either into them
    for (const kind of ['bitmap', 'buddy'] as const) {
      if (only === 'bitmap' || only === 'buddy' ? only !== kind : false) continue;
      const r = spawnSync(process.execPath, [...LOADER, '--expose-gc', new URL(import.meta.url).pathname, '--native-child', kind], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`native ${kind} child failed: ${r.stderr}`);
      const lines = r.stdout.trim().split('\n');
      rows.push(...(JSON.parse(lines[lines.length - 1]) as Row[]));
    }
    console.table(rows);
  }
  if (want('tiny')) await tiny();
  if (want('scale')) scale();
  if (want('workers')) await workers();
}
