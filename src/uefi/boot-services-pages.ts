/**
 * The firmware's page-level memory map as EDK II keeps it (MdeModulePkg/Core/Dxe/Mem/Page.c):
 * a list of descriptors in firmware order, the placement search (`FindFreePages`: the
 * highest-ending free descriptor below the limit, pages taken from its top, the default
 * region first) and conversions that split descriptors in place and merge physically
 * adjacent ones of equal type and attribute. Used by `BootServices`.
 *
 * @module
 */
import { PAGE_SIZE, type PhysRange } from '../addr/phys.js';
import { hex } from '../errors.js';
import type { MemoryDescriptor } from './descriptor.js';
import type { MemoryMap } from './memory-map.js';
import { MemoryType } from './types.js';

/** One descriptor of the firmware's list (mutable, internal). */
export interface FirmwareDescriptor {
  type: number;
  start: number;
  pages: number;
  virt: bigint;
  attr: bigint;
}

const FOUR_GIB = 2 ** 32;

function endOf(d: FirmwareDescriptor): number {
  return d.start + d.pages * PAGE_SIZE;
}

/** The descriptor list and EDK II's operations on it. */
export class FirmwarePageMap {
  /** Descriptors in firmware (GetMemoryMap) order. */
  readonly descs: FirmwareDescriptor[];

  constructor(descriptors: readonly MemoryDescriptor[]) {
    this.descs = descriptors.filter((d) => d.numberOfPages > 0).map((d) => ({ type: d.type, start: d.physicalStart, pages: d.numberOfPages, virt: d.virtualStart, attr: d.attribute }));
  }

  /** The descriptors as MemoryDescriptor values. */
  toDescriptors(): MemoryDescriptor[] {
    return this.descs.map((d) => ({ type: d.type, physicalStart: d.start, virtualStart: d.virt, numberOfPages: d.pages, attribute: d.attr }));
  }

  /** Ranges with memory type `type`, sorted. */
  rangesOfType(type: number): PhysRange[] {
    return this.descs.filter((d) => d.type === type).map((d) => ({ start: d.start, end: endOf(d) })).sort((a, b) => a.start - b.start);
  }

  /** `FindFreePages(MaxAddress)`: default region first (when max reaches it), then anywhere. */
  findFreePages(maxInclusive: number, pages: number, defaultMax: number | null): number | null {
    let max = maxInclusive;
    if (max % PAGE_SIZE !== PAGE_SIZE - 1) {
      if (max < PAGE_SIZE) return null;
      max = Math.floor(max / PAGE_SIZE) * PAGE_SIZE - 1;
    }
    if (defaultMax !== null && defaultMax > 0 && max >= defaultMax - 1) {
      const start = this.findIn(defaultMax - 1, pages);
      if (start !== null) return start;
    }
    return this.findIn(max, pages);
  }

  /** `CoreFindFreePagesI`: highest-ending Conventional descriptor that fits below `max`. */
  private findIn(max: number, pages: number): number | null {
    const bytes = pages * PAGE_SIZE;
    let best = -1;
    for (const d of this.descs) {
      if (d.type !== MemoryType.Conventional) continue;
      if (d.start > max) continue;
      const end = Math.min(endOf(d) - 1, max);
      if (end - d.start + 1 >= bytes && end > best) best = end;
    }
    return best < 0 ? null : best - bytes + 1;
  }

  /** Why [address, +pages) cannot be converted (a page uncovered or of a wrong type), or null. */
  rangeProblem(address: number, pages: number, ok: (type: number) => boolean): string | null {
    const end = address + pages * PAGE_SIZE;
    const pieces = this.descs.filter((d) => d.start < end && endOf(d) > address).sort((a, b) => a.start - b.start);
    let at = address;
    for (const d of pieces) {
      if (d.start > at) return `no descriptor covers ${hex(at)}`;
      if (!ok(d.type)) return `page ${hex(Math.max(at, d.start))} has memory type ${d.type}`;
      at = endOf(d);
      if (at >= end) return null;
    }
    return at >= end ? null : `no descriptor covers ${hex(at)}`;
  }

  /** Converts [start, +pages) to `type`: split covering descriptors in place, merge neighbours. */
  convert(start: number, pages: number, type: number): void {
    const end = start + pages * PAGE_SIZE;
    for (let i = 0; i < this.descs.length; i++) {
      const d = this.descs[i];
      const dEnd = endOf(d);
      if (d.start >= end || dEnd <= start) continue;
      const a = Math.max(start, d.start);
      const b = Math.min(end, dEnd);
      const parts: FirmwareDescriptor[] = [];
      if (d.start < a) parts.push({ ...d, pages: (a - d.start) / PAGE_SIZE });
      parts.push({ type, start: a, pages: (b - a) / PAGE_SIZE, virt: 0n, attr: d.attr });
      if (b < dEnd) parts.push({ ...d, start: b, pages: (dEnd - b) / PAGE_SIZE, virt: d.virt === 0n ? 0n : d.virt + BigInt(b - d.start) });
      this.descs.splice(i, 1, ...parts);
      i += parts.length - 1;
    }
    this.mergeAround(start, end, type);
  }

  private mergeAround(start: number, end: number, type: number): void {
    // Merge the converted pieces with each other and with physically adjacent descriptors of
    // equal type and attribute; the merged descriptor keeps the lower position in the list.
    for (;;) {
      const near: number[] = [];
      for (let i = 0; i < this.descs.length; i++) {
        const d = this.descs[i];
        if (d.type === type && d.start <= end && endOf(d) >= start) near.push(i);
      }
      let done = true;
      outer: for (const a of near) {
        for (const b of near) {
          const x = this.descs[a];
          const y = this.descs[b];
          if (a !== b && x.attr === y.attr && endOf(x) === y.start) {
            const lo = Math.min(a, b);
            this.descs[lo] = { type, attr: x.attr, start: x.start, pages: x.pages + y.pages, virt: 0n };
            this.descs.splice(Math.max(a, b), 1);
            done = false;
            break outer;
          }
        }
      }
      if (done) return;
    }
  }
}

/**
 * Infers EDK II's default maximum address from a map (see
 * {@link BootServicesOptions.defaultMaximumAddress}); null when the map has no LoaderCode or
 * LoaderData descriptor below 4 GiB.
 *
 * @example
 * ```ts
 * import { inferDefaultMaximumAddress, MemoryMap, MemoryType } from 'memprims';
 * const map = new MemoryMap([
 *   { type: MemoryType.Conventional, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn },
 *   { type: MemoryType.LoaderData, physicalStart: 0x200000, virtualStart: 0n, numberOfPages: 16, attribute: 0xfn },
 * ]);
 * inferDefaultMaximumAddress(map); // 0x210000
 * ```
 */
export function inferDefaultMaximumAddress(map: MemoryMap): number | null {
  const descs = map.descriptors.filter((d) => d.numberOfPages > 0);
  let top: MemoryDescriptor | null = null;
  for (const d of descs) {
    if ((d.type === MemoryType.LoaderCode || d.type === MemoryType.LoaderData) && d.physicalStart < FOUR_GIB && (!top || d.physicalStart > top.physicalStart)) top = d;
  }
  if (!top) return null;
  let end = top.physicalStart + top.numberOfPages * PAGE_SIZE;
  for (;;) {
    const next = descs.find((d) => d.physicalStart === end && (d.type === MemoryType.Conventional || d.type === MemoryType.LoaderCode || d.type === MemoryType.LoaderData));
    if (!next) return end;
    end = next.physicalStart + next.numberOfPages * PAGE_SIZE;
  }
}
