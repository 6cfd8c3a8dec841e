/**
 * The commands of the frame-allocator conformance suite (allocate with constraints,
 * allocateAt, free, reserve, and misuse: double free, freeing a free frame), each checking
 * the allocator's answer against the model.
 *
 * @module
 */
import fc from 'fast-check';
import { describe, hex } from '../errors.js';
import { ConformanceViolation, expect, expectTypedError, h, runCheck } from './conformance-common.js';
import { blockName, checkNoChange, frameAt, insideUsable, overlapping, statsOf, type ConformanceFrameAllocator, type FrameAllocatorCommand, type FrameAllocatorModel, type FrameBlock, type FrameConformanceOptions } from './frame-model.js';

const FRAME = 4096;
type Real = ConformanceFrameAllocator;
type FrameModel = FrameAllocatorModel;
type Block = FrameBlock;
type FrameCommand = FrameAllocatorCommand;

type Constraint = { kind: 'none' } | { kind: 'belowFree' } | { kind: 'max'; pick: number } | { kind: 'min'; pick: number } | { kind: 'window'; pick: number; span: number } | { kind: 'dma32' } | { kind: 'realMode' };

/** The lowest usable frame not inside a live or reserved block of the model, or null. */
function lowestModelFree(m: FrameModel): number | null {
  const taken = [...m.live, ...m.reserved].sort((a, b) => a.address - b.address);
  for (let r = 0; r < m.starts.length; r++) {
    let at = m.starts[r];
    for (const b of taken) {
      if (b.address + b.count * FRAME <= at) continue;
      if (b.address > at) break;
      at = b.address + b.count * FRAME;
    }
    if (at < m.ends[r]) return at;
  }
  return null;
}

class AllocateCommand implements FrameCommand {
  private text = '';
  [fc.cloneMethod](): AllocateCommand {
    return new AllocateCommand(this.count, this.align, this.constraint);
  }
  constructor(readonly count: number, readonly align: number, readonly constraint: Constraint) {}
  check(): boolean {
    return true;
  }
  run(m: FrameModel, real: Real): void {
    const options: { align?: number; maxAddress?: number; minAddress?: number } = {};
    if (this.align > FRAME) options.align = this.align;
    const c = this.constraint;
    if (c.kind === 'belowFree') {
      // Just below the lowest frame the model thinks free: only a block that ignores
      // maxAddress (or hands out a used frame) can be returned here.
      const lowest = lowestModelFree(m);
      const max = lowest === null ? -1 : lowest + (this.count - 1) * FRAME - 1;
      if (max >= FRAME - 1) options.maxAddress = max;
    } else if (c.kind === 'max') options.maxAddress = frameAt(m, c.pick).address + this.count * FRAME - 1;
    else if (c.kind === 'min') options.minAddress = frameAt(m, c.pick).address;
    else if (c.kind === 'window') {
      options.minAddress = frameAt(m, c.pick).address;
      options.maxAddress = options.minAddress + (this.count + c.span) * FRAME - 1;
    } else if (c.kind === 'dma32') options.maxAddress = 0xffffffff;
    else if (c.kind === 'realMode') options.maxAddress = 0xfffff;
    const parts = [`count=${this.count}`];
    if (options.align !== undefined) parts.push(`align=${h(options.align)}`);
    if (options.minAddress !== undefined) parts.push(`minAddress=${h(options.minAddress)}`);
    if (options.maxAddress !== undefined) parts.push(`maxAddress=${h(options.maxAddress)}`);
    this.text = `allocate(${parts.join(' ')})`;
    const before = statsOf(real, 'the previous command');
    const call = Object.keys(options).length === 0 ? () => real.allocate(this.count) : () => real.allocate(this.count, options);
    let address: number | null;
    try {
      address = call();
    } catch (e) {
      throw new ConformanceViolation(`${this.text} threw ${e instanceof Error ? e.message : String(e)}; failing to allocate must return null`);
    }
    if (address === null) {
      expect(!(Object.keys(options).length === 0 && this.count === 1 && before.free > 0), () => `${this.text} returned null while stats().free is ${before.free}`);
      checkNoChange(real, before, `${this.text} returning null`);
      return;
    }
    const end = address + this.count * FRAME;
    expect(Number.isSafeInteger(address) && address % FRAME === 0, () => `${this.text} returned ${describe(address)}, not a 4 KiB-aligned address`);
    expect(address % (options.align ?? FRAME) === 0, () => `${this.text} returned ${hex(address!)}, not aligned to ${hex(options.align!)}`);
    expect(insideUsable(m, address, end), () => `${this.text} returned [${hex(address!)}..${hex(end)}), outside the usable ranges`);
    expect(options.maxAddress === undefined || end - 1 <= options.maxAddress, () => `${this.text} returned [${hex(address!)}..${hex(end)}), whose last byte is above maxAddress`);
    expect(options.minAddress === undefined || address >= options.minAddress, () => `${this.text} returned ${hex(address!)}, below minAddress`);
    const live = overlapping(m.live, address, end);
    expect(!live, () => `double hand-out: ${this.text} returned [${hex(address!)}..${hex(end)}), overlapping live block ${blockName(live!)}`);
    const res = overlapping(m.reserved, address, end);
    expect(!res, () => `${this.text} returned [${hex(address!)}..${hex(end)}), overlapping reserved range ${blockName(res!)}`);
    for (let f = address; f < end; f += FRAME) expect(!real.isFree(f), () => `isFree(${hex(f)}) is true right after ${this.text} handed it out`);
    const after = statsOf(real, this.text);
    expect(after.total === m.initial.total, () => `stats().total changed from ${m.initial.total} to ${after.total}`);
    expect(after.free <= before.free - this.count, () => `stats().free went from ${before.free} to ${after.free} after handing out ${this.count} frames`);
    m.live.push({ id: m.nextId++, address, count: this.count });
    runCheck(real, this.text);
  }
  toString(): string {
    return this.text || `allocate(count=${this.count} align=${h(this.align)} ${this.constraint.kind})`;
  }
}

class AllocateAtCommand implements FrameCommand {
  private text = '';
  [fc.cloneMethod](): AllocateAtCommand {
    return new AllocateAtCommand(this.pick, this.count);
  }
  constructor(readonly pick: number, readonly count: number) {}
  check(): boolean {
    return true;
  }
  run(m: FrameModel, real: Real): void {
    const { address, rangeEnd } = frameAt(m, this.pick);
    const count = Math.min(this.count, (rangeEnd - address) / FRAME);
    const end = address + count * FRAME;
    this.text = `allocateAt(${h(address)} count=${count})`;
    let allFree = true;
    for (let f = address; f < end; f += FRAME) if (!real.isFree(f)) allFree = false;
    const owned = overlapping(m.live, address, end) ?? overlapping(m.reserved, address, end);
    expect(!(allFree && owned), () => `isFree() says [${hex(address)}..${hex(end)}) is free but it holds ${blockName(owned!)}`);
    const before = statsOf(real, 'the previous command');
    let ok = false;
    let raw: unknown = null;
    try {
      const result = real.allocateAt!(address, count);
      ok = result !== null && result !== false;
    } catch (e) {
      raw = e;
    }
    if (raw !== null && !(raw instanceof Error && 'code' in raw)) throw new ConformanceViolation(`${this.text} threw a raw ${describe(raw)}: ${String(raw)}`);
    if (!ok) {
      expect(!(allFree && count === 1), () => `${this.text} failed although the frame is free${raw ? `: ${(raw as Error).message}` : ''}`);
      checkNoChange(real, before, `the failed ${this.text}`);
      return;
    }
    expect(!owned, () => `double hand-out: ${this.text} succeeded on frames of ${blockName(owned!)}`);
    expect(allFree, () => `${this.text} succeeded on frames isFree() called in use`);
    for (let f = address; f < end; f += FRAME) expect(!real.isFree(f), () => `isFree(${hex(f)}) is true right after ${this.text}`);
    const after = statsOf(real, this.text);
    expect(after.free <= before.free - count, () => `stats().free went from ${before.free} to ${after.free} after ${this.text}`);
    m.live.push({ id: m.nextId++, address, count });
    runCheck(real, this.text);
  }
  toString(): string {
    return this.text || `allocateAt(pick=${this.pick} count=${this.count})`;
  }
}

class FreeCommand implements FrameCommand {
  private text = '';
  [fc.cloneMethod](): FreeCommand {
    return new FreeCommand(this.pick);
  }
  constructor(readonly pick: number) {}
  check(m: Readonly<FrameModel>): boolean {
    return m.live.length > 0;
  }
  run(m: FrameModel, real: Real): void {
    const i = this.pick % m.live.length;
    const b = m.live[i];
    this.text = `free(${h(b.address)} count=${b.count})`;
    const before = statsOf(real, 'the previous command');
    try {
      real.free(b.address, b.count);
    } catch (e) {
      throw new ConformanceViolation(`${this.text} of live block ${blockName(b)} threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    m.live.splice(i, 1);
    for (let f = b.address; f < b.address + b.count * FRAME; f += FRAME) {
      if (!overlapping(m.reserved, f, f + FRAME)) expect(real.isFree(f), () => `lost frame: isFree(${hex(f)}) is false after ${this.text}`);
    }
    const after = statsOf(real, this.text);
    expect(after.free >= before.free + b.count, () => `lost frames: stats().free went from ${before.free} to ${after.free} after ${this.text}`);
    m.freed.push(b);
    if (m.freed.length > 8) m.freed.shift();
    runCheck(real, this.text);
  }
  toString(): string {
    return this.text || `free(live #${this.pick})`;
  }
}

class ReserveCommand implements FrameCommand {
  private text = '';
  [fc.cloneMethod](): ReserveCommand {
    return new ReserveCommand(this.pick, this.count);
  }
  constructor(readonly pick: number, readonly count: number) {}
  check(): boolean {
    return true;
  }
  run(m: FrameModel, real: Real): void {
    const { address, rangeEnd } = frameAt(m, this.pick);
    const count = Math.min(this.count, (rangeEnd - address) / FRAME);
    const end = address + count * FRAME;
    this.text = `reserve(${h(address)} size=${h(count * FRAME)})`;
    for (let f = address; f < end; f += FRAME) if (!real.isFree(f)) return; // only free frames: the model stays exact
    const before = statsOf(real, 'the previous command');
    try {
      real.reserve!(address, count * FRAME);
    } catch (e) {
      throw new ConformanceViolation(`${this.text} of free frames threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (let f = address; f < end; f += FRAME) expect(!real.isFree(f), () => `isFree(${hex(f)}) is true after ${this.text}`);
    const after = statsOf(real, this.text);
    expect(after.free === before.free - count, () => `stats().free went from ${before.free} to ${after.free} after reserving ${count} free frames`);
    m.reserved.push({ id: m.nextId++, address, count });
    runCheck(real, this.text);
  }
  toString(): string {
    return this.text || `reserve(pick=${this.pick} count=${this.count})`;
  }
}

class DoubleFreeCommand implements FrameCommand {
  private text = '';
  [fc.cloneMethod](): DoubleFreeCommand {
    return new DoubleFreeCommand(this.pick, this.typed);
  }
  constructor(readonly pick: number, readonly typed = false) {}
  check(m: Readonly<FrameModel>): boolean {
    return m.freed.length > 0;
  }
  run(m: FrameModel, real: Real): void {
    const b = m.freed[this.pick % m.freed.length];
    const end = b.address + b.count * FRAME;
    this.text = `free(${h(b.address)} count=${b.count}) again`;
    if (overlapping(m.live, b.address, end) || overlapping(m.reserved, b.address, end)) return; // handed out again since
    for (let f = b.address; f < end; f += FRAME) if (!real.isFree(f)) return;
    const before = statsOf(real, 'the previous command');
    expectTypedError(() => real.free(b.address, b.count), `double free ${this.text}`, this.typed);
    checkNoChange(real, before, `the rejected ${this.text}`);
  }
  toString(): string {
    return this.text || `double-free(#${this.pick})`;
  }
}

class FreeFreeFrameCommand implements FrameCommand {
  private text = '';
  [fc.cloneMethod](): FreeFreeFrameCommand {
    return new FreeFreeFrameCommand(this.pick, this.typed);
  }
  constructor(readonly pick: number, readonly typed = false) {}
  check(): boolean {
    return true;
  }
  run(m: FrameModel, real: Real): void {
    const { address } = frameAt(m, this.pick);
    this.text = `free(${h(address)} count=1) of a frame never handed out`;
    if (overlapping(m.live, address, address + FRAME) || overlapping(m.reserved, address, address + FRAME) || !real.isFree(address)) return;
    const before = statsOf(real, 'the previous command');
    expectTypedError(() => real.free(address, 1), this.text, this.typed);
    checkNoChange(real, before, `the rejected ${this.text}`);
  }
  toString(): string {
    return this.text || `free-never-allocated(pick=${this.pick})`;
  }
}

/**
 * The command arbitraries of the frame-allocator suite, for building your own
 * `fc.commands(...)` run (the suite itself uses exactly these).
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { frameAllocatorCommands } from 'memprims/arbitraries';
 * const sequences = fc.commands(frameAllocatorCommands({ maxCount: 8 }), { maxCommands: 30 });
 * ```
 */
export function frameAllocatorCommands(options: FrameConformanceOptions = {}, has: { allocateAt?: boolean; reserve?: boolean } = { allocateAt: true, reserve: true }): fc.Arbitrary<FrameAllocatorCommand>[] {
  const maxCount = options.maxCount ?? 16;
  const maxAlignLog = Math.max(0, Math.round(Math.log2((options.maxAlign ?? 2 * 1024 * 1024) / FRAME)));
  const pick = fc.nat({ max: 0x7fffffff });
  const count = fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: maxCount }) });
  const align = fc.oneof({ weight: 4, arbitrary: fc.constant(FRAME) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: maxAlignLog }).map((k) => FRAME * 2 ** k) });
  const constraint: fc.Arbitrary<Constraint> = fc.oneof(
    { weight: 6, arbitrary: fc.constant<Constraint>({ kind: 'none' }) },
    { weight: 1, arbitrary: pick.map((p): Constraint => ({ kind: 'max', pick: p })) },
    { weight: 1, arbitrary: fc.constant<Constraint>({ kind: 'belowFree' }) },
    { weight: 1, arbitrary: pick.map((p): Constraint => ({ kind: 'min', pick: p })) },
    { weight: 1, arbitrary: fc.tuple(pick, fc.nat({ max: 64 })).map(([p, span]): Constraint => ({ kind: 'window', pick: p, span })) },
    { weight: 1, arbitrary: fc.constant<Constraint>({ kind: 'dma32' }) },
    { weight: 1, arbitrary: fc.constant<Constraint>({ kind: 'realMode' }) },
  );
  const list: fc.Arbitrary<FrameCommand>[] = [
    fc.tuple(count, align, constraint).map(([c, a, k]) => new AllocateCommand(c, a, k)),
    fc.tuple(count, align, constraint).map(([c, a, k]) => new AllocateCommand(c, a, k)),
    pick.map((p) => new FreeCommand(p)),
  ];
  if ((options.allocateAt ?? true) && has.allocateAt) list.push(fc.tuple(pick, fc.integer({ min: 1, max: 4 })).map(([p, c]) => new AllocateAtCommand(p, c)));
  if ((options.reserve ?? true) && has.reserve) list.push(fc.tuple(pick, fc.integer({ min: 1, max: 4 })).map(([p, c]) => new ReserveCommand(p, c)));
  if (options.misuse ?? true) {
    list.push(pick.map((p) => new DoubleFreeCommand(p, options.typedErrors === true)));
    list.push(pick.map((p) => new FreeFreeFrameCommand(p, options.typedErrors === true)));
  }
  return list;
}

