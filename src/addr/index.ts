/**
 * Addresses and layouts: physical addresses as numbers (< 2^52), canonical virtual addresses
 * as bigint, half-open ranges and `Layout`.
 *
 * @module
 */
export * from './phys.js';
export * from './virt.js';
export * from './layout.js';
