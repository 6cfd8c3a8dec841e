// Small, obviously-correct frame allocator and heap for exercising the conformance suites,
// plus deliberately broken variants (each with one real-world bug) that the suites must catch.
import { Layout, MemprimsError } from '../../src/index.js';

const FRAME = 4096;

export type FrameBug = 'none' | 'double-hand-out' | 'overlap' | 'lost-frames' | 'accept-double-free' | 'ignore-max-address';

/** A per-frame array allocator over [start, end) ranges: first fit, exact, with one optional bug. */
export class ArrayFrameAllocator {
  private state = new Map<number, 'free' | 'used' | 'reserved'>();
  private allocations = 0;
  constructor(readonly usable: { start: number; end: number }[], readonly bug: FrameBug = 'none') {
    for (const r of usable) for (let a = r.start; a < r.end; a += FRAME) this.state.set(a, 'free');
  }
  private frames(): number[] {
    return [...this.state.keys()].sort((a, b) => a - b);
  }
  allocate(count = 1, options: { align?: number; maxAddress?: number; minAddress?: number } = {}): number | null {
    const align = options.align ?? FRAME;
    const frames = this.frames();
    this.allocations++;
    for (const start of frames) {
      if (start % align !== 0 || start < (options.minAddress ?? 0)) continue;
      const end = start + count * FRAME;
      if (this.bug !== 'ignore-max-address' && options.maxAddress !== undefined && end - 1 > options.maxAddress) continue;
      let ok = true;
      for (let a = start; a < end; a += FRAME) {
        const s = this.state.get(a);
        // double-hand-out: on every 5th call a used frame counts as free.
        const free = s === 'free' || (this.bug === 'double-hand-out' && s === 'used' && this.allocations % 5 === 0);
        if (!free) ok = false;
      }
      if (!ok) continue;
      // overlap: marks only the first frame of a multi-frame block.
      const mark = this.bug === 'overlap' ? start + FRAME : end;
      for (let a = start; a < mark; a += FRAME) this.state.set(a, 'used');
      return start;
    }
    return null;
  }
  allocateAt(address: number, count = 1): number | null {
    for (let a = address; a < address + count * FRAME; a += FRAME) if (this.state.get(a) !== 'free') return null;
    for (let a = address; a < address + count * FRAME; a += FRAME) this.state.set(a, 'used');
    return address;
  }
  free(address: number, count = 1): void {
    for (let a = address; a < address + count * FRAME; a += FRAME) {
      if (this.state.get(a) !== 'used' && this.bug !== 'accept-double-free') throw new MemprimsError('TEST_BAD_FREE', `frame ${a} is not in use`);
    }
    // lost-frames: a multi-frame free releases only its first frame.
    const end = this.bug === 'lost-frames' && count > 1 ? address + FRAME : address + count * FRAME;
    for (let a = address; a < end; a += FRAME) this.state.set(a, 'free');
  }
  reserve(address: number, size: number): void {
    for (let a = address; a < address + size; a += FRAME) if (this.state.has(a)) this.state.set(a, 'reserved');
  }
  isFree(address: number): boolean {
    return this.state.get(address - (address % FRAME)) === 'free';
  }
  stats(): { total: number; free: number; used: number; reserved: number; largestFreeRun: number } {
    let free = 0;
    let used = 0;
    let reserved = 0;
    for (const s of this.state.values()) s === 'free' ? free++ : s === 'used' ? used++ : reserved++;
    return { total: this.state.size, free, used, reserved, largestFreeRun: 0 };
  }
}

export type HeapBug = 'none' | 'overlap' | 'lost-memory' | 'writes-live-block' | 'ignores-align';

/** A first-fit heap with its hole list in a JS array (no headers in memory), with one optional bug. */
export class ArrayHeap {
  holes: { start: number; end: number }[];
  used = 0;
  private live = new Map<number, number>();
  constructor(readonly bottom: number, readonly size: number, readonly bug: HeapBug = 'none', private memory?: { fill(a: number, n: number, v: number): void }) {
    this.holes = [{ start: bottom, end: bottom + size }];
  }
  get free(): number {
    return this.size - this.used;
  }
  private static round(size: number): number {
    return Math.max(16, Math.ceil(size / 8) * 8);
  }
  allocateFirstFit(layout: Layout): number | null {
    const need = ArrayHeap.round(layout.size);
    for (let i = 0; i < this.holes.length; i++) {
      const hole = this.holes[i];
      const align = this.bug === 'ignores-align' ? 8 : Math.max(8, layout.align);
      const start = Math.ceil(hole.start / align) * align;
      if (start + need > hole.end) continue;
      const pieces = [];
      if (start > hole.start) pieces.push({ start: hole.start, end: start });
      // overlap: keeps the hole's tail starting 8 bytes too early.
      const tail = this.bug === 'overlap' && need >= 24 ? start + need - 8 : start + need;
      if (tail < hole.end) pieces.push({ start: tail, end: hole.end });
      this.holes.splice(i, 1, ...pieces);
      this.used += need;
      this.live.set(start, need);
      if (this.bug === 'writes-live-block' && this.memory && this.live.size % 3 === 0) {
        // writes a "header" into the previous live block, as a heap that stores metadata there would.
        const other = [...this.live.keys()].find((a) => a !== start);
        if (other !== undefined) this.memory.fill(other, 1, 0);
      }
      return start;
    }
    return null;
  }
  deallocate(address: number, layout: Layout): void {
    const need = ArrayHeap.round(layout.size);
    this.live.delete(address);
    this.used -= need;
    if (this.bug === 'lost-memory' && need > 32) return; // counters say free, the hole never comes back
    this.holes.push({ start: address, end: address + need });
    this.holes.sort((a, b) => a.start - b.start);
    const merged: { start: number; end: number }[] = [];
    for (const h of this.holes) {
      const last = merged[merged.length - 1];
      if (last && h.start <= last.end) last.end = Math.max(last.end, h.end);
      else merged.push({ ...h });
    }
    this.holes = merged;
  }
}
