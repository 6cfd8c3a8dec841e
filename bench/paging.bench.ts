/**
 * Paging benchmarks: the Rust x86_64 crate's native workloads (test/fixtures/paging/
 * workloads.json, results.json) on PageTableBuilder, next to the crate's median ns/op.
 *
 *   node --import tsx bench/paging.bench.ts            # everything
 *   node --import tsx bench/paging.bench.ts translate  # workloads whose name contains 'translate'
 *
 * - map 1 GiB as 4 KiB pages: 262,144 single `map` calls (the crate's exact workload), and
 *   the same 1 GiB as one `map` call (per page);
 * - translate 1,000,000 random addresses (xorshift32, seed 0x9E3779B9) with `translateAddr`
 *   (the crate's translate_addr) and `translate` (phys + flags + page size);
 * - unmap the 262,144 pages one call each (tables kept, like the crate) and as one call;
 * - 2 MiB pages over 64 GiB (32,768 calls), a 64 GiB direct map with auto pages, and a
 *   512 GiB direct map with auto pages (512 x 1 GiB, one call, like the crate's
 *   map_to.1GiB.512GiB rep incl. a fresh root).
 *
 * Every run starts from a fresh root at physical 0 with a bump frame source, as the crate
 * does; the 4 KiB map run is checked against the crate's FNV-1a-32 of the table bytes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { PageTableBuilder, PhysicalMemory } from '../src/index.js';
import { xs32 } from './xorshift.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../test/fixtures/paging');
const results = JSON.parse(readFileSync(join(FIXTURES, 'results.json'), 'utf8')) as { results: { name: string; median: number }[]; meta: Record<string, Record<string, unknown>> };
const native = (name: string): number => results.results.find((r) => r.name.startsWith(name))!.median;

const VIRT_BASE = 0x0000400000000000n;
const PHYS_BASE = 0x100000000;
const memory = new PhysicalMemory({ shared: false });
memory.addRegion(0, 64 * 1024 * 1024);
const FLAGS = Object.freeze({ writable: true });

function fresh(): PageTableBuilder {
  let next = 0;
  memory.fill(0, 4096);
  return new PageTableBuilder({ memory, frames: { allocate: (n) => ((next += n * 4096), next - n * 4096), free: () => {} }, levels: 4 });
}


function fnv(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return '0x' + h.toString(16);
}

const PAGES = 262144;
// addresses as bigints made before timing (the crate adds u64s in registers; a bigint sum is an allocation)
const virt4k: bigint[] = Array.from({ length: PAGES }, (_, i) => VIRT_BASE + BigInt(i * 4096));
const virt2m: bigint[] = Array.from({ length: 32768 }, (_, i) => VIRT_BASE + BigInt(i) * 0x200000n);
const map4kSingle = (pt: PageTableBuilder) => {
  for (let i = 0; i < PAGES; i++) pt.map({ virt: virt4k[i], phys: PHYS_BASE + i * 4096, size: 4096, flags: FLAGS, pageSize: 4096 });
};
const map4kBulk = (pt: PageTableBuilder) => pt.map({ virt: VIRT_BASE, phys: PHYS_BASE, size: 1 << 30, flags: FLAGS, pageSize: 4096 });

// check the bytes once before timing
{
  const pt = fresh();
  map4kSingle(pt);
  const want = results.meta.map4k_1gib_oracle.fnv1a32_of_table_bytes;
  const got = fnv(memory.read(0, 515 * 4096));
  if (got !== want) throw new Error(`table bytes differ from the x86_64 crate: ${got} != ${want}`);
}

const rand = xs32(0x9e3779b9);
const addrs4k: bigint[] = Array.from({ length: 1_000_000 }, () => VIRT_BASE + BigInt(rand() & 0x3fffffff));
const addrs4kU64 = BigUint64Array.from(addrs4k);
// a second builder with the same 1 GiB mapping, in its own memory, built once
const constMemory = new PhysicalMemory({ shared: false });
constMemory.addRegion(0, 8 * 1024 * 1024);
let constNext = 0;
const constPt = new PageTableBuilder({ memory: constMemory, frames: { allocate: (n) => ((constNext += n * 4096), constNext - n * 4096), free: () => {} }, levels: 4 });
constPt.map({ virt: VIRT_BASE, phys: PHYS_BASE, size: 1 << 30, flags: FLAGS, pageSize: 4096 });
const physOut = new Float64Array(addrs4k.length);
const rand2 = xs32(0x9e3779b9);
const addrs2m: bigint[] = Array.from({ length: 1_000_000 }, () => VIRT_BASE + BigInt(rand2()) * 16n);

interface Row { workload: string; ops: number; native: number; fn: () => void; before?: () => void }
let pt: PageTableBuilder = fresh();
let sink = 0;
const rows: Row[] = [
  { workload: 'map 4 KiB x 262,144 (single calls)', ops: PAGES, native: native('paging.map_to.4KiB.1GiB'), before: () => void (pt = fresh()), fn: () => map4kSingle(pt) },
  { workload: 'map 4 KiB x 262,144 (one 1 GiB call)', ops: PAGES, native: native('paging.map_to.4KiB.1GiB'), before: () => void (pt = fresh()), fn: () => map4kBulk(pt) },
  {
    workload: 'translateAddr 4 KiB random', ops: 1e6, native: native('paging.translate_addr.4KiB.random'), before: () => void ((pt = fresh()), map4kBulk(pt)),
    fn: () => {
      let s = 0;
      for (let i = 0; i < 1e6; i++) s += pt.translateAddr(addrs4k[i])!;
      sink += s;
    },
  },
  {
    // the same, on a builder built once and held in a module constant (as a kernel model or an
    // emulator holds its tables): V8 can then treat the walker's fields as constants
    workload: 'translateAddr 4 KiB random (builder in a const)', ops: 1e6, native: native('paging.translate_addr.4KiB.random'),
    fn: () => {
      let s = 0;
      for (let i = 0; i < 1e6; i++) s += constPt.translateAddr(addrs4k[i])!;
      sink += s;
    },
  },
  {
    workload: 'translateAddrs 4 KiB random (one batch call)', ops: 1e6, native: native('paging.translate_addr.4KiB.random'), before: () => void ((pt = fresh()), map4kBulk(pt)),
    fn: () => {
      // (summed, as the crate's workload sums what translate_addr returns)
      pt.translateAddrs(addrs4kU64, physOut);
      let s = 0;
      for (let i = 0; i < 1e6; i++) s += physOut[i];
      sink += s;
      if (s !== 4832290264795735) throw new Error(`translateAddrs: sum of phys ${s}, the crate's is 4832290264795735`);
    },
  },
  {
    workload: 'translate 4 KiB random (phys+flags)', ops: 1e6, native: native('paging.translate_addr.4KiB.random'), before: () => void ((pt = fresh()), map4kBulk(pt)),
    fn: () => {
      let s = 0;
      for (let i = 0; i < 1e6; i++) s += pt.translate(addrs4k[i])!.phys;
      sink += s;
    },
  },
  {
    workload: 'unmap 4 KiB x 262,144 (single calls, keep tables)', ops: PAGES, native: native('paging.unmap.4KiB.1GiB'), before: () => void ((pt = fresh()), map4kBulk(pt)),
    fn: () => {
      for (let i = 0; i < PAGES; i++) pt.unmap(virt4k[i], 4096, { freeTables: false });
    },
  },
  { workload: 'unmap 4 KiB x 262,144 (one call, free tables)', ops: PAGES, native: native('paging.unmap.4KiB.1GiB'), before: () => void ((pt = fresh()), map4kBulk(pt)), fn: () => void pt.unmap(VIRT_BASE, 1 << 30) },
  {
    workload: 'map 2 MiB x 32,768 (single calls)', ops: 32768, native: native('paging.map_to.2MiB.64GiB'), before: () => void (pt = fresh()),
    fn: () => {
      for (let i = 0; i < 32768; i++) pt.map({ virt: virt2m[i], phys: PHYS_BASE + i * 0x200000, size: 0x200000, flags: FLAGS, pageSize: 0x200000 });
    },
  },
  { workload: 'direct map 64 GiB auto (one call, 2 MiB pages)', ops: 32768, native: native('paging.map_to.2MiB.64GiB'), before: () => void (pt = fresh()), fn: () => pt.map({ virt: VIRT_BASE + 0x200000n, phys: PHYS_BASE + 0x200000, size: 64 * 2 ** 30, flags: FLAGS }) },
  {
    workload: 'translateAddr 2 MiB random', ops: 1e6, native: native('paging.translate_addr.2MiB.random'),
    before: () => void ((pt = fresh()), pt.map({ virt: VIRT_BASE, phys: PHYS_BASE, size: 64 * 2 ** 30, flags: FLAGS, pageSize: 0x200000 })),
    fn: () => {
      let s = 0;
      for (let i = 0; i < 1e6; i++) s += pt.translateAddr(addrs2m[i])!;
      sink += s;
    },
  },
  {
    workload: 'direct map 512 GiB auto (1 GiB pages, fresh root) x1000', ops: 512000, native: native('paging.map_to.1GiB.512GiB'),
    fn: () => {
      for (let r = 0; r < 1000; r++) fresh().map({ virt: VIRT_BASE, phys: PHYS_BASE * 4, size: 512 * 2 ** 30, flags: FLAGS });
    },
  },
];

const filter = process.argv[2] ?? '';
const chosen = rows.filter((r) => r.workload.includes(filter));
const bench = new Bench({ iterations: 7, time: 0, warmupIterations: 1, warmupTime: 0 });
for (const r of chosen) bench.add(r.workload, r.fn, r.before ? { beforeEach: r.before } : {});
await bench.run();
const table = bench.tasks.map((t, i) => {
  const r = chosen[i];
  const ns = ((t.result as { latency: { p50: number } }).latency.p50 * 1e6) / r.ops;
  return { workload: r.workload, 'ns/op': Number(ns.toFixed(2)), 'native ns/op': r.native, 'x native': Number((ns / r.native).toFixed(2)) };
});
console.table(table);
if (sink === 0.5) console.log(sink);
