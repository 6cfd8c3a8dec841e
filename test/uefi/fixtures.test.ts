// Real maps: every OVMF / UEFI Shell capture and the Linux boot log in test/fixtures/uefi,
// checked against the independent decode, the capture metadata, the HEX dumps printed over
// the serial console, the e820 table of the same boot, and byte-exact re-rendering.
import { describe, expect, it } from 'vitest';
import {
  encodeUtf16leWithBom, MemoryMap, MemoryType, parseLinuxEfiLog, parseMemoryMap, parseShellMemmap, SPEC_ENUM_NAMES,
  type MemoryDescriptor,
} from '../../src/uefi/index.js';
import { fixtureBytes, fixtureJson, fixtureText, rawCaptures } from './helpers.js';

const parseCapture = (c: ReturnType<typeof rawCaptures>[number]): MemoryMap => {
  const meta = fixtureJson(c.meta);
  return parseMemoryMap(fixtureBytes(c.bin), { descriptorSize: meta.descriptor_size, descriptorVersion: meta.descriptor_version, mapKey: meta.map_key });
};
const endOf = (d: MemoryDescriptor): number => d.physicalStart + d.numberOfPages * 4096;

describe('raw GetMemoryMap captures (OVMF and the app run from the Shell)', () => {
  const captures = rawCaptures();
  it('has all 12 captures', () => expect(captures).toHaveLength(12));

  for (const c of captures) {
    describe(c.rel, () => {
      const meta = fixtureJson(c.meta);
      const decoded = fixtureJson(c.decoded);
      const map = parseCapture(c);

      it('parses to the independent decode, field by field, in source order', () => {
        expect(meta.descriptor_size).toBe(48);
        expect(map.length).toBe(meta.descriptor_count);
        expect(map.length).toBe(decoded.descriptors.length);
        expect(map.mapKey).toBe(meta.map_key);
        map.descriptors.forEach((d, i) => {
          const x = decoded.descriptors[i];
          expect(d.type).toBe(x.type);
          expect(SPEC_ENUM_NAMES[d.type]).toBe(x.type_name);
          expect(d.physicalStart).toBe(Number(BigInt(x.physical_start)));
          expect(endOf(d)).toBe(Number(BigInt(x.physical_end_exclusive)));
          expect(d.virtualStart).toBe(BigInt(x.virtual_start));
          expect(d.numberOfPages).toBe(x.number_of_pages);
          expect(d.attribute).toBe(BigInt(x.attribute));
        });
      });

      it('toBytes() reproduces the firmware buffer byte for byte', () => {
        expect(decoded.descriptors.every((x: any) => x.pad_u32_at_4 === 0 && /^0*$/.test(x.trailing_bytes_hex))).toBe(true);
        expect(Buffer.from(map.toBytes()).equals(Buffer.from(fixtureBytes(c.bin)))).toBe(true);
        expect(parseMemoryMap(map.toBytes({ descriptorSize: 40 }), { descriptorSize: 40 }).equals(map)).toBe(true);
      });

      it('agrees with the decode summary (totals, sortedness, overlaps, highest end)', () => {
        const s = decoded.summary;
        const totals = map.totalsByType();
        expect(totals.length).toBe(Object.keys(s.by_type).length);
        for (const t of totals) {
          expect(s.by_type[SPEC_ENUM_NAMES[t.type]]).toEqual({ entries: t.entries, pages: t.pages });
        }
        expect(map.sorted().equals(map)).toBe(s.sorted_by_physical_start);
        expect(map.validate().problems.filter((p) => p.kind === 'overlap')).toHaveLength(s.overlapping_pairs.length);
        expect(map.validate().ok).toBe(true);
        expect(Math.max(...map.descriptors.map(endOf))).toBe(Number(BigInt(s.highest_end_exclusive)));
      });

      it('shows the README facts: no descriptor in 0xA0000-0xFFFFF, size query 7 descriptors larger', () => {
        expect(map.descriptors.some((d) => d.numberOfPages > 0 && d.physicalStart < 0x100000 && endOf(d) > 0xa0000)).toBe(false);
        expect(meta.query_map_size - meta.map_size).toBe(7 * meta.descriptor_size);
      });

      it('usable ranges stay inside usable types and out of everything else', () => {
        const usable = map.usableAfterExitBootServices();
        const usableTypes = new Set<number>([1, 2, 3, 4, 7]);
        for (const r of usable) {
          for (const d of map.descriptors) {
            if (!usableTypes.has(d.type)) expect(r.end <= d.physicalStart || r.start >= endOf(d)).toBe(true);
          }
        }
        const usablePages = map.descriptors.filter((d) => usableTypes.has(d.type)).reduce((s, d) => s + d.numberOfPages, 0);
        expect(usable.reduce((s, r) => s + (r.end - r.start) / 4096, 0)).toBe(usablePages);
      });
    });
  }

  it('pc-6G lists RAM above 4 GiB before the MMIO below it (unsorted)', () => {
    const map = parseCapture(rawCaptures().find((c) => c.rel === 'ovmf/pc-6G/initial')!);
    const high = map.descriptors.findIndex((d) => d.physicalStart === 0x100000000);
    const mmio = map.descriptors.findIndex((d) => d.type === MemoryType.MemoryMappedIO);
    expect(high).toBeGreaterThan(0);
    expect(high).toBeLessThan(mmio);
    expect(map.sorted().descriptors.at(-1)!.physicalStart).toBe(0x100000000);
  });

  it('at_exit is byte-identical to after_alloc with a different map key', () => {
    for (const dir of ['ovmf/pc-128M', 'ovmf/pc-6G', 'ovmf/q35-2G']) {
      expect(Buffer.from(fixtureBytes(`${dir}/at_exit.bin`)).equals(Buffer.from(fixtureBytes(`${dir}/after_alloc.bin`)))).toBe(true);
      expect(fixtureJson(`${dir}/at_exit.json`).map_key).not.toBe(fixtureJson(`${dir}/after_alloc.json`).map_key);
    }
  });

  it('every successful AllocatePages result lies in LoaderData, and inUse keeps it out of the usable ranges', () => {
    for (const dir of ['ovmf/pc-128M', 'ovmf/pc-6G', 'ovmf/q35-2G']) {
      const meta = fixtureJson(`${dir}/after_alloc.json`);
      const map = parseCapture(rawCaptures().find((c) => c.rel === `${dir}/after_alloc`)!);
      const allocs = meta.allocations.filter((a: any) => a.call.startsWith('AllocatePages') && a.status === '0x0');
      expect(allocs.length).toBe(3);
      const inUse = allocs.map((a: any) => ({ start: Number(a.result), end: Number(a.result) + Number(a.count) * 4096 }));
      for (const r of inUse) {
        expect(map.descriptors.some((d) => d.type === MemoryType.LoaderData && d.physicalStart <= r.start && endOf(d) >= r.end)).toBe(true);
      }
      const usable = map.usableAfterExitBootServices({ inUse });
      for (const r of inUse) for (const u of usable) expect(u.end <= r.start || u.start >= r.end).toBe(true);
      const before = map.usableAfterExitBootServices().reduce((s, u) => s + u.end - u.start, 0);
      const after = usable.reduce((s, u) => s + u.end - u.start, 0);
      expect(before - after).toBe(inUse.reduce((s: number, r: any) => s + r.end - r.start, 0));
    }
  });
});

/** Reads the `HEX offset bytes` dump of one labelled block the capture app printed. */
function hexDump(log: string, label: string): Uint8Array {
  const lines = log.split(/\r?\n/);
  const begin = lines.findIndex((l) => l.trim() === `=====BEGIN UEFI-MEMMAP label=${label}=====`);
  const end = lines.findIndex((l, i) => i > begin && l.trim() === `=====END UEFI-MEMMAP label=${label}=====`);
  expect(begin).toBeGreaterThanOrEqual(0);
  const bytes: number[] = [];
  for (const l of lines.slice(begin, end)) {
    const m = /^HEX ([0-9a-f]{6}) ([0-9a-f]+)\s*$/.exec(l);
    if (!m) continue;
    expect(Number.parseInt(m[1], 16)).toBe(bytes.length);
    for (let i = 0; i < m[2].length; i += 2) bytes.push(Number.parseInt(m[2].slice(i, i + 2), 16));
  }
  return Uint8Array.from(bytes);
}

describe('the same map as printed text (HEX dumps on the serial console and debugcon)', () => {
  const serial = fixtureText('shell/q35-512M/serial.log');
  const debugcon = fixtureText('shell/q35-512M/debugcon.log');
  for (const [label, log] of [['initial', serial], ['after_alloc', serial], ['at_exit', debugcon]] as const) {
    it(`${label}: the dump parses to the same map as app-${label}.bin`, () => {
      const dumped = hexDump(log, label);
      const bin = fixtureBytes(`shell/q35-512M/app-${label}.bin`);
      expect(Buffer.from(dumped).equals(Buffer.from(bin))).toBe(true);
      expect(parseMemoryMap(dumped, { descriptorSize: 48, descriptorVersion: 1 }).equals(parseMemoryMap(bin, { descriptorSize: 48, descriptorVersion: 1 }))).toBe(true);
    });
  }
});

describe('UEFI Shell memmap output (q35-512M)', () => {
  const dir = 'shell/q35-512M';
  const consolePlain = parseShellMemmap(fixtureText(`${dir}/memmap.console.txt`));
  const consoleSfo = parseShellMemmap(fixtureText(`${dir}/memmap-sfo.console.txt`));
  const filePlain = parseShellMemmap(fixtureBytes(`${dir}/memmap.file.utf16le.txt`));
  const fileSfo = parseShellMemmap(fixtureBytes(`${dir}/memmap-sfo.file.utf16le.txt`));

  it('the UTF-16LE file bytes and their UTF-8 text give the same map', () => {
    expect(filePlain.equals(parseShellMemmap(fixtureText(`${dir}/memmap.file.utf8.txt`)))).toBe(true);
    expect(fileSfo.equals(parseShellMemmap(fixtureBytes(`${dir}/memmap-sfo.file.utf8.txt`)))).toBe(true);
  });

  it('plain and -sfo agree within the console run and within the file run', () => {
    expect(consolePlain.length).toBe(125);
    expect(filePlain.length).toBe(123);
    expect(consolePlain.equals(consoleSfo)).toBe(true);
    expect(filePlain.equals(fileSfo)).toBe(true);
  });

  it('console and file runs differ only by the one block the README mentions', () => {
    const inBlock = (d: MemoryDescriptor): boolean => d.physicalStart >= 0x1de3a000 && endOf(d) <= 0x1e544000;
    expect(new MemoryMap(consolePlain.descriptors.filter((d) => !inBlock(d))).equals(new MemoryMap(filePlain.descriptors.filter((d) => !inBlock(d))))).toBe(true);
    expect(consolePlain.descriptors.filter(inBlock).map((d) => d.type)).toEqual([4, 7, 4]);
    expect(filePlain.descriptors.filter(inBlock).map((d) => [d.type, d.numberOfPages])).toEqual([[4, 0x70a]]);
  });

  it('the serial console log (escape codes, both listings) gives the console map', () => {
    expect(parseShellMemmap(fixtureBytes(`${dir}/serial.log`)).equals(consolePlain)).toBe(true);
  });

  it('renders back byte-exact: console text, file text, and the UTF-16LE file bytes', () => {
    expect(consolePlain.toShellMemmap()).toBe(fixtureText(`${dir}/memmap.console.txt`));
    expect(consoleSfo.toShellMemmap({ sfo: true })).toBe(fixtureText(`${dir}/memmap-sfo.console.txt`));
    expect(filePlain.toShellMemmap({ newline: '\r\n' })).toBe(fixtureText(`${dir}/memmap.file.utf8.txt`));
    const fileBytes = encodeUtf16leWithBom(fileSfo.toShellMemmap({ sfo: true, newline: '\r\n' }));
    expect(Buffer.from(fileBytes).equals(Buffer.from(fixtureBytes(`${dir}/memmap-sfo.file.utf16le.txt`)))).toBe(true);
    expect(Buffer.from(encodeUtf16leWithBom(filePlain.toShellMemmap({ newline: '\r\n' }))).equals(Buffer.from(fixtureBytes(`${dir}/memmap.file.utf16le.txt`)))).toBe(true);
  });

  it('firmware-owned regions (ACPI, runtime, reserved, MMIO) equal those of the raw map the app took next', () => {
    const app = parseMemoryMap(fixtureBytes(`${dir}/app-initial.bin`), { descriptorSize: 48, descriptorVersion: 1 });
    const fixed = (m: MemoryMap): MemoryDescriptor[] => m.descriptors.filter((d) => [0, 5, 6, 9, 10, 11].includes(d.type));
    expect(fixed(filePlain).length).toBeGreaterThan(5);
    expect(new MemoryMap(fixed(filePlain)).equals(new MemoryMap(fixed(app)))).toBe(true);
  });
});

describe('Linux efi=debug boot log (ASUS UX391FA, AMI firmware, Linux 5.3)', () => {
  const text = fixtureText('linux-efi-debug/asus-zenbook-ux391fa-ami-2.70-linux-5.3.11.txt');
  const map = parseLinuxEfiLog(text);

  it('reads all 49 entries, with the blank-column, raw-attr and RUN entries exact', () => {
    expect(map.length).toBe(49);
    expect(map.descriptors[0]).toEqual({ type: 7, physicalStart: 0, virtualStart: 0n, numberOfPages: 1, attribute: 0xfn });
    expect(map.descriptors[39]).toEqual({ type: 0, physicalStart: 0xa0000, virtualStart: 0n, numberOfPages: 0x60, attribute: 0n });
    expect(map.descriptors[41].attribute).toBe(0x070000000000000fn);
    expect(map.descriptors[43]).toEqual({ type: 11, physicalStart: 0xf0000000, virtualStart: 0n, numberOfPages: 0x8000, attribute: 0x800000000000100dn });
    expect(map.runtimeRegions().map((d) => d.type)).toEqual([6, 5, 11, 11, 11, 11, 11, 11]);
  });

  it('matches the e820 table the same kernel printed from it', () => {
    const e820Kind = (t: number): string => ([1, 2, 3, 4, 7].includes(t) ? 'usable' : t === 9 ? 'ACPI data' : t === 10 ? 'ACPI NVS' : 'reserved');
    const ranges: { start: number; end: number; kind: string }[] = [];
    for (const d of map.sorted().descriptors) {
      const last = ranges.at(-1);
      if (last && last.end === d.physicalStart && last.kind === e820Kind(d.type)) last.end = endOf(d);
      else ranges.push({ start: d.physicalStart, end: endOf(d), kind: e820Kind(d.type) });
    }
    const e820 = [...text.matchAll(/BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] (.+)$/gm)].map((m) => ({ start: Number.parseInt(m[1], 16), end: Number.parseInt(m[2], 16) + 1, kind: m[3] }));
    expect(e820.length).toBe(16);
    expect(ranges).toEqual(e820);
  });

  it('renders back to the exact kernel lines (5.3 style)', () => {
    const lines = text.split('\n').filter((l) => l.startsWith('efi: mem')).join('\n') + '\n';
    expect(map.toLinuxEfiLog({ style: '5.3' })).toBe(lines);
  });
});
