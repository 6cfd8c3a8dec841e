import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BitmapFrameAllocator, BootServices, Layout, LinkedListHeap, MemoryMap, MemoryType, POOL_HEAD_SIZE, ShimAllocator, ShimError,
  type MemoryDescriptor, type ShimOptions,
} from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 40);
const PAGE = 4096;
const L = (size: number, align = 8) => Layout.fromSizeAlign(size, align);

function d(type: number, start: number, pages: number): MemoryDescriptor {
  return { type, physicalStart: start, virtualStart: 0n, numberOfPages: pages, attribute: 0xfn };
}

function world(options: ShimOptions = {}, conventionalPages = 0x400) {
  const map = new MemoryMap([
    d(MemoryType.Conventional, 0x100000, conventionalPages),
    d(MemoryType.LoaderCode, 0x100000 + conventionalPages * PAGE, 8),
    d(MemoryType.BootServicesData, 0x108000 + conventionalPages * PAGE, 16),
  ]);
  const bs = new BootServices(BootServices.memoryForMap(map), map);
  const shim = new ShimAllocator(options);
  return { map, bs, shim };
}

function heapFor(bs: BootServices, pages = 16) {
  const base = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages });
  return LinkedListHeap.init(bs.memory, base, pages * PAGE);
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ShimError) return e.code;
    throw e;
  }
  return 'ok';
}

const exit = (bs: BootServices) => bs.exitBootServices(bs.getMemoryMap().mapKey);

describe('ShimAllocator phases', () => {
  it('before init: typed error by default, null by policy, and nothing is allocated', () => {
    const { shim } = world();
    expect(shim.phase).toBe('uninitialized');
    expect(code(() => shim.alloc(L(16)))).toBe('SHIM_NOT_INITIALIZED');
    const lenient = new ShimAllocator({ beforeInit: 'null' });
    expect(lenient.alloc(L(16))).toBeNull();
    expect(lenient.stats().phases.uninitialized.refused).toBe(1);
    expect(lenient.stats().allocated.blocks).toBe(0);
  });

  it('bootServices phase forwards to AllocatePool (LoaderData, 8-byte aligned)', () => {
    const { bs, shim } = world();
    shim.initBootServices(bs);
    expect(shim.phase).toBe('bootServices');
    const p = shim.alloc(L(100))!;
    expect(p % 8).toBe(0);
    expect(bs.poolBlock(p)).not.toBeNull();
    expect(bs.poolBlock(p)!.memoryType).toBe(MemoryType.LoaderData);
    shim.dealloc(p, L(100));
    expect(bs.poolBlock(p)).toBeNull();
  });

  it('alignment above 8 over-allocates and stores the pool pointer below the block, as uefi-rs', () => {
    const { bs, shim } = world();
    shim.initBootServices(bs);
    const p = shim.alloc(L(100, 256))!;
    expect(p % 256).toBe(0);
    const pool = shim.block(p)!.poolAddress!;
    expect(bs.memory.readU64Number(p - 8)).toBe(pool);
    expect(p).toBeGreaterThan(pool);
    expect(p + 100).toBeLessThanOrEqual(pool + 100 + 256);
    shim.dealloc(p, L(100, 256));
    expect(bs.poolBlocks()).toEqual([]);
  });

  it('out of pool memory is null, not an error', () => {
    const { bs, shim } = world({}, 4);
    shim.initBootServices(bs);
    expect(shim.alloc(L(1 << 20))).toBeNull();
    expect(shim.stats().phases.bootServices.failed).toBe(1);
  });

  it('after ExitBootServices but before the switch: typed error, never a call into dead firmware', () => {
    const { bs, shim } = world();
    shim.initBootServices(bs);
    exit(bs);
    expect(code(() => shim.alloc(L(8)))).toBe('SHIM_BOOT_SERVICES_EXITED');
  });

  it('switchToHeap validates the heap first and changes nothing on failure', () => {
    const { bs, shim } = world();
    shim.initBootServices(bs);
    // A heap in Conventional memory (not reserved from boot services) is refused.
    const foreign = LinkedListHeap.init(bs.memory, 0x100000, 4 * PAGE);
    expect(code(() => shim.switchToHeap(foreign))).toBe('SHIM_HEAP_INVALID');
    // A corrupted heap is refused.
    const bad = heapFor(bs, 4);
    bs.memory.writeU64Number(bad.bottom, 3); // hole size 3: below the minimum
    expect(code(() => shim.switchToHeap(bad))).toBe('SHIM_HEAP_INVALID');
    expect(code(() => shim.switchToHeap({} as LinkedListHeap))).toBe('SHIM_BAD_ARGUMENT');
    expect(shim.phase).toBe('bootServices');
    const good = heapFor(bs);
    shim.switchToHeap(good);
    expect(shim.phase).toBe('ownHeap');
    expect(code(() => shim.switchToHeap(good))).toBe('SHIM_BAD_PHASE');
    const p = shim.alloc(L(64))!;
    expect(p).toBeGreaterThanOrEqual(good.bottom);
    expect(p + 64).toBeLessThanOrEqual(good.top);
  });

  it('routes deallocs by owner; unknown pointers, double frees and wrong layouts are typed and change nothing', () => {
    const { bs, shim } = world();
    shim.initBootServices(bs);
    const early = shim.alloc(L(32))!;
    const heap = heapFor(bs);
    shim.switchToHeap(heap);
    const late = shim.alloc(L(32))!;
    const before = JSON.stringify(shim.stats());
    expect(code(() => shim.dealloc(late + 8, L(32)))).toBe('SHIM_UNKNOWN_POINTER');
    expect(code(() => shim.dealloc(late, L(64)))).toBe('SHIM_LAYOUT_MISMATCH');
    expect(code(() => shim.dealloc(late, L(32, 16)))).toBe('SHIM_LAYOUT_MISMATCH');
    expect(JSON.stringify(shim.stats())).toBe(before);
    expect(heap.used).toBeGreaterThan(0);
    shim.dealloc(late, L(32));
    expect(heap.used).toBe(0);
    expect(code(() => shim.dealloc(late, L(32)))).toBe('SHIM_DOUBLE_FREE');
    // Boot services still alive: the early block goes back to the pool.
    shim.dealloc(early, L(32));
    expect(bs.poolBlock(early)).toBeNull();
    const s = shim.stats();
    expect(s.phases.ownHeap.deallocs).toBe(2);
    expect(s.freed.blocks).toBe(2);
  });

  it("policy 'leak': boot-services blocks freed after the exit are counted, never reused", () => {
    const { bs, shim } = world();
    shim.initBootServices(bs);
    const a = shim.alloc(L(500))!;
    const heap = heapFor(bs);
    exit(bs);
    shim.switchToHeap(heap);
    shim.dealloc(a, L(500));
    const s = shim.stats();
    expect(s.leaked).toEqual({ blocks: 1, bytes: 500 });
    expect(s.allocated.blocks).toBe(s.freed.blocks + s.live.blocks + s.leaked.blocks);
    expect(s.allocated.bytes).toBe(s.freed.bytes + s.live.bytes + s.leaked.bytes);
    // Still a pool block in the frozen firmware state: the firmware was never called.
    expect(bs.poolBlock(a)).not.toBeNull();
  });

  it("policy 'reclaim': pages go to the frame allocator once every block on them is dead", () => {
    const { bs, shim } = world({ freedAfterExit: 'reclaim' });
    shim.initBootServices(bs);
    const small1 = shim.alloc(L(100))!;
    const small2 = shim.alloc(L(100))!;
    const big = shim.alloc(L(3 * PAGE))!;
    const heap = heapFor(bs);
    exit(bs);
    shim.switchToHeap(heap);
    expect(code(() => new ShimAllocator().attachFrameAllocator({ free: () => {} }))).toBe('SHIM_BAD_PHASE');
    const final = bs.currentMap();
    const inUse = shim.bootServicesPages();
    const frames = BitmapFrameAllocator.fromMemoryMap(bs.memory, final, { ranges: final.usableAfterExitBootServices({ inUse: [{ start: heap.bottom, end: heap.top }] }), inUse });
    expect(shim.attachFrameAllocator(frames)).toBe(0);
    const smallPage = small1 - (small1 % PAGE);
    expect(small2 - (small2 % PAGE)).toBe(smallPage);
    expect(frames.isFree(smallPage)).toBe(false);
    shim.dealloc(small1, L(100));
    expect(frames.isFree(smallPage)).toBe(false); // small2 still lives on that page
    shim.dealloc(small2, L(100));
    expect(frames.isFree(smallPage)).toBe(true);
    const bigHead = big - POOL_HEAD_SIZE;
    expect(frames.isFree(bigHead)).toBe(false);
    shim.dealloc(big, L(3 * PAGE));
    for (let p = bigHead; p < bigHead + 4 * PAGE; p += PAGE) expect(frames.isFree(p)).toBe(true);
    expect(shim.stats().reclaimedFrames).toBe(5);
    frames.check();
  });
});

describe('ShimAllocator model-based, across the switch', () => {
  it('blocks never overlap, stay in their owner, keep their bytes; accounting balances', () => {
    type Live = { address: number; size: number; align: number; fill: number };
    const cmd = fc.oneof(
      { weight: 5, arbitrary: fc.record({ op: fc.constant('alloc' as const), size: fc.integer({ min: 1, max: 5000 }), align: fc.constantFrom(1, 8, 16, 64, 4096) }) },
      { weight: 3, arbitrary: fc.record({ op: fc.constant('free' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('bogus' as const), pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 40 }), fc.array(cmd, { maxLength: 40 }), fc.constantFrom<ShimOptions['freedAfterExit']>('leak', 'reclaim'), (before, after, policy) => {
        const { bs, shim } = world({ freedAfterExit: policy });
        shim.initBootServices(bs);
        const heap = heapFor(bs, 32);
        const live: Live[] = [];
        let fillByte = 1;
        const apply = (c: (typeof before)[number]) => {
          if (c.op === 'alloc') {
            const a = shim.alloc(L(c.size, c.align));
            if (a === null) return;
            expect(a % c.align).toBe(0);
            for (const o of live) expect(a + c.size <= o.address || o.address + o.size <= a).toBe(true);
            if (shim.phase === 'ownHeap') expect(a >= heap.bottom && a + c.size <= heap.top).toBe(true);
            else expect(a >= heap.top || a + c.size <= heap.bottom).toBe(true);
            const fill = fillByte++ & 0xff;
            bs.memory.fill(a, c.size, fill);
            live.push({ address: a, size: c.size, align: c.align, fill });
          } else if (c.op === 'free') {
            if (live.length === 0) return;
            const [b] = live.splice(c.pick % live.length, 1);
            shim.dealloc(b.address, L(b.size, b.align));
          } else {
            const snapshot = JSON.stringify(shim.stats());
            const target = live.length ? live[c.pick % live.length].address + 1 : 0x123458;
            expect(code(() => shim.dealloc(target, L(8)))).toMatch(/SHIM_(UNKNOWN_POINTER|DOUBLE_FREE|LAYOUT_MISMATCH)/);
            expect(JSON.stringify(shim.stats())).toBe(snapshot);
          }
        };
        before.forEach(apply);
        exit(bs);
        shim.switchToHeap(heap);
        after.forEach(apply);
        // Every live block still holds the bytes written when it was allocated.
        for (const b of live) {
          const bytes = bs.memory.read(b.address, b.size);
          expect(bytes.every((x) => x === b.fill)).toBe(true);
        }
        const s = shim.stats();
        expect(s.live.blocks).toBe(live.length);
        expect(s.allocated.blocks).toBe(s.freed.blocks + s.live.blocks + s.leaked.blocks);
        expect(s.allocated.bytes).toBe(s.freed.bytes + s.live.bytes + s.leaked.bytes);
        if (policy === 'reclaim') expect(s.leaked.blocks).toBe(0);
        heap.check();
      }),
      { numRuns: runs },
    );
  });

  it('a frame allocator that refuses a reclaimed frame: counted, the dealloc itself still succeeds', () => {
    const { bs, shim } = world({ freedAfterExit: 'reclaim' });
    shim.initBootServices(bs);
    const big = shim.alloc(L(2 * PAGE))!;
    const heap = heapFor(bs);
    exit(bs);
    shim.switchToHeap(heap);
    const refused: number[] = [];
    shim.attachFrameAllocator({ free: (address) => { refused.push(address); throw new Error('not mine'); } });
    shim.dealloc(big, L(2 * PAGE));
    expect(refused).toEqual([big - POOL_HEAD_SIZE]);
    const s = shim.stats();
    expect(s.reclaimErrors).toBe(3);
    expect(s.reclaimedFrames).toBe(0);
    expect(s.freed.blocks).toBe(1);
    expect(shim.block(big)).toBeNull();
  });
});
