/**
 * memprims: typed OS memory primitives over bytes that stand for physical memory.
 *
 * @packageDocumentation
 */
export { MemprimsError, InvalidArgumentError, AddressError, LayoutError, MemoryAccessError, RegionError, type ErrorDetails } from './errors.js';
export * from './version.js';
export * from './addr/index.js';
export * from './memory/index.js';
export * from './uefi/index.js';
export * from './frames/index.js';
export * from './heap/index.js';
export * from './uefi/boot-services.js';
export * from './shim/index.js';
export * from './paging/index.js';
export * from './boot/index.js';
