/**
 * The shim allocator: one global allocator object across ExitBootServices (boot-services
 * pool first, the kernel's own LinkedListHeap after the switch).
 *
 * @module
 */
export { ShimAllocator, type ShimBlock, type ShimOptions, type ShimOwner, type ShimPhase, type ShimPhaseStats, type ShimStats, type ShimAmount, type ReclaimTarget } from './shim-allocator.js';
export { ShimError, type ShimErrorCode } from './errors.js';
