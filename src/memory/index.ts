/**
 * Physical memory: a sparse address space of regions over (Shared)ArrayBuffers.
 *
 * @module
 */
export * from './address-space.js';
export * from './physical-memory.js';
export { LAZY_CHUNK_SIZE, type BackingBuffer } from './region.js';
