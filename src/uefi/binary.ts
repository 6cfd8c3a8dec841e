/**
 * `parseMemoryMap`: reads the buffer GetMemoryMap fills (an array of EFI_MEMORY_DESCRIPTOR
 * at a stride of descriptorSize) into a {@link MemoryMap}, exactly or not at all.
 *
 * @module
 */
import { describe } from '../errors.js';
import {
  checkDescriptorSize, checkDescriptorVersion, MAX_NUMBER_OF_PAGES, type MemoryDescriptor,
} from './descriptor.js';
import { UefiError } from './errors.js';
import { MemoryMap } from './memory-map.js';

/** Options of {@link parseMemoryMap}: what GetMemoryMap returned beside the buffer. */
export interface ParseMemoryMapOptions {
  /** DescriptorSize from GetMemoryMap (stride; real firmware returns 48). Default 48. */
  descriptorSize?: number;
  /** DescriptorVersion from GetMemoryMap; must be 1. Default 1. */
  descriptorVersion?: number;
  /** MapKey from GetMemoryMap, kept on the map. */
  mapKey?: number;
}

const TWO32 = 0x100000000;

/**
 * Parses a raw memory-map buffer (exactly MemoryMapSize bytes). Errors: `UEFI_BAD_BUFFER`,
 * `UEFI_BAD_DESCRIPTOR_SIZE`, `UEFI_BAD_DESCRIPTOR_VERSION`, `UEFI_BAD_BUFFER_LENGTH`,
 * `UEFI_ADDRESS_TOO_LARGE` (physicalStart >= 2^52), `UEFI_PAGE_COUNT_TOO_LARGE` (> 2^40 pages).
 *
 * @example
 * ```ts
 * import { MemoryMap, parseMemoryMap } from 'memprims';
 * const bytes = new MemoryMap([{ type: 7, physicalStart: 0x1000, virtualStart: 0n, numberOfPages: 1, attribute: 0xfn }]).toBytes();
 * parseMemoryMap(bytes, { descriptorSize: 48, descriptorVersion: 1 }).descriptors[0].type; // 7
 * ```
 */
export function parseMemoryMap(bytes: Uint8Array | ArrayBuffer, options: ParseMemoryMapOptions = {}): MemoryMap {
  let data: Uint8Array;
  if (bytes instanceof Uint8Array) data = bytes;
  else if (bytes instanceof ArrayBuffer) data = new Uint8Array(bytes);
  else throw new UefiError('UEFI_BAD_BUFFER', `memory map bytes must be a Uint8Array, got ${describe(bytes)}`);
  if (typeof options !== 'object' || options === null) throw new UefiError('UEFI_BAD_ARGUMENT', `options must be an object, got ${describe(options)}`);
  const size = checkDescriptorSize(options.descriptorSize ?? 48);
  const version = checkDescriptorVersion(options.descriptorVersion ?? 1);
  if (options.mapKey !== undefined && (typeof options.mapKey !== 'number' || !Number.isSafeInteger(options.mapKey) || options.mapKey < 0)) {
    throw new UefiError('UEFI_BAD_ARGUMENT', `mapKey must be a non-negative integer, got ${describe(options.mapKey)}`);
  }
  if (data.length % size !== 0) {
    throw new UefiError('UEFI_BAD_BUFFER_LENGTH', `buffer length ${data.length} is not a multiple of descriptorSize ${size}`, { length: data.length, descriptorSize: size });
  }
  const count = data.length / size;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const descriptors: MemoryDescriptor[] = new Array(count);
  const bigs = new BigCache();
  for (let i = 0; i < count; i++) {
    const o = i * size;
    const type = view.getUint32(o, true);
    const physLo = view.getUint32(o + 8, true);
    const physHi = view.getUint32(o + 12, true);
    if (physHi >= 0x100000) {
      throw new UefiError('UEFI_ADDRESS_TOO_LARGE', `descriptor ${i} (offset ${o}): physicalStart 0x${physHi.toString(16)}${physLo.toString(16).padStart(8, '0')} is not below 2^52`, { index: i, offset: o });
    }
    const pagesLo = view.getUint32(o + 24, true);
    const pagesHi = view.getUint32(o + 28, true);
    const numberOfPages = pagesHi * TWO32 + pagesLo;
    if (pagesHi > 0x100 || numberOfPages > MAX_NUMBER_OF_PAGES) {
      throw new UefiError('UEFI_PAGE_COUNT_TOO_LARGE', `descriptor ${i} (offset ${o}): numberOfPages 0x${pagesHi.toString(16)}${pagesLo.toString(16).padStart(8, '0')} is more than 2^40`, { index: i, offset: o });
    }
    descriptors[i] = Object.freeze({
      type,
      physicalStart: physHi * TWO32 + physLo,
      virtualStart: bigs.get(view.getUint32(o + 16, true), view.getUint32(o + 20, true)),
      numberOfPages,
      attribute: bigs.get(view.getUint32(o + 32, true), view.getUint32(o + 36, true)),
    });
  }
  return MemoryMap.fromChecked(descriptors, { descriptorSize: size, descriptorVersion: version, mapKey: options.mapKey });
}

/** Reuses the bigints of recently seen (lo, hi) pairs: real maps repeat a handful of values. */
class BigCache {
  private readonly los = new Float64Array(8).fill(-1);
  private readonly his = new Float64Array(8).fill(-1);
  private readonly values: bigint[] = new Array(8).fill(0n);
  private next = 0;
  get(lo: number, hi: number): bigint {
    for (let k = 0; k < 8; k++) if (this.los[k] === lo && this.his[k] === hi) return this.values[k];
    const v = hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
    const k = this.next;
    this.next = (k + 1) & 7;
    this.los[k] = lo;
    this.his[k] = hi;
    this.values[k] = v;
    return v;
  }
}

