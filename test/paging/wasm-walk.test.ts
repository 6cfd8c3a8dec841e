/**
 * Regions backed by a WebAssembly memory (memory/wasm-backing.ts) and the WebAssembly walks
 * over them (paging/wasm-walk.ts): which regions get one, that the scratch page stays outside
 * the region, and that `translateAddrs` / `translateAddr` give exactly what the JavaScript walks
 * give over a caller's buffer (which has no WebAssembly memory), over many chunks, over shared
 * memory, and when another thread holds the scratch page. (fastwalk.test.ts compares the
 * WebAssembly walks with the JavaScript ones on random tables with reserved bits, huge leaves
 * and tables outside the window.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressError, isCanonical, PageTableBuilder, PhysicalMemory } from '../../src/index.js';
import { allCanonical } from '../../src/paging/fastwalk.js';
import { WasmWalk } from '../../src/paging/wasm-walk.js';
import { BumpFrames } from './helpers.js';

const runs = Number(process.env.FC_RUNS ?? 30);
const BASE = 0xffff800000000000n;

describe('WebAssembly-backed regions', () => {
  it('regions this library allocates get a WebAssembly memory with a scratch page past the region; others do not', () => {
    for (const shared of [false, true]) {
      const memory = new PhysicalMemory({ shared });
      const info = memory.addRegion(0x100000, 100_000, { wasm: true }); // not a multiple of 64 KiB
      const w = memory.wasmBackingAt(0x100000 + 99_999)!;
      expect(w).not.toBeNull();
      expect(w.shared).toBe(shared);
      expect(info.buffer).toBe(w.memory.buffer);
      expect(info.shared).toBe(shared);
      expect(w.scratch).toBe(2 * 65536); // the page after the region's last one
      expect(info.buffer!.byteLength).toBe(3 * 65536);
      // the region is exactly its size: the byte after it is not memory, and the scratch page
      // is never written by region writes
      expect(() => memory.readU8(0x100000 + 100_000)).toThrow(expect.objectContaining({ code: 'MEM_UNBACKED' }));
      memory.fill(0x100000, 100_000, 0xff);
      expect(new Uint8Array(info.buffer!, 100_000).every((b) => b === 0)).toBe(true);
      expect(memory.hostBytes()).toBe(3 * 65536); // whole pages and the scratch page
    }
    // by default from 1 MiB up (each WebAssembly memory reserves ~10 GiB of address space);
    // `wasm: false` never
    const sized = new PhysicalMemory({ shared: false });
    sized.addRegion(0, 0x100000 - 4096);
    sized.addRegion(0x100000, 0x100000);
    sized.addRegion(0x200000, 0x100000, { wasm: false });
    expect(sized.wasmBackingAt(0)).toBeNull();
    expect(sized.wasmBackingAt(0x100000)).not.toBeNull();
    expect(sized.wasmBackingAt(0x200000)).toBeNull();
    expect(sized.hostBytes()).toBe(0x100000 - 4096 + 0x110000 + 0x100000);
    const none = new PhysicalMemory({ shared: false, wasm: false }); // the memory's default
    none.addRegion(0, 0x400000);
    none.addRegion(0x400000, 0x10000, { wasm: true }); // a region's own option wins
    expect(none.wasmBackingAt(0)).toBeNull();
    expect(none.wasmBackingAt(0x400000)).not.toBeNull();
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0, new ArrayBuffer(65536)); // a caller's buffer: wrapped as it is
    memory.addRegion(0x10000000, 2 ** 40, { backing: 'lazy' });
    expect(memory.wasmBackingAt(0)).toBeNull();
    expect(memory.wasmBackingAt(0x10000000)).toBeNull();
    expect(memory.wasmBackingAt(0x8000000)).toBeNull(); // no region there
    // too large for a memory with a scratch page (4 GiB at most): a plain buffer, as before
    const big = new PhysicalMemory({ shared: false });
    const info = big.addRegion(0, 2 ** 32 - 0x8000);
    expect(big.wasmBackingAt(0)).toBeNull();
    expect(info.buffer!.byteLength).toBe(2 ** 32 - 0x8000);
  });

  it('the canonical check of a batch equals isCanonical', () => {
    const addr = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }), fc.bigInt({ min: 0xffff800000000000n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0xff00000000000000n, max: (1n << 64n) - 1n }), fc.constantFrom(0x0000800000000000n, 0x00ff800000000000n, 0x0100000000000000n, 0xfeffffffffffffffn));
    fc.assert(
      fc.property(fc.array(addr, { minLength: 1, maxLength: 13 }), fc.constantFrom(4, 5), (list, levels) => {
        const v = BigUint64Array.from(list);
        // the first non-canonical index at or after k, or -1
        const firstFrom = (k: number) => {
          for (let i = k; i < list.length; i++) if (!isCanonical(list[i], levels as 4 | 5)) return i;
          return -1;
        };
        expect(allCanonical(new Uint32Array(v.buffer), v.length, levels)).toBe(firstFrom(0) < 0);
        // (and from every start: the four-at-a-time steps and the tail both decide)
        for (let k = 1; k < v.length; k++) expect(allCanonical(new Uint32Array(v.buffer, k * 8), v.length - k, levels)).toBe(firstFrom(k) < 0);
      }),
      { numRuns: runs * 20 },
    );
  });
});

describe('translateAddrs and translateAddr in WebAssembly', () => {
  function build(levels: 4 | 5, source: 'ours' | 'caller', shared = false) {
    const memory = new PhysicalMemory({ shared });
    const size = 4 << 20;
    memory.addRegion(0, source === 'ours' ? size : new ArrayBuffer(size));
    memory.addRegion(0x100000000, 0x10000); // a table outside the root's region: the general walk
    const low = new BumpFrames(0x1000);
    const far = new BumpFrames(0x100000000);
    let n = 0;
    const pt = new PageTableBuilder({ memory, frames: { allocate: (c: number) => (n++ === 6 ? far.allocate(c) : low.allocate(c)), free: () => {} }, levels });
    pt.map({ virt: BASE, phys: 0x12345000, size: 300 * 4096, flags: { writable: true } });
    pt.map({ virt: BASE + 0x40000000n, phys: 0x80000000, size: 0x40000000, pageSize: 0x40000000 });
    pt.map({ virt: BASE + 0x80000000n, phys: 0x200000, size: 0x600000, pageSize: 0x200000 });
    pt.map({ virt: 0x7f0000000000n, phys: 2 ** 51 - 0x10000, size: 0x10000 }); // its tables: one far
    return { memory, pt };
  }

  it('equal the JavaScript walks over a caller buffer, over several chunks, mapped or not', () => {
    for (const levels of [4, 5] as const) {
      const ours = build(levels, 'ours');
      const caller = build(levels, 'caller');
      expect(WasmWalk.for(ours.memory.wasmBackingAt(0))).not.toBeNull();
      expect(caller.memory.wasmBackingAt(0)).toBeNull();
      const n = 3 * WasmWalk.chunk + 77;
      const virts = new BigUint64Array(n);
      let x = 0x9e3779b9;
      const starts = [BASE, BASE + 0x40000000n, BASE + 0x80000000n, 0x7f0000000000n, 0x123456789000n];
      for (let i = 0; i < n; i++) {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        virts[i] = starts[x % 5] + BigInt(x & 0x7fffff);
      }
      const a = ours.pt.translateAddrs(virts);
      const b = caller.pt.translateAddrs(virts);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
      // per call, and every outcome present (mapped at every page size, unmapped, far tables)
      const seen = new Set<string>();
      for (let i = 0; i < n; i += 7) {
        const t = ours.pt.translateAddr(virts[i]);
        expect(t).toBe(caller.pt.translateAddr(virts[i]));
        expect(t ?? -1).toBe(a[i]);
        seen.add(t === null ? 'none' : String(Number(virts[i] >> 28n) & 0xf));
      }
      expect(a.filter((p) => p >= 2 ** 51 - 0x10000).length).toBeGreaterThan(0); // found through the far table
      expect(a.filter((p) => p === -1).length).toBeGreaterThan(0);
      expect(seen.size).toBeGreaterThanOrEqual(4);
    }
  });

  it('per call: what is not an unsigned canonical 64-bit bigint is the same typed error as before', () => {
    const { pt } = build(4, 'ours');
    for (const bad of [-1n, 1n << 64n, (1n << 64n) + 0x1000n, 0x0000800000000000n, -(1n << 63n)]) {
      expect(() => pt.translateAddr(bad)).toThrow(AddressError);
    }
    expect(() => pt.translateAddr(0x1000 as never)).toThrow(AddressError);
    expect(pt.translateAddr(BASE + 0x10n)).toBe(0x12345010);
  });

  it('over shared memory: the same results, and a busy scratch page (another thread) sends the batch to JavaScript', () => {
    const shared = build(5, 'ours', true);
    const plain = build(5, 'caller');
    const backing = shared.memory.wasmBackingAt(0)!;
    expect(backing.shared).toBe(true);
    const virts = new BigUint64Array(WasmWalk.chunk + 5);
    for (let i = 0; i < virts.length; i++) virts[i] = BASE + BigInt(i * 4096 + 0x10);
    const want = plain.pt.translateAddrs(virts);
    expect([...shared.pt.translateAddrs(virts)]).toEqual([...want]);
    const busy = new Int32Array(backing.memory.buffer, backing.scratch, 1);
    Atomics.store(busy, 0, 1);
    const scratchBefore = new Uint8Array(backing.memory.buffer, backing.scratch, 65536).slice();
    expect([...shared.pt.translateAddrs(virts)]).toEqual([...want]);
    // the holder's scratch page was not touched
    expect(Buffer.from(new Uint8Array(backing.memory.buffer, backing.scratch, 65536)).equals(Buffer.from(scratchBefore))).toBe(true);
    Atomics.store(busy, 0, 0);
  });
});
