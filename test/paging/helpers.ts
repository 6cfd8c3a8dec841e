/**
 * Test helpers for paging: simple frame sources (bump, free list) that count what they
 * hand out, independent of memprims' own frame allocators.
 */
import type { FrameSource } from '../../src/paging/index.js';

/** Bump source: frames at start, start+4K, …; frees are recorded, never reused. */
export class BumpFrames implements FrameSource {
  next: number;
  allocated = 0;
  freed: number[] = [];
  constructor(start: number, readonly limit = Infinity) {
    this.next = start;
  }
  allocate(count: number): number | null {
    if (this.next + count * 4096 > this.limit) return null;
    const a = this.next;
    this.next += count * 4096;
    this.allocated += count;
    return a;
  }
  free(address: number, count: number): void {
    for (let i = 0; i < count; i++) this.freed.push(address + i * 4096);
  }
}

/** Free-list source over [start, end): reuses freed frames (LIFO); can be told to fail after n allocations. */
export class ListFrames implements FrameSource {
  private free_: number[] = [];
  inUse = new Set<number>();
  failAfter = Infinity;
  calls = 0;
  constructor(start: number, end: number) {
    for (let a = end - 4096; a >= start; a -= 4096) this.free_.push(a);
  }
  allocate(count: number): number | null {
    if (count !== 1) {
      // contiguous run from the top of the sorted list
      const sorted = [...this.free_].sort((a, b) => a - b);
      for (let i = 0; i + count <= sorted.length; i++) {
        if (sorted[i + count - 1] === sorted[i] + (count - 1) * 4096) {
          const run = sorted.slice(i, i + count);
          this.free_ = this.free_.filter((f) => !run.includes(f));
          run.forEach((f) => this.inUse.add(f));
          return run[0];
        }
      }
      return null;
    }
    if (this.calls >= this.failAfter) return null;
    this.calls++;
    const f = this.free_.pop();
    if (f === undefined) return null;
    this.inUse.add(f);
    return f;
  }
  free(address: number, count: number): void {
    for (let i = 0; i < count; i++) {
      const f = address + i * 4096;
      if (!this.inUse.delete(f)) throw new Error(`double free of ${f.toString(16)}`);
      this.free_.push(f);
    }
  }
  get freeCount(): number {
    return this.free_.length;
  }
}

/** FNV-1a 32 over bytes. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
