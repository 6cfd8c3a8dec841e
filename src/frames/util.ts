/**
 * Small helpers of the frame allocators: bit tricks and `reserve()` argument checks.
 *
 * @module
 */
import { PHYS_ADDR_LIMIT } from '../addr/phys.js';
import { describe } from '../errors.js';
import { FrameError } from './errors.js';
import { FRAME_SIZE } from './types.js';

/** Index of the lowest set bit of a non-zero 32-bit value. */
export function lowBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Number of set bits of a 32-bit value. */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

/** Validates `reserve(address, size)` and returns the frames covering it, rounded outwards. */
export function checkReserveArgs(address: unknown, size: unknown): { start: number; end: number } {
  if (typeof address !== 'number' || !Number.isSafeInteger(address) || address < 0 || address >= PHYS_ADDR_LIMIT) {
    throw new FrameError('FRAME_OUT_OF_RANGE', `reserve address must be an integer physical address below 2^52, got ${describe(address)}`, { value: address });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0 || address + size > PHYS_ADDR_LIMIT) {
    throw new FrameError('FRAME_BAD_COUNT', `reserve size must be a positive number of bytes ending at most at 2^52, got ${describe(size)}`, { value: size });
  }
  return { start: Math.floor(address / FRAME_SIZE), end: Math.ceil((address + size) / FRAME_SIZE) };
}
