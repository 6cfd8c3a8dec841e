/**
 * Heap: a first-fit linked-list heap, address-exact with Rust's linked_list_allocator 0.10.5,
 * with an optional index ('indexed' mode) that finds the same holes without walking the list.
 *
 * @module
 */
export { LinkedListHeap, RUST_HEAP_FIRST_HOLE_OFFSET, type HeapOptions, type HeapLocation, type HeapInspection } from './linked-list-heap.js';
export type { HeapStats, HeapViolation, HoleInfo } from './hole-walk.js';
export { HeapCorruptionError, HeapRegionError, HeapUsageError } from './errors.js';
