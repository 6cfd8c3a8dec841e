/**
 * memprims: typed OS memory primitives over bytes that stand for physical memory.
 *
 * @packageDocumentation
 */
export * from './errors.js';
export * from './version.js';
export * from './addr/index.js';
export * from './memory/index.js';
