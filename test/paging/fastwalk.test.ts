/**
 * The fast translate walks (fastwalk.ts) against the general walk (walk.ts) on random tables:
 * 4 and 5 levels, huge leaves with and without reserved bits set, PS in a PML4E / PML5E,
 * tables in another region, outside every region or across the 4 GiB window, non-present
 * entries holding junk, random high bits. The per-call loop walk (`walkToPhys`) and the
 * straight-line walk used by `translateAddrs` (`walkAddr`) must both give the general walk's
 * answer, or hand the address to it (-2); the WebAssembly walks (wasm-walk.ts: one address, and
 * the batch over the scratch page) must give exactly the straight-line walk's answers.
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { isCanonical, PhysicalMemory, walkTranslate } from '../../src/index.js';
import { RegionWalker, walkAddr } from '../../src/paging/fastwalk.js';
import { WasmWalk } from '../../src/paging/wasm-walk.js';

const counts: Record<string, number> = {};
const RUNS = Number(process.env.FC_RUNS ?? 30) * 10;
const TABLES = 24;

const bases = [0, 0x10000, 0xfff00000 - 0x80000, 0x100000000, 0x7ffe00000, 0x7fffffff000 - 0x100000 + 0x1000];

it('the loop walk (per call) and the straight-line walk (translateAddrs) equal the general walk on random tables', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(4, 5),
      fc.constantFrom(...bases),
      fc.integer({ min: 0, max: TABLES - 1 }),
      fc.array(fc.tuple(fc.array(fc.constantFrom(0, 1, 2, 255, 256, 511), { minLength: 5, maxLength: 5 }), fc.nat({ max: 0xfff }), fc.array(fc.tuple(fc.nat({ max: 12 }), fc.nat(), fc.nat(), fc.nat({ max: TABLES - 1 })), { minLength: 5, maxLength: 5 })), { minLength: 1, maxLength: 12 }),
      (levels, base, rootIdx, paths) => {
        const memory = new PhysicalMemory({ shared: false });
        const size = TABLES * 4096 + 0x3000;
        memory.addRegion(base, size, { wasm: true });
        const other = 0x200000000;
        memory.addRegion(other, 8 * 4096);
        const tableAt = (i: number) => base + 0x1000 + i * 4096;
        const root = tableAt(rootIdx);
        const wr = (addr: number, lo: number, hi: number) => {
          memory.writeU32(addr, lo >>> 0);
          memory.writeU32(addr + 4, hi >>> 0);
        };
        const virts: bigint[] = [];
        for (const [idx, off, ents] of paths) {
          let table = root;
          let vpnBig = 0n;
          for (let l: number = levels; l >= 1; l--) {
            const i = idx[levels - l];
            const [kind, r1, r2, t] = ents[levels - l];
            const at = table + i * 8;
            // keep an existing entry sometimes (shared paths)
            const existing = memory.readU32(at);
            let next = -1;
            if (existing & 1 && kind % 3 === 0 && !(existing & 0x80)) {
              const a = (existing & 0xfffff000) >>> 0;
              const ah = memory.readU32(at + 4) & 0xfffff;
              const addr = ah * 2 ** 32 + a;
              if (addr >= base && addr < base + size - 4096) next = addr;
              else break;
            } else {
              const flags = (r1 & 0xe7e) | 1; // random low flags, present, PS decided below
              const hiJunk = r2 & 0xfff00000; // bits 52..63 (NX, ignored bits)
              switch (kind % 8) {
                case 0:
                case 1:
                case 2: {
                  // pointer to a table in the root's region
                  const p = tableAt(t);
                  wr(at, (p % 2 ** 32) | flags, Math.floor(p / 2 ** 32) | hiJunk);
                  next = p;
                  break;
                }
                case 3: {
                  // table in another region
                  const p = other + (t % 8) * 4096;
                  wr(at, (p % 2 ** 32) | flags, Math.floor(p / 2 ** 32) | hiJunk);
                  break;
                }
                case 4: {
                  // nowhere / just past the region
                  const p = kind === 12 ? base + size : 0x300000000 + t * 4096;
                  wr(at, (p % 2 ** 32) | flags, Math.floor(p / 2 ** 32) | hiJunk);
                  break;
                }
                case 5: {
                  // not present with junk
                  wr(at, r1 & ~1, r2);
                  break;
                }
                default: {
                  // a leaf with PS (illegal at 4/5, reserved bits maybe set at 2/3), random address
                  const lo = ((r2 << 12) | flags | 0x80) >>> 0;
                  wr(at, kind === 7 ? lo & ~(l === 3 ? 0x3fffe000 : 0x1fe000) : lo, (r1 * 977) & 0xfffff | hiJunk);
                  break;
                }
              }
            }
            if (next < 0) break;
            table = next;
          }
          // virt from the vpn prefix (rest zero), sign-extended
          const bits = levels === 4 ? 48n : 57n;
          for (let l = 0; l < levels; l++) vpnBig = (vpnBig << 9n) | BigInt(idx[l]);
          let v = (vpnBig << 12n) | BigInt(off);
          if ((v >> (bits - 1n)) & 1n) v |= ((1n << 64n) - 1n) ^ ((1n << bits) - 1n);
          virts.push(v);
        }
        const region = memory.regionAt(base)!;
        const walker = new RegionWalker(new Uint32Array(region.buffer as ArrayBuffer, region.byteOffset, Math.floor(region.size / 4)), base, region.size, root, levels);
        if (!walker.usable()) return;
        const wasm = WasmWalk.for(memory.wasmBackingAt(base));
        expect(wasm).not.toBeNull(); // (a region this library allocates is a WebAssembly memory)
        const wasmWalker = new RegionWalker(walker.words, base, region.size, root, levels, wasm, region.byteOffset);
        const batch: bigint[] = [];
        const expected: number[] = [];
        for (const v of virts) {
          for (const vv of [v, v + 0x1234n & ((1n << 64n) - 1n), v | 0x1ff000n]) {
            if (!isCanonical(vv, levels)) continue; // (translateAddrs checks that before walking)
            const fast = walker.walkToPhys(vv);
            // the straight-line form on the same words must give exactly the same answer
            const u = new BigUint64Array([vv]);
            const words = new Uint32Array(u.buffer);
            const straight = walkAddr(walker.words, walker.rootOffset, walker.baseLo, walker.baseHi, walker.lastTable, levels, words[0], words[1]);
            if (straight !== fast) throw new Error(`levels ${levels} base 0x${base.toString(16)} root 0x${root.toString(16)} virt 0x${vv.toString(16)}: loop ${fast}, straight ${straight}, general ${walkTranslate(memory, root, levels as 4 | 5, vv)?.phys}`);
            const one = wasmWalker.walkToPhys(vv);
            if (one !== straight) throw new Error(`levels ${levels} base 0x${base.toString(16)} root 0x${root.toString(16)} virt 0x${vv.toString(16)}: wasm one ${one}, straight ${straight}`);
            batch.push(vv);
            expected.push(straight);
            const key = `${levels}:${fast === -2 ? 'gen' : fast === -1 ? 'nm' : 'leaf' + (walker.find(vv) & 3)}`;
            counts[key] = (counts[key] ?? 0) + 1;
            if (fast === -2) continue;
            const g = walkTranslate(memory, root, levels as 4 | 5, vv);
            const want = g === null ? -1 : g.phys;
            if (fast !== want) throw new Error(`levels ${levels} base ${base.toString(16)} virt ${vv.toString(16)}: fast ${fast} (0x${fast.toString(16)}), general ${want} (0x${want.toString(16)})`);
          }
        }
        // the batch: every result as the straight-line walk's, and the count of hand-offs
        const out = new Float64Array(batch.length).fill(NaN);
        const left = wasm!.walk(BigUint64Array.from(batch), out, 0, batch.length, region.byteOffset, walker.rootOffset, walker.lastTable, base, levels);
        expect(Array.from(out)).toEqual(expected);
        expect(left).toBe(expected.filter((x) => x === -2).length);
      },
    ),
    { numRuns: RUNS },
  );
  // every outcome occurred: leaves at all three levels, not mapped, and general-walk hand-offs
  for (const levels of [4, 5]) for (const k of ['gen', 'nm', 'leaf1', 'leaf2', 'leaf3']) expect(counts[`${levels}:${k}`] ?? 0, `${levels}:${k}`).toBeGreaterThan(0);
});
