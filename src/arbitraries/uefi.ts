/**
 * fast-check arbitraries for UEFI memory maps: any valid descriptors, firmware-shaped maps
 * (low 640 KiB, legacy hole, ACPI, runtime regions, MMIO below 4 GiB, RAM above 4 GiB, the
 * OVMF listing order) and raw descriptor buffers (valid, mutated and arbitrary bytes).
 *
 * @module
 */
import fc from 'fast-check';
import { MemoryMap } from '../uefi/memory-map.js';
import { MemoryAttribute, MemoryType } from '../uefi/types.js';
import type { MemoryDescriptor } from '../uefi/descriptor.js';

const PAGE = 4096;
const RAM_ATTR = MemoryAttribute.UC | MemoryAttribute.WC | MemoryAttribute.WT | MemoryAttribute.WB;
const RUNTIME_ATTR = RAM_ATTR | MemoryAttribute.RUNTIME;

/** Options of {@link memoryDescriptors}. */
export interface MemoryDescriptorArbitraryOptions {
  /** Only 4 KiB aligned physical and virtual starts (default false: mostly aligned). */
  aligned?: boolean;
  /** Only types 0..15 (default false: also OEM, OS and undefined values). */
  standardTypes?: boolean;
}

/**
 * Any descriptor a `MemoryMap` accepts: type any u32 (biased to 0..15), physicalStart below
 * 2^52, 0..2^40 pages, any 64-bit virtual start and attribute (biased to real ones).
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { memoryDescriptors } from 'memprims/arbitraries';
 * const [d] = fc.sample(memoryDescriptors(), 1);
 * console.log(d.type, d.physicalStart);
 * ```
 */
export function memoryDescriptors(options: MemoryDescriptorArbitraryOptions = {}): fc.Arbitrary<MemoryDescriptor> {
  const type = options.standardTypes
    ? fc.integer({ min: 0, max: 15 })
    : fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 15 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0x70000000, max: 0x7fffffff }) },
        { weight: 1, arbitrary: fc.integer({ min: 0x80000000, max: 0xffffffff }) },
        { weight: 1, arbitrary: fc.integer({ min: 16, max: 0xffffffff }) },
      );
  const pageNumber = fc.oneof(fc.integer({ min: 0, max: 0x200000 }), fc.integer({ min: 0, max: 2 ** 40 - 1 }));
  const alignedStart = pageNumber.map((p) => p * PAGE);
  const physicalStart = options.aligned ? alignedStart : fc.oneof({ weight: 5, arbitrary: alignedStart }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 52 - 1 }) });
  const numberOfPages = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 0x10000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 40 }) });
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const virtualStart = fc.oneof(
    { weight: 4, arbitrary: fc.constant(0n) },
    { weight: 1, arbitrary: options.aligned ? u64.map((v) => v & ~0xfffn) : u64 },
  );
  const attribute = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(RAM_ATTR, RUNTIME_ATTR, 0x1n, MemoryAttribute.RUNTIME | 0x1n, 0n, 0x070000000000000fn) },
    { weight: 1, arbitrary: u64 },
  );
  return fc.record({ type, physicalStart, virtualStart, numberOfPages, attribute });
}

/**
 * Maps of 0..`maxLength` arbitrary descriptors (may overlap, be unsorted, have zero pages).
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { memoryMaps } from 'memprims/arbitraries';
 * fc.assert(fc.property(memoryMaps(), (m) => m.merged().merged().equals(m.merged())));
 * ```
 */
export function memoryMaps(options: MemoryDescriptorArbitraryOptions & { maxLength?: number } = {}): fc.Arbitrary<MemoryMap> {
  return fc.array(memoryDescriptors(options), { maxLength: options.maxLength ?? 40 }).map((ds) => new MemoryMap(ds));
}

/** Options of {@link firmwareMemoryMaps}. */
export interface FirmwareMapOptions {
  /** Most RAM pieces between 1 MiB and the top of low RAM (default and maximum 40, so RAM stays below the MMIO windows). */
  maxPieces?: number;
}

const LOW_RAM_TYPES = [
  MemoryType.Conventional, MemoryType.Conventional, MemoryType.Conventional, MemoryType.BootServicesCode, MemoryType.BootServicesData,
  MemoryType.BootServicesData, MemoryType.LoaderCode, MemoryType.LoaderData, MemoryType.ACPIReclaim, MemoryType.ACPIMemoryNVS,
  MemoryType.RuntimeServicesCode, MemoryType.RuntimeServicesData, MemoryType.Reserved,
];

const MMIO_WINDOWS: readonly (readonly [number, number, bigint])[] = [
  [0xb0000000, 0x10000, 0x1n], // PCIe ECAM (q35), listed as Reserved by OVMF
  [0xfec00000, 1, MemoryAttribute.RUNTIME | 0x1n], // IO-APIC
  [0xfed00000, 4, MemoryAttribute.RUNTIME | 0x1n], // HPET
  [0xfee00000, 1, MemoryAttribute.RUNTIME | 0x1n], // local APIC
  [0xffc00000, 0x400, MemoryAttribute.RUNTIME | 0x1n], // flash
];

/**
 * Maps shaped like real firmware's: BootServicesCode at page 0, Conventional up to 640 KiB,
 * nothing (or Reserved) at 0xA0000–0xFFFFF, a contiguous run of RAM pieces (Conventional,
 * boot services, loader, ACPI, runtime with the RUNTIME bit, reserved) from 1 MiB, MMIO
 * windows below 4 GiB, optional RAM above 4 GiB; listed sorted, in OVMF order (high RAM
 * before the MMIO below it) or shuffled. No two descriptors overlap.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { firmwareMemoryMaps } from 'memprims/arbitraries';
 * const [map] = fc.sample(firmwareMemoryMaps(), 1);
 * console.log(map.validate().ok); // true
 * ```
 */
export function firmwareMemoryMaps(options: FirmwareMapOptions = {}): fc.Arbitrary<MemoryMap> {
  const piece = fc.record({ type: fc.constantFrom(...LOW_RAM_TYPES), pages: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 0x4000 })) });
  return fc
    .record({
      lowTopPages: fc.integer({ min: 0x20, max: 0xa0 }),
      legacyReserved: fc.boolean(),
      pieces: fc.array(piece, { minLength: 1, maxLength: Math.min(40, options.maxPieces ?? 40) }),
      mmio: fc.subarray([...MMIO_WINDOWS]),
      highGiB: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 64 })),
      order: fc.constantFrom('sorted', 'ovmf', 'shuffled'),
      keys: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 200, maxLength: 200 }),
    })
    .map(({ lowTopPages, legacyReserved, pieces, mmio, highGiB, order, keys }) => {
      const ds: MemoryDescriptor[] = [];
      const add = (type: number, start: number, pages: number, attribute = RAM_ATTR): void => {
        ds.push({ type, physicalStart: start, virtualStart: 0n, numberOfPages: pages, attribute });
      };
      add(MemoryType.BootServicesCode, 0, 1);
      add(MemoryType.Conventional, PAGE, lowTopPages - 1);
      if (legacyReserved) add(MemoryType.Reserved, 0xa0000, 0x60, 0n);
      let at = 0x100000;
      for (const p of pieces) {
        const runtime = p.type === MemoryType.RuntimeServicesCode || p.type === MemoryType.RuntimeServicesData;
        add(p.type, at, p.pages, runtime ? RUNTIME_ATTR : RAM_ATTR);
        at += p.pages * PAGE;
      }
      const high: MemoryDescriptor[] = [];
      if (highGiB > 0) high.push({ type: MemoryType.Conventional, physicalStart: 0x100000000, virtualStart: 0n, numberOfPages: highGiB * 0x40000, attribute: RAM_ATTR });
      const io: MemoryDescriptor[] = mmio.map(([start, pages, attribute]) => ({ type: start === 0xb0000000 ? MemoryType.Reserved : MemoryType.MemoryMappedIO, physicalStart: start, virtualStart: 0n, numberOfPages: pages, attribute }));
      let all: MemoryDescriptor[];
      if (order === 'ovmf') all = [...ds, ...high, ...io];
      else all = [...ds, ...io, ...high];
      if (order === 'shuffled') {
        all = all.map((d, i) => ({ d, k: keys[i % keys.length] + i * 1e-9 })).sort((a, b) => a.k - b.k).map((x) => x.d);
      }
      return new MemoryMap(all, { descriptorSize: 48, descriptorVersion: 1 });
    });
}

/** A raw buffer with the stride to read it at, from {@link rawMemoryMapBuffers}. */
export interface RawMemoryMapBuffer {
  readonly bytes: Uint8Array;
  readonly descriptorSize: number;
}

/**
 * Valid descriptor strides: 40..256, multiples of 8 (48 most often).
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { descriptorSizes } from 'memprims/arbitraries';
 * const [size] = fc.sample(descriptorSizes(), 1);
 * ```
 */
export function descriptorSizes(): fc.Arbitrary<number> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(48) }, { weight: 2, arbitrary: fc.integer({ min: 5, max: 32 }).map((k) => k * 8) });
}

/**
 * Raw buffers: encodings of firmware-shaped maps at any stride, the same with random bytes
 * overwritten, and arbitrary bytes of any length with any stride (valid or not). Parsing
 * one gives a MemoryMap or a UefiError, never anything else.
 *
 * @example
 * ```ts
 * import fc from 'fast-check';
 * import { parseMemoryMap, UefiError } from 'memprims';
 * import { rawMemoryMapBuffers } from 'memprims/arbitraries';
 * fc.assert(fc.property(rawMemoryMapBuffers(), ({ bytes, descriptorSize }) => {
 *   try { parseMemoryMap(bytes, { descriptorSize }); } catch (e) { if (!(e instanceof UefiError)) throw e; }
 * }));
 * ```
 */
export function rawMemoryMapBuffers(): fc.Arbitrary<RawMemoryMapBuffer> {
  const encoded = fc.tuple(firmwareMemoryMaps({ maxPieces: 12 }), descriptorSizes()).map(([m, size]) => ({ bytes: m.toBytes({ descriptorSize: size }), descriptorSize: size }));
  const mutated = fc
    .tuple(encoded, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }))
    .map(([b, edits]) => {
      const bytes = b.bytes.slice();
      for (const [pos, value] of edits) if (bytes.length) bytes[pos % bytes.length] = value;
      return { bytes, descriptorSize: b.descriptorSize };
    });
  const arbitrary = fc.record({ bytes: fc.uint8Array({ maxLength: 600 }), descriptorSize: fc.oneof(descriptorSizes(), fc.integer({ min: -8, max: 300 })) });
  return fc.oneof(encoded, mutated, arbitrary);
}
