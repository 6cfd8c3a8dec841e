/**
 * Reference model and fast-check commands for the frame allocators: the model is a list of
 * owned blocks and reserved ranges (frame numbers) over the usable ranges; every command
 * checks the real allocator's answer against it exactly (including that `allocate`
 * returns null only when the model shows no fitting block), then runs check().
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { normalizeRanges, subtractRanges } from '../../src/addr/phys.js';
import { MemprimsError } from '../../src/errors.js';
import { FrameError, type FrameAllocator } from '../../src/frames/index.js';
import type { PhysicalMemory } from '../../src/memory/physical-memory.js';

export const FRAME = 4096;

export interface Range {
  start: number;
  end: number;
}

export interface Block {
  start: number;
  count: number;
  span: number;
}

export interface Model {
  kind: 'bitmap' | 'buddy';
  maxOrder: number;
  usable: Range[];
  usableFrames: number;
  owned: Block[];
  freed: Block[];
  reserved: Range[];
}

export function orderOf(count: number): number {
  return count <= 1 ? 0 : Math.ceil(Math.log2(count) - 1e-12);
}

function ownedRanges(m: Model): Range[] {
  return normalizeRanges(m.owned.map((b) => ({ start: b.start, end: b.start + b.span })));
}

export function freeRanges(m: Model): Range[] {
  return subtractRanges(subtractRanges(m.usable, ownedRanges(m)), m.reserved);
}

function count(list: Range[]): number {
  return list.reduce((n, r) => n + r.end - r.start, 0);
}

function allFree(m: Model, s: number, e: number): boolean {
  return freeRanges(m).some((r) => s >= r.start && e <= r.end);
}

function inUsable(m: Model, s: number, e: number): boolean {
  return m.usable.some((r) => s >= r.start && e <= r.end);
}

/** Usable frame number `pick mod usableFrames`. */
export function frameAt(m: Model, pick: number): number {
  let n = pick % m.usableFrames;
  for (const r of m.usable) {
    if (n < r.end - r.start) return r.start + n;
    n -= r.end - r.start;
  }
  throw new Error('unreachable');
}

/** The span a buddy call at frame s for count frames covers; bitmap: exactly count. */
function spanOf(m: Model, s: number, c: number): number {
  if (m.kind === 'bitmap') return c;
  const k = orderOf(c);
  return k <= m.maxOrder && s % 2 ** k === 0 ? 2 ** k : c;
}

let verifications = 0;

/**
 * Compares the counters and the largest free run with the model and runs check(). The
 * buddy's stats() returns its frame cache to the lists, so stats() runs on every third call
 * only: in between the cache fills and empties as it does in use (check() still verifies it
 * against the counters every time).
 */
export function verifyCounters(m: Model, real: FrameAllocator): void {
  if (m.kind === 'buddy' && ++verifications % 3 !== 0) {
    real.check();
    return;
  }
  const s = real.stats();
  const owned = count(ownedRanges(m));
  const reserved = count(m.reserved);
  expect(s.total).toBe(m.usableFrames);
  expect(s.used).toBe(owned);
  expect(s.reserved).toBe(reserved);
  expect(s.free).toBe(m.usableFrames - owned - reserved);
  const runs = freeRanges(m);
  expect(s.largestFreeRun).toBe(runs.reduce((x, r) => Math.max(x, r.end - r.start), 0));
  real.check();
}

/** The allocator's 4 KiB metadata header (counters, list heads, the buddy's frame cache). */
function header(real: FrameAllocator): Uint8Array {
  const r = real as FrameAllocator & { memory: PhysicalMemory; metadataAddress: number };
  return r.memory.read(r.metadataAddress, 4096).slice();
}

function expectFrameError(fn: () => unknown, code: string | null, m: Model, real: FrameAllocator): void {
  // the header bytes, not stats(): the buddy's stats() would empty its frame cache first
  const before = header(real);
  let thrown: unknown = null;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'misuse must throw').toBeInstanceOf(MemprimsError);
  if (code !== null) expect((thrown as FrameError).code).toBe(code);
  expect(header(real)).toEqual(before);
  real.check();
  void m;
}

type Cmd = fc.Command<Model, FrameAllocator>;

class Allocate implements Cmd {
  constructor(readonly count: number, readonly alignLog: number, readonly kind: number, readonly pick: number, readonly span: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, real: FrameAllocator): void {
    const opts: { align?: number; minAddress?: number; maxAddress?: number } = {};
    if (this.alignLog > 0) opts.align = FRAME * 2 ** this.alignLog;
    const at = frameAt(m, this.pick) * FRAME;
    if (this.kind === 1) opts.maxAddress = at + this.count * FRAME - 1;
    if (this.kind === 2) opts.minAddress = at;
    if (this.kind === 3) {
      opts.minAddress = at;
      opts.maxAddress = at + (this.count + this.span) * FRAME - 1;
    }
    if (this.kind === 4) opts.maxAddress = 0xffffffff;
    if (this.kind === 5) opts.maxAddress = 0xfffff;
    const a = Object.keys(opts).length ? real.allocate(this.count, opts) : real.allocate(this.count);
    const k = orderOf(this.count);
    const size = m.kind === 'bitmap' ? this.count : 2 ** k;
    const align = Math.max(opts.align ? opts.align / FRAME : 1, m.kind === 'buddy' ? size : 1);
    const minF = opts.minAddress !== undefined ? Math.ceil(opts.minAddress / FRAME) : 0;
    const maxEnd = opts.maxAddress !== undefined ? Math.floor((opts.maxAddress + 1) / FRAME) : Infinity;
    if (a === null) {
      if (m.kind === 'buddy' && k > m.maxOrder) return;
      const fit = freeRanges(m).some((r) => {
        const p = Math.ceil(Math.max(r.start, minF) / align) * align;
        return p + size <= r.end && p + size <= maxEnd;
      });
      expect(fit, `allocate(${this.count}, ${JSON.stringify(opts)}) returned null but the model has room`).toBe(false);
      verifyCounters(m, real);
      return;
    }
    expect(a % FRAME).toBe(0);
    const f = a / FRAME;
    expect(f % align).toBe(0);
    expect(f).toBeGreaterThanOrEqual(minF);
    expect(f + size).toBeLessThanOrEqual(maxEnd);
    expect(allFree(m, f, f + size), `allocate returned ${a.toString(16)} (+${size} frames), not free in the model`).toBe(true);
    m.owned.push({ start: f, count: this.count, span: size });
    for (let g = f; g < f + size; g += Math.max(1, Math.floor(size / 4))) expect(real.isFree(g * FRAME)).toBe(false);
    verifyCounters(m, real);
  }
  toString(): string {
    return `allocate(${this.count}, align 2^${this.alignLog}, kind ${this.kind}, pick ${this.pick})`;
  }
}

class AllocateAt implements Cmd {
  constructor(readonly pick: number, readonly count: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, real: FrameAllocator): void {
    const s = frameAt(m, this.pick);
    const span = spanOf(m, s, this.count);
    const expected = inUsable(m, s, s + span) && allFree(m, s, s + span);
    expect(real.allocateAt(s * FRAME, this.count)).toBe(expected);
    if (expected) m.owned.push({ start: s, count: this.count, span });
    verifyCounters(m, real);
  }
  toString(): string {
    return `allocateAt(pick ${this.pick}, ${this.count})`;
  }
}

class Free implements Cmd {
  constructor(readonly pick: number) {}
  check(m: Readonly<Model>): boolean {
    return m.owned.length > 0;
  }
  run(m: Model, real: FrameAllocator): void {
    const i = this.pick % m.owned.length;
    const b = m.owned[i];
    real.free(b.start * FRAME, b.count);
    m.owned.splice(i, 1);
    m.freed.push(b);
    for (let g = b.start; g < b.start + b.span; g++) {
      if (!m.reserved.some((r) => g >= r.start && g < r.end)) expect(real.isFree(g * FRAME)).toBe(true);
    }
    verifyCounters(m, real);
  }
  toString(): string {
    return `free(owned #${this.pick})`;
  }
}

/**
 * Many single frames, then some of them freed and taken again: fills words and empties
 * them, the states the bitmap's single-frame paths keep their level-1 summary bits lazily for.
 */
class Burst implements Cmd {
  constructor(readonly count: number, readonly churn: number, readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, real: FrameAllocator): void {
    for (let i = 0; i < this.count; i++) new Allocate(1, 0, 0, 0, 0).run(m, real);
    for (let i = 0; i < this.churn && m.owned.length > 0; i++) {
      new Free(this.pick + i * 7919).run(m, real);
      if (i % 2 === 0) new Allocate(1, 0, 0, 0, 0).run(m, real);
    }
    real.check();
  }
  toString(): string {
    return `burst(${this.count} single frames, churn ${this.churn}, pick ${this.pick})`;
  }
}

class Misuse implements Cmd {
  constructor(readonly variant: number, readonly pick: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, real: FrameAllocator): void {
    const f = frameAt(m, this.pick);
    switch (this.variant) {
      case 0: {
        // double free of a block freed earlier whose frames are all free again
        const b = m.freed.find((x) => allFree(m, x.start, x.start + x.span));
        if (b) expectFrameError(() => real.free(b.start * FRAME, b.count), 'FRAME_NOT_ALLOCATED', m, real);
        return;
      }
      case 1:
        if (allFree(m, f, f + 1)) expectFrameError(() => real.free(f * FRAME, 1), 'FRAME_NOT_ALLOCATED', m, real);
        return;
      case 2: {
        const r = m.reserved[this.pick % Math.max(1, m.reserved.length)];
        if (r) expectFrameError(() => real.free(r.start * FRAME, 1), 'FRAME_RESERVED', m, real);
        return;
      }
      case 3:
        expectFrameError(() => real.free(f * FRAME + 8, 1), 'FRAME_MISALIGNED', m, real);
        expectFrameError(() => real.allocateAt(f * FRAME + 0x800, 1), 'FRAME_MISALIGNED', m, real);
        return;
      case 4:
        expectFrameError(() => real.free(f * FRAME, 0), 'FRAME_BAD_COUNT', m, real);
        expectFrameError(() => real.allocate(0), 'FRAME_BAD_COUNT', m, real);
        expectFrameError(() => real.allocate(1, { align: 1000 }), 'FRAME_BAD_ALIGN', m, real);
        return;
      case 5: {
        const top = m.usable[m.usable.length - 1].end;
        expectFrameError(() => real.free((top + 3) * FRAME, 1), 'FRAME_OUT_OF_RANGE', m, real);
        expectFrameError(() => real.free(-4096, 1), 'FRAME_OUT_OF_RANGE', m, real);
        expect(real.isFree((top + 3) * FRAME)).toBe(false);
        return;
      }
      default: {
        // a block that is partly owned and partly free
        const b = m.owned[this.pick % Math.max(1, m.owned.length)];
        if (!b || m.kind === 'buddy') return;
        if (inUsable(m, b.start, b.start + b.span + 1) && allFree(m, b.start + b.span, b.start + b.span + 1)) {
          expectFrameError(() => real.free(b.start * FRAME, b.count + 1), 'FRAME_NOT_ALLOCATED', m, real);
        }
      }
    }
  }
  toString(): string {
    return `misuse(${this.variant}, pick ${this.pick})`;
  }
}

class Reserve implements Cmd {
  constructor(readonly pick: number, readonly count: number, readonly offset: number) {}
  check(): boolean {
    return true;
  }
  run(m: Model, real: FrameAllocator): void {
    const s = frameAt(m, this.pick);
    const address = s * FRAME + this.offset;
    const size = this.count * FRAME;
    const e = Math.ceil((address + size) / FRAME);
    const clipped = subtractRanges(
      m.usable.map((r) => ({ start: Math.max(r.start, s), end: Math.min(r.end, e) })).filter((r) => r.end > r.start),
      m.reserved,
    );
    const busy = clipped.some((r) => ownedRanges(m).some((o) => o.start < r.end && r.start < o.end));
    if (busy) {
      expectFrameError(() => real.reserve(address, size), 'FRAME_IN_USE', m, real);
      return;
    }
    real.reserve(address, size);
    m.reserved = normalizeRanges([...m.reserved, ...clipped]);
    for (const r of clipped) expect(real.isFree(r.start * FRAME)).toBe(false);
    verifyCounters(m, real);
  }
  toString(): string {
    return `reserve(pick ${this.pick}, ${this.count} frames, +${this.offset})`;
  }
}

export function commands(maxCount = 12, maxAlignLog = 9): fc.Arbitrary<Cmd>[] {
  const pick = fc.nat({ max: 0x7fffffff });
  const cnt = fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: maxCount }) });
  const alignLog = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: maxAlignLog }) });
  const kind = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }) });
  return [
    fc.tuple(cnt, alignLog, kind, pick, fc.nat({ max: 40 })).map(([c, a, k, p, s]) => new Allocate(c, a, k, p, s)),
    fc.tuple(cnt, alignLog, kind, pick, fc.nat({ max: 40 })).map(([c, a, k, p, s]) => new Allocate(c, a, k, p, s)),
    fc.tuple(pick, fc.integer({ min: 1, max: 6 })).map(([p, c]) => new AllocateAt(p, c)),
    pick.map((p) => new Free(p)),
    pick.map((p) => new Free(p)),
    fc.tuple(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 40 }), pick).map(([c, n, p]) => new Burst(c, n, p)),
    fc.tuple(fc.integer({ min: 0, max: 6 }), pick).map(([v, p]) => new Misuse(v, p)),
    fc.tuple(pick, fc.integer({ min: 1, max: 5 }), fc.constantFrom(0, 0, 100)).map(([p, c, o]) => new Reserve(p, c, o)),
  ];
}

/** Builds the model of a fresh allocator: usable ranges as the allocator was told, metadata reserved. */
export function initialModel(kind: 'bitmap' | 'buddy', maxOrder: number, usable: Range[], real: FrameAllocator & { metadataAddress: number }, extraReserved: Range[] = [], inUse: Block[] = []): Model {
  const meta = real.metadataAddress / FRAME;
  const s = real.stats();
  const metaFrames = s.reserved - extraReserved.reduce((n, r) => n + r.end - r.start, 0);
  const reserved = normalizeRanges([...extraReserved, { start: meta, end: meta + metaFrames }]);
  const usableFrames = usable.reduce((n, r) => n + r.end - r.start, 0);
  return { kind, maxOrder, usable, usableFrames, owned: [...inUse], freed: [], reserved };
}

/** Frees every owned block; the allocator must be back to all-free minus reservations. */
export function teardown(m: Model, real: FrameAllocator): void {
  for (const b of m.owned.splice(0)) real.free(b.start * FRAME, b.count);
  verifyCounters(m, real);
  expect(real.stats().free).toBe(m.usableFrames - m.reserved.reduce((n, r) => n + r.end - r.start, 0));
}
