/**
 * UEFI memory-map benchmarks: parse (and validate) a 10,000-descriptor GetMemoryMap buffer
 * (48-byte stride, firmware-shaped, unsorted like OVMF above 4 GiB); target parse+validate
 * under 2 ms. Also: a bare DataView scan of the same buffer (the floor any JS parser has),
 * toBytes, usable ranges and the two text parsers on the same map.
 *
 *   node --import tsx bench/memmap.bench.ts
 */
import { Bench } from 'tinybench';
import { MemoryMap, parseLinuxEfiLog, parseMemoryMap, parseShellMemmap, type MemoryDescriptor } from '../src/uefi/index.js';

const COUNT = 10_000;
const TARGET_MS = 2;

/** A deterministic firmware-like map: alternating boot-services / conventional / runtime pieces, high RAM listed first. */
export function benchMap(count = COUNT): MemoryMap {
  const ds: MemoryDescriptor[] = [];
  let at = 0x100000;
  const types = [7, 4, 3, 4, 7, 1, 2, 9, 10, 6, 5, 0];
  ds.push({ type: 7, physicalStart: 0x100000000, virtualStart: 0n, numberOfPages: 0x100000, attribute: 0xfn });
  for (let i = 1; i < count; i++) {
    const type = types[i % types.length];
    const pages = 1 + ((i * 2654435761) >>> 0) % 97;
    ds.push({ type, physicalStart: at, virtualStart: 0n, numberOfPages: pages, attribute: type === 5 || type === 6 ? 0x800000000000000fn : 0xfn });
    at += pages * 4096;
  }
  return new MemoryMap(ds);
}

/** The least work any parser does: read every field of every descriptor into numbers. */
function dataViewScan(bytes: Uint8Array, stride: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let acc = 0;
  for (let o = 0; o < bytes.length; o += stride) {
    acc = (acc + v.getUint32(o, true) + v.getUint32(o + 8, true) + v.getUint32(o + 12, true) + v.getUint32(o + 16, true) + v.getUint32(o + 20, true)
      + v.getUint32(o + 24, true) + v.getUint32(o + 28, true) + v.getUint32(o + 32, true) + v.getUint32(o + 36, true)) | 0;
  }
  return acc;
}

async function main(): Promise<void> {
  const map = benchMap();
  const bytes = map.toBytes({ descriptorSize: 48 });
  const linux = map.toLinuxEfiLog();
  const shell = map.toShellMemmap();
  if (!parseMemoryMap(bytes, { descriptorSize: 48, descriptorVersion: 1 }).equals(map)) throw new Error('round trip failed');
  if (!parseMemoryMap(bytes).validate().ok) throw new Error('bench map should validate clean');
  let sink = 0;
  const bench = new Bench({ time: 1500, warmupTime: 300 });
  bench
    .add('parseMemoryMap (10k)', () => void (sink += parseMemoryMap(bytes, { descriptorSize: 48, descriptorVersion: 1 }).length))
    .add('parseMemoryMap + validate (10k)', () => void (sink += parseMemoryMap(bytes, { descriptorSize: 48, descriptorVersion: 1 }).validate().problems.length))
    .add('validate only (10k)', () => void (sink += map.validate().problems.length))
    .add('DataView scan floor (10k)', () => void (sink += dataViewScan(bytes, 48)))
    .add('toBytes (10k)', () => void (sink += map.toBytes().length))
    .add('usableAfterExitBootServices (10k)', () => void (sink += map.usableAfterExitBootServices().length))
    .add('merged (10k)', () => void (sink += map.merged().length))
    .add('parseLinuxEfiLog (10k lines)', () => void (sink += parseLinuxEfiLog(linux).length))
    .add('parseShellMemmap (10k lines)', () => void (sink += parseShellMemmap(shell).length));
  await bench.run();
  const floor = (bench.tasks.find((t) => t.name.startsWith('DataView'))!.result as { latency: { p50: number } }).latency.p50;
  console.table(bench.tasks.map((t) => {
    const p50 = (t.result as { latency: { p50: number } }).latency.p50;
    return {
      task: t.name,
      'p50 ms': Number(p50.toFixed(3)),
      'ns/descriptor': Number(((p50 * 1e6) / COUNT).toFixed(1)),
      'x DataView floor': Number((p50 / floor).toFixed(1)),
      target: t.name.startsWith('parseMemoryMap + validate') ? `< ${TARGET_MS} ms: ${p50 < TARGET_MS ? 'met' : 'MISSED'}` : '',
    };
  }));
  if (sink === 42) console.log('');
}

await main();
