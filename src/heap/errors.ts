/**
 * Error classes of the heap module (`src/heap`). Every code is listed in docs/ERRORS.md.
 *
 * @module
 */
import { MemprimsError } from '../errors.js';

/**
 * `LinkedListHeap.init` or `extend` was given memory the heap cannot manage: too small for
 * one hole, not backed by {@link PhysicalMemory}, outside the address space, at address 0.
 *
 * @example
 * ```ts
 * import { HeapRegionError, LinkedListHeap, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0x1000, 0x1000);
 * try {
 *   LinkedListHeap.init(memory, 0x1003, 20); // bottom aligns up to 0x1008: 15 bytes left
 * } catch (e) {
 *   if (e instanceof HeapRegionError) console.log(e.code); // 'HEAP_TOO_SMALL'
 * }
 * ```
 */
export class HeapRegionError extends MemprimsError {}

/**
 * A heap call was misused: an argument that is not a `Layout`, bad options or extend amount, a bad address, a double free,
 * a foreign pointer or a wrong layout (strict mode), a free that overlaps a hole. The heap is
 * left exactly as it was.
 *
 * @example
 * ```ts
 * import { HeapUsageError, Layout, LinkedListHeap, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0x10000, 0x1000);
 * const heap = LinkedListHeap.init(memory, 0x10000, 0x1000, { strict: true });
 * const layout = Layout.fromSizeAlign(32, 8);
 * const p = heap.allocateFirstFit(layout)!;
 * heap.deallocate(p, layout);
 * try {
 *   heap.deallocate(p, layout);
 * } catch (e) {
 *   if (e instanceof HeapUsageError) console.log(e.code); // 'HEAP_DOUBLE_FREE'
 * }
 * ```
 */
export class HeapUsageError extends MemprimsError {}

/**
 * `check()` or `LinkedListHeap.inspect` found a hole list that breaks an invariant (unsorted,
 * out of bounds, overlapping, unmerged neighbours, too small, bad accounting, index out of
 * sync). `details` names the hole (`index`, `address`) and the values involved.
 *
 * @example
 * ```ts
 * import { HeapCorruptionError, LinkedListHeap, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0x10000, 0x1000);
 * const heap = LinkedListHeap.init(memory, 0x10000, 0x1000);
 * memory.writeU64Number(0x10000, 12); // corrupt the size of the only hole
 * try {
 *   heap.check();
 * } catch (e) {
 *   if (e instanceof HeapCorruptionError) console.log(e.code); // 'HEAP_CORRUPT_HOLE_SIZE'
 * }
 * ```
 */
export class HeapCorruptionError extends MemprimsError {}
