/**
 * Physical frame allocators whose whole state lives in PhysicalMemory: a hierarchical
 * bitmap and a binary buddy, both built from a UEFI memory map, both shareable between
 * worker threads.
 *
 * @module
 */
export { FrameError } from './errors.js';
export { FRAME_SIZE, type AllocateOptions, type FrameAllocator, type FrameAllocatorOptions, type FrameStats, type UsableMemoryMap } from './types.js';
export { BitmapFrameAllocator } from './bitmap.js';
export { BuddyFrameAllocator, BUDDY_DEFAULT_MAX_ORDER, BUDDY_LARGEST_MAX_ORDER, type BuddyOptions, type BuddyStats } from './buddy.js';
export { FRAMES_MAGIC, FRAMES_VERSION } from './meta.js';
