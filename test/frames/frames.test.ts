/**
 * Unit tests of both frame allocators: construction from real OVMF maps, metadata header
 * and attach, exact constraint edges, reservations, typed misuse errors, check() catching
 * corrupted state, scale (12 TiB and 1 PiB maps in lazily backed memory), and the
 * project's frame-allocator conformance suite.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { frameAllocatorConformance } from '../../src/arbitraries/frame-conformance.js';
import { BitmapFrameAllocator, BuddyFrameAllocator, FRAMES_MAGIC, FrameError, type FrameAllocator } from '../../src/frames/index.js';
import { H_DATA_OFF, H_KIND_AREA } from '../../src/frames/meta.js';
import { PhysicalMemory } from '../../src/memory/index.js';
import { parseMemoryMap, type MemoryMap } from '../../src/uefi/index.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const runs = Number(process.env.FC_RUNS ?? 30);

type Kind = 'bitmap' | 'buddy';
type Any = FrameAllocator & { metadataAddress: number };

function ovmf(config: string): MemoryMap {
  const bytes = readFileSync(new URL(`../fixtures/frames/ovmf/${config}.at_exit.bin`, import.meta.url));
  return parseMemoryMap(new Uint8Array(bytes), { descriptorSize: 48, descriptorVersion: 1 });
}

function make(kind: Kind, memory: PhysicalMemory, ranges: { start: number; end: number }[], extra: object = {}): Any {
  return kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges, ...extra }) : BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges, ...extra });
}

function attach(kind: Kind, memory: PhysicalMemory, address: number): Any {
  return kind === 'bitmap' ? BitmapFrameAllocator.attach(memory, address) : BuddyFrameAllocator.attach(memory, address);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof FrameError) return e.code;
    throw e;
  }
  return 'no error';
}

/** A server-like map: low memory, then `pieces` large ranges above 4 GiB with small holes, `total` bytes in all. */
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

describe.each(['bitmap', 'buddy'] as const)('%s frame allocator', (kind) => {
  it('builds from a real OVMF map: metadata in usable memory at >= 1 MiB, reserved, header magic, page 0 left out', () => {
    const map = ovmf('q35-2G');
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 2 * GiB + 256 * MiB, { backing: 'lazy' });
    const frames = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, map) : BuddyFrameAllocator.fromMemoryMap(memory, map);
    const usable = map.usableAfterExitBootServices();
    const meta = frames.metadataAddress;
    expect(meta).toBeGreaterThanOrEqual(MiB);
    expect(usable.some((r) => meta >= r.start && meta < r.end)).toBe(true);
    expect(memory.readU32(meta)).toBe(FRAMES_MAGIC);
    expect(memory.readU32(meta + 8)).toBe(kind === 'bitmap' ? 1 : 2);
    expect(frames.isFree(meta)).toBe(false);
    expect(frames.isFree(0)).toBe(false);
    const s = frames.stats();
    const usableFrames = usable.reduce((n, r) => n + (r.end - r.start) / 4096, 0) - (usable[0].start === 0 ? 1 : 0);
    expect(s.total).toBe(usableFrames);
    expect(s.used).toBe(0);
    expect(s.free + s.reserved).toBe(s.total);
    expect(() => frames.free(meta)).toThrowError(expect.objectContaining({ code: 'FRAME_RESERVED' }));
    frames.check();
    const withZero = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, map, { includePageZero: true, metadataAddress: 0x40000000 }) : null;
    if (withZero && usable[0].start === 0) expect(withZero.isFree(0)).toBe(true);
  });

  it('attach() from the metadata address sees the same state; wrong addresses and kinds are typed errors', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 32 * MiB);
    const frames = make(kind, memory, [{ start: MiB, end: 32 * MiB }]);
    const a = frames.allocate(4)!;
    const b = frames.allocate(1, { maxAddress: 0x1fffff })!;
    const other = attach(kind, memory, frames.metadataAddress);
    expect(other.stats()).toEqual(frames.stats());
    expect(other.isFree(a)).toBe(false);
    other.free(b);
    expect(frames.isFree(b)).toBe(true);
    other.check();
    expect(code(() => attach(kind, memory, frames.metadataAddress + 4096))).toBe('FRAME_BAD_METADATA');
    expect(code(() => attach(kind, memory, 123))).toBe('FRAME_BAD_METADATA');
    expect(code(() => attach(kind, memory, 64 * MiB))).toBe('FRAME_BAD_METADATA');
    expect(code(() => (kind === 'bitmap' ? BuddyFrameAllocator : BitmapFrameAllocator).attach(memory, frames.metadataAddress))).toBe('FRAME_BAD_METADATA');
  });

  it('maxAddress bounds the last byte exactly; minAddress the first; align is honoured', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 8 * MiB);
    const frames = make(kind, memory, [{ start: MiB, end: 2 * MiB }, { start: 4 * MiB, end: 8 * MiB }], { metadataAddress: 4 * MiB });
    expect(frames.allocate(1, { maxAddress: 0x100ffe })).toBeNull();
    expect(frames.allocate(1, { maxAddress: 0x100fff })).toBe(0x100000);
    expect(frames.allocate(2, { maxAddress: 0x103fff, minAddress: 0x101000 })).toBe(kind === 'bitmap' ? 0x101000 : 0x102000);
    expect(frames.allocate(1, { minAddress: 0x104001, maxAddress: 0x104fff })).toBeNull();
    expect(frames.allocate(1, { minAddress: 0x104000, maxAddress: 0x104fff })).toBe(0x104000);
    const big = frames.allocate(1, { align: 2 * MiB, minAddress: 4 * MiB + 1 });
    expect(big).toBe(6 * MiB);
    // fill the low range except its very last frame
    const taken: number[] = [];
    for (;;) {
      const f = frames.allocate(1, { maxAddress: 0x1fefff });
      if (f === null) break;
      taken.push(f);
    }
    expect(frames.allocate(1, { maxAddress: 0x1fefff })).toBeNull();
    expect(frames.allocate(1, { maxAddress: 0x1fffff })).toBe(0x1ff000);
    expect(frames.allocate(1, { maxAddress: 0x1fffff })).toBeNull();
    frames.check();
  });

  it('misuse is a typed error that changes nothing', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 16 * MiB);
    const frames = make(kind, memory, [{ start: MiB, end: 16 * MiB }]);
    const a = frames.allocate(2)!;
    const before = frames.stats();
    const cases: [() => unknown, string][] = [
      [() => frames.free(a + 0x800), 'FRAME_MISALIGNED'],
      [() => frames.free(a, 0), 'FRAME_BAD_COUNT'],
      [() => frames.free(a, 1.5), 'FRAME_BAD_COUNT'],
      [() => frames.free(a + 8 * 4096), 'FRAME_NOT_ALLOCATED'],
      [() => frames.free(0x1000), 'FRAME_OUT_OF_RANGE'],
      [() => frames.free(2 ** 52), 'FRAME_OUT_OF_RANGE'],
      [() => frames.free(Number.NaN), 'FRAME_OUT_OF_RANGE'],
      [() => frames.free(frames.metadataAddress), 'FRAME_RESERVED'],
      [() => frames.allocate(0), 'FRAME_BAD_COUNT'],
      [() => frames.allocate(-1), 'FRAME_BAD_COUNT'],
      [() => frames.allocate(1, { align: 2048 }), 'FRAME_BAD_ALIGN'],
      [() => frames.allocate(1, { align: 3 * 4096 }), 'FRAME_BAD_ALIGN'],
      [() => frames.allocate(1, { maxAddress: -1 }), 'FRAME_BAD_OPTION'],
      [() => frames.allocate(1, { minAddress: 0.5 }), 'FRAME_BAD_OPTION'],
      [() => frames.allocateAt(a + 1), 'FRAME_MISALIGNED'],
      [() => frames.allocateAt(a, 0), 'FRAME_BAD_COUNT'],
      [() => frames.reserve(a, 4096), 'FRAME_IN_USE'],
      [() => frames.reserve(a, 0), 'FRAME_BAD_COUNT'],
      [() => frames.reserve(-1, 4096), 'FRAME_OUT_OF_RANGE'],
      [() => frames.isFree(-4096), 'FRAME_OUT_OF_RANGE'],
    ];
    for (const [fn, c] of cases) {
      expect(code(fn)).toBe(c);
      expect(frames.stats()).toEqual(before);
    }
    frames.free(a, 2);
    expect(code(() => frames.free(a, 2))).toBe('FRAME_NOT_ALLOCATED');
    frames.check();
    expect(frames.allocateAt(a, 1)).toBe(true);
    expect(frames.allocateAt(a, 1)).toBe(false);
    expect(frames.allocateAt(0x2000, 1)).toBe(false); // not usable memory
  });

  it('reserve() rounds outwards, skips unusable memory, is idempotent, and never frees', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 16 * MiB);
    const frames = make(kind, memory, [{ start: MiB, end: 2 * MiB }, { start: 4 * MiB, end: 16 * MiB }], { metadataAddress: 8 * MiB });
    const before = frames.stats();
    frames.reserve(2 * MiB - 0x1800, 0x1800 + 2 * MiB + 0x1000); // 2 frames below the hole, the hole, 1 frame after it
    const after = frames.stats();
    expect(after.reserved - before.reserved).toBe(3);
    expect(frames.isFree(4 * MiB)).toBe(false);
    expect(frames.isFree(4 * MiB + 0x1000)).toBe(true);
    frames.reserve(2 * MiB - 0x1000, 0x1000);
    expect(frames.stats()).toEqual(after);
    expect(frames.isFree(2 * MiB - 0x2000)).toBe(false);
    expect(code(() => frames.free(2 * MiB - 0x2000))).toBe('FRAME_RESERVED');
    frames.check();
  });

  it('a full reservation list is FRAME_TOO_MANY_RESERVATIONS and changes nothing', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 32 * MiB);
    const frames = make(kind, memory, [{ start: MiB, end: 32 * MiB }]);
    let n = 1; // the metadata is one reservation
    let at = 2 * MiB;
    for (; n < 1024; n++, at += 2 * 4096) frames.reserve(at, 4096);
    const before = frames.stats();
    expect(code(() => frames.reserve(at, 4096))).toBe('FRAME_TOO_MANY_RESERVATIONS');
    expect(frames.stats()).toEqual(before);
    expect(frames.isFree(at)).toBe(true);
    frames.check();
  });

  it('bad construction input is typed', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 4 * MiB);
    expect(code(() => make(kind, memory, []))).toBe('FRAME_NO_USABLE_MEMORY');
    expect(code(() => make(kind, memory, [{ start: 0, end: 0x1000 }]))).toBe('FRAME_NO_USABLE_MEMORY');
    expect(code(() => make(kind, memory, [{ start: 5, end: 2 } as never]))).toBe('FRAME_BAD_OPTION');
    expect(code(() => make(kind, memory, [{ start: MiB, end: 2 * MiB }], { metadataAddress: 0x1234 }))).toBe('FRAME_BAD_OPTION');
    expect(code(() => make(kind, memory, [{ start: MiB, end: 2 * MiB }], { metadataAddress: 3 * MiB }))).toBe('FRAME_NO_METADATA_SPACE');
    expect(code(() => make(kind, memory, [{ start: 8 * MiB, end: 9 * MiB }]))).toBe('FRAME_NO_METADATA_SPACE');
    expect(code(() => (kind === 'bitmap' ? BitmapFrameAllocator : BuddyFrameAllocator).fromMemoryMap(memory, null))).toBe('FRAME_BAD_OPTION');
    if (kind === 'buddy') {
      expect(code(() => BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 2 * MiB }], maxOrder: 19 }))).toBe('FRAME_BAD_OPTION');
      // the buddy writes its lists into free frames: usable memory must be backed
      expect(code(() => BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 2 * MiB }, { start: 8 * MiB, end: 9 * MiB }] }))).toBe('FRAME_BAD_OPTION');
    }
  });

  it('check() reports corrupted state as FRAME_CORRUPT', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 16 * MiB);
    const frames = make(kind, memory, [{ start: MiB, end: 16 * MiB }]);
    const a = frames.allocate(1)!;
    frames.allocate(1);
    frames.free(a);
    frames.check();
    // the used counter (header words 12-13) disagrees with the structure
    memory.writeU32(frames.metadataAddress + 12 * 4, memory.readU32(frames.metadataAddress + 12 * 4) + 1);
    expect(code(() => frames.check())).toBe('FRAME_CORRUPT');
    memory.writeU32(frames.metadataAddress + 12 * 4, memory.readU32(frames.metadataAddress + 12 * 4) - 1);
    frames.check();
    if (kind === 'buddy') {
      frames.stats(); // returns the frame cache to the lists: \`a\` is a listed block again
      memory.writeU32(a + 20, 0xdeadbeef); // the free block's node magic
      expect(code(() => frames.check())).toBe('FRAME_CORRUPT');
    }
  });

  it('builds over a 12 TiB and a 1 PiB map writing almost nothing (zero = free, lazily backed)', () => {
    for (const total of [12 * 2 ** 40, 2 ** 50]) {
      const ranges = serverRanges(total, 68);
      const top = ranges[ranges.length - 1].end;
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(0, Math.ceil(top / GiB) * GiB, { backing: 'lazy' });
      const frames = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges }) : BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges, maxOrder: 18 });
      expect(memory.hostBytes()).toBeLessThan(128 * MiB);
      const s = frames.stats();
      expect(s.total).toBe(ranges.reduce((n, r) => n + (r.end - r.start) / 4096, 0));
      const high = frames.allocate(512, { align: 2 * MiB, minAddress: top - 4 * GiB })!;
      expect(high).toBeGreaterThanOrEqual(top - 4 * GiB);
      expect(high % (2 * MiB)).toBe(0);
      const low = frames.allocate(1, { maxAddress: 0xfffff })!;
      expect(low).toBeLessThan(0x100000);
      expect(frames.allocateAt(top - 4096)).toBe(true);
      frames.check();
      frames.free(high, 512);
      frames.free(low);
      frames.free(top - 4096);
      expect(frames.stats()).toEqual(s);
      frames.check();
    }
  });

  it('large in-use ranges are marked on whole summary nodes and can be freed frame by frame later', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 64 * MiB);
    const inUse = [{ start: 8 * MiB, end: 40 * MiB + 0x3000 }];
    const frames = make(kind, memory, [{ start: MiB, end: 64 * MiB }], { inUse, metadataAddress: MiB });
    const s0 = frames.stats();
    expect(s0.used).toBe((32 * MiB + 0x3000) / 4096);
    expect(frames.isFree(8 * MiB)).toBe(false);
    expect(frames.isFree(40 * MiB + 0x2000)).toBe(false);
    expect(frames.isFree(40 * MiB + 0x3000)).toBe(true);
    expect(frames.allocateAt(20 * MiB)).toBe(false);
    expect(code(() => frames.reserve(20 * MiB, 4096))).toBe('FRAME_IN_USE');
    frames.free(20 * MiB + 0x5000);
    expect(frames.isFree(20 * MiB + 0x5000)).toBe(true);
    expect(frames.isFree(20 * MiB + 0x6000)).toBe(false);
    frames.check();
    frames.free(8 * MiB, 4);
    frames.free(9 * MiB, 1);
    expect(frames.stats().used).toBe(s0.used - 6);
    frames.check();
    expect(frames.allocateAt(20 * MiB + 0x5000)).toBe(true);
    frames.check();
  });

  it('passes the frame-allocator conformance suite', async () => {
    await frameAllocatorConformance(
      () => {
        const memory = new PhysicalMemory({ shared: false });
        memory.addRegion(0, 8 * MiB);
        const usable = [{ start: 0x1000, end: 0x9f000 }, { start: MiB, end: 8 * MiB }];
        return { allocator: make(kind, memory, usable), usable };
      },
      { numRuns: runs },
    );
  });
});

describe('specifics', () => {
  it('splits on allocate, coalesces on free, rounds counts up, keeps per-order statistics', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 16 * MiB);
    const buddy = BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 4 * MiB, end: 8 * MiB }], metadataAddress: 4 * MiB, maxOrder: 8 });
    const start = buddy.stats();
    const a = buddy.allocate(3)!; // rounds to 4 frames, 16 KiB aligned
    expect(a % 0x4000).toBe(0);
    expect(buddy.stats().used).toBe(4);
    const b = buddy.allocate(1)!;
    expect(buddy.stats().perOrder).not.toEqual(start.perOrder);
    buddy.free(a, 3);
    buddy.free(b);
    expect(buddy.stats()).toEqual(start);
    expect(buddy.allocate(512)).toBeNull(); // above 2^maxOrder frames
    // exactly count frames at an address not aligned to the rounded size
    expect(buddy.allocateAt(5 * MiB + 0x1000, 3)).toBe(true);
    expect(buddy.stats().used).toBe(3);
    expect(buddy.isFree(5 * MiB)).toBe(true);
    expect(buddy.isFree(5 * MiB + 0x4000)).toBe(true);
    buddy.free(5 * MiB + 0x1000, 3);
    expect(buddy.stats()).toEqual(start);
    buddy.check();
  });

  it('bitmap: level-1 summary bits kept lazily by the single-frame paths stay sound (check, searches, a second instance over shared memory)', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 32 * MiB);
    const frames = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 32 * MiB }] });
    const total = frames.stats().free;
    const held: number[] = [];
    for (let i = 0; i < 4096; i++) held.push(frames.allocate()!);
    for (let r = 0; r < 20000; r++) {
      const j = (r * 7919) % held.length;
      frames.free(held[j]);
      held[j] = frames.allocate()!;
    }
    // empty some words entirely (their USED bits stay), and leave others full (FULL bits unset)
    const kept = held.filter((a) => Math.floor(a / 4096 / 32) % 3 !== 0);
    for (const a of held) if (Math.floor(a / 4096 / 32) % 3 === 0) frames.free(a);
    frames.check();
    // the laziness is real: some level-1 bit disagrees with its leaf word (both stale states occur)
    const meta = frames.metadataAddress;
    const off = (i: number) => memory.readU32(meta + 4 * i) + memory.readU32(meta + 4 * i + 4) * 2 ** 32;
    const full1 = meta + 4 * off(H_KIND_AREA);
    const used1 = meta + 4 * off(H_KIND_AREA + 2);
    const leaf = meta + off(H_DATA_OFF); // a byte offset (the summary offsets are in words)
    let staleFull = 0;
    let staleUsed = 0;
    for (let w = 0; w < (32 * MiB) / 4096 / 32; w++) {
      const lw = memory.readU32(leaf + 4 * w);
      const bit = (at: number) => (memory.readU32(at + 4 * (w >>> 5)) >>> (w & 31)) & 1;
      if (lw === 0xffffffff && bit(full1) === 0) staleFull++;
      if (lw === 0 && bit(used1) === 1) staleUsed++;
    }
    expect(staleFull).toBeGreaterThan(0);
    expect(staleUsed).toBeGreaterThan(0);
    expect(frames.stats().used).toBe(kept.length);
    // a copy in SharedArrayBuffer memory (lock-free atomic paths) hands out every free frame exactly once
    const shared = new PhysicalMemory({ shared: true });
    shared.addRegion(0, 32 * MiB);
    shared.write(0, memory.read(0, 32 * MiB));
    const other = BitmapFrameAllocator.attach(shared, meta);
    other.check();
    /** Allocates until null: every frame handed out is new, and with `kept` they make up `total`. */
    const exhaust = (a: BitmapFrameAllocator) => {
      const seen = new Set(kept);
      for (let f = a.allocate(); f !== null; f = a.allocate()) {
        expect(seen.has(f)).toBe(false);
        seen.add(f);
      }
      expect(seen.size).toBe(total);
      expect(a.stats().free).toBe(0);
      a.check();
    };
    exhaust(other);
    // and the original instance, lazily kept state and all, does the same
    exhaust(frames);
  });

  it('buddy: single frames in and out of the fast window (two plain regions and a lazy one) are handed out once each', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 4 * MiB); // small plain region
    memory.addRegion(8 * MiB, 16 * MiB); // the largest plain region: the nodes' fast window
    memory.addRegion(32 * MiB, 4 * MiB, { backing: 'lazy' });
    const ranges = [{ start: MiB, end: 4 * MiB }, { start: 8 * MiB, end: 24 * MiB }, { start: 32 * MiB, end: 36 * MiB }];
    const buddy = BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges, maxOrder: 6 });
    const total = buddy.stats().free;
    const take = () => {
      const got: number[] = [];
      for (let a = buddy.allocate(); a !== null; a = buddy.allocate()) got.push(a);
      expect(new Set(got).size).toBe(got.length);
      return got;
    };
    const first = take();
    expect(first.length).toBe(total);
    expect(first.some((a) => a < 4 * MiB) && first.some((a) => a >= 8 * MiB && a < 24 * MiB) && first.some((a) => a >= 32 * MiB)).toBe(true);
    // free in a scrambled order (coalescing on and off the fast path), then take everything again
    for (let i = 0; i < first.length; i++) buddy.free(first[(i * 7919) % first.length]);
    buddy.check();
    expect(buddy.stats().free).toBe(total);
    const second = take();
    expect(second.slice().sort((x, y) => x - y)).toEqual(first.slice().sort((x, y) => x - y));
    expect(() => buddy.free(second[0] + 0)).not.toThrow();
    expect(() => buddy.free(second[0])).toThrowError(expect.objectContaining({ code: 'FRAME_NOT_ALLOCATED' }));
    buddy.check();
  });

  it('bitmap: a descent that meets a lazily unmarked full word marks it and goes on', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 32 * MiB);
    const frames = BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: 0, end: 32 * MiB }], includePageZero: true, metadataAddress: 16 * MiB });
    const got = Array.from({ length: 64 * 32 }, () => frames.allocate()!);
    expect(got[0]).toBe(0);
    // words 0 and 31 each give a frame back and take it again: both are full with FULL unset
    for (const at of [0, 31 * 32]) {
      frames.free(got[at]);
      expect(frames.allocate()).toBe(got[at]);
    }
    // the hint (word 31) and its siblings above are full, so this one descends from the top,
    // reaches word 0 first (looks not full), marks it and descends again
    expect(frames.allocate()).toBe(64 * 32 * 4096);
    frames.check();
  });

  it('bitmap: first allocations come out in address order, like the native crate', () => {
    for (const kind of ['bitmap'] as const) {
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(0, 16 * MiB);
      const frames = make(kind, memory, [{ start: 0, end: 8 * MiB }], { includePageZero: true, metadataAddress: 4 * MiB });
      const first = Array.from({ length: 8 }, () => frames.allocate()! / 4096);
      expect(first).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
  });
});
