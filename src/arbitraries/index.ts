/**
 * `memprims/arbitraries`: fast-check arbitraries (firmware-shaped UEFI memory maps, raw
 * descriptor buffers, layouts, allocation sequences, non-overlapping page mappings) and the
 * conformance suites `frameAllocatorConformance` and `heapConformance` that run
 * model-based property tests against any frame allocator or heap.
 *
 * fast-check is an optional peer dependency: only this subpath needs it.
 *
 * @packageDocumentation
 */
export * from './uefi.js';
export * from './layouts.js';
export * from './mappings.js';
export { ConformanceError, type ConformanceOptions } from './conformance-common.js';
export { createFrameAllocatorModel, type ConformanceFrameAllocator, type FrameAllocatorCommand, type FrameAllocatorModel, type FrameAllocatorUnderTest, type FrameBlock, type FrameConformanceOptions, type FrameStatsLike, type UsableRange } from './frame-model.js';
export { frameAllocatorCommands } from './frame-commands.js';
export * from './frame-conformance.js';
export * from './heap-conformance.js';
