import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConformanceError, createFrameAllocatorModel, createHeapModel, frameAllocatorCommands, frameAllocatorConformance, heapCommands, heapConformance } from '../../src/arbitraries/index.js';
import { PhysicalMemory } from '../../src/index.js';
import { ArrayFrameAllocator, ArrayHeap, type FrameBug, type HeapBug } from './reference-allocators.js';

const runs = Number(process.env.FC_RUNS ?? 60);

const usable = [
  { start: 0x1000, end: 0x9f000 },
  { start: 0x100000, end: 0x140000 },
];
const frames = (bug: FrameBug = 'none') => () => ({ allocator: new ArrayFrameAllocator(usable, bug), usable });

async function failure(p: Promise<void>): Promise<ConformanceError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConformanceError);
  return e as ConformanceError;
}

describe('frameAllocatorConformance', () => {
  it('passes a correct allocator', async () => {
    await frameAllocatorConformance(frames(), { numRuns: runs });
  });

  it.each([
    ['double-hand-out', /double hand-out/],
    ['overlap', /double hand-out|isFree/],
    ['lost-frames', /lost frame/],
    ['accept-double-free', /was accepted/],
    ['ignore-max-address', /maxAddress/],
  ] as const)('catches a broken allocator: %s', async (bug, pattern) => {
    const e = await failure(frameAllocatorConformance(frames(bug), { numRuns: 200 }));
    expect(e.code).toBe('CONFORMANCE_FAILED');
    expect(e.failure).toMatch(pattern);
    // The message names the shortest failing sequence, command by command.
    expect(e.commands.length).toBeGreaterThan(0);
    expect(e.commands.length).toBeLessThanOrEqual(6);
    expect(e.message).toContain('Shortest failing command sequence');
    for (const [i, c] of e.commands.entries()) expect(e.message).toContain(`${i + 1}. ${c}`);
  });

  it('accepts any Error for misuse by default, and only a MemprimsError with typedErrors', async () => {
    // An allocator that knows nothing of memprims: misuse throws a plain Error.
    const plain = () => {
      const inner = new ArrayFrameAllocator(usable);
      const allocator = Object.create(inner) as ArrayFrameAllocator;
      allocator.free = (address: number, count?: number) => {
        try {
          inner.free(address, count);
        } catch (e) {
          throw new Error(`bad free: ${(e as Error).message}`);
        }
      };
      return { allocator, usable };
    };
    await frameAllocatorConformance(plain, { numRuns: Math.min(runs, 40) });
    const e = await failure(frameAllocatorConformance(plain, { numRuns: 200, typedErrors: true }));
    expect(e.failure).toMatch(/instead of a MemprimsError/);
  });

  it('replays a failure from its seed', async () => {
    const first = await failure(frameAllocatorConformance(frames('lost-frames'), { numRuns: 200 }));
    const again = await failure(frameAllocatorConformance(frames('lost-frames'), { numRuns: 200, seed: first.seed }));
    expect(again.commands).toEqual(first.commands);
    expect(again.failure).toBe(first.failure);
  });

  it('rejects bad options with a typed error', async () => {
    await expect(frameAllocatorConformance(frames(), { numRuns: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(frameAllocatorConformance(() => ({ allocator: new ArrayFrameAllocator([]), usable: [] }), { numRuns: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

const heap = (bug: HeapBug = 'none') => () => {
  const memory = new PhysicalMemory({ shared: false });
  memory.addRegion(0x10000, 0x4000);
  return { heap: new ArrayHeap(0x10000, 0x4000, bug, memory), bottom: 0x10000, size: 0x4000, memory };
};

describe('heapConformance', () => {
  it('passes a correct heap', async () => {
    await heapConformance(heap(), { numRuns: runs });
  });

  it.each([
    ['overlap', /overlap|lost its contents/],
    ['lost-memory', /lost memory/],
    ['writes-live-block', /lost its contents/],
    ['ignores-align', /not aligned/],
  ] as const)('catches a broken heap: %s', async (bug, pattern) => {
    const e = await failure(heapConformance(heap(bug), { numRuns: 300 }));
    expect(e.failure).toMatch(pattern);
    expect(e.commands.length).toBeGreaterThan(0);
    expect(e.message).toContain(e.commands[0]);
  });

  it('in strict mode, catches a heap that accepts a double free', async () => {
    const e = await failure(heapConformance(heap(), { numRuns: 300, strict: true }));
    expect(e.failure).toMatch(/double free .* was accepted/);
    expect(e.commands.at(-1)).toMatch(/again$/);
  });
});

describe('command arbitraries with your own fc.modelRun', () => {
  const runFrames = (bug: FrameBug) =>
    fc.check(
      fc.property(fc.commands(frameAllocatorCommands(), { maxCommands: 30 }), (cmds) => {
        const allocator = new ArrayFrameAllocator(usable, bug);
        fc.modelRun(() => ({ model: createFrameAllocatorModel(allocator, usable), real: allocator }), cmds);
      }),
      { numRuns: 200, seed: 3 },
    );
  it('frames: passes the correct allocator, fails a double hand-out', () => {
    expect(runFrames('none').failed).toBe(false);
    expect(runFrames('double-hand-out').failed).toBe(true);
  });

  const runHeap = (bug: HeapBug) =>
    fc.check(
      fc.property(fc.commands(heapCommands(), { maxCommands: 30 }), (cmds) => {
        const underTest = heap(bug)();
        fc.modelRun(() => ({ model: createHeapModel(underTest), real: underTest.heap }), cmds);
      }),
      { numRuns: 200, seed: 3 },
    );
  it('heap: passes the correct heap, fails an overlapping one', () => {
    expect(runHeap('none').failed).toBe(false);
    expect(runHeap('overlap').failed).toBe(true);
  });
});
