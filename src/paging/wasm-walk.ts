/**
 * The batch translate walk (`PageTableBuilder#translateAddrs`) as a WebAssembly function over
 * the region holding the tables, when that region is backed by a `WebAssembly.Memory`
 * (memory/wasm-backing.ts: regions this library allocates are, where the runtime allows).
 *
 * It is the same walk, with the same rules and results, as `walkAddr` in fastwalk.ts: present
 * bits, PS in a PML5E / PML4E and the reserved bits of 2 MiB and 1 GiB leaves make an address
 * NOT_MAPPED (-1); a table outside the walker's window makes it WALK_GENERAL (-2), left to the
 * general walk. The difference is speed: the JavaScript loop checks each typed array's type and
 * each load's bounds inside the loop, the WebAssembly one (guard pages) neither, so its body is
 * shorter and the CPU keeps more walks (and their cache misses on the leaf tables) in flight:
 * 2x faster over 1M random addresses measured side by side.
 *
 * A WebAssembly function reads only its own memory: addresses are copied into the scratch page
 * after the region (8,184 at a time), walked in place (each 64-bit address is overwritten by its
 * result as a double), and copied out. Over shared memory the scratch page is taken with a
 * compare-and-swap on its first word; a caller that finds it busy (another thread's batch)
 * walks that chunk in JavaScript instead. (Today only the thread that created the memory has
 * its `WebAssembly.Memory`: a worker opens shared memory from its buffers, which have none.)
 *
 * The module is assembled here from its bytes (no build step, no file to load), compiled once
 * per kind of memory (plain or shared), and instantiated once per memory.
 *
 * @module
 */
import type { WasmBacking } from '../memory/wasm-backing.js';

// ---- a few WebAssembly encodings ---------------------------------------------------------

const I32 = 0x7f;
const I64 = 0x7e;
const F64 = 0x7c;
const VOID = 0x40;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(v: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const tee = (i: number): number[] => [0x22, ...uleb(i)];
const i32c = (n: number): number[] => [0x41, ...sleb(BigInt(n))];
const i64c = (n: bigint): number[] => [0x42, ...sleb(BigInt.asIntN(64, n))];
const f64c = (x: number): number[] => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)];
const I64_LOAD = [0x29, 0x03, 0x00];
const F64_STORE = [0x39, 0x03, 0x00];
const IF = [0x04, VOID];
const ELSE = 0x05;
const END = 0x0b;
const br = (depth: number): number[] => [0x0c, ...uleb(depth)];
const BR_IF = 0x0d;
const SELECT = 0x1b;
const op = {
  i32eqz: 0x45, i32eq: 0x46, i32geu: 0x4f, i64eqz: 0x50, i64ne: 0x52, i64gtu: 0x56,
  i32add: 0x6a, i32and: 0x71, i32shl: 0x74,
  i64add: 0x7c, i64sub: 0x7d, i64and: 0x83, i64or: 0x84, i64shl: 0x86, i64shru: 0x88,
  wrap: 0xa7, extendU: 0xad, f64FromI64: 0xb9,
};

// ---- the walk ----------------------------------------------------------------------------

// walk(n, scratch, origin, root, lastTable, baseLo, baseHi, levels) -> general: the n 64-bit addresses
// at byte `scratch` become their physical addresses (doubles), NOT_MAPPED (-1) or WALK_GENERAL
// (-2), in place; returns how many are WALK_GENERAL. Table offsets are relative to the region
// (`origin`: where its byte 0 is in the memory; `base`: its physical address), and a table
// must lie at [0, lastTable]. (A per-call export of the same walk, a bigint argument, measured
// slower than the JavaScript per-call walk inside the builder: not kept.)

/** Local indices of the walk (parameters first, as WebAssembly numbers them). */
const L = { origin: 2, root: 3, last: 4, levels: 7, k: 10, g: 11, v: 12, e: 13, t: 14, base: 15 } as const;
// n, scratch, base as two words (parameters: no i64 crosses the JavaScript boundary, so no
// bigint either); i, p (locals)
const N = 0, SCR = 1, BASE_LO = 5, BASE_HI = 6, I = 8, P = 9;

const ADDR = 0x000ffffffffff000n;

/**
 * The walk of address V, leaving its result (a double) at the end of a `block (result f64)`
 * whose top level is where this code starts: every early result branches to that block.
 */
function resolve(): number[] {
  /** Loads the entry at `k + ((v >> shift) & 0xff8)` into E (k: the table's region offset). */
  const loadEntry = (shift: number): number[] => [
    ...get(L.origin), ...get(L.k), op.i32add,
    ...get(L.v), ...i64c(BigInt(shift)), op.i64shru, ...i64c(0xff8n), op.i64and, op.wrap, op.i32add,
    ...I64_LOAD, ...set(L.e),
  ];
  // `depth`: the result block's branch depth where the code is placed
  const notPresent = (depth: number): number[] => [...get(L.e), op.wrap, ...i32c(1), op.i32and, op.i32eqz, ...IF, ...f64c(-1), ...br(depth + 1), END];
  /** E is a table pointer: its region offset into K, or WALK_GENERAL (counted in G) when outside [0, lastTable]. */
  const follow = (depth: number): number[] => [
    ...get(L.e), ...i64c(ADDR), op.i64and, ...get(L.base), op.i64sub, ...tee(L.t),
    ...get(L.last), op.extendU, op.i64gtu, ...IF, ...get(L.g), ...i32c(1), op.i32add, ...set(L.g), ...f64c(-2), ...br(depth + 1), END,
    ...get(L.t), op.wrap, ...set(L.k),
  ];
  /**
   * E not present (NOT_MAPPED) or a leaf (PS): NOT_MAPPED when `reserved` bits are set, else the
   * leaf's address for `pageMask`; one branch when E is a present table pointer (the common case).
   */
  const absentOrLeaf = (depth: number, reserved: bigint, pageMask: bigint): number[] => [
    ...get(L.e), ...i64c(0x81n), op.i64and, ...i64c(1n), op.i64ne, ...IF,
    ...notPresent(depth + 1),
    ...get(L.e), ...i64c(reserved), op.i64and, op.i64eqz, op.i32eqz, ...IF, ...f64c(-1), ...br(depth + 2), END,
    ...get(L.e), ...i64c(ADDR & ~pageMask), op.i64and, ...get(L.v), ...i64c(pageMask), op.i64and, op.i64or, op.f64FromI64, ...br(depth + 1),
    END,
  ];
  /** PS set in a PML5E or PML4E (reserved: the CPU faults) or not present: NOT_MAPPED. */
  const topEntry = (depth: number): number[] => [...get(L.e), ...i64c(0x81n), op.i64and, ...i64c(1n), op.i64ne, ...IF, ...f64c(-1), ...br(depth + 1), END];
  return [
    ...get(L.root), ...set(L.k),
    ...get(L.levels), ...i32c(5), op.i32eq, ...IF,
    ...loadEntry(45), ...topEntry(1), ...follow(1),
    END,
    ...loadEntry(36), ...topEntry(0), ...follow(0),
    // PDPT: a 1 GiB leaf reserves bits 13..29; PD: a 2 MiB leaf bits 13..20 (MAXPHYADDR 52)
    ...loadEntry(27), ...absentOrLeaf(0, 0x3fffe000n, 0x3fffffffn), ...follow(0),
    ...loadEntry(18), ...absentOrLeaf(0, 0x1fe000n, 0x1fffffn), ...follow(0),
    ...loadEntry(9), ...notPresent(0),
    ...get(L.e), ...i64c(ADDR), op.i64and, ...get(L.v), ...i64c(0xfffn), op.i64and, op.i64or, op.f64FromI64,
  ];
}

const batchBody: number[] = [
  ...vec([[4, I32], [4, I64]]),
  ...get(BASE_HI), op.extendU, ...i64c(32n), op.i64shl, ...get(BASE_LO), op.extendU, op.i64or, ...set(L.base),
  0x02, VOID, 0x03, VOID, // block $exit, loop $next
  ...get(I), ...get(N), op.i32geu, BR_IF, 1,
  ...get(SCR), ...get(I), ...i32c(3), op.i32shl, op.i32add, ...tee(P),
  ...I64_LOAD, ...set(L.v),
  ...get(P), // the store's address, under the block's result
  0x02, F64, ...resolve(), END,
  ...F64_STORE,
  ...get(I), ...i32c(1), op.i32add, ...set(I),
  ...br(0),
  END, END, // loop, block
  ...get(L.g),
  END,
];

function moduleBytes(shared: boolean): Uint8Array<ArrayBuffer> {
  const limits = shared ? [0x03, 0x00, ...uleb(0x10000)] : [0x00, 0x00];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([
      [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([[I32]])],
    ])),
    ...section(2, vec([[...name('m'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec([uleb(0)])),
    ...section(7, vec([[...name('walk'), 0x00, ...uleb(0)]])),
    ...section(10, vec([[...uleb(batchBody.length), ...batchBody]])),
  ]);
}

type WalkFn = (n: number, scratch: number, origin: number, root: number, lastTable: number, baseLo: number, baseHi: number, levels: number) => number;

const modules: (WebAssembly.Module | null | undefined)[] = [undefined, undefined];
const kernels = new WeakMap<WebAssembly.Memory, WasmWalk | null>();

/** Addresses per chunk: the scratch page less 64 bytes (the first word is the busy flag). */
const CHUNK = (0x10000 - 64) / 8;

/** The batch walk over one WebAssembly-backed region's memory. */
export class WasmWalk {
  private readonly fn: WalkFn;
  private readonly scratch: number;
  private readonly in64: BigUint64Array;
  private readonly out64: Float64Array;
  private readonly busy: Int32Array | null;

  private constructor(backing: WasmBacking, fn: WalkFn) {
    const buffer = backing.memory.buffer;
    this.fn = fn;
    this.scratch = backing.scratch + 64;
    this.in64 = new BigUint64Array(buffer, this.scratch, CHUNK);
    this.out64 = new Float64Array(buffer, this.scratch, CHUNK);
    this.busy = backing.shared ? new Int32Array(buffer, backing.scratch, 1) : null;
  }

  /** The kernel for `backing`'s memory (made once per memory), or null where WebAssembly cannot run it. */
  static for(backing: WasmBacking | null): WasmWalk | null {
    if (backing === null) return null;
    let k = kernels.get(backing.memory);
    if (k !== undefined) return k;
    k = null;
    try {
      const kind = backing.shared ? 1 : 0;
      if (modules[kind] === undefined) {
        modules[kind] = null; // (stays null if the compile throws: not tried again)
        modules[kind] = new WebAssembly.Module(moduleBytes(backing.shared));
      }
      const mod = modules[kind];
      if (mod !== null && mod !== undefined) {
        const instance = new WebAssembly.Instance(mod, { m: { memory: backing.memory } });
        k = new WasmWalk(backing, instance.exports.walk as unknown as WalkFn);
      }
    } catch {
      k = null; // (a runtime without WebAssembly threads, a refused compile: the JavaScript walk stays)
    }
    kernels.set(backing.memory, k);
    return k;
  }

  /**
   * Walks `virts[from, from + count)` (count <= {@link WasmWalk.chunk}) into `out` at the same
   * indices, as fastwalk.ts's `walkAddr` would; returns how many of them are WALK_GENERAL (-2).
   * -1, writing nothing, when another thread holds the scratch page.
   */
  walk(virts: BigUint64Array, out: Float64Array, from: number, count: number, origin: number, root: number, lastTable: number, base: number, levels: number): number {
    const busy = this.busy;
    if (busy !== null && Atomics.compareExchange(busy, 0, 0, 1) !== 0) return -1;
    try {
      this.in64.set(virts.subarray(from, from + count));
      const baseHi = Math.floor(base / 0x100000000);
      const general = this.fn(count, this.scratch, origin, root, lastTable, base - baseHi * 0x100000000, baseHi, levels);
      out.set(this.out64.subarray(0, count), from);
      return general;
    } finally {
      if (busy !== null) Atomics.store(busy, 0, 0);
    }
  }

  /** Most addresses one {@link walk} takes. */
  static readonly chunk = CHUNK;
}
