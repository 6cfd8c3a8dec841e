/**
 * `PhysicalMemory`: a sparse physical address space (up to 2^52 bytes) made of regions, with
 * atomics for multi-worker use. Regions and plain accesses live in `AddressSpace`
 * (address-space.ts); this file adds the atomic operations and the constructors that open
 * raw images and memory shared by another thread.
 *
 * Atomic operations need natural alignment (4 or 8 bytes) inside their backing buffer, and
 * `atomicWaitU32` needs SharedArrayBuffer-backed memory.
 *
 * @module
 */
import { hex, MemoryAccessError } from '../errors.js';
import { AddressSpace, type RegionSource, type SharedMemoryHandle } from './address-space.js';
import { checkU64, checkUint } from './checks.js';
import type { Block } from './region.js';

/**
 * A sparse physical address space made of regions.
 *
 * @example
 * ```ts
 * import { PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 16 * 1024 * 1024);            // 16 MiB of RAM at 0
 * memory.addRegion(0x1_0000_0000, 2 ** 40);          // 1 TiB above 4 GiB, lazily backed
 * memory.writeU64(0x1000, 0xdead_beef_cafe_f00dn);
 * memory.readU32(0x1004);                            // 0xdeadbeef
 * ```
 */
export class PhysicalMemory extends AddressSpace {
  /** Wraps raw bytes (e.g. a QEMU `pmemsave` dump) in place as memory starting at `base`. */
  static fromImage(bytes: RegionSource, base = 0, name = 'image'): PhysicalMemory {
    const memory = new PhysicalMemory();
    memory.addRegion(base, bytes, { name });
    return memory;
  }

  /** Opens memory another thread shared with {@link PhysicalMemory.toShared}. */
  static fromShared(handle: SharedMemoryHandle): PhysicalMemory {
    const memory = new PhysicalMemory();
    for (const r of handle.regions) memory.addRegion(r.base, new Uint8Array(r.buffer, r.byteOffset, r.size), { name: r.name });
    return memory;
  }


  /**
   * The word index of an aligned u32 in the fast-path block (`this.fU32`), caching the block
   * first when `address` lies elsewhere. Throws when the word cannot be accessed atomically.
   */
  private word32(address: number): number {
    const off = (typeof address === 'number' ? address : NaN) - this.fBase; // a bigint falls to the checked path
    if ((off >>> 0) === off && (off & 3) === 0 && off <= this.fLimit) return off >>> 2;
    const r = this.locate(address, 4, 4);
    const b = r.store.blockFor(address - r.base, 4, true)!; // materializes a lazy chunk
    if (b.block.u32 === null || b.at % 4 !== 0) {
      throw new MemoryAccessError('MEM_MISALIGNED', `atomic u32 at ${hex(address)} is not 4-aligned in its backing buffer`, { address });
    }
    this.cacheBlock(r, address);
    const again = address - this.fBase;
    if (again >>> 2 !== again / 4 || again > this.fLimit) {
      throw new MemoryAccessError('MEM_MISALIGNED', `atomic u32 at ${hex(address)} is not 4-aligned in its backing buffer`, { address });
    }
    return again >>> 2;
  }

  private atomic64(address: number): { block: Block; index: number } {
    const r = this.locate(address, 8, 8);
    const b = r.store.blockFor(address - r.base, 8, true)!;
    if (b.block.u64 === null || b.at % 8 !== 0) {
      throw new MemoryAccessError('MEM_MISALIGNED', `atomic u64 at ${hex(address)} is not 8-aligned in its backing buffer`, { address });
    }
    return { block: b.block, index: b.at / 8 };
  }

  /** Atomically loads a u32 (4-byte aligned). */
  atomicLoadU32(address: number): number {
    const w = this.word32(address);
    return Atomics.load(this.fU32, w);
  }
  /** Atomically stores a u32 (4-byte aligned). */
  atomicStoreU32(address: number, value: number): void {
    if (typeof value !== 'number' || (value >>> 0) !== value) checkUint(value, 32);
    const w = this.word32(address);
    Atomics.store(this.fU32, w, value);
  }
  /** Compare-and-swap: writes `replacement` if the word equals `expected`; returns the old word. */
  atomicCompareExchangeU32(address: number, expected: number, replacement: number): number {
    if (typeof expected !== 'number' || (expected >>> 0) !== expected) checkUint(expected, 32);
    if (typeof replacement !== 'number' || (replacement >>> 0) !== replacement) checkUint(replacement, 32);
    const w = this.word32(address);
    return Atomics.compareExchange(this.fU32, w, expected, replacement);
  }
  /** Atomic add (wrapping); returns the old word. */
  atomicAddU32(address: number, value: number): number {
    if (typeof value !== 'number' || (value >>> 0) !== value) checkUint(value, 32);
    const w = this.word32(address);
    return Atomics.add(this.fU32, w, value);
  }
  /** Atomic subtract (wrapping); returns the old word. */
  atomicSubU32(address: number, value: number): number {
    if (typeof value !== 'number' || (value >>> 0) !== value) checkUint(value, 32);
    const w = this.word32(address);
    return Atomics.sub(this.fU32, w, value);
  }
  /** Atomic bitwise or; returns the old word. */
  atomicOrU32(address: number, value: number): number {
    if (typeof value !== 'number' || (value >>> 0) !== value) checkUint(value, 32);
    const w = this.word32(address);
    return Atomics.or(this.fU32, w, value);
  }
  /** Atomic bitwise and; returns the old word. */
  atomicAndU32(address: number, value: number): number {
    if (typeof value !== 'number' || (value >>> 0) !== value) checkUint(value, 32);
    const w = this.word32(address);
    return Atomics.and(this.fU32, w, value);
  }
  /** Atomic exchange; returns the old word. */
  atomicExchangeU32(address: number, value: number): number {
    if (typeof value !== 'number' || (value >>> 0) !== value) checkUint(value, 32);
    const w = this.word32(address);
    return Atomics.exchange(this.fU32, w, value);
  }
  /**
   * Blocks the calling thread while the word at `address` equals `expected` (shared memory
   * only; not allowed on a browser's main thread). Returns what `Atomics.wait` returns.
   */
  atomicWaitU32(address: number, expected: number, timeoutMs = Infinity): 'ok' | 'not-equal' | 'timed-out' {
    checkUint(expected, 32);
    const w = this.word32(address);
    const words = this.fU32;
    if (typeof SharedArrayBuffer === 'undefined' || !(words.buffer instanceof SharedArrayBuffer)) {
      throw new MemoryAccessError('MEM_NOT_SHARED', `atomicWait needs shared memory at ${hex(address)}`, { address });
    }
    return Atomics.wait(new Int32Array(words.buffer, words.byteOffset, words.length), w, expected | 0, timeoutMs);
  }
  /** Wakes up to `count` threads waiting on the word at `address`; returns how many woke. */
  atomicNotifyU32(address: number, count = Infinity): number {
    const w = this.word32(address);
    const words = this.fU32;
    return Atomics.notify(new Int32Array(words.buffer, words.byteOffset, words.length), w, count);
  }

  /** Atomically loads a u64 (8-byte aligned). */
  atomicLoadU64(address: number): bigint {
    const a = this.atomic64(address);
    return Atomics.load(a.block.u64!, a.index);
  }
  /** Atomically stores a u64 (8-byte aligned). */
  atomicStoreU64(address: number, value: bigint): void {
    checkU64(value);
    const a = this.atomic64(address);
    Atomics.store(a.block.u64!, a.index, value);
  }
  /** 64-bit compare-and-swap; returns the old value. */
  atomicCompareExchangeU64(address: number, expected: bigint, replacement: bigint): bigint {
    checkU64(expected);
    checkU64(replacement);
    const a = this.atomic64(address);
    return Atomics.compareExchange(a.block.u64!, a.index, expected, replacement);
  }
  /** 64-bit atomic add (wrapping); returns the old value. */
  atomicAddU64(address: number, value: bigint): bigint {
    checkU64(value);
    const a = this.atomic64(address);
    return Atomics.add(a.block.u64!, a.index, value);
  }
  /** 64-bit atomic or; returns the old value. */
  atomicOrU64(address: number, value: bigint): bigint {
    checkU64(value);
    const a = this.atomic64(address);
    return Atomics.or(a.block.u64!, a.index, value);
  }
  /** 64-bit atomic and; returns the old value. */
  atomicAndU64(address: number, value: bigint): bigint {
    checkU64(value);
    const a = this.atomic64(address);
    return Atomics.and(a.block.u64!, a.index, value);
  }
}
