/**
 * Boot services model, shim allocator and the whole boot flow, on the bundled real OVMF map.
 * No native reference exists for these (firmware is not timed); the shim's own-heap phase is
 * compared with the LinkedListHeap it forwards to, so the ratio is the shim's routing cost.
 */
import { Bench } from 'tinybench';
import { bootFlow, BootServices, bundledOvmfMap, Layout, LinkedListHeap, MemoryType, ShimAllocator } from '../src/index.js';

const map = bundledOvmfMap();
const bs = new BootServices(BootServices.memoryForMap(map), map);
const layout = Layout.fromSizeAlign(64, 8);

const bsShim = new ShimAllocator();
bsShim.initBootServices(new BootServices(BootServices.memoryForMap(map), map));

function heapWorld() {
  const b = new BootServices(BootServices.memoryForMap(map), map);
  const base = b.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 256 });
  const heap = LinkedListHeap.init(b.memory, base, 256 * 4096);
  return { b, heap };
}
const raw = heapWorld();
const shimmed = heapWorld();
const heapShim = new ShimAllocator();
heapShim.initBootServices(shimmed.b);
heapShim.switchToHeap(shimmed.heap);

const bench = new Bench({ time: 500, warmupTime: 100 });
bench
  .add('bootFlow() on the bundled OVMF map (7 steps)', () => {
    bootFlow();
  })
  .add('AllocatePages(AnyPages, 1) + FreePages (123 descriptors)', () => {
    const a = bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 1 });
    bs.freePages(a, 1);
  })
  .add('AllocatePool(64) + FreePool', () => {
    const p = bs.allocatePool(MemoryType.LoaderData, 64);
    bs.freePool(p);
  })
  .add('shim alloc+dealloc 64 B, phase bootServices', () => {
    const p = bsShim.alloc(layout)!;
    bsShim.dealloc(p, layout);
  })
  .add('shim alloc+dealloc 64 B, phase ownHeap', () => {
    const p = heapShim.alloc(layout)!;
    heapShim.dealloc(p, layout);
  })
  .add('LinkedListHeap allocate+deallocate 64 B (reference)', () => {
    const p = raw.heap.allocateFirstFit(layout)!;
    raw.heap.deallocate(p, layout);
  });

await bench.run();
console.table(bench.table());
const mean = (name: string) => (bench.tasks.find((t) => t.name === name)!.result as unknown as { latency: { p50: number } }).latency.p50;
const ratio = mean('shim alloc+dealloc 64 B, phase ownHeap') / mean('LinkedListHeap allocate+deallocate 64 B (reference)');
console.log(`shim ownHeap / LinkedListHeap (medians): ${ratio.toFixed(2)}x`);
