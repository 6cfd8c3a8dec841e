import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryAccessError, MemprimsError, PhysicalMemory, RegionError, LAZY_CHUNK_SIZE } from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 100);

/** Three regions with different backings; the first two are adjacent, the third is lazy and 8 GiB. */
function makeMemory() {
  const memory = new PhysicalMemory();
  memory.addRegion(0, 0x10000, { name: 'sab' });
  const host = new ArrayBuffer(0x10000 + 3);
  memory.addRegion(0x10000, new Uint8Array(host, 3, 0x10000), { name: 'view+3' }); // unaligned view
  const lazyBase = 2 ** 40;
  memory.addRegion(lazyBase, 2 ** 33, { name: 'lazy' });
  return { memory, host, lazyBase };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MemprimsError);
    return (e as MemprimsError).code;
  }
  return undefined;
}

describe('PhysicalMemory regions', () => {
  it('holds more than 4 GiB in several regions, lazily, with host memory following touches', () => {
    const memory = new PhysicalMemory();
    memory.addRegion(0, 2 ** 31, { name: 'low' });
    memory.addRegion(2 ** 32, 2 ** 32 * 3, { name: 'high' }); // 12 GiB, lazy
    memory.addRegion(2 ** 45, 12 * 2 ** 40, { name: 'server' }); // 12 TiB, lazy
    expect(memory.size).toBe(2 ** 31 + 3 * 2 ** 32 + 12 * 2 ** 40);
    const before = memory.hostBytes();
    memory.writeU32(2 ** 32 + 5 * 2 ** 30, 0xcafebabe);
    memory.writeU64(2 ** 45 + 11 * 2 ** 40, 0x1122334455667788n);
    expect(memory.readU32(2 ** 32 + 5 * 2 ** 30)).toBe(0xcafebabe);
    expect(memory.readU64(2 ** 45 + 11 * 2 ** 40)).toBe(0x1122334455667788n);
    expect(memory.hostBytes() - before).toBe(2 * LAZY_CHUNK_SIZE);
    // Never-written bytes of a lazy region read as zero and create nothing.
    expect(memory.readU64(2 ** 45 + 2 ** 40)).toBe(0n);
    expect(memory.read(2 ** 45 + 7, 100).every((b) => b === 0)).toBe(true);
    expect(memory.hostBytes() - before).toBe(2 * LAZY_CHUNK_SIZE);
    memory.fill(2 ** 45 + 2 ** 41, 4 * LAZY_CHUNK_SIZE, 0); // zero-fill creates nothing either
    expect(memory.hostBytes() - before).toBe(2 * LAZY_CHUNK_SIZE);
  });

  it('defaults to SharedArrayBuffer, falls back to ArrayBuffer on request', () => {
    const shared = new PhysicalMemory();
    expect(shared.addRegion(0, 4096).buffer).toBeInstanceOf(SharedArrayBuffer);
    const plain = new PhysicalMemory({ shared: false });
    const info = plain.addRegion(0, 4096);
    expect(info.buffer).toBeInstanceOf(ArrayBuffer);
    expect(info.shared).toBe(false);
    expect(codeOf(() => plain.toShared())).toBe('REGION_NOT_SHAREABLE');
  });

  it('wraps a caller buffer in place, without copying (ArrayBuffer, view, WebAssembly.Memory)', () => {
    const memory = new PhysicalMemory();
    const ab = new ArrayBuffer(4096);
    memory.addRegion(0x1000, ab);
    memory.writeU32(0x1004, 0xdeadbeef);
    expect(new DataView(ab).getUint32(4, true)).toBe(0xdeadbeef);

    const wasm = new WebAssembly.Memory({ initial: 1 });
    memory.addRegion(0x100000, wasm);
    new Uint8Array(wasm.buffer)[10] = 0x5a;
    expect(memory.readU8(0x10000a)).toBe(0x5a);
    memory.writeU16(0x100020, 0xbeef);
    expect(new Uint8Array(wasm.buffer)[0x20]).toBe(0xef);
    expect(memory.regionAt(0x100000)?.size).toBe(65536);
  });

  it('rejects overlapping, empty, oversized and unusable regions, changing nothing', () => {
    const memory = new PhysicalMemory();
    memory.addRegion(0x10000, 0x10000);
    const before = memory.regions();
    expect(codeOf(() => memory.addRegion(0x18000, 0x10000))).toBe('REGION_OVERLAP');
    expect(codeOf(() => memory.addRegion(0, 0x10001))).toBe('REGION_OVERLAP');
    expect(codeOf(() => memory.addRegion(0, 0))).toBe('REGION_BAD_SIZE');
    expect(codeOf(() => memory.addRegion(0, -5))).toBe('REGION_BAD_SIZE');
    expect(codeOf(() => memory.addRegion(0, 1.5))).toBe('REGION_BAD_SIZE');
    expect(codeOf(() => memory.addRegion(2 ** 52 - 4096, 8192))).toBe('REGION_OUT_OF_RANGE');
    expect(codeOf(() => memory.addRegion(2 ** 40, 2 ** 33, { backing: 'eager' }))).toBe('REGION_TOO_LARGE');
    expect(codeOf(() => memory.addRegion(0, 'x' as unknown as number))).toBe('REGION_BAD_BUFFER');
    expect(codeOf(() => memory.addRegion(-1, 16))).toBe('ADDR_NEGATIVE');
    expect(codeOf(() => memory.removeRegion(0x1234))).toBe('REGION_NOT_FOUND');
    expect(memory.regions()).toEqual(before);
  });
});

describe('PhysicalMemory access', () => {
  it('forgets a removed region on every fast path (the cached word block included)', () => {
    const memory = new PhysicalMemory();
    memory.addRegion(0x10000, 0x1000);
    memory.addRegion(0x20000, new Uint32Array(3)); // a 12-byte region: the view ends the block
    memory.writeU32(0x10008, 0xcafef00d);
    expect(memory.readU32(0x10008)).toBe(0xcafef00d); // the block is now cached
    expect(memory.readU64Number(0x10008)).toBe(0xcafef00d);
    memory.writeU32(0x20008, 7);
    expect(memory.readU32(0x20008)).toBe(7);
    expect(codeOf(() => memory.readU32(0x2000c))).toBe('MEM_UNBACKED');
    expect(codeOf(() => memory.readU64Number(0x20008))).toBe('MEM_UNBACKED');
    expect(codeOf(() => memory.writeU64Words(0x20008, 1, 2))).toBe('MEM_UNBACKED');
    expect(memory.readU32(0x10008)).toBe(0xcafef00d);
    memory.removeRegion(0x10000);
    for (const read of [() => memory.readU32(0x10008), () => memory.readU64Number(0x10008), () => memory.readU64(0x10008)]) {
      expect(codeOf(read)).toBe('MEM_UNBACKED');
    }
    for (const write of [() => memory.writeU32(0x10008, 1), () => memory.writeU64Words(0x10008, 1, 2), () => memory.atomicLoadU32(0x10008)]) {
      expect(codeOf(write)).toBe('MEM_UNBACKED');
    }
    expect(memory.readU32(0x20008)).toBe(7);
    expect(memory.read(0x20000, 12).length).toBe(12);
  });

  it('is little-endian at every width, aligned or not', () => {
    const { memory } = makeMemory();
    for (const base of [0x100, 0x101, 0x10003, 0xfffd, 2 ** 40 + LAZY_CHUNK_SIZE - 3]) {
      if (base === 0xfffd) continue; // crosses the region boundary: tested below
      memory.writeU64(base, 0x0807060504030201n);
      expect([...memory.read(base, 8)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(memory.readU16(base + 1)).toBe(0x0302);
      expect(memory.readU32(base + 2)).toBe(0x06050403);
      memory.writeU64(base, 0x0017060504030201n);
      expect(memory.readU64Number(base)).toBe(0x17060504030201);
    }
  });

  it('u64 as bigint and as number / two words agree', () => {
    const { memory, lazyBase } = makeMemory();
    fc.assert(
      fc.property(
        fc.constantFrom(0, 0x10000, lazyBase),
        fc.integer({ min: 0, max: 0xfff0 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        (base, off, value) => {
          const a = base + off;
          memory.writeU64(a, value);
          expect(memory.readU32(a)).toBe(Number(value & 0xffffffffn));
          expect(memory.readU32(a + 4)).toBe(Number(value >> 32n));
          if (value < 2n ** 53n) expect(memory.readU64Number(a)).toBe(Number(value));
          else expect(codeOf(() => memory.readU64Number(a))).toBe('MEM_VALUE_TOO_LARGE');
          memory.writeU64Words(a, Number(value & 0xffffffffn), Number(value >> 32n));
          expect(memory.readU64(a)).toBe(value);
          if (value < 2n ** 53n) {
            memory.writeU64(a, 0n);
            memory.writeU64Number(a, Number(value));
            expect(memory.readU64(a)).toBe(value);
          }
        },
      ),
      { numRuns: runs * 5 },
    );
  });

  it('writes then reads round-trip at random addresses and widths across regions (model-based)', () => {
    type Model = Map<number, number>;
    type Real = PhysicalMemory;
    const { lazyBase } = makeMemory();
    const spots = [0, 0x10000 - 9, 0x10000, 0x20000 - 9, lazyBase, lazyBase + LAZY_CHUNK_SIZE - 5, lazyBase + 3 * LAZY_CHUNK_SIZE - 8, lazyBase + 2 ** 33 - 9];
    const addr = fc.tuple(fc.constantFrom(...spots), fc.integer({ min: 0, max: 16 }), fc.boolean()).map(([s, d, al]) => (al ? s + d - ((s + d) % 4) : s + d));
    const backed = (a: number, n: number) =>
      (a >= 0 && a + n <= 0x20000) || (a >= lazyBase && a + n <= lazyBase + 2 ** 33);
    const sameRegion = (a: number, n: number) =>
      (a + n <= 0x10000) || (a >= 0x10000 && a + n <= 0x20000) || (a >= lazyBase && a + n <= lazyBase + 2 ** 33);
    const modelRead = (m: Model, a: number, n: number) => Array.from({ length: n }, (_, i) => m.get(a + i) ?? 0);

    class Write implements fc.Command<Model, Real> {
      constructor(readonly a: number, readonly width: 1 | 2 | 4 | 8, readonly v: bigint) {}
      check() {
        return true;
      }
      run(m: Model, r: Real) {
        const ok = backed(this.a, this.width) && sameRegion(this.a, this.width);
        const snapshot = backed(this.a - 8, 24) ? r.read(this.a - 8, 24) : null;
        const call = () => {
          if (this.width === 1) r.writeU8(this.a, Number(this.v & 0xffn));
          else if (this.width === 2) r.writeU16(this.a, Number(this.v & 0xffffn));
          else if (this.width === 4) r.writeU32(this.a, Number(this.v & 0xffffffffn));
          else r.writeU64(this.a, this.v);
        };
        if (!ok) {
          const code = codeOf(call);
          expect(['MEM_UNBACKED', 'MEM_CROSSES_REGION']).toContain(code);
          if (snapshot) expect(r.read(this.a - 8, 24)).toEqual(snapshot);
          return;
        }
        call();
        for (let i = 0; i < this.width; i++) m.set(this.a + i, Number((this.v >> BigInt(8 * i)) & 0xffn));
      }
      toString() {
        return `write${this.width * 8}(${this.a.toString(16)}, ${this.v.toString(16)})`;
      }
    }
    class WriteBytes implements fc.Command<Model, Real> {
      constructor(readonly a: number, readonly bytes: number[]) {}
      check() {
        return true;
      }
      run(m: Model, r: Real) {
        if (!backed(this.a, this.bytes.length)) {
          expect(codeOf(() => r.write(this.a, Uint8Array.from(this.bytes)))).toBe('MEM_UNBACKED');
          return;
        }
        r.write(this.a, Uint8Array.from(this.bytes)); // may span the two adjacent regions
        this.bytes.forEach((b, i) => m.set(this.a + i, b));
      }
      toString() {
        return `write(${this.a.toString(16)}, [${this.bytes.length}])`;
      }
    }
    class Read implements fc.Command<Model, Real> {
      constructor(readonly a: number, readonly n: number) {}
      check() {
        return true;
      }
      run(m: Model, r: Real) {
        if (!backed(this.a, this.n)) {
          expect(codeOf(() => r.read(this.a, this.n))).toBe('MEM_UNBACKED');
          return;
        }
        const expected = modelRead(m, this.a, this.n);
        expect([...r.read(this.a, this.n)]).toEqual(expected);
        if (this.n >= 4 && sameRegion(this.a, 4)) {
          expect(r.readU32(this.a)).toBe((expected[0] | (expected[1] << 8) | (expected[2] << 16) | (expected[3] << 24)) >>> 0);
        }
        if (this.n >= 8 && sameRegion(this.a, 8)) {
          const v = expected.slice(0, 8).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n);
          expect(r.readU64(this.a)).toBe(v);
          if (v < 2n ** 53n) expect(r.readU64Number(this.a)).toBe(Number(v));
          else expect(codeOf(() => r.readU64Number(this.a))).toBe('MEM_VALUE_TOO_LARGE');
        }
      }
      toString() {
        return `read(${this.a.toString(16)}, ${this.n})`;
      }
    }
    const commands = [
      fc.tuple(addr, fc.constantFrom<1 | 2 | 4 | 8>(1, 2, 4, 8), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([a, w, v]) => new Write(a, w, v)),
      fc.tuple(addr, fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 24 })).map(([a, b]) => new WriteBytes(a, b)),
      fc.tuple(addr, fc.integer({ min: 1, max: 24 })).map(([a, n]) => new Read(a, n)),
    ];
    fc.assert(
      fc.property(fc.commands(commands, { maxCommands: 60 }), (cmds) => {
        fc.modelRun(() => ({ model: new Map(), real: makeMemory().memory }), cmds);
      }),
      { numRuns: runs },
    );
  });

  it('every access to unbacked or out-of-range memory throws the typed error and changes nothing', () => {
    const { memory } = makeMemory();
    memory.fill(0, 0x20000, 0xaa);
    const before = memory.read(0, 0x20000);
    const bad: [string, () => unknown][] = [
      ['MEM_UNBACKED', () => memory.readU32(0x20000)],
      ['MEM_UNBACKED', () => memory.writeU32(0x1fffe, 1)],
      ['MEM_UNBACKED', () => memory.write(0x1fff0, new Uint8Array(32))],
      ['MEM_UNBACKED', () => memory.fill(0x1ff00, 0x200, 0)],
      ['MEM_UNBACKED', () => memory.copy(0x1ff00, 0, 0x200)],
      ['MEM_UNBACKED', () => memory.read(2 ** 41, 4)],
      ['MEM_CROSSES_REGION', () => memory.writeU64(0xfffc, 0n)],
      ['MEM_CROSSES_REGION', () => memory.readU32(0xfffe)],
      ['ADDR_OUT_OF_RANGE', () => memory.readU8(2 ** 52)],
      ['ADDR_NEGATIVE', () => memory.writeU8(-1, 0)],
      ['ADDR_NOT_INTEGER', () => memory.readU32(16.5)],
      ['ADDR_NOT_INTEGER', () => memory.readU32(Number.NaN)],
      ['ADDR_NOT_INTEGER', () => memory.writeU32('16' as unknown as number, 1)],
      ['INVALID_ARGUMENT', () => memory.writeU32(16, 2 ** 32)],
      ['INVALID_ARGUMENT', () => memory.writeU32(16, -1)],
      ['INVALID_ARGUMENT', () => memory.writeU8(16, 256)],
      ['INVALID_ARGUMENT', () => memory.writeU64(16, -1n)],
      ['INVALID_ARGUMENT', () => memory.writeU64(16, 5 as unknown as bigint)],
      ['INVALID_ARGUMENT', () => memory.write(16, [1, 2, 300])],
      ['INVALID_ARGUMENT', () => memory.read(16, -1)],
      ['MEM_MISALIGNED', () => memory.atomicAddU32(18, 1)],
      ['MEM_MISALIGNED', () => memory.atomicLoadU64(4)],
      ['MEM_OUT_OF_RANGE', () => memory.read(2 ** 52 - 2, 4)],
    ];
    for (const [code, fn] of bad) {
      expect(codeOf(fn), fn.toString()).toBe(code);
    }
    expect(memory.read(0, 0x20000)).toEqual(before);
  });

  it('byte ranges span adjacent regions; copy is overlap-safe; images load and export', () => {
    const { memory } = makeMemory();
    const pattern = Uint8Array.from({ length: 64 }, (_, i) => i + 1);
    memory.write(0x10000 - 32, pattern);
    expect(memory.read(0x10000 - 32, 64)).toEqual(pattern);
    memory.copy(0x10000 - 30, 0x10000 - 32, 64); // overlapping, forwards
    expect(memory.read(0x10000 - 30, 64)).toEqual(pattern);
    const image = PhysicalMemory.fromImage(memory.exportImage(0, 0x20000));
    expect(image.read(0x10000 - 30, 64)).toEqual(pattern);
    const target = new PhysicalMemory();
    target.addRegion(0x100000, 0x20000);
    target.loadImage(0x100000, memory.exportImage(0, 0x20000));
    expect(target.readU32(0x100000 + 0x10000 - 30)).toBe(0x04030201);
  });

  it('view() gives a live window into one backing buffer', () => {
    const { memory, lazyBase } = makeMemory();
    const v = memory.view(0x100, 16);
    v[0] = 0x42;
    expect(memory.readU8(0x100)).toBe(0x42);
    const lv = memory.view(lazyBase + 8, 8);
    lv[1] = 7;
    expect(memory.readU16(lazyBase + 8)).toBe(0x700);
    expect(codeOf(() => memory.view(lazyBase + LAZY_CHUNK_SIZE - 4, 8))).toBe('MEM_NO_DIRECT_VIEW');
  });
});

describe('atomics', () => {
  it('load, store, compare-exchange, add, or, and on u32 and u64', () => {
    const { memory, lazyBase } = makeMemory();
    for (const a of [0x40, lazyBase + 0x40]) {
      memory.atomicStoreU32(a, 5);
      expect(memory.atomicCompareExchangeU32(a, 4, 9)).toBe(5);
      expect(memory.atomicLoadU32(a)).toBe(5);
      expect(memory.atomicCompareExchangeU32(a, 5, 0xffffffff)).toBe(5);
      expect(memory.atomicAddU32(a, 2)).toBe(0xffffffff);
      expect(memory.atomicLoadU32(a)).toBe(1);
      expect(memory.atomicOrU32(a, 0xf0)).toBe(1);
      expect(memory.atomicAndU32(a, 0x30)).toBe(0xf1);
      expect(memory.readU32(a)).toBe(0x30);
      memory.atomicStoreU64(a + 8, 0xffff_ffff_ffff_fffen);
      expect(memory.atomicAddU64(a + 8, 3n)).toBe(0xffff_ffff_ffff_fffen);
      expect(memory.atomicLoadU64(a + 8)).toBe(1n);
      expect(memory.atomicCompareExchangeU64(a + 8, 1n, 1n << 63n)).toBe(1n);
      expect(memory.atomicOrU64(a + 8, 2n)).toBe(1n << 63n);
      expect(memory.atomicAndU64(a + 8, 2n)).toBe((1n << 63n) | 2n);
      expect(memory.readU64(a + 8)).toBe(2n);
    }
    // The unaligned view region cannot do atomics: its buffer offset is not 4-aligned.
    expect(codeOf(() => memory.atomicLoadU32(0x10000))).toBe('MEM_MISALIGNED');
    expect(() => memory.atomicWaitU32(0x40, 1, 0)).not.toThrow();
    expect(memory.atomicWaitU32(0x40, 0x30, 1)).toBe('timed-out');
  });

  it('shares memory with a worker thread through toShared()', async () => {
    const { Worker } = await import('node:worker_threads');
    const memory = new PhysicalMemory();
    memory.addRegion(0x1000, 0x1000);
    memory.addRegion(0x200000, 0x10000);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      for (const r of workerData.regions) {
        const u32 = new Uint32Array(r.buffer, r.byteOffset, r.size / 4);
        for (let i = 0; i < 1000; i++) Atomics.add(u32, 0, 1);
      }
      parentPort.postMessage('done');
    `;
    const handle = memory.toShared();
    const workers = [0, 1, 2].map(() => new Worker(code, { eval: true, workerData: handle }));
    for (let i = 0; i < 1000; i++) {
      memory.atomicAddU32(0x1000, 1);
      memory.atomicAddU32(0x200000, 1);
    }
    await Promise.all(workers.map((w) => new Promise((res) => w.once('message', res))));
    await Promise.all(workers.map((w) => w.terminate()));
    expect(memory.atomicLoadU32(0x1000)).toBe(4000);
    expect(PhysicalMemory.fromShared(handle).readU32(0x200000)).toBe(4000);
  });
});

it('region errors are RegionError, access errors MemoryAccessError', () => {
  const m = new PhysicalMemory();
  expect(() => m.readU8(0)).toThrow(MemoryAccessError);
  m.addRegion(0, 16);
  expect(() => m.addRegion(8, 16)).toThrow(RegionError);
});

it('a bigint (or any non-number) where an address or value belongs is a typed error, never a raw TypeError', () => {
  const memory = new PhysicalMemory();
  memory.addRegion(0, 0x1000);
  memory.readU32(0); // warm the fast path
  const big = 8n as unknown as number;
  const calls: [string, () => unknown][] = [
    ['ADDR_NOT_INTEGER', () => memory.readU8(big)],
    ['ADDR_NOT_INTEGER', () => memory.readU16(big)],
    ['ADDR_NOT_INTEGER', () => memory.readU32(big)],
    ['ADDR_NOT_INTEGER', () => memory.readU64(big)],
    ['ADDR_NOT_INTEGER', () => memory.readU64Number(big)],
    ['ADDR_NOT_INTEGER', () => memory.writeU32(big, 1)],
    ['ADDR_NOT_INTEGER', () => memory.writeU64(big, 1n)],
    ['ADDR_NOT_INTEGER', () => memory.writeU64Words(big, 1, 2)],
    ['ADDR_NOT_INTEGER', () => memory.atomicLoadU32(big)],
    ['ADDR_NOT_INTEGER', () => memory.atomicAddU32(big, 1)],
    ['ADDR_NOT_INTEGER', () => memory.read(big, 4)],
    ['INVALID_ARGUMENT', () => memory.writeU32(8, 1n as unknown as number)],
    ['INVALID_ARGUMENT', () => memory.writeU64Words(8, 1n as unknown as number, 0)],
    ['INVALID_ARGUMENT', () => memory.atomicStoreU32(8, 1n as unknown as number)],
    ['INVALID_ARGUMENT', () => memory.atomicCompareExchangeU32(8, 0, 1n as unknown as number)],
    ['INVALID_ARGUMENT', () => memory.writeU16(8, '1' as unknown as number)],
  ];
  for (const [code, fn] of calls) {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught, fn.toString()).toBeInstanceOf(MemprimsError);
    expect((caught as MemprimsError).code, fn.toString()).toBe(code);
  }
  expect(memory.read(0, 0x1000).every((b) => b === 0)).toBe(true);
});
