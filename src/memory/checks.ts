/**
 * Argument checks shared by the memory module (internal: not exported from the package).
 * Each throws a typed error naming the bad value.
 *
 * @module
 */
import { describe, hex, InvalidArgumentError, RegionError } from '../errors.js';
import type { RegionSource } from './address-space.js';
import type { BackingBuffer } from './region.js';

/** True when this runtime has SharedArrayBuffer (browsers: only when cross-origin isolated). */
export function sharedAvailable(): boolean {
  return typeof SharedArrayBuffer !== 'undefined';
}

export function checkLength(length: unknown, what = 'length'): number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be a non-negative integer, got ${describe(length)}`, { what, value: length });
  }
  return length;
}

export function checkByte(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `byte value must be an integer 0..255, got ${describe(value)}`, { value });
  }
  return value;
}

export function checkUint(value: unknown, bits: 8 | 16 | 32): number {
  const max = bits === 32 ? 0xffffffff : bits === 16 ? 0xffff : 0xff;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `u${bits} value must be an integer 0..${hex(max)}, got ${describe(value)}`, { value, bits });
  }
  return value;
}

const U64_MAX = 0xffffffffffffffffn;

export function checkU64(value: unknown): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `u64 value must be a bigint 0..2^64-1, got ${describe(value)}`, { value });
  }
  return value;
}

/** A Uint8Array over the bytes of a buffer-like region source (no copy). */
export function toView(source: Exclude<RegionSource, number>): Uint8Array {
  if (source instanceof ArrayBuffer || (sharedAvailable() && source instanceof SharedArrayBuffer)) {
    return new Uint8Array(source as BackingBuffer);
  }
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source === 'object' && source !== null && 'buffer' in source) {
    const b = (source as { buffer: unknown }).buffer;
    if (b instanceof ArrayBuffer || (sharedAvailable() && b instanceof SharedArrayBuffer)) return new Uint8Array(b as BackingBuffer);
  }
  throw new RegionError('REGION_BAD_BUFFER', `region source must be a byte count, ArrayBuffer, SharedArrayBuffer, typed array, DataView or WebAssembly.Memory; got ${describe(source)}`);
}
