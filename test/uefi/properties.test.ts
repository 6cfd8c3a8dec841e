// Property tests over firmware-shaped and arbitrary maps (fast-check; FC_RUNS raises runs).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { descriptorSizes, firmwareMemoryMaps, memoryMaps, rawMemoryMapBuffers } from '../../src/arbitraries/uefi.js';
import { MemoryMap, parseLinuxEfiLog, parseMemoryMap, parseShellMemmap, UefiError, type MemoryDescriptor } from '../../src/uefi/index.js';

const runs = Number(process.env.FC_RUNS ?? 150);
const endOf = (d: MemoryDescriptor): number => d.physicalStart + d.numberOfPages * 4096;
const USABLE = new Set([1, 2, 3, 4, 7]);
const withoutVirtual = (m: MemoryMap): MemoryMap => new MemoryMap(m.descriptors.map((d) => ({ ...d, virtualStart: 0n })));

/** Pages of each (type, attribute) at every page boundary: the coverage merging must keep. */
function coverage(m: MemoryMap): Map<string, number> {
  const c = new Map<string, number>();
  for (const d of m.descriptors) {
    const k = `${d.type}/${d.attribute}`;
    c.set(k, (c.get(k) ?? 0) + d.numberOfPages);
  }
  return c;
}

describe('properties', () => {
  it('parse(toBytes(m)) equals m for any valid descriptorSize', () => {
    fc.assert(
      fc.property(fc.oneof(memoryMaps(), firmwareMemoryMaps()), descriptorSizes(), (m, size) => {
        const bytes = m.toBytes({ descriptorSize: size });
        expect(bytes.length).toBe(m.length * size);
        const back = parseMemoryMap(bytes, { descriptorSize: size, descriptorVersion: 1 });
        expect(back.equals(m)).toBe(true);
        expect(back.descriptors).toEqual(m.descriptors);
        expect(Buffer.from(back.toBytes({ descriptorSize: size })).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: runs },
    );
  });

  it('merging is idempotent, sorted, and keeps the pages of every (type, attribute)', () => {
    fc.assert(
      fc.property(fc.oneof(memoryMaps({ maxLength: 30 }), firmwareMemoryMaps()), (m) => {
        const once = m.merged();
        expect(once.merged().equals(once)).toBe(true);
        expect(once.sorted().equals(once)).toBe(true);
        expect(coverage(once)).toEqual(coverage(m));
        expect(once.length).toBeLessThanOrEqual(m.length);
      }),
      { numRuns: runs },
    );
  });

  it('firmware-shaped maps validate clean, and merging them shrinks the map but not the usable ranges', () => {
    fc.assert(
      fc.property(firmwareMemoryMaps(), (m) => {
        expect(m.validate().ok).toBe(true);
        expect(m.merged().usableAfterExitBootServices()).toEqual(m.usableAfterExitBootServices());
      }),
      { numRuns: runs },
    );
  });

  it('usable ranges never touch reserved, runtime, ACPI or MMIO ranges, nor inUse, and are normalised', () => {
    const inUse = fc.array(fc.record({ start: fc.integer({ min: 0, max: 2 ** 33 }), len: fc.integer({ min: 0, max: 2 ** 24 }) }).map(({ start, len }) => ({ start, end: start + len })), { maxLength: 4 });
    fc.assert(
      fc.property(fc.oneof(firmwareMemoryMaps(), memoryMaps({ maxLength: 25 })), inUse, (m, used) => {
        const usable = m.usableAfterExitBootServices({ inUse: used });
        for (let i = 0; i < usable.length; i++) {
          const r = usable[i];
          expect(r.start % 4096).toBe(0);
          expect(r.end % 4096).toBe(0);
          expect(r.end).toBeGreaterThan(r.start);
          if (i > 0) expect(r.start).toBeGreaterThan(usable[i - 1].end); // sorted, disjoint, touching ones merged
          for (const d of m.descriptors) {
            // a zero-page descriptor covers nothing, so it cannot be touched
            if (!USABLE.has(d.type) && d.numberOfPages > 0) expect(r.end <= d.physicalStart || r.start >= endOf(d)).toBe(true);
          }
          for (const u of used) if (u.end > u.start) expect(r.end <= u.start || r.start >= u.end).toBe(true);
          // every usable byte lies in some usable-type descriptor
          const cover = m.descriptors.filter((d) => USABLE.has(d.type) && d.physicalStart < r.end && endOf(d) > r.start).sort((a, b) => a.physicalStart - b.physicalStart);
          let at = r.start;
          for (const d of cover) if (d.physicalStart <= at) at = Math.max(at, endOf(d));
          expect(at).toBeGreaterThanOrEqual(r.end);
        }
      }),
      { numRuns: runs },
    );
  });

  it('text renderings parse back to the same map (virtualStart aside)', () => {
    fc.assert(
      fc.property(fc.oneof(firmwareMemoryMaps(), memoryMaps({ aligned: true, maxLength: 20 })), (m) => {
        fc.pre(m.length > 0); // an empty listing is refused (UEFI_TEXT_NO_DESCRIPTORS), tested in text.test.ts
        const plain = withoutVirtual(m);
        for (const style of ['current', '5.10', '5.3', 'legacy'] as const) expect(parseLinuxEfiLog(m.toLinuxEfiLog({ style })).equals(plain)).toBe(true);
        expect(parseShellMemmap(m.toShellMemmap({ newline: '\r\n' })).equals(plain)).toBe(true);
        const standard = new MemoryMap(plain.descriptors.filter((d) => d.type <= 15));
        if (standard.length > 0) expect(parseShellMemmap(m.toShellMemmap({ sfo: true })).equals(standard)).toBe(true);
      }),
      { numRuns: Math.ceil(runs / 2) },
    );
  });

  it('raw buffers (valid, mutated, arbitrary) give a MemoryMap or a UefiError', () => {
    fc.assert(
      fc.property(rawMemoryMapBuffers(), ({ bytes, descriptorSize }) => {
        try {
          const m = parseMemoryMap(bytes, { descriptorSize });
          expect(m.length * descriptorSize).toBe(bytes.length);
          m.validate();
          m.usableAfterExitBootServices();
        } catch (e) {
          expect(e).toBeInstanceOf(UefiError);
        }
      }),
      { numRuns: runs },
    );
  });

  it('validate() finds exactly the overlapping pairs a quadratic check finds', () => {
    fc.assert(
      fc.property(memoryMaps({ maxLength: 25 }), (m) => {
        const expected: number[][] = [];
        m.descriptors.forEach((a, i) => m.descriptors.forEach((b, j) => {
          if (i < j && a.numberOfPages > 0 && b.numberOfPages > 0 && a.physicalStart < endOf(b) && b.physicalStart < endOf(a)) expected.push([i, j]);
        }));
        const got = m.validate().problems.filter((p) => p.kind === 'overlap').map((p) => [...p.descriptors]);
        const key = (x: number[]): string => x.join(',');
        expect(got.map(key).sort()).toEqual(expected.map(key).sort());
      }),
      { numRuns: runs },
    );
  });
});
