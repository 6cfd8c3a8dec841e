// The README's five-minute tutorial, kept here so that the test suite typechecks and runs it
// (test/docs/tutorial.test.ts); README.md carries the body between the markers verbatim,
// importing from 'memprims' instead of '../../src/index.js'.
// --- tutorial ---
import { BitmapFrameAllocator, BootServices, bundledOvmfMap, Layout, LinkedListHeap, MemoryType, PageTableBuilder, ShimAllocator } from '../../src/index.js';

// 1. Firmware: a real OVMF memory map (QEMU q35, 2 GiB) and boot services over it.
const firmwareMap = bundledOvmfMap();
const memory = BootServices.memoryForMap(firmwareMap);
const bs = new BootServices(memory, firmwareMap);
const shim = new ShimAllocator();            // the kernel's one global allocator
shim.init(bs);                               // phase 'bootServices': alloc → AllocatePool
const early = shim.alloc(Layout.fromSizeAlign(256, 8))!;

// 2. Take pages for the heap and the page tables as LoaderData: firmware will not reuse them.
const loaderData = (pages: number) => bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages });
const heapStart = loaderData(256);           // 1 MiB heap
const tablesStart = loaderData(16);          // 16 frames for page tables
const heap = LinkedListHeap.init(memory, heapStart, 256 * 4096);

// 3. Real x86-64 page tables: the heap at a higher-half address, the tables identity-mapped.
let nextTable = tablesStart;
const pt = new PageTableBuilder({ memory, frames: { allocate: () => (nextTable += 4096) - 4096, free: () => {} } });
pt.map({ virt: 0xffffffff80000000n, phys: heapStart, size: 0x100000, flags: { writable: true, noExecute: true } });
pt.map({ virt: BigInt(tablesStart), phys: tablesStart, size: 0x10000, flags: { writable: true } });

// 4. ExitBootServices with the current key (a stale key fails: get the map again and retry).
bs.exitBootServices(bs.getMemoryMap().mapKey);

// 5. The same allocator object now allocates from the kernel's own heap.
shim.switchToOwnHeap(heap);
const late = shim.alloc(Layout.fromSizeAlign(64, 16))!;

// 6. A frame allocator over the final map; the kernel's own ranges stay out of it.
const frames = BitmapFrameAllocator.fromMemoryMap(memory, bs.currentMap(), {
  inUse: [{ start: heapStart, end: heapStart + 256 * 4096 }, { start: tablesStart, end: tablesStart + 16 * 4096 }],
});
console.log(`CR3=${pt.root.toString(16)} early=${early.toString(16)} late=${late.toString(16)}`);
console.log(pt.translate(0xffffffff80000010n), frames.stats(), shim.phase);
// --- end ---
export { bs, early, frames, heap, heapStart, late, pt, shim, tablesStart };
