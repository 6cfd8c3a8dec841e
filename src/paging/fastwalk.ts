/**
 * The per-call hot paths' address handling and the translate walk: a bigint virtual
 * address becomes two 32-bit words (one store into a BigUint64Array, no BigInt
 * arithmetic, nothing allocated), and the CPU's walk over the table words of the memory region
 * holding the root ({@link RegionWalker}), on int32 word offsets: {@link walkLeaf}, a loop small
 * enough to be inlined through the per-call chain (`translate`, `translateAddr`), and
 * {@link walkLeafStraight}, the same rules as straight-line code for `translateAddrs`' loop.
 * The builder falls back to the general walk (walk.ts) whenever this one cannot decide.
 *
 * @module
 */
import type { PagingLevels } from '../addr/virt.js';
import { throwBadVirt } from './vaddr.js';
import { WasmWalk } from './wasm-walk.js';
import { ADDR_HI as ENTRY_ADDR_HI, ADDR_LO_4K as ENTRY_ADDR_LO_4K, P as ENTRY_P, PS as ENTRY_PS } from './entry.js';

// The entry bits as a const enum: the TypeScript transforms and the bundler inline `E.X` as
// a literal. An imported binding is a module-cell load per use (the walk ran 2x slower), and
// a top-level const becomes a mutable var in the bundle, which V8 reloads and checks per use.
const enum E {
  P = 0x1,
  PS = 0x80,
  ADDR_HI = 0x000fffff,
  ADDR_LO_4K = 0xfffff000,
  TWO32 = 0x100000000,
}
if (E.P !== ENTRY_P || E.PS !== ENTRY_PS || E.ADDR_HI !== ENTRY_ADDR_HI || E.ADDR_LO_4K !== ENTRY_ADDR_LO_4K) throw new Error('fastwalk: entry bit constants out of date');

const S64 = new BigUint64Array(1);
const S32 = new Uint32Array(S64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const LO_WORD = LITTLE_ENDIAN ? 0 : 1;
const HI_WORD = LITTLE_ENDIAN ? 1 : 0;

/**
 * Loads `virt` into the scratch words read by {@link virtLo} / {@link virtHi}; false when
 * it is not a canonical unsigned 64-bit bigint for 4- or 5-level paging.
 */
export function loadVirt(virt: unknown, levels: number): boolean {
  if (typeof virt !== 'bigint' || BigInt.asUintN(64, virt) !== virt) return false;
  S64[0] = virt;
  const hi = S32[HI_WORD];
  const top = levels === 4 ? hi >>> 15 : hi >>> 24;
  return top === 0 || top === (levels === 4 ? 0x1ffff : 0xff);
}

/** Bits 0..31 of the address last loaded by {@link loadVirt}. */
export function virtLo(): number {
  return S32[LO_WORD];
}

/** Bits 32..63 of the address last loaded by {@link loadVirt}. */
export function virtHi(): number {
  return S32[HI_WORD];
}

/** {@link walkAddr}: the address is not mapped. */
export const NOT_MAPPED = -1;
/** {@link walkAddr}: the general walk must decide (a table outside the window). */
export const WALK_GENERAL = -2;

/**
 * The CPU's walk of the address words (`vlo`, `vhi`; canonical, checked by the caller) through
 * tables in `w`, the words of one region whose 4 GiB window holds the root: the leaf entry
 * found, as `k * 4 + level` (k its low word's index in `w`, level 1 = 4 KiB, 2 = 2 MiB,
 * 3 = 1 GiB; see {@link leafPhys}), {@link NOT_MAPPED}, or {@link WALK_GENERAL} when a table lies
 * outside `[0, lastTable]` (byte offsets, below 2^31, so the result is a small integer) or in
 * another 4 GiB window (`baseHi`). A loop over the levels rather than unrolled code, so that V8
 * inlines it into `translateAddr` and from there into the caller's loop (the straight-line form
 * is too big for that chain's inlining budget in some callers: a builder held in a constant
 * then ran 1.7x slower, its result boxed).
 */
export function walkLeaf(w: Uint32Array, root: number, baseLo: number, baseHi: number, lastTable: number, levels: number, vlo: number, vhi: number): number {
  let offset = root;
  let index = levels === 5 ? (vhi >>> 16) & 511 : (vhi >>> 7) & 511;
  for (let level = levels; ; level--) {
    const k = (offset >>> 2) + (index << 1);
    const lo = w[k];
    if (!(lo & E.P)) return -1; // NOT_MAPPED
    if (level === 1 || lo & E.PS) {
      // NOT_MAPPED where the CPU faults on reserved bits: PS in a PML4E / PML5E, bits 13..29 of
      // a 1 GiB leaf, bits 13..20 of a 2 MiB leaf (as walk.ts's reservedBits, MAXPHYADDR 52)
      if (level > 3 || (level === 3 && lo & 0x3fffe000) || (level === 2 && lo & 0x1fe000)) return -1;
      return (k << 2) | level;
    }
    offset = ((lo & E.ADDR_LO_4K) - baseLo) >>> 0;
    // (checking the high word here, after the offset, measured twice as fast as before it)
    if (offset > lastTable || (w[k + 1] & E.ADDR_HI) !== baseHi) return -2; // WALK_GENERAL
    index = level === 5 ? (vhi >>> 7) & 511 : level === 4 ? ((vlo >>> 30) | (vhi << 2)) & 511 : level === 3 ? (vlo >>> 21) & 511 : (vlo >>> 12) & 511;
  }
}

/**
 * The same walk as {@link walkLeaf}, same results, as straight-line code for the four levels
 * below the top ({@link walk4}; {@link walkTop5} adds the PML5 step). In a loop over many
 * addresses (`translateAddrs`) it measured 1.25x faster than the loop form: each walk ends in
 * a cache miss on the leaf, and a short loop body lets the CPU overlap more walks. It is too
 * big for V8 to inline through the per-call chain (`translateAddr` -> `find` -> walk) in every
 * caller, and where it is not inlined the result is boxed: per call the loop form is used.
 * Table offsets are int32 (`| 0`): a uint32 (`>>> 0`) kept in a variable becomes a double.
 * test/paging/fastwalk.test.ts checks both forms against the general walk on random tables.
 */
export function walkLeafStraight(w: Uint32Array, root: number, baseLo: number, baseHi: number, lastTable: number, levels: number, vlo: number, vhi: number): number {
  if (levels === 5) {
    const top = walkTop5(w, root, baseLo, baseHi, lastTable, vhi);
    return top < 0 ? top : walk4(w, top, baseLo, baseHi, lastTable, vlo, vhi);
  }
  return walk4(w, root, baseLo, baseHi, lastTable, vlo, vhi);
}

/** The PML5 step of a 5-level walk: the PML4's byte offset, {@link NOT_MAPPED} or {@link WALK_GENERAL}. */
function walkTop5(w: Uint32Array, root: number, baseLo: number, baseHi: number, lastTable: number, vhi: number): number {
  const k = (root >>> 2) + (((vhi >>> 16) & 511) << 1);
  const e = w[k];
  // not present, or PS set in a PML5E (reserved: the CPU faults)
  if (!(e & E.P) || e & E.PS) return -1;
  const next = ((e & E.ADDR_LO_4K) - baseLo) | 0;
  return (next >>> 0) > lastTable || (w[k + 1] & E.ADDR_HI) !== baseHi ? -2 : next;
}

/**
 * The walk from the PML4 at byte offset `pml4` down to the leaf, as {@link walkLeaf} returns
 * it. Reserved bits the CPU faults on make the address NOT_MAPPED: PS in a PML4E, bits 13..29
 * of a 1 GiB leaf, bits 13..20 of a 2 MiB leaf (as walk.ts's reservedBits, MAXPHYADDR 52).
 */
function walk4(w: Uint32Array, pml4: number, baseLo: number, baseHi: number, lastTable: number, vlo: number, vhi: number): number {
  const k4 = (pml4 >>> 2) + (((vhi >>> 7) & 511) << 1);
  const e4 = w[k4];
  if (!(e4 & E.P) || e4 & E.PS) return -1; // NOT_MAPPED
  const pdpt = ((e4 & E.ADDR_LO_4K) - baseLo) | 0;
  // (the high word checked after the offset measured twice as fast as before it)
  if ((pdpt >>> 0) > lastTable || (w[k4 + 1] & E.ADDR_HI) !== baseHi) return -2; // WALK_GENERAL
  const k3 = (pdpt >>> 2) + ((((vlo >>> 30) | (vhi << 2)) & 511) << 1);
  const e3 = w[k3];
  if (!(e3 & E.P)) return -1;
  if (e3 & E.PS) return e3 & 0x3fffe000 ? -1 : (k3 << 2) | 3;
  const pd = ((e3 & E.ADDR_LO_4K) - baseLo) | 0;
  if ((pd >>> 0) > lastTable || (w[k3 + 1] & E.ADDR_HI) !== baseHi) return -2;
  const k2 = (pd >>> 2) + (((vlo >>> 21) & 511) << 1);
  const e2 = w[k2];
  if (!(e2 & E.P)) return -1;
  if (e2 & E.PS) return e2 & 0x1fe000 ? -1 : (k2 << 2) | 2;
  const pt = ((e2 & E.ADDR_LO_4K) - baseLo) | 0;
  if ((pt >>> 0) > lastTable || (w[k2 + 1] & E.ADDR_HI) !== baseHi) return -2;
  const k1 = (pt >>> 2) + (((vlo >>> 12) & 511) << 1);
  return w[k1] & E.P ? (k1 << 2) | 1 : -1;
}

/** The physical address of low address word `vlo` under the leaf {@link walkLeaf} found. */
export function leafPhys(w: Uint32Array, found: number, vlo: number): number {
  const level = found & 3;
  const k = found >>> 2;
  const mask = level === 1 ? 0xfff : level === 2 ? 0x1fffff : 0x3fffffff;
  return ((w[k] & ~mask & E.ADDR_LO_4K) >>> 0) + (w[k + 1] & E.ADDR_HI) * E.TWO32 + (vlo & mask);
}

/**
 * {@link walkLeaf} and {@link leafPhys} together: the physical address, {@link NOT_MAPPED} or
 * {@link WALK_GENERAL}. The result, a double above 2^31, is never boxed once inlined.
 */
export function walkAddr(w: Uint32Array, root: number, baseLo: number, baseHi: number, lastTable: number, levels: number, vlo: number, vhi: number): number {
  const found = walkLeafStraight(w, root, baseLo, baseHi, lastTable, levels, vlo, vhi);
  return found < 0 ? found : leafPhys(w, found, vlo);
}

/**
 * Walks addresses through tables held in one plain memory buffer: the root's region,
 * limited to the 4 GiB-aligned window the root lies in and to its first 2 GiB, so every
 * table offset is a non-negative int32. A table outside that sends the caller to the
 * general walk.
 */
export class RegionWalker {
  // Every field is `declare`d and set once in the constructor, so V8 sees each with its
  // final type (a field first defined as undefined makes every later load check its type).
  declare readonly levels: number;
  /** The region's bytes as words (region byte 0 = word 0). */
  declare readonly words: Uint32Array;
  declare readonly baseLo: number;
  declare readonly baseHi: number;
  /** Largest byte offset at which a whole 4 KiB table still fits in the window. */
  declare readonly lastTable: number;
  declare readonly rootOffset: number;
  /** The batch walk in WebAssembly over the region's memory (see wasm-walk.ts), or null. */
  declare readonly wasm: WasmWalk | null;
  /** Byte offset of the region's byte 0 in that memory. */
  declare readonly origin: number;
  /** The region's physical address. */
  declare readonly base: number;

  /**
   * @param words the region's bytes as words (region byte 0 = word 0)
   * @param base physical address of the region (a multiple of 4)
   * @param size bytes in the region
   * @param root physical address of the top table (inside the region)
   * @param levels 4 or 5
   * @param wasm the batch walk over the region's WebAssembly memory, if it has one
   * @param origin byte offset of the region's byte 0 in that memory
   */
  constructor(words: Uint32Array, base: number, size: number, root: number, levels: number, wasm: WasmWalk | null = null, origin = 0) {
    const baseHi = Math.floor(base / E.TWO32);
    const baseLo = base - baseHi * E.TWO32;
    this.levels = levels | 0;
    this.words = words;
    this.baseLo = baseLo >>> 0;
    this.baseHi = baseHi | 0;
    this.lastTable = Math.max(-1, Math.min(size, E.TWO32 - baseLo, words.length * 4, 0x7fffffff) - 4096) | 0;
    this.rootOffset = Math.max(-1, Math.min(root - base, 0x7fffffff)) | 0;
    this.wasm = wasm;
    this.origin = origin;
    this.base = base;
  }

  /**
   * The leaf entry mapping `virt` as {@link walkLeaf} returns it (its low address word is then
   * in {@link virtLo}), {@link NOT_MAPPED}, or {@link WALK_GENERAL} (also for anything but a
   * canonical unsigned 64-bit bigint). Small, so V8 inlines it.
   */
  find(virt: unknown): number {
    if (typeof virt !== 'bigint' || BigInt.asUintN(64, virt) !== virt) return -2; // WALK_GENERAL
    S64[0] = virt;
    const vhi = S32[HI_WORD];
    const top = this.levels === 5 ? vhi >>> 24 : vhi >>> 15;
    if (top !== 0 && top !== (this.levels === 5 ? 0xff : 0x1ffff)) return -2; // WALK_GENERAL
    return walkLeaf(this.words, this.rootOffset, this.baseLo, this.baseHi, this.lastTable, this.levels, S32[LO_WORD], vhi);
  }

  /** The physical address `virt` maps to, {@link NOT_MAPPED}, or {@link WALK_GENERAL}. */
  walkToPhys(virt: unknown): number {
    const found = this.find(virt);
    return found < 0 ? found : leafPhys(this.words, found, S32[LO_WORD]);
  }

  /** True when the root lies in the window (otherwise do not use this walker). */
  usable(): boolean {
    return this.rootOffset >= 0 && this.rootOffset <= this.lastTable && this.rootOffset % 4 === 0;
  }
}

/**
 * `PageTableBuilder#translateAddrs` after its argument checks: checks every address first (a
 * typed error before anything is written), then walks them all over the walker's region, in
 * WebAssembly where the region has a WebAssembly memory (wasm-walk.ts: same results, 2x faster)
 * and with {@link walkAddr} otherwise, and sends those neither can decide to `general`.
 */
export function translateAddrsInto(walker: RegionWalker | null, levels: number, virts: BigUint64Array, out: Float64Array, general: (virt: bigint) => number | null): Float64Array {
  const n = virts.length;
  const words = LITTLE_ENDIAN ? new Uint32Array(virts.buffer, virts.byteOffset, n * 2) : null;
  if (words === null || !allCanonical(words, n, levels)) {
    const half = levels === 5 ? 24 : 15;
    const upper = levels === 5 ? 0xff : 0x1ffff;
    for (let i = 0; i < n; i++) {
      const top = words !== null ? words[2 * i + 1] >>> half : Number(virts[i] >> BigInt(32 + half));
      if (top !== 0 && top !== upper) throwBadVirt(virts[i], levels as PagingLevels, `virts[${i}]`);
    }
  }
  if (walker === null || words === null) {
    for (let i = 0; i < n; i++) out[i] = general(virts[i]) ?? -1;
    return out;
  }
  const kernel = walker.wasm;
  const chunk = kernel === null ? n : WasmWalk.chunk;
  for (let i = 0; i < n; i += chunk) {
    const c = Math.min(chunk, n - i);
    // the WebAssembly walk says how many it left to the general walk (-1: another thread's
    // batch holds its scratch page, so this chunk walks in JavaScript)
    let left = kernel === null ? -1 : kernel.walk(virts, out, i, c, walker.origin, walker.rootOffset, walker.lastTable, walker.base, levels);
    if (left < 0) left = walkRange(walker, levels, words, out, i, i + c);
    // -2 is WALK_GENERAL (a literal: an exported constant is a load per use)
    for (let j = i; left > 0 && j < i + c; j++) {
      if (out[j] === -2) {
        out[j] = general(virts[j]) ?? -1;
        left--;
      }
    }
  }
  return out;
}

/** {@link walkAddr} for the address words `[from, to)` of `words` into `out`; how many are WALK_GENERAL. */
function walkRange(walker: RegionWalker, levels: number, words: Uint32Array, out: Float64Array, from: number, to: number): number {
  const { words: w, rootOffset, baseLo, baseHi, lastTable } = walker;
  let general = 0;
  for (let i = from; i < to; i++) {
    const r = walkAddr(w, rootOffset, baseLo, baseHi, lastTable, levels, words[2 * i], words[2 * i + 1]);
    out[i] = r;
    if (r === -2) general++;
  }
  return general;
}

/**
 * True when every address of `words` (n little-endian 64-bit pairs) is canonical for `levels`:
 * bits 47..63 (56..63) all equal, i.e. top + 1 in {1, 2^17} ({1, 2^8}), tested without a branch.
 */
export function allCanonical(words: Uint32Array, n: number, levels: number): boolean {
  const half = levels === 5 ? 24 : 15;
  const mask = levels === 5 ? 0xfe : 0x1fffe;
  // four addresses per step into two accumulators (1.5x the speed of one per step): an OR of
  // valid top + 1 values has only bits outside the mask, so masking once at the end is exact
  let a = 0;
  let b = 0;
  let i = 1;
  const end = 2 * n;
  for (; i + 6 < end; i += 8) {
    a |= ((words[i] >>> half) + 1) | ((words[i + 2] >>> half) + 1);
    b |= ((words[i + 4] >>> half) + 1) | ((words[i + 6] >>> half) + 1);
  }
  for (; i < end; i += 2) a |= (words[i] >>> half) + 1;
  return ((a | b) & mask) === 0;
}
