/**
 * Same bytes as the Rust x86_64 crate: replays the crate's `paging` workloads from
 * test/fixtures/paging/workloads.json and checks the FNV-1a-32 of the table frames and the
 * selected entries recorded in results.json `meta`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PageTableBuilder, PhysicalMemory } from '../../src/index.js';
import { BumpFrames, fnv1a32 } from './helpers.js';

const fixtures = new URL('../fixtures/paging/', import.meta.url);
const results = JSON.parse(readFileSync(new URL('results.json', fixtures), 'utf8'));
const workloads = JSON.parse(readFileSync(new URL('workloads.json', fixtures), 'utf8'));
const VIRT_BASE = BigInt(String(workloads.paging.virt_base).split(" ")[0]);
const PHYS_BASE = Number(String(workloads.paging.phys_base).split(" ")[0]);

function setup() {
  const memory = new PhysicalMemory();
  memory.addRegion(0, 4 * 1024 * 1024);
  // dirty memory: the builder must zero every table it creates, like create_next_table
  memory.fill(0, 4 * 1024 * 1024, 0xa5);
  memory.fill(0, 4096, 0); // the crate's PML4 is zeroed between runs
  const frames = new BumpFrames(0);
  const pt = new PageTableBuilder({ memory, frames, levels: 4 });
  return { memory, frames, pt };
}
const entry = (memory: PhysicalMemory, table: number, index: number) => '0x' + memory.readU64(table + index * 8).toString(16).padStart(16, '0');

describe('byte-identical with the x86_64 crate', () => {
  it('paging.map_to.4KiB.1GiB: 262,144 single 4 KiB maps', () => {
    const { memory, frames, pt } = setup();
    expect(pt.root).toBe(0);
    const flags = Object.freeze({ writable: true });
    for (let i = 0; i < 262144; i++) pt.map({ virt: VIRT_BASE + BigInt(i * 4096), phys: PHYS_BASE + i * 4096, size: 4096, flags, pageSize: 4096 });
    const meta = results.meta.map4k_1gib_oracle;
    expect(frames.allocated).toBe(meta.table_frames_used_including_pml4);
    expect('0x' + fnv1a32(memory.read(0, frames.allocated * 4096)).toString(16)).toBe(meta.fnv1a32_of_table_bytes);
    expect(entry(memory, 0, 128)).toBe(meta['pml4[128]']);
    expect(entry(memory, 0x1000, 0)).toBe(meta['pdpt[0]']);
    expect(entry(memory, 0x2000, 0)).toBe(meta['pd[0]']);
    expect(entry(memory, 0x2000, 511)).toBe(meta['pd[511]']);
    expect(entry(memory, 0x3000, 0)).toBe(meta['pt0[0]']);
    expect(entry(memory, 0x3000, 1)).toBe(meta['pt0[1]']);
    expect(entry(memory, 514 * 4096, 511)).toBe(meta['last_pt[511]']);
  });

  it('paging.map_to.4KiB.1GiB as one bulk map writes the same bytes', () => {
    const { memory, frames, pt } = setup();
    pt.map({ virt: VIRT_BASE, phys: PHYS_BASE, size: 1 << 30, flags: { writable: true }, pageSize: 4096 });
    expect('0x' + fnv1a32(memory.read(0, frames.allocated * 4096)).toString(16)).toBe(results.meta.map4k_1gib_oracle.fnv1a32_of_table_bytes);
  });

  it('paging.map_to.2MiB.64GiB: 32,768 single 2 MiB maps', () => {
    const { memory, frames, pt } = setup();
    const flags = Object.freeze({ writable: true });
    for (let i = 0; i < 32768; i++) pt.map({ virt: VIRT_BASE + BigInt(i) * 0x200000n, phys: PHYS_BASE + i * 0x200000, size: 0x200000, flags, pageSize: 0x200000 });
    const meta = results.meta.map2m_64gib_oracle;
    expect(frames.allocated).toBe(meta.table_frames_used_including_pml4);
    expect('0x' + fnv1a32(memory.read(0, frames.allocated * 4096)).toString(16)).toBe(meta.fnv1a32_of_table_bytes);
    expect(entry(memory, 0x2000, 0)).toBe(meta['pd0[0]']);
  });

  it('translate_addr checksum of the random workload matches the crate', () => {
    const { pt } = setup();
    pt.map({ virt: VIRT_BASE, phys: PHYS_BASE, size: 1 << 30, flags: { writable: true }, pageSize: 4096 });
    let x = 0x9e3779b9 >>> 0;
    const next = () => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x;
    };
    let sum = 0n;
    for (let i = 0; i < 1_000_000; i++) sum += BigInt(pt.translateAddr(VIRT_BASE + BigInt(next() & 0x3fffffff))!);
    expect(sum).toBe(BigInt(results.results.find((r: { name: string }) => r.name === 'paging.translate_addr.4KiB.random').checksum_sum_phys));
  });
});
