/**
 * `MemoryMap`: an immutable list of UEFI memory descriptors in source order, with its
 * metadata (descriptor size, version, map key), the binary encoder and the operations a
 * kernel needs (sorted view, totals, merge, validation, usable ranges, runtime regions,
 * renderers).
 *
 * @module
 */
import { checkPhysRange, normalizeRanges, subtractRanges, PHYS_ADDR_LIMIT, type PhysRange } from '../addr/phys.js';
import { describe } from '../errors.js';
import {
  checkDescriptor, checkDescriptorSize, checkDescriptorVersion, descriptorsEqual, EFI_MEMORY_DESCRIPTOR_VERSION,
  EFI_PAGE_SIZE, MAX_NUMBER_OF_PAGES, type MemoryDescriptor,
} from './descriptor.js';
import { UefiError } from './errors.js';
import { isUsableAfterExitType, MemoryAttribute, memoryAttributeNames, memoryTypeName } from './types.js';
import { sortedOrder, validateDescriptors, type MemoryMapReport } from './validate.js';
import { renderLinuxEfiLog, type LinuxEfiLogRenderOptions } from './linux-render.js';
import { renderShellMemmap, type ShellMemmapRenderOptions } from './shell-render.js';
import { renderTable } from './table.js';
import { renderSvg, type SvgOptions } from './svg.js';

/** Metadata that comes with a map from GetMemoryMap. */
export interface MemoryMapMeta {
  /** Stride of the buffer the map came from (default 48). */
  descriptorSize?: number;
  /** Descriptor version (must be 1). */
  descriptorVersion?: number;
  /** The map key GetMemoryMap returned, if known. */
  mapKey?: number;
}

/** Pages and bytes of one type, from {@link MemoryMap.totalsByType}. */
export interface MemoryTypeTotal {
  readonly type: number;
  readonly name: string;
  readonly entries: number;
  readonly pages: number;
  /** pages × 4096 (exact while below 2^53). */
  readonly bytes: number;
}

/** Options of {@link MemoryMap.usableAfterExitBootServices}. */
export interface UsableOptions {
  /** Ranges the kernel still uses (image, heap, page tables, stack): never reported usable. */
  inUse?: readonly PhysRange[];
}

/** Set by `fromChecked` for the one constructor call that follows (parsers' checked output). */
let trustedInput = false;

/**
 * A UEFI memory map.
 *
 * @example
 * ```ts
 * import { MemoryMap, MemoryType } from 'memprims';
 * const map = new MemoryMap([
 *   { type: MemoryType.Conventional, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn },
 * ]);
 * map.usableAfterExitBootServices(); // [{ start: 0x100000, end: 0x200000 }]
 * ```
 */
export class MemoryMap {
  /** The descriptors, in the order the source lists them. */
  readonly descriptors: readonly MemoryDescriptor[];
  /** Stride of the source buffer (48 unless told otherwise). */
  readonly descriptorSize: number;
  /** Descriptor version (1). */
  readonly descriptorVersion: number;
  /** Map key, when the source gave one. */
  readonly mapKey: number | undefined;

  /**
   * Builds a map from descriptors (copied and checked: `UEFI_BAD_DESCRIPTOR`,
   * `UEFI_ADDRESS_TOO_LARGE`, `UEFI_PAGE_COUNT_TOO_LARGE`, `UEFI_BAD_DESCRIPTOR_SIZE`,
   * `UEFI_BAD_DESCRIPTOR_VERSION`, `UEFI_BAD_ARGUMENT`).
   */
  constructor(descriptors: readonly MemoryDescriptor[], meta: MemoryMapMeta = {}) {
    if (trustedInput) {
      trustedInput = false;
      this.descriptors = descriptors;
    } else {
      if (!Array.isArray(descriptors)) throw new UefiError('UEFI_BAD_ARGUMENT', `descriptors must be an array, got ${describe(descriptors)}`);
      this.descriptors = Object.freeze(descriptors.map((d, i) => Object.freeze(checkDescriptor(d, i))));
    }
    if (typeof meta !== 'object' || meta === null) throw new UefiError('UEFI_BAD_ARGUMENT', `meta must be an object, got ${describe(meta)}`);
    this.descriptorSize = meta.descriptorSize === undefined ? 48 : checkDescriptorSize(meta.descriptorSize);
    this.descriptorVersion = meta.descriptorVersion === undefined ? EFI_MEMORY_DESCRIPTOR_VERSION : checkDescriptorVersion(meta.descriptorVersion);
    if (meta.mapKey !== undefined && (typeof meta.mapKey !== 'number' || !Number.isSafeInteger(meta.mapKey) || meta.mapKey < 0)) {
      throw new UefiError('UEFI_BAD_ARGUMENT', `mapKey must be a non-negative integer, got ${describe(meta.mapKey)}`);
    }
    this.mapKey = meta.mapKey;
  }

  /** @internal Builds a map from descriptors the caller has already checked (parsers). */
  static fromChecked(descriptors: MemoryDescriptor[], meta: MemoryMapMeta = {}): MemoryMap {
    trustedInput = true;
    try {
      return new MemoryMap(Object.freeze(descriptors), meta);
    } finally {
      trustedInput = false;
    }
  }

  /** Number of descriptors. */
  get length(): number {
    return this.descriptors.length;
  }

  /**
   * The bytes GetMemoryMap would return: each descriptor at a stride of `descriptorSize`
   * (default: the map's own `descriptorSize`, i.e. the stride it was parsed at, or 48 — what
   * real firmware uses — for a map built from descriptors), little-endian, zero padding past
   * the 40-byte struct. `parseMemoryMap(bytes, o).toBytes()` gives back `bytes` whenever the
   * firmware's padding is zero (as in every real capture); padding bytes are not kept.
   */
  toBytes(options: { descriptorSize?: number } = {}): Uint8Array {
    const size = options?.descriptorSize === undefined ? this.descriptorSize : checkDescriptorSize(options.descriptorSize);
    const n = this.descriptors.length;
    const out = new Uint8Array(n * size);
    const view = new DataView(out.buffer);
    let lastAttribute = 0n;
    let attributeLo = 0;
    let attributeHi = 0;
    for (let i = 0; i < n; i++) {
      const d = this.descriptors[i];
      const o = i * size;
      view.setUint32(o, d.type, true);
      // `x >>> 0` is x mod 2^32, exact for integers below 2^53 (and much cheaper than %).
      const physLo = d.physicalStart >>> 0;
      view.setUint32(o + 8, physLo, true);
      view.setUint32(o + 12, (d.physicalStart - physLo) / 0x100000000, true);
      if (d.virtualStart !== 0n) view.setBigUint64(o + 16, d.virtualStart, true);
      const pagesLo = d.numberOfPages >>> 0;
      view.setUint32(o + 24, pagesLo, true);
      view.setUint32(o + 28, (d.numberOfPages - pagesLo) / 0x100000000, true);
      if (d.attribute !== lastAttribute) {
        // real maps repeat a few attribute values: split each distinct one into halves once
        lastAttribute = d.attribute;
        attributeLo = Number(lastAttribute & 0xffffffffn);
        attributeHi = Number(lastAttribute >> 32n);
      }
      view.setUint32(o + 32, attributeLo, true);
      view.setUint32(o + 36, attributeHi, true);
    }
    return out;
  }

  /** A new map with the same descriptors ordered by physicalStart (stable). */
  sorted(): MemoryMap {
    const order = sortedOrder(this.descriptors);
    return MemoryMap.fromChecked(Array.from(order, (i) => this.descriptors[i]), this.meta());
  }

  /** Entries, pages and bytes per type, ordered by type value. */
  totalsByType(): MemoryTypeTotal[] {
    const byType = new Map<number, { entries: number; pages: number }>();
    for (const d of this.descriptors) {
      const t = byType.get(d.type) ?? { entries: 0, pages: 0 };
      t.entries++;
      t.pages += d.numberOfPages;
      byType.set(d.type, t);
    }
    return [...byType.entries()].sort((a, b) => a[0] - b[0]).map(([type, t]) => ({ type, name: memoryTypeName(type), entries: t.entries, pages: t.pages, bytes: t.pages * EFI_PAGE_SIZE }));
  }

  /**
   * A new map, sorted, in which physically adjacent descriptors with equal type and
   * attribute (and contiguous or both-zero virtual starts) are merged. Zero-page and
   * overlapping descriptors are left alone; merging is idempotent.
   */
  merged(): MemoryMap {
    const order = sortedOrder(this.descriptors);
    const out: MemoryDescriptor[] = [];
    for (let k = 0; k < order.length; k++) {
      const d = this.descriptors[order[k]];
      const last = out[out.length - 1];
      if (last && canMerge(last, d)) {
        out[out.length - 1] = { ...last, numberOfPages: last.numberOfPages + d.numberOfPages };
      } else {
        out.push(d);
      }
    }
    return MemoryMap.fromChecked(out.map((d) => Object.freeze(d)), this.meta());
  }

  /** Every problem of the map (overlaps, zero pages, unaligned starts, ranges past 2^52 / 2^64). */
  validate(): MemoryMapReport {
    return validateDescriptors(this.descriptors);
  }

  /**
   * What a kernel may reuse after ExitBootServices: Conventional, BootServicesCode/Data and
   * LoaderCode/Data, minus `options.inUse`, minus any descriptor with the RUNTIME attribute
   * (firmware still uses it after the exit, whatever its type; Linux keeps such regions too)
   * and minus anything another type's descriptor covers (buggy overlapping maps), shrunk to
   * whole pages. Sorted, disjoint, touching
   * ranges merged, half-open, ends at most 2^52.
   */
  usableAfterExitBootServices(options: UsableOptions = {}): PhysRange[] {
    if (typeof options !== 'object' || options === null) throw new UefiError('UEFI_BAD_ARGUMENT', `options must be an object, got ${describe(options)}`);
    const inUseRaw = options.inUse ?? [];
    if (!Array.isArray(inUseRaw)) throw new UefiError('UEFI_BAD_ARGUMENT', `options.inUse must be an array of { start, end }, got ${describe(inUseRaw)}`);
    const inUse = inUseRaw.map((r, i) => checkPhysRange(r, `inUse[${i}]`));
    const usable: PhysRange[] = [];
    const other: PhysRange[] = [];
    for (const d of this.descriptors) {
      if (d.numberOfPages === 0) continue;
      const end = Math.min(d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE, PHYS_ADDR_LIMIT);
      const runtime = (d.attribute & MemoryAttribute.RUNTIME) !== 0n;
      (isUsableAfterExitType(d.type) && !runtime ? usable : other).push({ start: d.physicalStart, end });
    }
    const rest = subtractRanges(subtractRanges(usable, other), inUse);
    const aligned: PhysRange[] = [];
    for (const r of rest) {
      const start = Math.ceil(r.start / EFI_PAGE_SIZE) * EFI_PAGE_SIZE;
      const end = Math.floor(r.end / EFI_PAGE_SIZE) * EFI_PAGE_SIZE;
      if (end > start) aligned.push({ start, end });
    }
    return normalizeRanges(aligned);
  }

  /** Descriptors with the RUNTIME attribute (they need a virtual mapping), in source order. */
  runtimeRegions(): MemoryDescriptor[] {
    return this.descriptors.filter((d) => (d.attribute & MemoryAttribute.RUNTIME) !== 0n);
  }

  /** True when both maps hold equal descriptors in the same order (metadata ignored). */
  equals(other: MemoryMap): boolean {
    if (other.descriptors.length !== this.descriptors.length) return false;
    for (let i = 0; i < this.descriptors.length; i++) if (!descriptorsEqual(this.descriptors[i], other.descriptors[i])) return false;
    return true;
  }

  /** Linux `efi=debug` boot-log lines (`efi: memNN: [...] range=[...] (NMB)`). */
  toLinuxEfiLog(options?: LinuxEfiLogRenderOptions): string {
    return renderLinuxEfiLog(this.descriptors, options);
  }

  /** UEFI Shell `memmap` output, plain or `-sfo`. */
  toShellMemmap(options?: ShellMemmapRenderOptions): string {
    return renderShellMemmap(this.descriptors, options);
  }

  /** A table for a terminal (source order) with totals by type. */
  toTable(): string {
    return renderTable(this);
  }

  /** An SVG picture of the physical address space coloured by type, with a legend. */
  toSVG(options?: SvgOptions): string {
    return renderSvg(this.descriptors, options);
  }

  /** A JSON-friendly object: hex strings for addresses and attributes. */
  toJSON(): object {
    return {
      descriptorSize: this.descriptorSize,
      descriptorVersion: this.descriptorVersion,
      ...(this.mapKey === undefined ? {} : { mapKey: this.mapKey }),
      descriptors: this.descriptors.map((d) => ({
        type: d.type,
        typeName: memoryTypeName(d.type),
        physicalStart: '0x' + d.physicalStart.toString(16),
        physicalEnd: '0x' + (d.physicalStart + d.numberOfPages * EFI_PAGE_SIZE).toString(16),
        virtualStart: '0x' + d.virtualStart.toString(16),
        numberOfPages: d.numberOfPages,
        attribute: '0x' + d.attribute.toString(16),
        attributes: memoryAttributeNames(d.attribute),
      })),
    };
  }

  private meta(): MemoryMapMeta {
    return { descriptorSize: this.descriptorSize, descriptorVersion: this.descriptorVersion, mapKey: this.mapKey };
  }
}

function canMerge(a: MemoryDescriptor, b: MemoryDescriptor): boolean {
  if (a.type !== b.type || a.attribute !== b.attribute) return false;
  if (a.numberOfPages === 0 || b.numberOfPages === 0) return false;
  if (a.physicalStart + a.numberOfPages * EFI_PAGE_SIZE !== b.physicalStart) return false;
  if (a.numberOfPages + b.numberOfPages > MAX_NUMBER_OF_PAGES) return false;
  const virtualOk = (a.virtualStart === 0n && b.virtualStart === 0n) || a.virtualStart + BigInt(a.numberOfPages) * 4096n === b.virtualStart;
  return virtualOk;
}
