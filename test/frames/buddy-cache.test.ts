// The buddy allocator's single-frame cache (src/frames/buddy-cache.ts): cached frames are
// free to every query, invisible to the list algorithms, returned to the lists whenever a
// multi-frame operation needs them, checked by check(), and shared with attached instances.
import { describe, expect, it } from 'vitest';
import { BitmapFrameAllocator, BuddyFrameAllocator, PhysicalMemory } from '../../src/index.js';

const MiB = 2 ** 20;
const FRAME = 4096;
/** Header word (after the metadata address) holding the number of cached frames. */
const CACHE_N = 32 + 90;
const CACHE_AT = 32 + 96;

function setup(maxOrder = 6) {
  const memory = new PhysicalMemory({ shared: false });
  memory.addRegion(0, 16 * MiB);
  const buddy = BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 16 * MiB }], maxOrder, metadataAddress: MiB });
  const cached = () => memory.readU32(buddy.metadataAddress + CACHE_N * 4);
  /** Allocates until a refill took a whole 32-frame block (the lists' small edge blocks go first); returns its first frame. */
  const untilRefill = () => {
    for (;;) {
      const a = buddy.allocate()!;
      if (cached() === 31) return a;
    }
  };
  return { memory, buddy, cached, untilRefill };
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? 'untyped';
  }
  return 'no error';
}

describe('buddy frame cache', () => {
  it('single frames keep the 64-bit used counter exact across its low word, on both allocators', () => {
    const USED = 12; // header word: used frames, low word (high word next)
    for (const kind of ['buddy', 'bitmap'] as const) {
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(0, 16 * MiB);
      const opts = { ranges: [{ start: MiB, end: 16 * MiB }], metadataAddress: MiB };
      const a = kind === 'buddy' ? BuddyFrameAllocator.fromMemoryMap(memory, null, opts) : BitmapFrameAllocator.fromMemoryMap(memory, null, opts);
      const x = a.allocate()!;
      a.free(x); // (the frame is now cached / free: the fast paths are warm)
      const at = a.metadataAddress + USED * 4;
      const used = () => memory.readU32(at) + memory.readU32(at + 4) * 2 ** 32;
      // low word all ones: the next allocation carries into the high word
      memory.writeU32(at, 0xffffffff);
      memory.writeU32(at + 4, 0);
      const f = a.allocate()!;
      expect(used(), kind).toBe(2 ** 32);
      a.free(f); // low word 0: the free borrows from the high word
      expect(used(), kind).toBe(2 ** 32 - 1);
      // the low word at 2^31 (negative through a signed view): a free leaves 2^31 - 1
      const g = a.allocate()!;
      memory.writeU32(at, 0x80000000);
      memory.writeU32(at + 4, 0);
      a.free(g);
      expect(used(), kind).toBe(0x7fffffff);
      memory.writeU32(at, 0); // back to the truth (nothing handed out) for check()
      a.check();
      expect(a.stats().used).toBe(0);
    }
  });

  it('single frames come from one block (ascending) and go back through the cache without touching the frames', () => {
    const { memory, buddy, cached, untilRefill } = setup();
    // a refill takes the smallest listed block of up to 32 frames: the first frame out, the rest cached
    const a = untilRefill();
    expect(a % (32 * FRAME)).toBe(0);
    const next = Array.from({ length: 31 }, () => buddy.allocate()!);
    expect(next).toEqual(Array.from({ length: 31 }, (_, i) => a + (i + 1) * FRAME));
    expect(cached()).toBe(0);
    // a frame's bytes are the user's: freeing and taking it again through the cache writes nothing into it
    memory.writeU32(next[5], 0x12345678);
    memory.writeU32(next[5] + 20, 0x9abcdef0);
    buddy.free(next[5]);
    expect(cached()).toBe(1);
    expect(buddy.isFree(next[5])).toBe(true);
    expect(memory.readU32(next[5])).toBe(0x12345678);
    expect(memory.readU32(next[5] + 20)).toBe(0x9abcdef0);
    expect(buddy.allocate()).toBe(next[5]);
    expect(buddy.isFree(next[5])).toBe(false);
    buddy.check();
  });

  it('a double free of a cached frame is FRAME_NOT_ALLOCATED and changes nothing', () => {
    const { memory, buddy, cached } = setup();
    const got = Array.from({ length: 40 }, () => buddy.allocate()!);
    buddy.free(got[3]);
    const before = cached();
    const header = memory.read(buddy.metadataAddress, 4096).slice();
    expect(code(() => buddy.free(got[3]))).toBe('FRAME_NOT_ALLOCATED');
    expect(code(() => buddy.free(got[2], 2))).toBe('FRAME_NOT_ALLOCATED'); // a run holding the cached frame
    expect(memory.read(buddy.metadataAddress, 4096)).toEqual(header);
    expect(cached()).toBe(before);
    buddy.check();
  });

  it('stats() reports the merged state: freeing everything restores the first per-order counts', () => {
    const { buddy, cached } = setup();
    const s0 = buddy.stats();
    const got: number[] = [];
    for (let a = buddy.allocate(); a !== null; a = buddy.allocate()) got.push(a);
    expect(got.length).toBe(s0.free);
    for (let i = 0; i < got.length; i++) buddy.free(got[(i * 7919) % got.length]);
    expect(cached()).toBeGreaterThan(0);
    expect(buddy.stats()).toEqual(s0);
    expect(cached()).toBe(0);
    buddy.check();
  });

  it('a block kept from merging by cached frames is still found: the cache is returned and the call retried', () => {
    const { buddy, cached } = setup(6);
    const all: number[] = [];
    for (let a = buddy.allocate(); a !== null; a = buddy.allocate()) all.push(a);
    // give back one aligned 64-frame block frame by frame: all of it sits in the cache
    const base = all.find((a) => a % (64 * FRAME) === 0)!;
    for (let i = 0; i < 64; i++) buddy.free(base + i * FRAME);
    expect(cached()).toBeGreaterThan(0);
    expect(buddy.allocate(64)).toBe(base);
    expect(cached()).toBe(0);
    buddy.check();
  });

  it('allocateAt and reserve see cached frames as free', () => {
    const { buddy } = setup();
    const got = Array.from({ length: 8 }, () => buddy.allocate()!);
    buddy.free(got[1]);
    buddy.free(got[2]);
    expect(buddy.allocateAt(got[1])).toBe(true);
    expect(buddy.isFree(got[1])).toBe(false);
    buddy.reserve(got[2], FRAME);
    expect(buddy.isFree(got[2])).toBe(false);
    expect(code(() => buddy.free(got[2]))).toBe('FRAME_RESERVED');
    expect(buddy.stats().reserved).toBeGreaterThan(0);
    buddy.check();
  });

  it('a constrained single frame comes from the cache when one fits, else from the lists', () => {
    const { buddy, cached, untilRefill } = setup();
    const first = untilRefill();
    const got = [first, ...Array.from({ length: 31 }, () => buddy.allocate()!)];
    for (const a of got) buddy.free(a);
    expect(cached()).toBe(32);
    // first + 16 frames is the only cached frame 16-frame aligned at or above first + 1
    expect(buddy.allocate(1, { align: 16 * FRAME, minAddress: first + FRAME })).toBe(first + 16 * FRAME);
    expect(cached()).toBe(31);
    const low = buddy.allocate(1, { maxAddress: 2 * MiB - 1 })!;
    expect(low).toBeLessThan(2 * MiB);
    expect(low).toBeGreaterThanOrEqual(MiB);
    buddy.check();
  });

  it('a full cache sends its oldest frames back to the lists, merging them', () => {
    const { buddy, cached } = setup(6);
    const got = Array.from({ length: 300 }, () => buddy.allocate()!);
    let i = 0;
    while (cached() < 64) buddy.free(got[i++]);
    const free = buddy.stats().free; // (drains: the cache is empty again)
    expect(cached()).toBe(0);
    while (cached() < 64) buddy.free(got[i++]);
    buddy.free(got[i++]);
    expect(cached()).toBe(33);
    expect(buddy.stats().free).toBe(free + 65);
    buddy.check();
  });

  it('a failed allocateAt or reserve leaves the cache (and every header byte) as it was', () => {
    const { memory, buddy, cached } = setup();
    const got = Array.from({ length: 40 }, () => buddy.allocate()!);
    buddy.free(got[7]);
    expect(cached()).toBeGreaterThan(0);
    const header = memory.read(buddy.metadataAddress, 4096).slice();
    expect(buddy.allocateAt(got[8])).toBe(false); // handed out
    expect(buddy.allocateAt(got[7], 2)).toBe(false); // the cached frame and a handed-out one
    expect(code(() => buddy.reserve(got[8], FRAME))).toBe('FRAME_IN_USE');
    expect(memory.read(buddy.metadataAddress, 4096)).toEqual(header);
    expect(buddy.allocateAt(got[7])).toBe(true);
    buddy.check();
  });

  it('check() finds a handed-out or reserved frame whose taken bit is clear (it would read as free)', () => {
    const { memory, buddy } = setup();
    const takenWord = (a: number) => buddy.metadataAddress + memory.readU32(buddy.metadataAddress + (32 + 88) * 4) * 4 + Math.floor((a / FRAME - 256) / 32) * 4;
    const clearBit = (a: number) => {
      const word = takenWord(a);
      const old = memory.readU32(word);
      memory.writeU32(word, (old & ~(1 << ((a / FRAME - 256) % 32))) >>> 0);
      return () => memory.writeU32(word, old);
    };
    const a = buddy.allocate()!;
    buddy.reserve(8 * MiB, FRAME);
    buddy.check();
    for (const at of [a, 8 * MiB]) {
      const undo = clearBit(at);
      expect(buddy.isFree(at)).toBe(true);
      expect(code(() => buddy.check())).toBe('FRAME_CORRUPT');
      undo();
      buddy.check();
    }
  });

  it('in-use frames must be backed by memory too (they hold list nodes once freed)', () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, 16 * MiB);
    const inUse = [{ start: 16 * MiB, end: 32 * MiB }];
    expect(code(() => BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 32 * MiB }], inUse }))).toBe('FRAME_BAD_OPTION');
    memory.addRegion(16 * MiB, 16 * MiB, { backing: 'lazy' });
    const buddy = BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges: [{ start: MiB, end: 32 * MiB }], inUse, maxOrder: 6 });
    for (let i = 0; i < 100; i++) buddy.free(16 * MiB + i * FRAME); // through the cache and its flushes
    buddy.check();
    expect(buddy.stats().free).toBe((15 * MiB) / FRAME - buddy.stats().reserved + 100);
  });

  it('an attached instance shares the cache', () => {
    const { memory, buddy } = setup();
    const a = buddy.allocate()!;
    const other = BuddyFrameAllocator.attach(memory, buddy.metadataAddress);
    expect(other.allocate()).toBe(a + FRAME);
    other.free(a);
    expect(buddy.allocate()).toBe(a);
    buddy.check();
    other.check();
  });

  it('check() names a corrupted cache', () => {
    const { memory, buddy } = setup();
    const got = Array.from({ length: 4 }, () => buddy.allocate()!);
    buddy.free(got[0]);
    buddy.free(got[1]);
    buddy.check();
    const entry = (i: number) => buddy.metadataAddress + (CACHE_AT + i) * 4;
    const n = buddy.metadataAddress + CACHE_N * 4;
    const keep = [memory.readU32(entry(0)), memory.readU32(entry(1))];
    const count = memory.readU32(n);
    const message = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      }
      return 'no error';
    };
    memory.writeU32(entry(1), keep[0]); // the same frame twice
    expect(message(() => buddy.check())).toMatch(/FRAME_CORRUPT: .*cached twice/);
    memory.writeU32(entry(1), got[2] / FRAME - 256); // got[2]: handed out (entries are relative to the base frame, 256 here)
    expect(message(() => buddy.check())).toMatch(/FRAME_CORRUPT: .*marked taken/);
    memory.writeU32(entry(1), keep[1]);
    memory.writeU32(n, 99);
    expect(message(() => buddy.check())).toMatch(/FRAME_CORRUPT: .*more than its 64/);
    memory.writeU32(n, count);
    buddy.check();
    // a listed free frame whose taken bit is set (the bitmap's word offset is header words 120-121)
    buddy.stats(); // drains the cache: every free frame is on a list
    const top = 16 * MiB - FRAME;
    expect(buddy.isFree(top)).toBe(true);
    const word = buddy.metadataAddress + memory.readU32(buddy.metadataAddress + (32 + 88) * 4) * 4 + Math.floor((top / FRAME - 256) / 32) * 4;
    const old = memory.readU32(word);
    memory.writeU32(word, (old | (1 << ((top / FRAME - 256) % 32))) >>> 0);
    expect(message(() => buddy.check())).toMatch(/FRAME_CORRUPT: frame 0xfff000 of the free window at 0x140000 is marked taken/); // windows: checked at both ends
    memory.writeU32(word, old);
    buddy.check();
    // inside a listed block: got[0], back on the lists after the drain
    const rel0 = got[0] / FRAME - 256;
    const word0 = buddy.metadataAddress + memory.readU32(buddy.metadataAddress + (32 + 88) * 4) * 4 + Math.floor(rel0 / 32) * 4;
    const old0 = memory.readU32(word0);
    memory.writeU32(word0, (old0 | (1 << (rel0 % 32))) >>> 0);
    expect(message(() => buddy.check())).toMatch(/FRAME_CORRUPT: frame 0x[0-9a-f]+ of the free block at 0x[0-9a-f]+ is marked taken/);
    memory.writeU32(word0, old0);
    buddy.check();
  });

  for (const kind of ['bitmap', 'buddy'] as const) {
    it(`${kind}: the single free's learnt spans (both sides of a reservation) go stale when another instance reserves`, () => {
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(0, 16 * MiB);
      const ranges = [{ start: MiB, end: 16 * MiB }];
      const a = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, null, { ranges, metadataAddress: 8 * MiB }) : BuddyFrameAllocator.fromMemoryMap(memory, null, { ranges, metadataAddress: 8 * MiB, maxOrder: 6 });
      const low = [a.allocateAt(2 * MiB) && 2 * MiB, a.allocateAt(2 * MiB + FRAME) && 2 * MiB + FRAME] as number[];
      const high = [a.allocateAt(12 * MiB) && 12 * MiB, a.allocateAt(12 * MiB + FRAME) && 12 * MiB + FRAME] as number[];
      // alternate sides of the metadata's reservation: both spans get learnt
      a.free(low[0]);
      a.free(high[0]);
      expect(a.allocateAt(low[0])).toBe(true);
      expect(a.allocateAt(high[0])).toBe(true);
      a.free(low[0]);
      a.free(high[0]);
      // another instance reserves a free frame in each span; frees there must now be FRAME_RESERVED
      const b = kind === 'bitmap' ? BitmapFrameAllocator.attach(memory, a.metadataAddress) : BuddyFrameAllocator.attach(memory, a.metadataAddress);
      b.reserve(low[0], FRAME);
      b.reserve(high[0], FRAME);
      const code = (f: () => void) => {
        try {
          f();
        } catch (e) {
          return (e as { code?: string }).code;
        }
        return 'no error';
      };
      expect(code(() => a.free(low[0]))).toBe('FRAME_RESERVED');
      expect(code(() => a.free(high[0]))).toBe('FRAME_RESERVED');
      a.free(low[1]);
      a.free(high[1]);
      a.check();
      b.check();
    });
  }
});
