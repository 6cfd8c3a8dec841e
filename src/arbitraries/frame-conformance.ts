/**
 * `frameAllocatorConformance`: a model-based property suite any implementation of the
 * frame-allocator interface can run. A reference model (the set of blocks the suite owns
 * and the ranges it reserved) checks every answer: blocks inside usable memory, aligned,
 * within `minAddress`/`maxAddress`, disjoint from every live block and reservation; misuse
 * (double free, freeing a free frame) is a typed error that changes nothing; and once
 * everything is freed the allocator's counters are back where they started (no lost frames).
 *
 * @module
 */
import fc from 'fast-check';
import { describe, InvalidArgumentError } from '../errors.js';
import { commandConstraints, expect, runCheck, runSuite } from './conformance-common.js';
import { frameAllocatorCommands } from './frame-commands.js';
import { createFrameAllocatorModel, normalizeUsable, statsOf, type FrameAllocatorUnderTest, type FrameConformanceOptions } from './frame-model.js';

/**
 * Runs model-based property tests against any frame allocator. `factory()` (sync or async)
 * returns a fresh `{ allocator, usable }` for every run. Resolves when every run passed;
 * rejects with a {@link ConformanceError} naming the shortest failing command sequence.
 *
 * Checked after every command: returned blocks lie inside `usable`, are aligned, respect
 * `minAddress`/`maxAddress`, never overlap a live block or a reservation (no double
 * hand-out), `isFree` agrees, `stats()` moves by at least the frames handed out or freed,
 * `check()` passes, misuse is a typed error that changes no counter; after each run
 * every block is freed and `stats()` must be back to its start (no lost frames).
 *
 * @example
 * ```ts
 * import { BitmapFrameAllocator, PhysicalMemory, parseShellMemmap } from 'memprims';
 * import { frameAllocatorConformance } from 'memprims/arbitraries';
 * declare const memmapText: string;
 * await frameAllocatorConformance(() => {
 *   const memory = new PhysicalMemory({ shared: false });
 *   memory.addRegion(0, 64 * 1024 * 1024);
 *   const map = parseShellMemmap(memmapText);
 *   const allocator = BitmapFrameAllocator.fromMemoryMap(memory, map, {});
 *   return { allocator, usable: map.usableAfterExitBootServices({}) };
 * }, { numRuns: 50 });
 * ```
 */
export async function frameAllocatorConformance(factory: () => FrameAllocatorUnderTest | Promise<FrameAllocatorUnderTest>, options: FrameConformanceOptions = {}): Promise<void> {
  if (typeof factory !== 'function') throw new InvalidArgumentError('INVALID_ARGUMENT', `factory must be a function, got ${describe(factory)}`);
  const probe = await factory();
  if (normalizeUsable(probe.usable).starts.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'the factory gave no usable frame');
  const has = { allocateAt: typeof probe.allocator.allocateAt === 'function', reserve: typeof probe.allocator.reserve === 'function' };
  const sequences = fc.commands(frameAllocatorCommands(options, has), commandConstraints(options));
  await runSuite('frameAllocatorConformance', sequences, async (cmds) => {
    const { allocator, usable } = await factory();
    const model = createFrameAllocatorModel(allocator, usable);
    runCheck(allocator, 'the factory');
    fc.modelRun(() => ({ model, real: allocator }), cmds);
    // Teardown: free every live block; the counters must be back to the start, minus what the suite reserved.
    for (const b of model.live.splice(0)) allocator.free(b.address, b.count);
    const reservedFrames = model.reserved.reduce((n, b) => n + b.count, 0);
    const end = statsOf(allocator, 'freeing every live block');
    expect(end.free === model.initial.free - reservedFrames, () => `lost frames: after freeing every block stats().free is ${end.free}, expected ${model.initial.free - reservedFrames} (start ${model.initial.free}, ${reservedFrames} reserved since)`);
    expect(end.total === model.initial.total, () => `stats().total changed from ${model.initial.total} to ${end.total}`);
    runCheck(allocator, 'freeing every live block');
  }, options);
}

