/**
 * PageTableBuilder behaviour: entry bits per level, auto page sizes, intermediate-entry
 * flags, typed errors that change nothing, unmap/protect/split, and the layout helpers.
 */
import { describe, expect, it } from 'vitest';
import { AddressError, decodeEntry, encodeEntry, PageTableBuilder, PagingError, PhysicalMemory, readPageTables } from '../../src/index.js';
import { BumpFrames, ListFrames } from './helpers.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function setup(levels: 4 | 5 = 4, frames = new ListFrames(0x10000, 0x400000)) {
  const memory = new PhysicalMemory();
  memory.addRegion(0, 4 * MiB);
  const pt = new PageTableBuilder({ memory, frames, levels });
  return { memory, frames, pt };
}

/** Raw entries along the walk of `virt` (top level first). */
function entries(memory: PhysicalMemory, root: number, levels: number, virt: bigint): bigint[] {
  const out: bigint[] = [];
  let table = root;
  for (let level = levels; level >= 1; level--) {
    const index = Number((virt >> BigInt(12 + 9 * (level - 1))) & 511n);
    const e = memory.readU64(table + index * 8);
    out.push(e);
    if (!(e & 1n) || level === 1 || (level <= 3 && e & 0x80n)) break;
    table = Number(e & 0x000ffffffffff000n);
  }
  return out;
}

function snapshot(memory: PhysicalMemory): string {
  return Buffer.from(memory.read(0, 4 * MiB)).toString('base64');
}

describe('entry bits by level', () => {
  it('puts PAT at bit 7 of a PTE and bit 12 of a 2 MiB / 1 GiB leaf, with PS', () => {
    const { memory, pt } = setup();
    pt.map({ virt: 0x1000n, phys: 0x5000, size: 4096, flags: { pat: true } });
    pt.map({ virt: 0x200000n, phys: 0x400000, size: 2 * MiB, flags: { pat: true }, pageSize: 0x200000 });
    pt.map({ virt: 0x40000000n, phys: GiB, size: GiB, flags: { pat: true }, pageSize: 0x40000000 });
    expect(entries(memory, pt.root, 4, 0x1000n).at(-1)).toBe(0x5000n | 0x80n | 1n);
    expect(entries(memory, pt.root, 4, 0x200000n).at(-1)).toBe(0x400000n | 0x1000n | 0x80n | 1n);
    expect(entries(memory, pt.root, 4, 0x40000000n).at(-1)).toBe(BigInt(GiB) | 0x1000n | 0x80n | 1n);
    expect(pt.translate(0x1000n)!.flags.pat).toBe(true);
    expect(pt.translate(0x200000n)!.flags.pat).toBe(true);
    expect(pt.translate(0x40000000n)).toMatchObject({ phys: GiB, pageSize: 0x40000000, flags: { pat: true } });
  });

  it('encodes every flag at its architectural bit', () => {
    const { memory, pt } = setup();
    const cases: [object, bigint][] = [
      [{ writable: true }, 1n << 1n], [{ user: true }, 1n << 2n], [{ writeThrough: true }, 1n << 3n], [{ cacheDisable: true }, 1n << 4n],
      [{ accessed: true }, 1n << 5n], [{ dirty: true }, 1n << 6n], [{ global: true }, 1n << 8n], [{ noExecute: true }, 1n << 63n],
      [{ available: 0b111 }, 7n << 9n], [{ available: 0x3f8 }, 0x7fn << 52n], [{ protectionKey: 15 }, 15n << 59n],
    ];
    cases.forEach(([flags, bit], i) => {
      const virt = BigInt(0x100000 + i * 4096);
      pt.map({ virt, phys: 0x7000, size: 4096, flags });
      expect(entries(memory, pt.root, 4, virt).at(-1)).toBe(0x7000n | 1n | bit);
      expect(pt.translate(virt)!.flags).toMatchObject(flags);
    });
  });

  it('decodeEntry / encodeEntry agree with the builder', () => {
    expect(encodeEntry({ phys: 0x200000, level: 2, flags: { writable: true, noExecute: true } })).toBe(0x8000000000200083n);
    expect(decodeEntry(0x8000000000201083n, 2)).toMatchObject({ present: true, leaf: true, address: 0x200000, flags: { pat: true, noExecute: true, writable: true } });
    expect(decodeEntry(0x0000000000005083n, 1)).toMatchObject({ leaf: true, address: 0x5000, flags: { pat: true } });
    expect(decodeEntry(0x0000000000005083n, 4)).toMatchObject({ leaf: false, address: 0x5000 });
  });
});

describe('intermediate entries', () => {
  it('are writable/user if any leaf below is, NX only if every leaf below is', () => {
    const { memory, pt } = setup();
    const upper = (v: bigint) => entries(memory, pt.root, 4, v).slice(0, -1);
    pt.map({ virt: 0x1000n, phys: 0x1000, size: 4096, flags: { noExecute: true } });
    for (const e of upper(0x1000n)) expect(e & 0x8000000000000007n).toBe(0x8000000000000001n);
    pt.map({ virt: 0x2000n, phys: 0x2000, size: 4096, flags: { writable: true, noExecute: true } });
    for (const e of upper(0x1000n)) expect(e & 0x8000000000000007n).toBe(0x8000000000000003n);
    pt.map({ virt: 0x3000n, phys: 0x3000, size: 4096, flags: { user: true } });
    for (const e of upper(0x1000n)) expect(e & 0x8000000000000007n).toBe(7n);
    pt.unmap(0x3000n, 4096);
    for (const e of upper(0x1000n)) expect(e & 0x8000000000000007n).toBe(0x8000000000000003n);
    pt.protect(0x1000n, 0x2000, { noExecute: true });
    for (const e of upper(0x1000n)) expect(e & 0x8000000000000007n).toBe(0x8000000000000001n);
  });
});

describe('auto page size', () => {
  it('takes 4 KiB head and tail around 2 MiB and 1 GiB middles', () => {
    const { pt } = setup(4, new ListFrames(0x10000, 0x400000));
    const start = GiB - 2 * MiB - 0x3000;
    pt.map({ virt: BigInt(start), phys: start, size: 2 * GiB + 4 * MiB + 0x5000 });
    const sizes = pt.mappings().map((m) => m.size);
    expect(sizes.filter((s) => s === GiB).length).toBe(2);
    expect(sizes.filter((s) => s === 2 * MiB).length).toBe(2);
    expect(sizes.filter((s) => s === 4096).length).toBe(3 + 2);
    expect(pt.ranges()).toHaveLength(1);
    expect(pt.ranges()[0]).toMatchObject({ virt: BigInt(start), size: 2 * GiB + 4 * MiB + 0x5000, phys: start, physContiguous: true });
  });

  it('falls back to 4 KiB when virt and phys alignments differ', () => {
    const { pt } = setup();
    pt.map({ virt: 0x200000n, phys: 0x201000, size: 2 * MiB });
    expect(pt.mappings().every((m) => m.size === 4096)).toBe(true);
  });
});

describe('typed errors change nothing', () => {
  const bad: [string, object, string][] = [
    ['non-canonical', { virt: 0x0000800000000000n, phys: 0, size: 4096 }, 'ADDR_NON_CANONICAL'],
    ['negative virt', { virt: -4096n, phys: 0, size: 4096 }, 'ADDR_NEGATIVE'],
    ['number virt', { virt: 4096, phys: 0, size: 4096 }, 'ADDR_NOT_BIGINT'],
    ['misaligned virt', { virt: 0x1001n, phys: 0, size: 4096 }, 'PAGING_MISALIGNED'],
    ['misaligned phys', { virt: 0x1000n, phys: 0x10, size: 4096 }, 'PAGING_MISALIGNED'],
    ['bad size', { virt: 0x1000n, phys: 0, size: 100 }, 'PAGING_MISALIGNED'],
    ['zero size', { virt: 0x1000n, phys: 0, size: 0 }, 'PAGING_BAD_SIZE'],
    ['2M misaligned', { virt: 0x1000n, phys: 0, size: 2 * MiB, pageSize: 0x200000 }, 'PAGING_MISALIGNED'],
    ['bad page size', { virt: 0x1000n, phys: 0, size: 4096, pageSize: 8192 }, 'PAGING_BAD_PAGE_SIZE'],
    ['unknown flag', { virt: 0x1000n, phys: 0, size: 4096, flags: { writeable: true } }, 'PAGING_BAD_FLAGS'],
    ['bad pk', { virt: 0x1000n, phys: 0, size: 4096, flags: { protectionKey: 16 } }, 'PAGING_BAD_FLAGS'],
    ['crosses half', { virt: 0x00007ffffffff000n, phys: 0, size: 0x2000 }, 'PAGING_RANGE_NOT_CANONICAL'],
    ['phys past 2^52', { virt: 0x1000n, phys: 2 ** 52 - 4096, size: 0x2000 }, 'PAGING_BAD_SIZE'],
  ];
  for (const [name, req, code] of bad) {
    it(name, () => {
      const { memory, frames, pt } = setup();
      pt.map({ virt: 0x5000_0000n, phys: 0x1000, size: 4096 });
      const before = snapshot(memory);
      const free = frames.freeCount;
      const e = (() => {
        try {
          pt.map(req as never);
        } catch (err) {
          return err;
        }
      })() as { code: string };
      expect(e).toBeInstanceOf(code.startsWith('ADDR') ? AddressError : PagingError);
      expect(e.code).toBe(code);
      expect(snapshot(memory)).toBe(before);
      expect(frames.freeCount).toBe(free);
    });
  }

  it('overlap names the existing mapping; inside a huge page is its own code', () => {
    const { memory, pt } = setup();
    pt.map({ virt: 0x200000n, phys: 0x600000, size: 2 * MiB, pageSize: 0x200000 });
    const before = snapshot(memory);
    expect(() => pt.map({ virt: 0x201000n, phys: 0, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_INSIDE_HUGE_PAGE', details: { existing: { virt: 0x200000n, phys: 0x600000, size: 2 * MiB } } }));
    expect(() => pt.map({ virt: 0x1ff000n, phys: 0, size: 0x2000 })).toThrow(expect.objectContaining({ code: 'PAGING_OVERLAP', details: { existing: { virt: 0x200000n, phys: 0x600000, size: 2 * MiB } } }));
    expect(() => pt.mapAll([{ virt: 0x1000n, phys: 0, size: 0x2000 }, { virt: 0x2000n, phys: 0, size: 0x1000 }])).toThrow(expect.objectContaining({ code: 'PAGING_OVERLAP' }));
    expect(snapshot(memory)).toBe(before);
  });

  it('running out of frames halfway gives every frame back and writes nothing', () => {
    const frames = new ListFrames(0x10000, 0x400000);
    const { memory, pt } = setup(4, frames);
    pt.map({ virt: 0x1000n, phys: 0, size: 4096 });
    const before = snapshot(memory);
    const free = frames.freeCount;
    frames.failAfter = frames.calls + 2; // a 1 GiB 4 KiB map needs 512+ tables
    expect(() => pt.map({ virt: 0x7f0000000000n, phys: 0, size: GiB, pageSize: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_OUT_OF_FRAMES' }));
    expect(frames.freeCount).toBe(free);
    expect(snapshot(memory)).toBe(before);
  });

  it('a frame source that throws is a typed error that keeps the cause, giving every frame back', () => {
    const frames = new ListFrames(0x10000, 0x400000);
    const { memory, pt } = setup(4, frames);
    pt.map({ virt: 0x1000n, phys: 0, size: 4096 });
    const before = snapshot(memory);
    const free = frames.freeCount;
    const boom = new Error('boom');
    const allocate = frames.allocate.bind(frames);
    let calls = 0;
    frames.allocate = (count: number) => {
      if (++calls === 2) throw boom;
      return allocate(count);
    };
    let caught: unknown;
    try {
      pt.map({ virt: 0x7f0000000000n, phys: 0, size: 4 * MiB, pageSize: 4096 });
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'PAGING_FRAME_SOURCE_FAILED', cause: boom });
    expect(frames.freeCount).toBe(free);
    expect(snapshot(memory)).toBe(before);
  });

  it('translate agrees with the reader on every page mapped through mapKernelSections and mapAll', () => {
    const { memory, pt } = setup(4, new ListFrames(0x10000, 0x400000));
    pt.mapKernelSections([
      { name: '.text', vma: 0xffffffff80000000n, lma: 0x200000, size: 0x3000, kind: 'text' },
      { name: '.rodata', vma: 0xffffffff80003000n, lma: 0x203000, size: 0x1000, kind: 'rodata' },
      { name: '.data', vma: 0xffffffff80004000n, lma: 0x204000, size: 0x2000, kind: 'data' },
    ]);
    pt.mapAll([{ virt: 0x40000000n, phys: 0x300000, size: 0x3000 }]);
    const reader = readPageTables(memory, { root: pt.root, levels: 4 });
    for (const m of pt.mappings()) {
      for (let off = 0n; off < BigInt(m.size); off += 0x1000n) {
        const v = m.virt + off + 0x123n;
        expect(pt.translate(v), v.toString(16)).toEqual(reader.translate(v));
        expect(pt.translateAddr(v)).toBe(m.phys + Number(off) + 0x123);
      }
    }
    expect(pt.translate(0xffffffff80006000n)).toBeNull();
  });

  it('a frame that is backed but not in one buffer is refused before anything is written', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 0x10800);
    memory.addRegion(0x10800, 0x10000); // frame 0x10000 straddles the two regions
    const queue = [0x1000, 0x2000, 0x10000, 0x3000];
    const inUse = new Set<number>();
    const frames = { allocate: () => { const f = queue.shift()!; inUse.add(f); return f; }, free: (a: number) => void inUse.delete(a) };
    const pt = new PageTableBuilder({ memory, levels: 4, frames });
    const before = Buffer.from(memory.read(0, 0x20800));
    expect(() => pt.map({ virt: 0xffff800000000000n, phys: 0, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_BAD_FRAME' }));
    expect([...inUse]).toEqual([0x1000]); // the root only: every frame of the failed call went back
    expect(Buffer.from(memory.read(0, 0x20800)).equals(before)).toBe(true);
  });

  /** 128 KiB of memory with frames from 0x1000 up: every table frame is visible in `frames.inUse`. */
  const small = () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 0x20000);
    const frames = new ListFrames(0x1000, 0x20000);
    return { memory, frames, pt: new PageTableBuilder({ memory, frames, levels: 4 }) };
  };

  it('a huge leaf over kept-empty tables gives back every table below it', () => {
    const { memory, frames, pt } = small();
    const v = 0xffff800040000000n;
    pt.map({ virt: v, phys: 0, size: 4096 });
    pt.unmap(v, 4096, { freeTables: false });
    expect(pt.tableFrames().length).toBe(4);
    pt.map({ virt: v, phys: 0x40000000, size: GiB, pageSize: 0x40000000 });
    expect(pt.tableFrames().length).toBe(2); // root and PDPT: the PD and its page table were released
    expect(frames.inUse.size).toBe(2);
    expect(pt.translateAddr(v + 0x123n)).toBe(0x40000123);
  });

  it('a run of 2 MiB leaves over slots holding kept-empty page tables releases those tables', () => {
    const { memory, frames, pt } = small();
    const G = 0x40000000n;
    for (const slot of [3n, 7n]) {
      pt.map({ virt: G + slot * 0x200000n, phys: 0x1234000, size: 4096, flags: { writable: true } });
      pt.unmap(G + slot * 0x200000n, 4096, { freeTables: false });
    }
    expect(pt.tableFrames().length).toBe(5); // root, PDPT, PD, two empty page tables
    // phys only 2 MiB aligned: 'auto' makes 512 leaves of 2 MiB, run by run around slots 3 and 7
    pt.map({ virt: G, phys: 3 * 0x200000, size: GiB, flags: { user: true } });
    expect(pt.tableFrames().length).toBe(3);
    expect(frames.inUse.size).toBe(3);
    for (const slot of [0n, 3n, 5n, 7n, 511n]) {
      expect(pt.translate(G + slot * 0x200000n + 0x345n)).toEqual({ phys: Number(3n * 0x200000n + slot * 0x200000n + 0x345n), flags: expect.objectContaining({ user: true }), pageSize: 0x200000 });
    }
    expect(pt.mappings().length).toBe(512);
    expect(readPageTables(memory, { root: pt.root, levels: 4 }).mappings()).toEqual(pt.mappings());
  });

  it('a frame source handing out unbacked frames is a typed error, changing nothing', () => {
    const memory = new PhysicalMemory();
    memory.addRegion(0, MiB);
    const frames = new BumpFrames(0xff000);
    const pt = new PageTableBuilder({ memory, frames });
    const before = Buffer.from(memory.read(0, MiB)).toString('base64');
    expect(() => pt.map({ virt: 0x1000n, phys: 0, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_BAD_FRAME' }));
    expect(Buffer.from(memory.read(0, MiB)).toString('base64')).toBe(before);
    expect(() => new PageTableBuilder({ memory, frames: {} as never })).toThrow(expect.objectContaining({ code: 'PAGING_BAD_FRAME_SOURCE' }));
  });
});

describe('unmap / protect / split', () => {
  it('unmapping part of a huge page is refused, or split on request', () => {
    const { memory, frames, pt } = setup();
    pt.map({ virt: 0x40000000n, phys: GiB, size: GiB, pageSize: 0x40000000, flags: { writable: true, global: true, pat: true } });
    const before = snapshot(memory);
    expect(() => pt.unmap(0x40001000n, 4096)).toThrow(expect.objectContaining({ code: 'PAGING_PARTIAL_HUGE_PAGE', details: { existing: { virt: 0x40000000n, phys: GiB, size: GiB } } }));
    expect(snapshot(memory)).toBe(before);
    const used = frames.inUse.size;
    expect(pt.unmap(0x40201000n, 4096, { split: true })).toBe(4096);
    expect(frames.inUse.size).toBe(used + 2); // a PD and a PT
    expect(pt.translate(0x40201000n)).toBeNull();
    expect(pt.translate(0x40202000n)).toMatchObject({ phys: GiB + 0x202000, pageSize: 4096, flags: { writable: true, global: true, pat: true } });
    expect(pt.translate(0x40400000n)).toMatchObject({ phys: GiB + 0x400000, pageSize: 0x200000, flags: { pat: true } });
    expect(pt.mappings().reduce((n, m) => n + m.size, 0)).toBe(GiB - 4096);
  });

  it('split that runs out of frames is undone', () => {
    const frames = new ListFrames(0x10000, 0x400000);
    const { memory, pt } = setup(4, frames);
    pt.map({ virt: 0x40000000n, phys: GiB, size: GiB, pageSize: 0x40000000 });
    const before = snapshot(memory);
    const free = frames.freeCount;
    frames.failAfter = frames.calls + 1;
    expect(() => pt.unmap(0x40201000n, 4096, { split: true })).toThrow(expect.objectContaining({ code: 'PAGING_OUT_OF_FRAMES' }));
    expect(snapshot(memory)).toBe(before);
    expect(frames.freeCount).toBe(free);
  });

  it('unmap frees tables left empty and restores the bytes', () => {
    const { memory, frames, pt } = setup();
    const before = snapshot(memory);
    const free = frames.freeCount;
    pt.map({ virt: 0xffff800000000000n, phys: 0, size: 4 * MiB + 0x3000 });
    expect(pt.unmap(0xffff800000000000n, 4 * MiB + 0x3000)).toBe(4 * MiB + 0x3000);
    expect(snapshot(memory)).toBe(before);
    expect(frames.freeCount).toBe(free);
  });

  it('protect needs every page mapped', () => {
    const { pt } = setup();
    pt.map({ virt: 0x1000n, phys: 0, size: 0x2000 });
    expect(() => pt.protect(0x1000n, 0x3000, { writable: true })).toThrow(expect.objectContaining({ code: 'PAGING_NOT_MAPPED', details: { virt: 0x3000n } }));
    pt.protect(0x1000n, 0x2000, { writable: true, user: true });
    expect(pt.translate(0x2fffn)).toMatchObject({ phys: 0x1fff, flags: { writable: true, user: true } });
  });
});

describe('layout helpers', () => {
  it('kernel sections are W^X, linked high and loaded low', () => {
    const { pt } = setup();
    pt.mapKernelSections([
      { name: '.text', vma: 0xffffffff80000000n, lma: 0x100000, size: 0x1800, kind: 'text' },
      { name: '.rodata', vma: 0xffffffff80002000n, lma: 0x102000, size: 0x1000, kind: 'rodata' },
      { name: '.data', vma: 0xffffffff80003000n, lma: 0x103000, size: 0x1000, kind: 'data' },
      { name: '.bss', vma: 0xffffffff80004000n, lma: 0x104000, size: 0x2000, kind: 'bss' },
    ]);
    expect(pt.translate(0xffffffff80001000n)).toMatchObject({ phys: 0x101000, flags: { writable: false, noExecute: false } });
    expect(pt.translate(0xffffffff80002000n)!.flags).toMatchObject({ writable: false, noExecute: true });
    expect(pt.translate(0xffffffff80005fffn)).toMatchObject({ phys: 0x105fff, flags: { writable: true, noExecute: true } });
    expect(pt.ranges().every((r) => !(r.flags.writable && !r.flags.noExecute))).toBe(true);
    expect(() => pt.mapKernelSections([{ name: 'x', vma: 0xffffffff90000000n, lma: 0x1234, size: 1, kind: 'text' }])).toThrow(expect.objectContaining({ code: 'PAGING_BAD_SECTION' }));
    // sections sharing a page: the page gets the union of their rights
    pt.mapKernelSections([
      { name: '.data', vma: 0xffffffff90000000n, lma: 0x200000, size: 0x1100, kind: 'data' },
      { name: '.bss', vma: 0xffffffff90001100n, lma: 0x201100, size: 0x2000, kind: 'bss' },
      { name: '.rodata', vma: 0xffffffff90010000n, lma: 0x210000, size: 0x10, kind: 'rodata' },
      { name: '.text2', vma: 0xffffffff90010010n, lma: 0x210010, size: 0x10, kind: 'text' },
    ]);
    expect(pt.translate(0xffffffff90001100n)).toMatchObject({ phys: 0x201100, flags: { writable: true, noExecute: true } });
    expect(pt.translate(0xffffffff90003000n)).toMatchObject({ phys: 0x203000 });
    expect(pt.translate(0xffffffff90004000n)).toBeNull();
    expect(pt.translate(0xffffffff90010000n)!.flags).toMatchObject({ writable: false, noExecute: false });
    expect(() => pt.mapKernelSections([
      { name: 'a', vma: 0xffffffffa0000000n, lma: 0x300000, size: 0x800, kind: 'data' },
      { name: 'b', vma: 0xffffffffa0000800n, lma: 0x400800, size: 0x800, kind: 'data' },
    ])).toThrow(expect.objectContaining({ code: 'PAGING_BAD_SECTION' }));
  });

  it('direct map uses the largest pages; identity map; recursive entry; stack guard', () => {
    const memory = new PhysicalMemory();
    memory.addRegion(0, 4 * MiB);
    const pt = new PageTableBuilder({ memory, frames: new ListFrames(0x10000, 0x400000), levels: 4 });
    pt.mapPhysicalMemory({ offset: 0xffff888000000000n, ranges: [{ start: 0, end: 3 * GiB }] });
    expect(pt.mappings().map((m) => m.size)).toEqual([GiB, GiB, GiB]);
    pt.identityMap({ start: 0x100000, end: 0x101800 }, { writable: true });
    expect(pt.translate(0x101000n)).toMatchObject({ phys: 0x101000, flags: { writable: true } });
    const rootVirt = pt.mapRecursive(510);
    expect(rootVirt).toBe(0xffffff7fbfdfe000n);
    // through the recursive entry the root table itself is visible at rootVirt
    expect(pt.translate(rootVirt)!.phys).toBe(pt.root);
    expect(() => pt.map({ virt: 0xffffff0000000000n, phys: 0, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_RECURSIVE_SLOT' }));
    expect(() => pt.unmap(0xfffffe8000000000n, 0x10000000000)).toThrow(expect.objectContaining({ code: 'PAGING_RECURSIVE_SLOT' }));
    expect(() => pt.protect(0xffffff0000000000n, 4096, {})).toThrow(expect.objectContaining({ code: 'PAGING_RECURSIVE_SLOT' }));
    expect(() => pt.mapRecursive(3)).toThrow(expect.objectContaining({ code: 'PAGING_RECURSIVE_SLOT' }));
    const stack = pt.mapStack({ top: 0xffffffffc0000000n, size: 0x4000 });
    expect(stack.guard).toBe(0xffffffffbfffb000n);
    expect(pt.translate(stack.guard)).toBeNull();
    expect(pt.translate(stack.bottom)!.flags).toMatchObject({ writable: true, noExecute: true });
    expect(() => pt.map({ virt: stack.guard, phys: 0, size: 4096 })).toThrow(expect.objectContaining({ code: 'PAGING_GUARD_PAGE' }));
  });

  it('5-level paging maps 57-bit addresses', () => {
    const { memory, pt } = setup(5);
    pt.map({ virt: 0xff00000000000000n, phys: 0x200000, size: 2 * MiB, flags: { global: true } });
    pt.map({ virt: 0x00ff_ffff_ffff_f000n, phys: 0x1000, size: 4096 });
    expect(pt.translate(0xff00000000001234n)).toMatchObject({ phys: 0x201234, pageSize: 0x200000 });
    expect(pt.translate(0x00ff_ffff_ffff_f008n)!.phys).toBe(0x1008);
    expect(entries(memory, pt.root, 5, 0xff00000000000000n)).toHaveLength(4);
    expect(() => pt.map({ virt: 0xfe00000000000000n, phys: 0, size: 4096 })).toThrow(AddressError);
    expect(pt.mappings().map((m) => m.virt)).toEqual([0x00ff_ffff_ffff_f000n, 0xff00000000000000n]);
  });
});

describe('tables spread over regions', () => {
  it('translate follows tables outside the root region and in lazily backed memory', () => {
    const memory = new PhysicalMemory();
    memory.addRegion(0, 0x2000);
    memory.addRegion(0x100000000, 2 ** 33, { backing: 'lazy' });
    let next = 0x1000;
    const frames = { allocate: () => { const a = next; next = next === 0x1000 ? 0x100000000 : next + 4096; return a; }, free: () => {} };
    const pt = new PageTableBuilder({ memory, frames });
    expect(pt.root).toBe(0x1000);
    pt.map({ virt: 0xffffffff80000000n, phys: 0x5000, size: 0x3000, flags: { writable: true } });
    expect(pt.translate(0xffffffff80002abcn)).toMatchObject({ phys: 0x7abc, pageSize: 4096, flags: { writable: true } });
    expect(pt.translateAddr(0xffffffff80001000n)).toBe(0x6000);
    expect(pt.translateAddr(0xffffffff80003000n)).toBeNull();
    expect(pt.tableFrames()).toEqual([0x1000, 0x100000000, 0x100001000, 0x100002000]);
    expect(readPageTables(memory, { root: pt.root }).mappings()).toEqual(pt.mappings());
  });
});
