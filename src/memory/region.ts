/**
 * Backing stores for one region of physical memory: a buffer region (one ArrayBuffer or
 * SharedArrayBuffer, possibly the caller's own) and a lazy region (chunks created on first
 * write; bytes never written read as zero). Offsets here are relative to the region's base
 * and already validated by `PhysicalMemory`; nothing in this file throws on bad input.
 *
 * @module
 */
import type { WasmBacking } from './wasm-backing.js';

/**
 * Size of one lazily created chunk (64 KiB).
 *
 * @example
 * ```ts
 * import { LAZY_CHUNK_SIZE, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 2 ** 40, { backing: 'lazy' }); // 1 TiB, nothing allocated yet
 * memory.writeU32(0x12345678, 1);                    // creates one chunk
 * memory.hostBytes() === LAZY_CHUNK_SIZE;            // true (65536 bytes)
 * ```
 */
export const LAZY_CHUNK_SIZE = 0x10000;
const CHUNK_MASK = LAZY_CHUNK_SIZE - 1;

/** The buffer kinds a region can be backed by. */
export type BackingBuffer = ArrayBuffer | SharedArrayBuffer;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Typed views over one contiguous buffer. */
export class Block {
  readonly u8: Uint8Array;
  readonly dv: DataView;
  /** Present when the view starts 4-aligned in its buffer (fast aligned u32 path). */
  readonly u32: Uint32Array | null;
  readonly i32: Int32Array | null;
  /** Present when the view starts 8-aligned in its buffer (atomic u64). */
  readonly u64: BigUint64Array | null;
  readonly shared: boolean;

  constructor(buffer: BackingBuffer, byteOffset: number, byteLength: number) {
    this.u8 = new Uint8Array(buffer, byteOffset, byteLength);
    this.dv = new DataView(buffer, byteOffset, byteLength);
    const a4 = byteOffset % 4 === 0 && LITTLE_ENDIAN_HOST;
    this.u32 = a4 ? new Uint32Array(buffer, byteOffset, byteLength >>> 2) : null;
    this.i32 = a4 ? new Int32Array(buffer, byteOffset, byteLength >>> 2) : null;
    this.u64 = byteOffset % 8 === 0 && LITTLE_ENDIAN_HOST ? new BigUint64Array(buffer, byteOffset, Math.floor(byteLength / 8)) : null;
    this.shared = typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
  }

  readU32(off: number): number {
    if ((off & 3) === 0 && this.u32 !== null) return this.u32[off >>> 2];
    return this.dv.getUint32(off, true);
  }

  writeU32(off: number, value: number): void {
    if ((off & 3) === 0 && this.u32 !== null) this.u32[off >>> 2] = value;
    else this.dv.setUint32(off, value, true);
  }
}

/** Creates a zeroed buffer, shared when asked for and available. */
export function allocateBuffer(size: number, shared: boolean): BackingBuffer {
  return shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
}

/** Common shape of both region kinds. Offsets are region-relative and pre-validated. */
export interface RegionStore {
  readonly size: number;
  readonly lazy: boolean;
  readonly shared: boolean;
  /** The whole backing buffer for a buffer region; null for lazy regions. */
  readonly buffer: BackingBuffer | null;
  readonly byteOffset: number;
  /** The WebAssembly memory holding `buffer` when this library made it one (see wasm-backing.ts). */
  readonly wasm: WasmBacking | null;
  readU8(off: number): number;
  writeU8(off: number, value: number): void;
  readU32(off: number): number;
  writeU32(off: number, value: number): void;
  /** The block holding `[off, off + len)` and the offset inside it; materializes lazy chunks. */
  blockFor(off: number, len: number, forWrite: boolean): { block: Block; at: number } | null;
  readInto(off: number, dst: Uint8Array, dstOff: number, len: number): void;
  writeFrom(off: number, src: Uint8Array, srcOff: number, len: number): void;
  fill(off: number, len: number, value: number): void;
  /** Host bytes actually allocated for this region. */
  hostBytes(): number;
}

/** A region backed by one buffer (ours or the caller's, wrapped without copying). */
export class BufferStore implements RegionStore {
  readonly lazy = false;
  readonly block: Block;
  readonly size: number;
  readonly buffer: BackingBuffer;
  readonly byteOffset: number;
  readonly shared: boolean;
  readonly wasm: WasmBacking | null;

  constructor(buffer: BackingBuffer, byteOffset: number, byteLength: number, wasm: WasmBacking | null = null) {
    this.block = new Block(buffer, byteOffset, byteLength);
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.size = byteLength;
    this.shared = this.block.shared;
    this.wasm = wasm;
  }
  readU8(off: number): number {
    return this.block.u8[off];
  }
  writeU8(off: number, value: number): void {
    this.block.u8[off] = value;
  }
  readU32(off: number): number {
    return this.block.readU32(off);
  }
  writeU32(off: number, value: number): void {
    this.block.writeU32(off, value);
  }
  blockFor(off: number): { block: Block; at: number } {
    return { block: this.block, at: off };
  }
  readInto(off: number, dst: Uint8Array, dstOff: number, len: number): void {
    dst.set(this.block.u8.subarray(off, off + len), dstOff);
  }
  writeFrom(off: number, src: Uint8Array, srcOff: number, len: number): void {
    this.block.u8.set(src.subarray(srcOff, srcOff + len), off);
  }
  fill(off: number, len: number, value: number): void {
    this.block.u8.fill(value, off, off + len);
  }
  hostBytes(): number {
    // (a WebAssembly memory: whole 64 KiB pages and the scratch page past the region)
    return this.wasm !== null ? this.buffer.byteLength : this.size;
  }
}

/** A region whose 64 KiB chunks are created on first write; unwritten bytes read as zero. */
export class LazyStore implements RegionStore {
  readonly lazy = true;
  readonly buffer = null;
  readonly byteOffset = 0;
  readonly wasm = null;
  readonly size: number;
  readonly shared: boolean;
  private readonly chunks = new Map<number, Block>();
  private lastIndex = -1;
  private lastBlock: Block | null = null;

  constructor(size: number, shared: boolean) {
    this.size = size;
    this.shared = shared;
  }

  private chunk(index: number, create: boolean): Block | null {
    if (index === this.lastIndex) return this.lastBlock;
    let block = this.chunks.get(index);
    if (block === undefined) {
      if (!create) return null;
      const size = Math.min(LAZY_CHUNK_SIZE, this.size - index * LAZY_CHUNK_SIZE);
      block = new Block(allocateBuffer(size, this.shared), 0, size);
      this.chunks.set(index, block);
    }
    this.lastIndex = index;
    this.lastBlock = block;
    return block;
  }

  readU8(off: number): number {
    const b = this.chunk(Math.floor(off / LAZY_CHUNK_SIZE), false);
    return b === null ? 0 : b.u8[off & CHUNK_MASK];
  }
  writeU8(off: number, value: number): void {
    this.chunk(Math.floor(off / LAZY_CHUNK_SIZE), true)!.u8[off & CHUNK_MASK] = value;
  }
  readU32(off: number): number {
    const at = off & CHUNK_MASK;
    if (at <= LAZY_CHUNK_SIZE - 4) {
      const b = this.chunk(Math.floor(off / LAZY_CHUNK_SIZE), false);
      return b === null ? 0 : b.readU32(at);
    }
    return (this.readU8(off) | (this.readU8(off + 1) << 8) | (this.readU8(off + 2) << 16) | (this.readU8(off + 3) << 24)) >>> 0;
  }
  writeU32(off: number, value: number): void {
    const at = off & CHUNK_MASK;
    if (at <= LAZY_CHUNK_SIZE - 4) {
      this.chunk(Math.floor(off / LAZY_CHUNK_SIZE), true)!.writeU32(at, value);
      return;
    }
    for (let i = 0; i < 4; i++) this.writeU8(off + i, (value >>> (8 * i)) & 0xff);
  }
  blockFor(off: number, len: number, forWrite: boolean): { block: Block; at: number } | null {
    const index = Math.floor(off / LAZY_CHUNK_SIZE);
    const at = off - index * LAZY_CHUNK_SIZE;
    if (at + len > LAZY_CHUNK_SIZE) return null;
    const block = this.chunk(index, forWrite);
    return block === null ? null : { block, at };
  }
  readInto(off: number, dst: Uint8Array, dstOff: number, len: number): void {
    while (len > 0) {
      const index = Math.floor(off / LAZY_CHUNK_SIZE);
      const at = off - index * LAZY_CHUNK_SIZE;
      const n = Math.min(len, LAZY_CHUNK_SIZE - at);
      const b = this.chunk(index, false);
      if (b === null) dst.fill(0, dstOff, dstOff + n);
      else dst.set(b.u8.subarray(at, at + n), dstOff);
      off += n;
      dstOff += n;
      len -= n;
    }
  }
  writeFrom(off: number, src: Uint8Array, srcOff: number, len: number): void {
    while (len > 0) {
      const index = Math.floor(off / LAZY_CHUNK_SIZE);
      const at = off - index * LAZY_CHUNK_SIZE;
      const n = Math.min(len, LAZY_CHUNK_SIZE - at);
      this.chunk(index, true)!.u8.set(src.subarray(srcOff, srcOff + n), at);
      off += n;
      srcOff += n;
      len -= n;
    }
  }
  fill(off: number, len: number, value: number): void {
    while (len > 0) {
      const index = Math.floor(off / LAZY_CHUNK_SIZE);
      const at = off - index * LAZY_CHUNK_SIZE;
      const n = Math.min(len, LAZY_CHUNK_SIZE - at);
      // Filling with zero never needs to create a chunk: absent chunks already read as zero.
      const b = this.chunk(index, value !== 0);
      if (b !== null) b.u8.fill(value, at, at + n);
      off += n;
      len -= n;
    }
  }
  hostBytes(): number {
    let total = 0;
    for (const b of this.chunks.values()) total += b.u8.byteLength;
    return total;
  }
  /** Number of chunks created so far. */
  get chunkCount(): number {
    return this.chunks.size;
  }
}
