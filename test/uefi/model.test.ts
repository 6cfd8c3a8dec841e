// The model: type and attribute constants, the binary format and its errors, and the
// operations on a MemoryMap (sorted view, totals, merge, validation, usable ranges).
import { describe, expect, it } from 'vitest';
import {
  MemoryAttribute, memoryAttributeNames, MemoryMap, MemoryType, memoryTypeClass, memoryTypeFromName, memoryTypeName,
  parseLinuxEfiLog, parseMemoryMap, UefiError, type MemoryDescriptor,
} from '../../src/uefi/index.js';
import { MemprimsError } from '../../src/errors.js';
import { codeOf } from './helpers.js';

const d = (type: number, physicalStart: number, numberOfPages: number, attribute = 0xfn, virtualStart = 0n): MemoryDescriptor => ({ type, physicalStart, virtualStart, numberOfPages, attribute });

/** Writes one descriptor by hand (independent of toBytes) at a stride. */
function handEncode(ds: { type: number; phys: bigint; virt: bigint; pages: bigint; attr: bigint }[], stride: number, pad = 0): Uint8Array {
  const out = new Uint8Array(ds.length * stride).fill(pad);
  const v = new DataView(out.buffer);
  ds.forEach((x, i) => {
    const o = i * stride;
    v.setUint32(o, x.type, true);
    v.setUint32(o + 4, pad * 0x01010101, true);
    v.setBigUint64(o + 8, x.phys, true);
    v.setBigUint64(o + 16, x.virt, true);
    v.setBigUint64(o + 24, x.pages, true);
    v.setBigUint64(o + 32, x.attr, true);
  });
  return out;
}

describe('MemoryType and MemoryAttribute', () => {
  it('has the UEFI 2.10 values', () => {
    expect([MemoryType.Reserved, MemoryType.Conventional, MemoryType.ACPIMemoryNVS, MemoryType.PersistentMemory, MemoryType.Unaccepted]).toEqual([0, 7, 10, 14, 15]);
    expect([MemoryType.OemMin, MemoryType.OemMax, MemoryType.OsMin, MemoryType.OsMax]).toEqual([0x70000000, 0x7fffffff, 0x80000000, 0xffffffff]);
    expect(MemoryAttribute).toMatchObject({
      UC: 0x1n, WC: 0x2n, WT: 0x4n, WB: 0x8n, UCE: 0x10n, WP: 0x1000n, RP: 0x2000n, XP: 0x4000n, NV: 0x8000n,
      MORE_RELIABLE: 0x10000n, RO: 0x20000n, SP: 0x40000n, CPU_CRYPTO: 0x80000n, ISA_VALID: 1n << 62n, ISA_MASK: 0x0ffff00000000000n, RUNTIME: 1n << 63n,
    });
  });

  it('names every u32 type and reads the names back', () => {
    expect(memoryTypeName(7)).toBe('Conventional');
    expect(memoryTypeName(0x70000001)).toBe('Oem(0x70000001)');
    expect(memoryTypeName(0xffffffff)).toBe('Os(0xffffffff)');
    expect(memoryTypeName(16)).toBe('Unknown(0x10)');
    expect(memoryTypeClass(0x6fffffff)).toBe('undefined');
    for (const t of [0, 7, 15, 16, 0x70000000, 0x7fffffff, 0x80000000, 0xffffffff]) expect(memoryTypeFromName(memoryTypeName(t))).toBe(t);
    expect(memoryTypeFromName('EfiConventionalMemory')).toBe(7);
    expect(memoryTypeFromName('Nope')).toBeUndefined();
  });

  it('names attribute bits without losing unknown ones', () => {
    expect(memoryAttributeNames(0x800000000000000fn)).toEqual(['UC', 'WC', 'WT', 'WB', 'RUNTIME']);
    expect(memoryAttributeNames(0x070000000000000fn)).toEqual(['UC', 'WC', 'WT', 'WB', 'ISA(0x700000000000000)']);
    expect(memoryAttributeNames(0x20n | (1n << 61n))).toEqual(['0x2000000000000020']);
  });
});

describe('parseMemoryMap', () => {
  const one = { type: 7, phys: 0x100000n, virt: 0n, pages: 0x100n, attr: 0xfn };

  it('reads at the given stride, ignoring the padding, at any byteOffset', () => {
    const bytes = handEncode([one, { type: 0xdeadbeef, phys: 0xffffffff000n, virt: 0xffff800000000000n, pages: 1n << 40n, attr: 0xffffffffffffffffn }], 56, 0xaa);
    const map = parseMemoryMap(bytes, { descriptorSize: 56, descriptorVersion: 1 });
    expect(map.descriptors).toEqual([d(7, 0x100000, 0x100), { type: 0xdeadbeef, physicalStart: 0xffffffff000, virtualStart: 0xffff800000000000n, numberOfPages: 2 ** 40, attribute: 0xffffffffffffffffn }]);
    const shifted = new Uint8Array(bytes.length + 8);
    shifted.set(bytes, 8);
    expect(parseMemoryMap(shifted.subarray(8), { descriptorSize: 56 }).equals(map)).toBe(true);
    expect(map.descriptorSize).toBe(56);
  });

  it('never assumes a 40-byte stride: a 48-byte buffer read at 40 is a different (or no) map', () => {
    const bytes = handEncode([one, one, one, one], 48);
    expect(parseMemoryMap(bytes).length).toBe(4);
    expect(codeOf(() => parseMemoryMap(bytes, { descriptorSize: 40 }))).toBe('UEFI_BAD_BUFFER_LENGTH');
    const ten = handEncode(Array(10).fill(one), 48);
    expect(parseMemoryMap(ten, { descriptorSize: 40 }).equals(parseMemoryMap(ten, { descriptorSize: 48 }))).toBe(false);
  });

  it('keeps unknown type values exactly', () => {
    for (const type of [16, 0x6fffffff, 0x70000000, 0x7fffffff, 0x80000000, 0xffffffff]) {
      expect(parseMemoryMap(handEncode([{ ...one, type }], 48)).descriptors[0].type).toBe(type);
    }
  });

  it('accepts the largest exact values and refuses one past them', () => {
    const top = handEncode([{ ...one, phys: (1n << 52n) - 4096n, pages: 1n << 40n }], 48);
    expect(parseMemoryMap(top).descriptors[0]).toMatchObject({ physicalStart: 2 ** 52 - 4096, numberOfPages: 2 ** 40 });
    expect(codeOf(() => parseMemoryMap(handEncode([{ ...one, phys: 1n << 52n }], 48)))).toBe('UEFI_ADDRESS_TOO_LARGE');
    expect(codeOf(() => parseMemoryMap(handEncode([{ ...one, phys: 0xffffffffffffffffn }], 48)))).toBe('UEFI_ADDRESS_TOO_LARGE');
    expect(codeOf(() => parseMemoryMap(handEncode([{ ...one, pages: (1n << 40n) + 1n }], 48)))).toBe('UEFI_PAGE_COUNT_TOO_LARGE');
    expect(codeOf(() => parseMemoryMap(handEncode([{ ...one, pages: 1n << 63n }], 48)))).toBe('UEFI_PAGE_COUNT_TOO_LARGE');
  });

  it('validates descriptorSize, version, buffer and length', () => {
    const bytes = handEncode([one], 48);
    for (const size of [0, 8, 32, 39, 44, 47.5, 65544, -48, NaN, '48' as unknown as number]) {
      expect(codeOf(() => parseMemoryMap(bytes, { descriptorSize: size })), String(size)).toBe('UEFI_BAD_DESCRIPTOR_SIZE');
    }
    for (const version of [0, 2, 1.5]) expect(codeOf(() => parseMemoryMap(bytes, { descriptorVersion: version }))).toBe('UEFI_BAD_DESCRIPTOR_VERSION');
    expect(codeOf(() => parseMemoryMap(bytes.subarray(1)))).toBe('UEFI_BAD_BUFFER_LENGTH');
    expect(codeOf(() => parseMemoryMap([1, 2, 3] as unknown as Uint8Array))).toBe('UEFI_BAD_BUFFER');
    expect(codeOf(() => parseMemoryMap(bytes, { mapKey: -1 }))).toBe('UEFI_BAD_ARGUMENT');
    expect(parseMemoryMap(new Uint8Array(0)).length).toBe(0);
    const e = (() => { try { parseMemoryMap(bytes.subarray(1)); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(UefiError);
    expect(e).toBeInstanceOf(MemprimsError);
  });

  it('toBytes writes the layout a hand encoder writes, with zero padding', () => {
    const map = new MemoryMap([d(7, 0x100000, 0x100), d(0x80000001, 0xabc000, 3, 0x8000000000000001n, 0xffffffff80000000n)]);
    const byHand = handEncode([one, { type: 0x80000001, phys: 0xabc000n, virt: 0xffffffff80000000n, pages: 3n, attr: 0x8000000000000001n }], 64);
    expect(Buffer.from(map.toBytes({ descriptorSize: 64 })).equals(Buffer.from(byHand))).toBe(true);
    expect(map.toBytes().length).toBe(96);
    expect(codeOf(() => map.toBytes({ descriptorSize: 36 }))).toBe('UEFI_BAD_DESCRIPTOR_SIZE');
  });
});

describe('new MemoryMap', () => {
  it('refuses descriptors that are not exact', () => {
    const cases: [unknown, string][] = [
      [{ ...d(7, 0, 1), type: -1 }, 'UEFI_BAD_DESCRIPTOR'],
      [{ ...d(7, 0, 1), type: 2 ** 32 }, 'UEFI_BAD_DESCRIPTOR'],
      [{ ...d(7, 0, 1), physicalStart: 2 ** 52 }, 'UEFI_ADDRESS_TOO_LARGE'],
      [{ ...d(7, 0, 1), physicalStart: 0.5 }, 'UEFI_BAD_DESCRIPTOR'],
      [{ ...d(7, 0, 1), physicalStart: 4096n }, 'UEFI_BAD_DESCRIPTOR'],
      [{ ...d(7, 0, 1), numberOfPages: 2 ** 40 + 1 }, 'UEFI_PAGE_COUNT_TOO_LARGE'],
      [{ ...d(7, 0, 1), virtualStart: 0 }, 'UEFI_BAD_DESCRIPTOR'],
      [{ ...d(7, 0, 1), attribute: 1n << 64n }, 'UEFI_BAD_DESCRIPTOR'],
      [{ ...d(7, 0, 1), attribute: -1n }, 'UEFI_BAD_DESCRIPTOR'],
      [null, 'UEFI_BAD_DESCRIPTOR'],
    ];
    for (const [desc, code] of cases) expect(codeOf(() => new MemoryMap([desc as MemoryDescriptor])), JSON.stringify(desc, (_, v) => (typeof v === 'bigint' ? String(v) : v))).toBe(code);
    expect(codeOf(() => new MemoryMap('x' as unknown as MemoryDescriptor[]))).toBe('UEFI_BAD_ARGUMENT');
    expect(codeOf(() => new MemoryMap([], { descriptorSize: 41 }))).toBe('UEFI_BAD_DESCRIPTOR_SIZE');
  });

  it('copies its input: changing the caller\'s array or objects changes nothing', () => {
    const src = [{ ...d(7, 0x1000, 1) }];
    const map = new MemoryMap(src);
    (src[0] as { numberOfPages: number }).numberOfPages = 99;
    src.push(d(1, 0, 1));
    expect(map.descriptors).toEqual([d(7, 0x1000, 1)]);
    expect(Object.isFrozen(map.descriptors[0])).toBe(true);
  });
});

describe('operations', () => {
  it('sorted() is stable and totalsByType() sums per type', () => {
    const map = new MemoryMap([d(7, 0x3000, 1), d(4, 0x1000, 2), d(7, 0x1000, 0), d(4, 0x5000, 3)]);
    expect(map.sorted().descriptors.map((x) => [x.type, x.physicalStart])).toEqual([[4, 0x1000], [7, 0x1000], [7, 0x3000], [4, 0x5000]]);
    expect(map.totalsByType()).toEqual([
      { type: 4, name: 'BootServicesData', entries: 2, pages: 5, bytes: 5 * 4096 },
      { type: 7, name: 'Conventional', entries: 2, pages: 1, bytes: 4096 },
    ]);
  });

  it('merged() joins adjacent equal descriptors only', () => {
    const map = new MemoryMap([
      d(7, 0x3000, 1), d(7, 0x1000, 2), // adjacent once sorted
      d(7, 0x4000, 1, 0x8n), // different attribute
      d(7, 0x6000, 1), // gap at 0x5000
      d(5, 0x10000, 1, 0x800000000000000fn, 0xffff0000n), d(5, 0x11000, 1, 0x800000000000000fn, 0xffff1000n), // virtually contiguous
      d(5, 0x12000, 1, 0x800000000000000fn, 0x1000n), // virtually not
    ]);
    expect(map.merged().descriptors.map((x) => [x.type, x.physicalStart, x.numberOfPages])).toEqual([
      [7, 0x1000, 3], [7, 0x4000, 1], [7, 0x6000, 1], [5, 0x10000, 2], [5, 0x12000, 1],
    ]);
    expect(map.merged().merged().equals(map.merged())).toBe(true);
  });

  it('validate() reports every problem with the descriptors involved', () => {
    const map = new MemoryMap([
      d(7, 0x1000, 4), // 0
      d(0, 0x2000, 1), // 1 overlaps 0
      d(4, 0x3000, 0), // 2 zero pages (inside 0, but empty ranges overlap nothing)
      d(7, 0x4800, 1), // 3 unaligned, overlaps 0
      d(7, 2 ** 52 - 4096, 2), // 4 past 2^52
      d(5, 0x100000, 2, 0x800000000000000fn, 0xfffffffffffff000n), // 5 virtual past 2^64
      d(5, 0x200000, 1, 0x800000000000000fn, 0x10n), // 6 unaligned virtual
    ]);
    const report = map.validate();
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.kind, p.descriptors])).toEqual([
      ['zero-pages', [2]], ['unaligned-start', [3]], ['past-2^52', [4]], ['virtual-past-2^64', [5]], ['unaligned-virtual', [6]],
      ['overlap', [0, 1]], ['overlap', [0, 3]],
    ]);
    expect(report.problems.find((p) => p.kind === 'overlap')!.message).toContain('descriptors 0');
    expect(new MemoryMap([d(7, 0, 1), d(7, 0x1000, 1)]).validate()).toEqual({ ok: true, problems: [] });
  });

  it('usableAfterExitBootServices() takes the usable types, never another type, and honours inUse', () => {
    const map = new MemoryMap([
      d(7, 0x0, 0x10), // Conventional 0..0x10000
      d(3, 0x10000, 0x10), // BS code, touching: merged
      d(0, 0x8000, 2), // buggy: Reserved inside the Conventional one
      d(1, 0x40000, 4), // LoaderCode (kernel image) 0x40000..0x44000
      d(9, 0x50000, 1), // ACPI reclaim
      d(6, 0x60000, 1, 0x800000000000000fn), // runtime data
      d(7, 0x60000, 4), // buggy: Conventional over the runtime data
      d(11, 0xfec00000, 1, 0x8000000000000001n),
    ]);
    expect(map.usableAfterExitBootServices()).toEqual([
      { start: 0, end: 0x8000 }, { start: 0xa000, end: 0x20000 }, { start: 0x40000, end: 0x44000 }, { start: 0x61000, end: 0x64000 },
    ]);
    expect(map.usableAfterExitBootServices({ inUse: [{ start: 0x40000, end: 0x44000 }, { start: 0x100, end: 0x1100 }] })).toEqual([
      { start: 0x2000, end: 0x8000 }, { start: 0xa000, end: 0x20000 }, { start: 0x61000, end: 0x64000 },
    ]);
    expect(codeOf(() => map.usableAfterExitBootServices({ inUse: [{ start: 5, end: 1 }] }))).toBe('ADDR_BAD_RANGE');
    expect(codeOf(() => map.usableAfterExitBootServices({ inUse: 'x' as never }))).toBe('UEFI_BAD_ARGUMENT');
    expect(new MemoryMap([d(7, 0x1800, 2), d(7, 2 ** 52 - 4096, 4)]).usableAfterExitBootServices()).toEqual([{ start: 0x2000, end: 0x3000 }, { start: 2 ** 52 - 4096, end: 2 ** 52 }]);
    expect(map.runtimeRegions().map((x) => x.type)).toEqual([6, 11]);
  });

  it('toJSON, toTable and toSVG show every descriptor', () => {
    const map = new MemoryMap([d(3, 0, 1), d(7, 0x1000, 0x9f), d(7, 0x100000000, 0x40000), d(0x80000000, 0xfec00000, 1, 0x1n)]);
    const json = map.toJSON() as { descriptors: { physicalStart: string; typeName: string }[] };
    expect(json.descriptors.map((x) => x.physicalStart)).toEqual(['0x0', '0x1000', '0x100000000', '0xfec00000']);
    const table = map.toTable();
    expect(table).toContain('0x000100000000');
    expect(table).toContain('Os(0x80000000)');
    expect(table).toMatch(/Conventional\s+2 entries\s+262303 pages/);
    const svg = map.toSVG();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/data-type="/g)).toHaveLength(4);
    expect(svg).toContain('>1 MiB<');
    expect(svg).toContain('>4 GiB<');
    expect(svg).toContain('Conventional (');
    // the first MiB and the RAM above 4 GiB both get a visible share of the width
    const widthOf = (start: string): number => Number(new RegExp(`<rect x="[0-9.]+" y="40" width="([0-9.]+)"[^>]*><title>[A-Za-z]+ ${start}-`).exec(svg)![1]);
    expect(widthOf('0x1000')).toBeGreaterThan(100);
    expect(widthOf('0x100000000')).toBeGreaterThan(100);
  });
});

describe('review fixes', () => {
  it('usable memory never includes a descriptor with the RUNTIME attribute, whatever its type', () => {
    const RT = 0x8000_0000_0000_000fn;
    const map = new MemoryMap([
      { type: MemoryType.Conventional, physicalStart: 0, virtualStart: 0n, numberOfPages: 16, attribute: RT },
      { type: MemoryType.BootServicesData, physicalStart: 0x10000, virtualStart: 0n, numberOfPages: 16, attribute: RT },
      { type: MemoryType.BootServicesData, physicalStart: 0x20000, virtualStart: 0n, numberOfPages: 16, attribute: 0xfn },
    ]);
    expect(map.usableAfterExitBootServices()).toEqual([{ start: 0x20000, end: 0x30000 }]);
    expect(map.runtimeRegions().length).toBe(2);
  });

  it('toBytes() defaults to the stride the map was parsed at', () => {
    const d = { type: 7, physicalStart: 0x1000, virtualStart: 0n, numberOfPages: 1, attribute: 0xfn };
    const bytes56 = new MemoryMap([d, d].map((x, i) => ({ ...x, physicalStart: x.physicalStart * (i + 1) }))).toBytes({ descriptorSize: 56 });
    const parsed = parseMemoryMap(bytes56, { descriptorSize: 56, descriptorVersion: 1 });
    expect(parsed.toBytes()).toEqual(bytes56);
    expect(new MemoryMap([d]).toBytes().length).toBe(48);
  });

  it('text parsers take an ArrayBuffer too', () => {
    const text = 'efi: mem00: type=7, attr=0xf, range=[0x0-0x1000)';
    const buffer = new TextEncoder().encode(text).buffer as ArrayBuffer;
    expect(parseLinuxEfiLog(buffer).descriptors.length).toBe(1);
  });
});
