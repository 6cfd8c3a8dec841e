/**
 * `AddressSpace`: the region list and every non-atomic access of `PhysicalMemory` (a sparse
 * physical address space up to 2^52 bytes). `PhysicalMemory` (physical-memory.ts) adds
 * atomics and the constructors that open images and shared memory.
 *
 * Regions are backed by a SharedArrayBuffer (default), an ArrayBuffer (where shared memory is
 * unavailable, or on request), a caller's buffer wrapped in place (how an emulator lends its
 * guest RAM), or lazily in 64 KiB chunks created on first write (for address spaces far larger
 * than the host's memory). All multi-byte values are little-endian, as on x86.
 *
 * Boundaries: scalar accesses (u8..u64, atomics) must lie inside one region, otherwise
 * `MEM_CROSSES_REGION`; byte-range operations (`read`, `write`, `fill`, `copy`) may span
 * several adjacent regions as long as every byte is backed. A failing call changes nothing.
 *
 * @module
 */
import { checkPhysAddr, PHYS_ADDR_LIMIT } from '../addr/phys.js';
import { describe, hex, InvalidArgumentError, MemoryAccessError, RegionError } from '../errors.js';
import { allocateBuffer, BufferStore, LazyStore, type BackingBuffer, type RegionStore } from './region.js';
import { allocateWasmBacked, type WasmBacking } from './wasm-backing.js';
import { checkByte, checkLength, checkU64, checkUint, sharedAvailable, toView } from './checks.js';

/**
 * Largest single buffer this runtime can create (Node 20: 4 GiB).
 *
 * @example
 * ```ts
 * import { MAX_BUFFER_SIZE, PAGE_SIZE, PhysicalMemory } from 'memprims';
 * MAX_BUFFER_SIZE; // 4294967296 (4 GiB)
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, MAX_BUFFER_SIZE + PAGE_SIZE, { backing: 'eager' }); // throws RegionError REGION_TOO_LARGE
 * ```
 */
export const MAX_BUFFER_SIZE = 2 ** 32;

/** What `addRegion` accepts as backing: a byte count, or a buffer to wrap in place. */
export type RegionSource = number | ArrayBuffer | SharedArrayBuffer | ArrayBufferView | { buffer: ArrayBuffer | SharedArrayBuffer };

/** Options for {@link AddressSpace.addRegion}. */
export interface RegionOptions {
  /**
   * For a byte count: `'eager'` creates one buffer (at most 4 GiB), `'lazy'` creates 64 KiB
   * chunks on first write, `'auto'` (default) is eager up to 4 GiB and lazy above.
   */
  backing?: 'auto' | 'eager' | 'lazy';
  /** Back new buffers with SharedArrayBuffer (default: when the runtime has it). */
  shared?: boolean;
  /** A name shown in listings and errors, e.g. `'low RAM'`. */
  name?: string;
  /**
   * For an eager byte count: back the region with a `WebAssembly.Memory` (plus a 64 KiB scratch
   * page past it) so WebAssembly kernels such as `translateAddrs`' batch walk run over it.
   * Default: for regions of at least 1 MiB (each such memory reserves ~10 GiB of address space
   * for its guard pages); `true` also for smaller ones, `false` never.
   */
  wasm?: boolean;
}

/** A region as listed by {@link AddressSpace.regions}. */
export interface RegionInfo {
  readonly base: number;
  readonly size: number;
  /** Exclusive end, `base + size`. */
  readonly end: number;
  readonly name: string;
  readonly lazy: boolean;
  readonly shared: boolean;
  /** The backing buffer of a buffer region (null for lazy regions). */
  readonly buffer: BackingBuffer | null;
  /** Offset of the region's first byte inside `buffer`. */
  readonly byteOffset: number;
}

/** What {@link AddressSpace.toShared} returns: plain data that `postMessage` can send. */
export interface SharedMemoryHandle {
  readonly regions: readonly { base: number; size: number; name: string; buffer: SharedArrayBuffer; byteOffset: number }[];
}

/**
 * One region: its bounds, name and backing store.
 * @internal
 */
export class Region {
  constructor(
    readonly base: number,
    readonly end: number,
    readonly name: string,
    readonly store: RegionStore,
  ) {}
}

const TWO32 = 2 ** 32;
// Scratch words for converting between a u64 bigint and two u32 words without bigint arithmetic.
const SCRATCH_BUFFER = new ArrayBuffer(8);
const SCRATCH64 = new BigUint64Array(SCRATCH_BUFFER);
const SCRATCH32 = new Uint32Array(SCRATCH_BUFFER);

/**
 * The regions and plain accesses of {@link PhysicalMemory}; use `PhysicalMemory` itself.
 *
 * @example
 * ```ts
 * import { AddressSpace, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory(); // an AddressSpace plus atomics and the rest
 * memory instanceof AddressSpace;      // true
 * memory.addRegion(0x1000, 0x2000);
 * memory.writeU32(0x1000, 0xdeadbeef);
 * memory.readU32(0x1000);              // 0xdeadbeef
 * memory.size;                         // 0x2000
 * ```
 */
export class AddressSpace {
  protected list: Region[] = [];
  protected last: Region | null = null;
  // Fast path for aligned 32-bit words: one backing block (a buffer region, or one lazy
  // chunk that exists) whose u32 view starts 4-aligned. `fLimit` is the last valid word
  // offset for a 4-byte access, -1 when no block is cached.
  // The three fields are declared, not initialised: they come into being at the first
  // cacheBlock. While a memory keeps one block (one buffer region, the common case) they are
  // then written once, and V8 treats them as constant fields: for a memory held in a constant
  // (a module-level `const`), optimised code embeds the block's base, limit and word view like
  // a raw typed array's. Until then they read `undefined`, which every fast path rejects.
  declare protected fBase: number;
  declare protected fLimit: number;
  declare protected fU32: Uint32Array;
  private readonly preferShared: boolean;
  private readonly preferWasm: boolean | undefined;

  /**
   * @param options.shared - default backing for new regions: SharedArrayBuffer when true
   *   (the default where the runtime has it), ArrayBuffer when false.
   * @param options.wasm - default of {@link RegionOptions.wasm} for new regions (`false`: no
   *   region of this memory is a WebAssembly memory, e.g. where address space is limited).
   */
  constructor(options: { shared?: boolean; wasm?: boolean } = {}) {
    this.preferShared = options.shared ?? sharedAvailable();
    this.preferWasm = options.wasm;
    if (this.preferShared && !sharedAvailable()) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', 'SharedArrayBuffer is not available in this runtime (not cross-origin isolated?)');
    }
  }


  /**
   * Adds a region at physical address `base`. A byte count makes zeroed memory
   * (SharedArrayBuffer-backed by default; lazily backed above 4 GiB); a buffer, typed array,
   * DataView or `WebAssembly.Memory` is wrapped in place without copying. Throws a
   * {@link RegionError} on overlap or bad size, changing nothing.
   */
  addRegion(base: number, source: RegionSource, options: RegionOptions = {}): RegionInfo {
    checkPhysAddr(base, 'region base');
    const name = options.name ?? `region@${hex(base)}`;
    let store: RegionStore;
    if (typeof source === 'number') {
      if (!Number.isSafeInteger(source) || source <= 0) {
        throw new RegionError('REGION_BAD_SIZE', `region size must be a positive integer, got ${describe(source)}`, { base, size: source });
      }
      if (base + source > PHYS_ADDR_LIMIT) {
        throw new RegionError('REGION_OUT_OF_RANGE', `region ${hex(base)}+${hex(source)} passes 2^52`, { base, size: source });
      }
      this.checkFree(base, base + source);
      const shared = options.shared ?? this.preferShared;
      if (shared && !sharedAvailable()) {
        throw new RegionError('REGION_NOT_SHAREABLE', 'SharedArrayBuffer is not available in this runtime', { base });
      }
      const backing = options.backing ?? 'auto';
      if (backing === 'eager' && source > MAX_BUFFER_SIZE) {
        throw new RegionError('REGION_TOO_LARGE', `an eager region holds at most 4 GiB; use backing 'lazy' for ${hex(source)} bytes`, { base, size: source });
      }
      store = new LazyStore(source, shared);
      if (backing === 'eager' || (backing === 'auto' && source <= MAX_BUFFER_SIZE)) {
        try {
          const w = allocateWasmBacked(source, shared, options.wasm ?? this.preferWasm);
          store = w !== null ? new BufferStore(w.buffer, 0, source, w.wasm) : new BufferStore(allocateBuffer(source, shared), 0, source);
        } catch (e) {
          if (backing === 'eager') {
            throw new RegionError('REGION_ALLOCATION_FAILED', `could not allocate ${hex(source)} bytes: ${String(e)}`, { base, size: source }, { cause: e });
          }
          // 'auto': the runtime refused one big buffer (browser limits); fall back to chunks.
        }
      }
    } else {
      const view = toView(source);
      if (view.byteLength === 0) throw new RegionError('REGION_BAD_SIZE', 'cannot add an empty buffer as a region', { base });
      if (base + view.byteLength > PHYS_ADDR_LIMIT) {
        throw new RegionError('REGION_OUT_OF_RANGE', `region ${hex(base)}+${hex(view.byteLength)} passes 2^52`, { base, size: view.byteLength });
      }
      this.checkFree(base, base + view.byteLength);
      store = new BufferStore(view.buffer as BackingBuffer, view.byteOffset, view.byteLength);
    }
    const region = new Region(base, base + store.size, name, store);
    const i = this.list.findIndex((r) => r.base > base);
    if (i < 0) this.list.push(region);
    else this.list.splice(i, 0, region);
    return info(region);
  }

  /** Removes the region that starts at `base` (a typed error when there is none). */
  removeRegion(base: number): void {
    const i = this.list.findIndex((r) => r.base === base);
    if (i < 0) throw new RegionError('REGION_NOT_FOUND', `no region starts at ${hex(base)}`, { base });
    this.last = null;
    if (this.fBase !== undefined) {
      // forget the cached block: every fast path then fails its offset check
      this.fBase = NaN;
      this.fLimit = -1;
    }
    this.list.splice(i, 1);
  }

  /** The regions in address order. */
  regions(): RegionInfo[] {
    return this.list.map(info);
  }

  /** The region containing `address`, or null. */
  regionAt(address: number): RegionInfo | null {
    const r = this.find(address);
    return r === null ? null : info(r);
  }

  /**
   * The WebAssembly memory backing the region that holds `address`, when this library made
   * the region one (see wasm-backing.ts), else null. For WebAssembly kernels over memory.
   *
   * @internal
   */
  wasmBackingAt(address: number): WasmBacking | null {
    const r = this.find(address);
    return r === null ? null : r.store.wasm;
  }

  /** Total bytes of address space covered by regions. */
  get size(): number {
    return this.list.reduce((n, r) => n + (r.end - r.base), 0);
  }

  /** Host bytes actually allocated (lazy regions count only the chunks written so far). */
  hostBytes(): number {
    return this.list.reduce((n, r) => n + r.store.hostBytes(), 0);
  }

  /** True when every byte of `[address, address + length)` is backed by some region. */
  isBacked(address: number, length = 1): boolean {
    if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length) || address < 0 || length < 0) return false;
    let at = address;
    const end = address + length;
    while (at < end) {
      const r = this.find(at);
      if (r === null) return false;
      at = r.end;
    }
    return true;
  }

  /** Plain data for `postMessage`, so a worker can open the same memory with `fromShared`. */
  toShared(): SharedMemoryHandle {
    return {
      regions: this.list.map((r) => {
        const s = r.store;
        if (s.lazy || s.buffer === null || !s.shared) {
          throw new RegionError('REGION_NOT_SHAREABLE', `region ${r.name} is ${s.lazy ? 'lazily backed' : 'not SharedArrayBuffer-backed'} and cannot be shared with another thread`, { base: r.base });
        }
        return { base: r.base, size: r.end - r.base, name: r.name, buffer: s.buffer as SharedArrayBuffer, byteOffset: s.byteOffset };
      }),
    };
  }

  // ---- locating ---------------------------------------------------------------------------

  private checkFree(start: number, end: number): void {
    for (const r of this.list) {
      if (start < r.end && r.base < end) {
        throw new RegionError('REGION_OVERLAP', `new region [${hex(start)}, ${hex(end)}) overlaps ${r.name} [${hex(r.base)}, ${hex(r.end)})`, { start, end, other: r.name });
      }
    }
  }

  protected find(address: number): Region | null {
    const last = this.last;
    if (last !== null && address >= last.base && address < last.end) return last;
    const list = this.list;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = list[mid];
      if (address < r.base) hi = mid - 1;
      else if (address >= r.end) lo = mid + 1;
      else {
        this.last = r;
        return r;
      }
    }
    return null;
  }

  /** Validates a scalar access and returns its region (slow path; throws typed errors). */
  protected locate(address: number, width: number, align: number): Region {
    checkPhysAddr(address, 'address');
    if (align > 1 && address % align !== 0) {
      throw new MemoryAccessError('MEM_MISALIGNED', `${width * 8}-bit atomic access at ${hex(address)} must be ${align}-byte aligned`, { address, width });
    }
    const r = this.find(address);
    if (r === null) throw new MemoryAccessError('MEM_UNBACKED', `no memory at physical address ${hex(address)}`, { address, width });
    if (address + width > r.end) {
      if (this.find(address + width - 1) === null) {
        throw new MemoryAccessError('MEM_UNBACKED', `${width}-byte access at ${hex(address)} runs past the end of ${r.name} into unbacked memory`, { address, width });
      }
      throw new MemoryAccessError('MEM_CROSSES_REGION', `${width}-byte access at ${hex(address)} crosses the end of ${r.name} (${hex(r.end)})`, { address, width });
    }
    return r;
  }

  /** Caches the block holding `address` for the aligned-word fast path, when it has one. */
  protected cacheBlock(r: Region, address: number): void {
    const b = r.store.blockFor(address - r.base, 4, false);
    if (b === null || b.block.u32 === null) return;
    const blockBase = address - b.at;
    if (blockBase % 4 !== 0) return; // word offsets in the block are then physically aligned too
    this.fBase = blockBase;
    this.fU32 = b.block.u32;
    this.fLimit = b.block.u32.length * 4 - 4;
  }

  /** Region for an access of `width` bytes at `address` (fast path first). */
  protected at(address: number, width: number): Region {
    const r = this.last;
    if (r !== null && typeof address === 'number' && address >= r.base && address + width <= r.end && Number.isInteger(address)) return r;
    return this.locate(address, width, 1);
  }

  // ---- scalars ----------------------------------------------------------------------------

  /** Reads an unsigned byte. */
  readU8(address: number): number {
    const r = this.at(address, 1);
    return r.store.readU8(address - r.base);
  }

  /** Writes a byte (0..255). */
  writeU8(address: number, value: number): void {
    checkUint(value, 8);
    const r = this.at(address, 1);
    r.store.writeU8(address - r.base, value);
  }

  /** Reads a little-endian u16. */
  readU16(address: number): number {
    const r = this.at(address, 2);
    const off = address - r.base;
    return r.store.readU8(off) | (r.store.readU8(off + 1) << 8);
  }

  /** Writes a little-endian u16. */
  writeU16(address: number, value: number): void {
    checkUint(value, 16);
    const r = this.at(address, 2);
    const off = address - r.base;
    r.store.writeU8(off, value & 0xff);
    r.store.writeU8(off + 1, value >>> 8);
  }

  /** Reads a little-endian u32 (as an unsigned number). */
  readU32(address: number): number {
    const off = (typeof address === 'number' ? address : NaN) - this.fBase; // a bigint falls to the checked path
    // an integer offset in [0, 2^32), 4-aligned; the view's own bound ends the block
    if ((off >>> 0) === off && (off & 3) === 0) {
      const v = this.fU32[off >>> 2];
      if (v !== undefined) return v;
    }
    return this.readU32Slow(address);
  }

  private readU32Slow(address: number): number {
    const r = this.at(address, 4);
    this.cacheBlock(r, address);
    return r.store.readU32(address - r.base);
  }

  /** Writes a little-endian u32 (an integer 0..2^32-1). */
  writeU32(address: number, value: number): void {
    const off = (typeof address === 'number' ? address : NaN) - this.fBase; // a bigint falls to the checked path
    if ((off >>> 0) === off && (off & 3) === 0 && off <= this.fLimit && typeof value === 'number' && (value >>> 0) === value) {
      this.fU32[off >>> 2] = value;
      return;
    }
    this.writeU32Slow(address, value);
  }

  private writeU32Slow(address: number, value: number): void {
    checkUint(value, 32);
    const r = this.at(address, 4);
    r.store.writeU32(address - r.base, value);
    this.cacheBlock(r, address);
  }

  /** Reads a little-endian u64 as a bigint. */
  readU64(address: number): bigint {
    const off = (typeof address === 'number' ? address : NaN) - this.fBase; // a bigint falls to the checked path
    if ((off >>> 0) === off && off < this.fLimit && (off & 3) === 0) {
      SCRATCH32[0] = this.fU32[off >>> 2];
      SCRATCH32[1] = this.fU32[(off >>> 2) + 1];
      return SCRATCH64[0];
    }
    const r = this.at(address, 8);
    const o = address - r.base;
    this.cacheBlock(r, address);
    SCRATCH32[0] = r.store.readU32(o);
    SCRATCH32[1] = r.store.readU32(o + 4);
    return SCRATCH64[0];
  }

  /** Writes a little-endian u64 given as a bigint in [0, 2^64). */
  writeU64(address: number, value: bigint): void {
    checkU64(value);
    SCRATCH64[0] = value;
    this.writeU64Words(address, SCRATCH32[0], SCRATCH32[1]);
  }

  /**
   * Reads a u64 as a number (fast path, no bigint). Throws `MEM_VALUE_TOO_LARGE` when the
   * value is 2^53 or more and so cannot be held exactly.
   */
  readU64Number(address: number): number {
    let lo: number;
    let hi: number;
    const off = (typeof address === 'number' ? address : NaN) - this.fBase; // a bigint falls to the checked path
    if ((off >>> 0) === off && (off & 3) === 0 && off < this.fLimit) {
      lo = this.fU32[off >>> 2];
      hi = this.fU32[(off >>> 2) + 1];
    } else {
      const r = this.at(address, 8);
      const o = address - r.base;
      this.cacheBlock(r, address);
      lo = r.store.readU32(o);
      hi = r.store.readU32(o + 4);
    }
    if (hi >= 0x200000) {
      throw new MemoryAccessError('MEM_VALUE_TOO_LARGE', `u64 at ${hex(address)} is ${hex((BigInt(hi) << 32n) | BigInt(lo))}, past 2^53: read it as a bigint`, { address });
    }
    return hi * TWO32 + lo;
  }

  /** Writes a u64 given as a safe non-negative integer number (fast path, no bigint). */
  writeU64Number(address: number, value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', `u64 number must be a safe non-negative integer, got ${describe(value)}`, { value });
    }
    this.writeU64Words(address, value % TWO32, Math.floor(value / TWO32));
  }

  /** Writes a u64 as two u32 words, low word first in memory (fast path, no bigint). */
  writeU64Words(address: number, low: number, high: number): void {
    const off = (typeof address === 'number' ? address : NaN) - this.fBase; // a bigint falls to the checked path
    if ((off >>> 0) === off && (off & 3) === 0 && off < this.fLimit && typeof low === 'number' && (low >>> 0) === low && typeof high === 'number' && (high >>> 0) === high) {
      const w = off >>> 2;
      this.fU32[w] = low;
      this.fU32[w + 1] = high;
      return;
    }
    checkUint(low, 32);
    checkUint(high, 32);
    const r = this.at(address, 8);
    const o = address - r.base;
    r.store.writeU32(o, low);
    r.store.writeU32(o + 4, high);
    this.cacheBlock(r, address);
  }

  // ---- byte ranges ------------------------------------------------------------------------

  /** Splits `[address, address + length)` into per-region pieces, or throws (nothing touched). */
  private pieces(address: number, length: number): { r: Region; off: number; n: number }[] {
    checkPhysAddr(address, 'address');
    checkLength(length);
    if (address + length > PHYS_ADDR_LIMIT) {
      throw new MemoryAccessError('MEM_OUT_OF_RANGE', `range ${hex(address)}+${hex(length)} passes 2^52`, { address, length });
    }
    const out: { r: Region; off: number; n: number }[] = [];
    let at = address;
    const end = address + length;
    while (at < end) {
      const r = this.find(at);
      if (r === null) {
        throw new MemoryAccessError('MEM_UNBACKED', `no memory at physical address ${hex(at)} (range ${hex(address)}+${hex(length)})`, { address: at, start: address, length });
      }
      const n = Math.min(end, r.end) - at;
      out.push({ r, off: at - r.base, n });
      at += n;
    }
    return out;
  }

  /** Reads `length` bytes into a new Uint8Array (a copy). May span adjacent regions. */
  read(address: number, length: number): Uint8Array {
    const parts = this.pieces(address, length);
    const out = new Uint8Array(length);
    let pos = 0;
    for (const p of parts) {
      p.r.store.readInto(p.off, out, pos, p.n);
      pos += p.n;
    }
    return out;
  }

  /** Reads into a caller's array (no allocation). */
  readInto(address: number, target: Uint8Array): void {
    const parts = this.pieces(address, target.length);
    let pos = 0;
    for (const p of parts) {
      p.r.store.readInto(p.off, target, pos, p.n);
      pos += p.n;
    }
  }

  /** Writes bytes at `address`. May span adjacent regions; nothing is written unless all is backed. */
  write(address: number, bytes: Uint8Array | ArrayLike<number>): void {
    const src = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes as ArrayLike<number>);
    if (!(bytes instanceof Uint8Array)) {
      for (let i = 0; i < bytes.length; i++) checkByte((bytes as ArrayLike<number>)[i]);
    }
    const parts = this.pieces(address, src.length);
    let pos = 0;
    for (const p of parts) {
      p.r.store.writeFrom(p.off, src, pos, p.n);
      pos += p.n;
    }
  }

  /** Sets `length` bytes at `address` to `value` (default 0). */
  fill(address: number, length: number, value = 0): void {
    checkByte(value);
    for (const p of this.pieces(address, length)) p.r.store.fill(p.off, p.n, value);
  }

  /** Copies `length` bytes from `source` to `target` (overlap-safe, like memmove). */
  copy(target: number, source: number, length: number): void {
    this.pieces(target, length); // validate the target before reading anything
    const bytes = this.read(source, length);
    this.write(target, bytes);
  }

  /** Loads a raw image (e.g. a QEMU `pmemsave` file) at `base` into existing regions. */
  loadImage(base: number, bytes: Uint8Array): void {
    this.write(base, bytes);
  }

  /** Exports `[start, start + length)` as raw bytes (a copy), the inverse of `loadImage`. */
  exportImage(start: number, length: number): Uint8Array {
    return this.read(start, length);
  }

  /**
   * A live Uint8Array over `[address, address + length)` without copying, when the range lies
   * inside one buffer (a buffer region, or one 64 KiB chunk of a lazy region). For hot paths
   * that want raw typed-array speed; throws `MEM_NO_DIRECT_VIEW` otherwise.
   */
  view(address: number, length: number): Uint8Array {
    checkLength(length);
    const r = this.locate(address, Math.max(1, length), 1);
    const b = r.store.blockFor(address - r.base, length, true);
    if (b === null) {
      throw new MemoryAccessError('MEM_NO_DIRECT_VIEW', `[${hex(address)}, +${hex(length)}) is not inside one backing buffer`, { address, length });
    }
    return b.block.u8.subarray(b.at, b.at + length);
  }
}

function info(r: Region): RegionInfo {
  return {
    base: r.base,
    size: r.end - r.base,
    end: r.end,
    name: r.name,
    lazy: r.store.lazy,
    shared: r.store.shared,
    buffer: r.store.buffer,
    byteOffset: r.store.byteOffset,
  };
}
