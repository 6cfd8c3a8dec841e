// memprims' own allocators pass the conformance suites they ship, over real OVMF memory maps
// and firmware-shaped random maps.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { firmwareMemoryMaps, frameAllocatorConformance, heapConformance } from '../../src/arbitraries/index.js';
import { BitmapFrameAllocator, BuddyFrameAllocator } from '../../src/frames/index.js';
import { LinkedListHeap } from '../../src/heap/index.js';
import { parseMemoryMap, PhysicalMemory, type MemoryMap } from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 40);
const fixtures = join(__dirname, '..', 'fixtures', 'arbitraries');
const ovmf = (name: string) => parseMemoryMap(readFileSync(join(fixtures, name)), { descriptorSize: 48, descriptorVersion: 1 });

function backed(map: MemoryMap): PhysicalMemory {
  const memory = new PhysicalMemory({ shared: false });
  for (const r of map.usableAfterExitBootServices()) memory.addRegion(r.start, r.end - r.start, { backing: 'lazy' });
  return memory;
}

const kinds = {
  bitmap: (memory: PhysicalMemory, map: MemoryMap) => BitmapFrameAllocator.fromMemoryMap(memory, map, {}),
  buddy: (memory: PhysicalMemory, map: MemoryMap) => BuddyFrameAllocator.fromMemoryMap(memory, map, {}),
};

describe.each(Object.entries(kinds))('%s frame allocator passes frameAllocatorConformance', (_, make) => {
  it.each(['ovmf-pc-128M-initial.bin', 'ovmf-pc-6G-initial.bin'])('over the real OVMF map %s', async (file) => {
    const map = ovmf(file);
    await frameAllocatorConformance(() => ({ allocator: make(backed(map), map), usable: map.usableAfterExitBootServices() }), { numRuns: runs, typedErrors: true });
  });

  it('over firmware-shaped random maps', async () => {
    const maps = fc.sample(firmwareMemoryMaps(), { numRuns: 3, seed: 11 });
    for (const map of maps) {
      await frameAllocatorConformance(() => ({ allocator: make(backed(map), map), usable: map.usableAfterExitBootServices() }), { numRuns: Math.ceil(runs / 3), typedErrors: true });
    }
  });
});

describe.each(['list', 'indexed'] as const)('LinkedListHeap (%s mode) passes heapConformance', (mode) => {
  const factory = (strict: boolean) => () => {
    const memory = new PhysicalMemory({ shared: false });
    memory.addRegion(0x10000, 0x8000);
    const heap = LinkedListHeap.init(memory, 0x10000, 0x4000, { mode, strict });
    return { heap, bottom: 0x10000, size: 0x4000, memory, growth: 0x4000 };
  };
  it('plain', async () => {
    await heapConformance(factory(false), { numRuns: runs, typedErrors: true });
  });
  it('strict: double frees are typed errors that change nothing', async () => {
    await heapConformance(factory(true), { numRuns: runs, strict: true, typedErrors: true });
  });
});
