/**
 * `heapConformance`: a model-based property suite any heap with the linked-list heap's
 * interface (`allocateFirstFit`, `deallocate`, optional `extend`, `used`, `free`) can run.
 * The model owns the live blocks and checks every answer: blocks aligned, inside the heap,
 * disjoint; the bytes a caller writes into a block survive until it is freed; `used` and
 * `free` balance; once everything is freed the whole heap can be handed out again (no lost
 * memory); in strict mode a double free is a typed error that changes nothing.
 *
 * @module
 */
import fc from 'fast-check';
import { Layout } from '../addr/layout.js';
import { describe, hex, InvalidArgumentError } from '../errors.js';
import { commandConstraints, ConformanceViolation, expect, expectTypedError, h, runCheck, runSuite, type ConformanceOptions } from './conformance-common.js';

/** The heap interface the suite exercises (memprims' `LinkedListHeap` fits it). */
export interface ConformanceHeap {
  allocateFirstFit(layout: Layout): number | null;
  deallocate(address: number, layout: Layout): void;
  extend?(by: number): void;
  readonly used: number;
  readonly free: number;
  /** When present, `used + free` must equal it. */
  readonly size?: number;
  check?(): unknown;
}

/** Byte access the suite uses to prove blocks keep their contents (memprims' `PhysicalMemory` fits it). */
export interface ConformanceMemory {
  fill(address: number, length: number, value: number): void;
  read(address: number, length: number): Uint8Array;
}

/** What the factory of {@link heapConformance} returns: a fresh heap per run. */
export interface HeapUnderTest {
  heap: ConformanceHeap;
  /** First byte the heap may hand out. */
  bottom: number;
  /** Bytes the heap manages from `bottom`. */
  size: number;
  /** The memory the heap lives in: when given, every block is filled and verified before it is freed. */
  memory?: ConformanceMemory;
  /** Bytes past `bottom + size` that are backed, so that `extend` may grow into them (default 0: no extend). */
  growth?: number;
}

/** Options of {@link heapConformance}. */
export interface HeapConformanceOptions extends ConformanceOptions {
  /** Largest requested size in bytes (default 512). */
  maxSize?: number;
  /** Largest requested alignment in bytes (default 4096). */
  maxAlign?: number;
  /** The heap rejects double frees with a typed error, changing nothing (default false). */
  strict?: boolean;
  /** After freeing every block, one block of the heap's whole size must fit again (default true). */
  fullReuse?: boolean;
}

/** A block the heap model knows about. */
export interface HeapBlock {
  /** Sequence number, shown in failure messages as `#id`. */
  id: number;
  address: number;
  layout: Layout;
  /** The byte the suite filled the block with. */
  tag: number;
}

/** The reference model of the heap suite. Build it with {@link createHeapModel}. */
export interface HeapModel {
  bottom: number;
  /** `bottom + size` plus every byte given to `extend`. */
  top: number;
  /** Backed bytes left for `extend`. */
  growthLeft: number;
  live: HeapBlock[];
  /** The most recently freed blocks (for double-free commands). */
  freed: HeapBlock[];
  nextId: number;
  memory: ConformanceMemory | undefined;
  /** `used` right after the factory. */
  initialUsed: number;
}

type Real = ConformanceHeap;
/** A command of the heap suite (for `fc.commands` / `fc.modelRun`). */
export type HeapCommand = fc.Command<HeapModel, ConformanceHeap>;

function counters(heap: Real, after: string): { used: number; free: number; size: number | undefined } {
  const used = heap.used;
  const free = heap.free;
  const size = typeof heap.size === 'number' ? heap.size : undefined;
  expect(Number.isSafeInteger(used) && Number.isSafeInteger(free) && used >= 0 && free >= 0, () => `used/free after ${after} are not non-negative integers: ${describe(used)}/${describe(free)}`);
  expect(size === undefined || used + free === size, () => `used (${used}) + free (${free}) != size (${size}) after ${after}`);
  return { used, free, size };
}

function layoutText(l: Layout): string {
  return `size=${l.size} align=${l.align}`;
}

function verifyBytes(m: HeapModel, b: HeapBlock, when: string): void {
  if (!m.memory || b.layout.size === 0) return;
  const bytes = m.memory.read(b.address, b.layout.size);
  for (let i = 0; i < bytes.length; i++) {
    expect(bytes[i] === b.tag, () => `block #${b.id} at ${hex(b.address)} (${layoutText(b.layout)}) lost its contents ${when}: byte ${i} is ${hex(bytes[i])}, written ${hex(b.tag)} (the heap wrote into a live block)`);
  }
}

function snapshot(m: HeapModel): Uint8Array | null {
  return m.memory && m.top - m.bottom <= 1 << 20 ? m.memory.read(m.bottom, m.top - m.bottom).slice() : null;
}

class AllocCommand implements HeapCommand {
  private text = '';
  constructor(readonly size: number, readonly align: number) {}
  [fc.cloneMethod](): AllocCommand {
    return new AllocCommand(this.size, this.align);
  }
  check(): boolean {
    return true;
  }
  run(m: HeapModel, heap: Real): void {
    const layout = Layout.fromSizeAlign(this.size, this.align);
    this.text = `allocateFirstFit(${layoutText(layout)})`;
    const before = counters(heap, 'the previous command');
    let address: number | null;
    try {
      address = heap.allocateFirstFit(layout);
    } catch (e) {
      throw new ConformanceViolation(`${this.text} threw ${e instanceof Error ? e.message : String(e)}; failing to allocate must return null`);
    }
    if (address === null) {
      const after = counters(heap, `${this.text} returning null`);
      expect(after.used === before.used && after.free === before.free, () => `${this.text} returned null but used/free moved from ${before.used}/${before.free} to ${after.used}/${after.free}`);
      runCheck(heap, `${this.text} returning null`);
      return;
    }
    this.text += ` -> ${h(address)}`;
    const end = address + Math.max(1, layout.size);
    expect(Number.isSafeInteger(address) && address % layout.align === 0, () => `${this.text}: ${describe(address)} is not aligned to ${layout.align}`);
    expect(address >= m.bottom && end <= m.top, () => `${this.text}: block [${hex(address!)}..${hex(end)}) is outside the heap [${hex(m.bottom)}..${hex(m.top)})`);
    const other = m.live.find((b) => address! < b.address + Math.max(1, b.layout.size) && b.address < end);
    expect(!other, () => `overlap: ${this.text} overlaps live block #${other!.id} at ${hex(other!.address)} (${layoutText(other!.layout)})`);
    const after = counters(heap, this.text);
    expect(after.used >= before.used + layout.size, () => `used went from ${before.used} to ${after.used} after ${this.text}`);
    const block: HeapBlock = { id: m.nextId++, address, layout, tag: ((m.nextId * 37) & 0xfe) | 1 };
    m.live.push(block);
    if (m.memory && layout.size > 0) m.memory.fill(address, layout.size, block.tag);
    runCheck(heap, this.text);
  }
  toString(): string {
    return this.text || `allocateFirstFit(size=${this.size} align=${this.align})`;
  }
}

class DeallocCommand implements HeapCommand {
  private text = '';
  constructor(readonly pick: number) {}
  [fc.cloneMethod](): DeallocCommand {
    return new DeallocCommand(this.pick);
  }
  check(m: Readonly<HeapModel>): boolean {
    return m.live.length > 0;
  }
  run(m: HeapModel, heap: Real): void {
    const i = this.pick % m.live.length;
    const b = m.live[i];
    this.text = `deallocate(${h(b.address)} ${layoutText(b.layout)})`;
    verifyBytes(m, b, `before ${this.text}`);
    const before = counters(heap, 'the previous command');
    try {
      heap.deallocate(b.address, b.layout);
    } catch (e) {
      throw new ConformanceViolation(`${this.text} of live block #${b.id} threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    m.live.splice(i, 1);
    for (const other of m.live) verifyBytes(m, other, `after ${this.text}`);
    const after = counters(heap, this.text);
    expect(after.used <= before.used - b.layout.size, () => `lost memory: used went from ${before.used} to ${after.used} after ${this.text}`);
    m.freed.push(b);
    if (m.freed.length > 8) m.freed.shift();
    runCheck(heap, this.text);
  }
  toString(): string {
    return this.text || `deallocate(live #${this.pick})`;
  }
}

class ExtendCommand implements HeapCommand {
  private text = '';
  constructor(readonly by: number) {}
  [fc.cloneMethod](): ExtendCommand {
    return new ExtendCommand(this.by);
  }
  check(m: Readonly<HeapModel>): boolean {
    return m.growthLeft > 0;
  }
  run(m: HeapModel, heap: Real): void {
    const by = Math.min(this.by, m.growthLeft);
    this.text = `extend(${by})`;
    const before = counters(heap, 'the previous command');
    try {
      heap.extend!(by);
    } catch (e) {
      throw new ConformanceViolation(`${this.text} inside backed memory threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    m.growthLeft -= by;
    m.top += by;
    const after = counters(heap, this.text);
    expect(after.used === before.used, () => `${this.text} changed used from ${before.used} to ${after.used}`);
    expect(after.free >= before.free, () => `${this.text} lowered free from ${before.free} to ${after.free}`);
    // Bytes an extend leaves pending (too few for a hole) may show up with a later one: the
    // heap may never claim more than it was given in total.
    expect(after.used + after.free <= m.top - m.bottom, () => `after ${this.text} used + free = ${after.used + after.free}, more than the ${m.top - m.bottom} bytes given to the heap`);
    for (const other of m.live) verifyBytes(m, other, `after ${this.text}`);
    runCheck(heap, this.text);
  }
  toString(): string {
    return this.text || `extend(${this.by})`;
  }
}

class DoubleDeallocCommand implements HeapCommand {
  private text = '';
  constructor(readonly pick: number, readonly typed = false) {}
  [fc.cloneMethod](): DoubleDeallocCommand {
    return new DoubleDeallocCommand(this.pick, this.typed);
  }
  check(m: Readonly<HeapModel>): boolean {
    return m.freed.length > 0;
  }
  run(m: HeapModel, heap: Real): void {
    const b = m.freed[this.pick % m.freed.length];
    this.text = `deallocate(${h(b.address)} ${layoutText(b.layout)}) again`;
    const end = b.address + Math.max(1, b.layout.size);
    if (m.live.some((o) => b.address < o.address + Math.max(1, o.layout.size) && o.address < end)) return; // reused since
    const before = counters(heap, 'the previous command');
    const bytes = snapshot(m);
    expectTypedError(() => heap.deallocate(b.address, b.layout), `double free ${this.text}`, this.typed);
    const after = counters(heap, `the rejected ${this.text}`);
    expect(after.used === before.used && after.free === before.free, () => `the rejected ${this.text} moved used/free from ${before.used}/${before.free} to ${after.used}/${after.free}`);
    if (bytes) {
      const now = m.memory!.read(m.bottom, bytes.length);
      const i = now.findIndex((v, k) => v !== bytes[k]);
      expect(i < 0, () => `the rejected ${this.text} wrote heap memory at ${hex(m.bottom + i)}`);
    }
    runCheck(heap, `the rejected ${this.text}`);
  }
  toString(): string {
    return this.text || `double-deallocate(#${this.pick})`;
  }
}

/**
 * The command arbitraries of the heap suite, for building your own `fc.commands(...)` run.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { heapCommands } from 'memprims/arbitraries';
 * const sequences = fc.commands(heapCommands({ maxSize: 256 }), { maxCommands: 50 });
 * ```
 */
export function heapCommands(options: HeapConformanceOptions = {}): fc.Arbitrary<HeapCommand>[] {
  const maxSize = options.maxSize ?? 512;
  const maxAlignLog = Math.max(0, Math.floor(Math.log2(options.maxAlign ?? 4096)));
  const size = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: Math.min(64, maxSize) }) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: maxSize }) });
  const align = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: Math.min(3, maxAlignLog) }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: maxAlignLog }) }).map((k) => 2 ** k);
  const pick = fc.nat({ max: 0x7fffffff });
  const list: fc.Arbitrary<HeapCommand>[] = [
    fc.tuple(size, align).map(([s, a]) => new AllocCommand(s, a)),
    fc.tuple(size, align).map(([s, a]) => new AllocCommand(s, a)),
    pick.map((p) => new DeallocCommand(p)),
    fc.integer({ min: 1, max: 4096 }).map((by) => new ExtendCommand(by)),
  ];
  if (options.strict) list.push(pick.map((p) => new DoubleDeallocCommand(p, options.typedErrors === true)));
  return list;
}

/**
 * A fresh reference model for a heap under test, for running {@link heapCommands} with your
 * own `fc.modelRun`.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { LinkedListHeap, PhysicalMemory } from 'memprims';
 * import { createHeapModel, heapCommands } from 'memprims/arbitraries';
 * fc.assert(fc.property(fc.commands(heapCommands()), (cmds) => {
 *   const memory = new PhysicalMemory({ shared: false });
 *   memory.addRegion(0x10000, 0x10000);
 *   const heap = LinkedListHeap.init(memory, 0x10000, 0x10000);
 *   fc.modelRun(() => ({ model: createHeapModel({ heap, bottom: 0x10000, size: 0x10000, memory }), real: heap }), cmds);
 * }), { numRuns: 20 });
 * ```
 */
export function createHeapModel(underTest: HeapUnderTest): HeapModel {
  const { heap, bottom, size, memory, growth } = underTest;
  if (!Number.isSafeInteger(bottom) || !Number.isSafeInteger(size) || size <= 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `a heap under test needs an integer bottom and a positive size, got ${describe(bottom)}/${describe(size)}`);
  }
  const start = counters(heap, 'the factory');
  return { bottom, top: bottom + size, growthLeft: typeof heap.extend === 'function' ? (growth ?? 0) : 0, live: [], freed: [], nextId: 0, memory, initialUsed: start.used };
}

/**
 * Runs model-based property tests against any heap. `factory()` (sync or async) returns a
 * fresh `{ heap, bottom, size, memory?, growth? }` for every run. Resolves when every run
 * passed; rejects with a {@link ConformanceError} naming the shortest failing sequence.
 *
 * @example
 * ```ts
 * import { LinkedListHeap, PhysicalMemory } from 'memprims';
 * import { heapConformance } from 'memprims/arbitraries';
 * await heapConformance(() => {
 *   const memory = new PhysicalMemory({ shared: false });
 *   memory.addRegion(0x10000, 0x20000);
 *   const heap = LinkedListHeap.init(memory, 0x10000, 0x10000, { strict: true });
 *   return { heap, bottom: 0x10000, size: 0x10000, memory, growth: 0x10000 };
 * }, { numRuns: 50, strict: true });
 * ```
 */
export async function heapConformance(factory: () => HeapUnderTest | Promise<HeapUnderTest>, options: HeapConformanceOptions = {}): Promise<void> {
  if (typeof factory !== 'function') throw new InvalidArgumentError('INVALID_ARGUMENT', `factory must be a function, got ${describe(factory)}`);
  const sequences = fc.commands(heapCommands(options), commandConstraints(options));
  await runSuite('heapConformance', sequences, async (cmds) => {
    const underTest = await factory();
    const heap = underTest.heap;
    const model = createHeapModel(underTest);
    runCheck(heap, 'the factory');
    fc.modelRun(() => ({ model, real: heap }), cmds);
    for (const b of model.live.splice(0)) {
      verifyBytes(model, b, 'at the end of the run');
      heap.deallocate(b.address, b.layout);
    }
    const end = counters(heap, 'freeing every live block');
    expect(end.used === model.initialUsed, () => `lost memory: after freeing every block used is ${end.used}, it started at ${model.initialUsed}`);
    runCheck(heap, 'freeing every live block');
    if ((options.fullReuse ?? true) && end.free > 0) {
      const whole = Layout.fromSizeAlign(end.free, 1);
      const address = heap.allocateFirstFit(whole);
      expect(address !== null, () => `lost memory: after freeing every block, allocateFirstFit(size=${end.free} align=1) (all of free) returned null`);
      heap.deallocate(address, whole);
    }
  }, options);
}
