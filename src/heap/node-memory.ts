/**
 * Reading and writing hole nodes (`{ size: u64, next: u64 }`, little-endian, 16 bytes) in heap
 * memory, with 32-bit words and no BigInt. Positions are byte offsets from the heap bottom (small
 * integers on the hot path); `next` is stored in memory as an absolute address, 0 for none, and
 * returned as an offset, -1 for none. Owns the choice between a raw `Int32Array` window over
 * the heap (fast path) and plain {@link PhysicalMemory} accessors (any backing).
 *
 * @module
 */
import type { PhysicalMemory } from '../memory/index.js';

const TWO32 = 4294967296;

/** Word access to hole headers by offset from the heap bottom. */
export interface NodeMemory {
  /** Size field of the node at `off`. */
  size(off: number): number;
  /** Next field of the node at `off` as an offset, or -1 for none. */
  next(off: number): number;
  setSize(off: number, size: number): void;
  /** Writes the next field: `next` is an offset, or -1 for none (stored as 0). */
  setNext(off: number, next: number): void;
  setNode(off: number, size: number, next: number): void;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Node access through an `Int32Array` over `[bottom, bottom + length)` (one backing buffer,
 * below 2 GiB, so every offset and size fits in a non-negative int32; words are stored with
 * int32 wrap-around, which writes the same bits as u32).
 */
export class WindowNodeMemory implements NodeMemory {
  readonly i32: Int32Array;
  /** Low 32 bits of the bottom address, unsigned and as int32. */
  readonly bottomLo: number;
  readonly bottomLoSigned: number;
  /** High 32 bits of the bottom address. */
  readonly bottomHi: number;

  constructor(i32: Int32Array, bottom: number) {
    this.i32 = i32;
    this.bottomLo = bottom >>> 0;
    this.bottomLoSigned = this.bottomLo | 0;
    this.bottomHi = (bottom - this.bottomLo) / TWO32;
  }

  size(off: number): number {
    return this.i32[off >> 2];
  }

  next(off: number): number {
    const i = (off >> 2) + 2;
    const lo = this.i32[i];
    if (lo === 0 && this.i32[i + 1] === 0) return -1;
    return (lo - this.bottomLoSigned) | 0;
  }

  setSize(off: number, size: number): void {
    const i = off >> 2;
    this.i32[i] = size;
    this.i32[i + 1] = 0;
  }

  setNext(off: number, next: number): void {
    const i = (off >> 2) + 2;
    if (next < 0) {
      this.i32[i] = 0;
      this.i32[i + 1] = 0;
    } else {
      const lo = this.bottomLo + next;
      this.i32[i] = lo | 0;
      this.i32[i + 1] = lo >= TWO32 ? this.bottomHi + 1 : this.bottomHi;
    }
  }

  setNode(off: number, size: number, next: number): void {
    this.setSize(off, size);
    this.setNext(off, next);
  }
}

/** Node access through {@link PhysicalMemory}'s word accessors (any backing, any size). */
export class PhysicalNodeMemory implements NodeMemory {
  readonly memory: PhysicalMemory;
  readonly bottom: number;

  constructor(memory: PhysicalMemory, bottom: number) {
    this.memory = memory;
    this.bottom = bottom;
  }

  size(off: number): number {
    return this.memory.readU64Number(this.bottom + off);
  }

  next(off: number): number {
    const next = this.memory.readU64Number(this.bottom + off + 8);
    return next === 0 ? -1 : next - this.bottom;
  }

  setSize(off: number, size: number): void {
    const lo = size >>> 0;
    this.memory.writeU64Words(this.bottom + off, lo, (size - lo) / TWO32);
  }

  setNext(off: number, next: number): void {
    const value = next < 0 ? 0 : this.bottom + next;
    const lo = value >>> 0;
    this.memory.writeU64Words(this.bottom + off + 8, lo, (value - lo) / TWO32);
  }

  setNode(off: number, size: number, next: number): void {
    this.setSize(off, size);
    this.setNext(off, next);
  }
}

/**
 * The fastest node access for the heap `[bottom, end)`: a raw window when the range lies in one
 * buffer at a 4-byte-aligned offset on a little-endian host, else the memory accessors.
 */
export function nodeMemoryFor(memory: PhysicalMemory, bottom: number, end: number): NodeMemory {
  if (LITTLE_ENDIAN && end - bottom < 0x80000000) {
    try {
      const view = memory.view(bottom, end - bottom);
      if (view.byteOffset % 4 === 0) {
        return new WindowNodeMemory(new Int32Array(view.buffer, view.byteOffset, view.byteLength >>> 2), bottom);
      }
    } catch {
      // not one buffer (lazy chunks, several regions): fall back to the accessors
    }
  }
  return new PhysicalNodeMemory(memory, bottom);
}
