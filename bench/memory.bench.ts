/**
 * PhysicalMemory throughput against a raw Uint32Array on the same buffer.
 * Each task touches 65,536 words of a 16 MiB SharedArrayBuffer-backed region.
 * Target (issue 2): within 2x of the raw typed array for accesses inside one region.
 */
import { Bench } from 'tinybench';
import { PhysicalMemory } from '../src/index.js';

const SIZE = 16 * 1024 * 1024;
const N = 65536;
const memory = new PhysicalMemory();
const info = memory.addRegion(0x1000_0000, SIZE, { name: 'ram' });
const raw = new Uint32Array(info.buffer as SharedArrayBuffer);
const base = info.base;

// Pseudo-random word offsets (fixed), so both sides touch the same cache lines.
const offsets = new Uint32Array(N);
let x = 0x12345678;
for (let i = 0; i < N; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  offsets[i] = ((x >>> 0) % (SIZE / 8)) * 8;
}
let sink = 0;
let bsink = 0n;

const bench = new Bench({ time: 400, warmupTime: 100 });
bench
  .add('raw Uint32Array read u32', () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += raw[offsets[i] >>> 2];
    sink += s;
  })
  .add('raw Uint32Array read u32 from physical address', () => {
    let s = 0;
    for (let i = 0; i < N; i++) {
      const a = base + offsets[i];
      s += raw[(a - base) >>> 2];
    }
    sink += s;
  })
  .add('PhysicalMemory.readU32', () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += memory.readU32(base + offsets[i]);
    sink += s;
  })
  .add('raw Uint32Array write u32', () => {
    for (let i = 0; i < N; i++) raw[offsets[i] >>> 2] = i;
  })
  .add('raw Uint32Array write u32 from physical address', () => {
    for (let i = 0; i < N; i++) {
      const a = base + offsets[i];
      raw[(a - base) >>> 2] = i;
    }
  })
  .add('PhysicalMemory.writeU32', () => {
    for (let i = 0; i < N; i++) memory.writeU32(base + offsets[i], i);
  })
  .add('raw Uint32Array read u64 (two words)', () => {
    let s = 0;
    for (let i = 0; i < N; i++) {
      const w = offsets[i] >>> 2;
      s += raw[w + 1] * 4294967296 + raw[w];
    }
    sink += s;
  })
  .add('PhysicalMemory.readU64Number', () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += memory.readU64Number(base + offsets[i]);
    sink += s;
  })
  .add('raw Uint32Array write u64 (two words)', () => {
    for (let i = 0; i < N; i++) {
      const w = offsets[i] >>> 2;
      raw[w] = i;
      raw[w + 1] = 0;
    }
  })
  .add('PhysicalMemory.writeU64Words', () => {
    for (let i = 0; i < N; i++) memory.writeU64Words(base + offsets[i], i, 0);
  })
  .add('PhysicalMemory.readU64 (bigint)', () => {
    let s = 0n;
    for (let i = 0; i < N; i++) s ^= memory.readU64(base + offsets[i]);
    bsink ^= s;
  })
  .add('PhysicalMemory.writeU64 (bigint)', () => {
    for (let i = 0; i < N; i++) memory.writeU64(base + offsets[i], 0x1234n);
  });

await bench.run();
const rows = bench.tasks.map((t) => {
  const r = t.result as unknown as { latency?: { mean: number }; mean?: number };
  const mean = r.latency?.mean ?? r.mean ?? NaN; // ms per task run
  return { task: t.name, 'ns/access': +((mean * 1e6) / N).toFixed(2), 'M accesses/s': +(N / (mean * 1e3)).toFixed(1) };
});
console.table(rows);
const pairs: [string, string][] = [
  ['raw Uint32Array read u32', 'PhysicalMemory.readU32'],
  ['raw Uint32Array read u32 from physical address', 'PhysicalMemory.readU32'],
  ['raw Uint32Array write u32', 'PhysicalMemory.writeU32'],
  ['raw Uint32Array write u32 from physical address', 'PhysicalMemory.writeU32'],
  ['raw Uint32Array read u64 (two words)', 'PhysicalMemory.readU64Number'],
  ['raw Uint32Array write u64 (two words)', 'PhysicalMemory.writeU64Words'],
];
for (const [a, b] of pairs) {
  const ra = rows.find((r) => r.task === a)!;
  const rb = rows.find((r) => r.task === b)!;
  console.log(`${b}: ${(rb['ns/access'] / ra['ns/access']).toFixed(2)}x ${a} (target <= 2x)`);
}
if (sink === 0.5 || bsink === -1n) console.log(sink, bsink);
