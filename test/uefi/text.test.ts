// Text formats: every variant of Linux efi=debug lines and UEFI Shell memmap output that
// people paste, and the lines that must be refused rather than misread.
import { describe, expect, it } from 'vitest';
import { MemoryMap, parseLinuxEfiLog, parseShellMemmap, UefiError } from '../../src/uefi/index.js';
import { codeOf } from './helpers.js';

const conv = { type: 7, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 0x100, attribute: 0xfn };

describe('parseLinuxEfiLog', () => {
  const current = 'efi: mem05: [Conventional|   |  |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000100000-0x00000000001fffff] (1MB)';

  it('reads a current-kernel line behind dmesg, journal and syslog prefixes', () => {
    const body = current.replace('mem05', 'mem00');
    for (const prefix of ['', '[    0.000000] ', '<6>[    0.000000] ', 'Nov 22 10:00:01 host kernel: [    0.000000] ', 'kernel: ', '2019-11-22T10:00:01+0100 host kernel: ']) {
      const map = parseLinuxEfiLog(`noise line\n${prefix}${body}\n${prefix}efi: other stuff\n`);
      expect(map.descriptors).toEqual([conv]);
    }
  });

  it('takes inclusive "]" and half-open ")" range ends', () => {
    const inclusive = parseLinuxEfiLog('efi: mem00: [Boot Data          |   |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000001000-0x0000000000002fff] (0MB)');
    const halfOpen = parseLinuxEfiLog('efi: mem00: [Boot Data          |   |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000001000-0x0000000000003000) (0MB)');
    expect(inclusive.descriptors[0].numberOfPages).toBe(2);
    expect(halfOpen.equals(inclusive)).toBe(true);
  });

  it('reads a 5.x log with the SP column, padded with trailing spaces, and renders it back (5.10 style)', () => {
    // Lines of a Linux 5.x boot under QEMU/OVMF (public bug report), 19-column names, columns RUN|MR|SP|NV|XP|RP|WP|RO|UCE|WB|WT|WC|UC.
    const lines = [
      '[    0.000000] efi: mem00: [Boot Code          |   |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000000000-0x0000000000000fff] (0MB)',
      '[    0.000000] efi: mem01: [Conventional Memory|   |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000001000-0x000000000009ffff] (0MB)',
      '[    0.000000] efi: mem02: [Loader Data        |   |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000001400000-0x00000000033e5fff] (31MB)',
      '[    0.000000] efi: mem03: [Runtime Code       |RUN|  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x00000000bea71000-0x00000000bea75fff] (0MB)',
      '[    0.000000] efi: mem04: [ACPI Reclaim Memory|   |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x00000000bfbf3000-0x00000000bfbfafff] (0MB)',
      '[    0.000000] efi: mem05: [Memory Mapped I/O  |RUN|  |  |  |  |  |  |  |   |  |  |  |UC] range=[0x00000000ffc00000-0x00000000ffffffff] (4MB)',
    ];
    const map = parseLinuxEfiLog(lines.map((l) => l + ' '.repeat(60)).join('\n') + '\n[    0.000000] SMBIOS 2.8 present.\n');
    expect(map.descriptors.map((d) => [d.type, d.numberOfPages, d.attribute])).toEqual([
      [3, 1, 0xfn], [7, 0x9f, 0xfn], [2, 0x1fe6, 0xfn], [5, 5, 0x800000000000000fn], [9, 8, 0xfn], [11, 0x400, 0x8000000000000001n],
    ]);
    // the map is not contiguous (lines were excerpted), but each line renders back exactly
    expect(map.toLinuxEfiLog({ style: '5.10', prefix: '[    0.000000] efi: ' })).toBe(lines.join('\n') + '\n');
  });

  it('reads the old numeric form and unknown types as type=N', () => {
    const old = parseLinuxEfiLog('[    0.000000] efi: mem00: type=7, attr=0xf, range=[0x0000000000100000-0x0000000000200000) (1MB)');
    expect(old.descriptors).toEqual([conv]);
    const oem = parseLinuxEfiLog('efi: mem00: [type=1879048193|   |  |  |  |  |  |  |  |  |   |  |  |  |UC] range=[0x0000000000001000-0x0000000000001fff] (0MB)');
    expect(oem.descriptors[0]).toMatchObject({ type: 0x70000001, attribute: 1n });
  });

  it('reads entries without cache attributes and raw attr values', () => {
    const map = parseLinuxEfiLog([
      'efi: mem00: [Reserved           |   |  |  |  |  |  |  |   |  |  |  |  ] range=[0x00000000000a0000-0x00000000000fffff] (0MB)',
      'efi: mem01: [Reserved           |attr=0x070000000000000f] range=[0x000000007a700000-0x000000007a7fffff] (1MB)',
      'efi: mem02: [MMIO        |RUN|  |  |  |  |  |  |WP|  |   |WB|WT|  |UC] range=[0x00000000fec00000-0x00000000fec00fff] (0MB)',
    ].join('\n'));
    expect(map.descriptors.map((d) => d.attribute)).toEqual([0n, 0x070000000000000fn, 0x800000000000100dn]);
  });

  it('keeps source order of unsorted maps', () => {
    const map = parseLinuxEfiLog('efi: mem00: type=7, attr=0xf, range=[0x0000000100000000-0x0000000100001000) (0MB)\nefi: mem01: type=11, attr=0x8000000000000001, range=[0x00000000fec00000-0x00000000fec01000) (0MB)');
    expect(map.descriptors.map((d) => d.physicalStart)).toEqual([0x100000000, 0xfec00000]);
    expect(map.sorted().descriptors.map((d) => d.physicalStart)).toEqual([0xfec00000, 0x100000000]);
  });

  it('round-trips its own output in all three styles', () => {
    const m = new MemoryMap([
      conv,
      { type: 5, physicalStart: 0x7a317000, virtualStart: 0n, numberOfPages: 0xf7, attribute: 0x800000000000000fn },
      { type: 0x80000001, physicalStart: 0x200000000, virtualStart: 0n, numberOfPages: 0x40000, attribute: 0x4000000000000000n },
      { type: 9, physicalStart: 0x5000, virtualStart: 0n, numberOfPages: 0, attribute: 0n },
    ]);
    for (const style of ['current', '5.10', '5.3', 'legacy'] as const) expect(parseLinuxEfiLog(m.toLinuxEfiLog({ style })).equals(m)).toBe(true);
    expect(m.toLinuxEfiLog().split('\n')[0]).toBe('efi: mem00: [Conventional|   |  |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000100000-0x00000000001fffff] (1MB)');
  });

  it('refuses lines that look like descriptors but are not exact', () => {
    const bad: [string, string][] = [
      ['efi: mem00: [Conventional|   |  |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000100000-0x00000000001fffff', 'UEFI_TEXT_MALFORMED'],
      ['efi: mem00: [Conventionl |   |WB|WT|WC|UC] range=[0x0000000000100000-0x00000000001fffff] (1MB)', 'UEFI_TEXT_MALFORMED'],
      ['efi: mem00: [Conventional|XX|WB] range=[0x0000000000100000-0x00000000001fffff] (1MB)', 'UEFI_TEXT_MALFORMED'],
      ['efi: mem00: [Conventional|WB] range=[0x0000000000100000-0x00000000001ffffe] (1MB)', 'UEFI_TEXT_INCONSISTENT'],
      ['efi: mem00: [Conventional|WB] range=[0x0000000000100000-0x00000000001fffff] (2MB)', 'UEFI_TEXT_INCONSISTENT'],
      ['efi: mem00: [Conventional|WB] range=[0x0000000000300000-0x00000000001fffff] (0MB)', 'UEFI_TEXT_INCONSISTENT'],
      ['efi: mem00: type=7, attr=0xf, range=[0x0010000000000000-0x0010000000001000) (0MB)', 'UEFI_ADDRESS_TOO_LARGE'],
      ['efi: mem00: type=7, attr=0xf, range=[0x0000000000000000-0x0010000000001000) (4294967296MB)', 'UEFI_PAGE_COUNT_TOO_LARGE'],
      ['efi: mem00: type=99999999999, attr=0xf, range=[0x0000000000000000-0x0000000000001000) (0MB)', 'UEFI_TEXT_MALFORMED'],
      ['efi: mem00: type=7, attr=0x1ffffffffffffffff, range=[0x0000000000000000-0x0000000000001000) (0MB)', 'UEFI_TEXT_MALFORMED'],
      ['nothing here\nefi: EFI v2.70', 'UEFI_TEXT_NO_DESCRIPTORS'],
      ['efi: mem00: type=7, attr=0xf, range=[0x0-0x1000)\nefi: mem00: type=7, attr=0xf, range=[0x0-0x2000)', 'UEFI_TEXT_AMBIGUOUS'],
    ];
    for (const [text, code] of bad) {
      expect(codeOf(() => parseLinuxEfiLog(text)), text).toBe(code);
    }
  });

  it('takes an excerpt: a listing may start at any memNN and skip lines', () => {
    const one = parseLinuxEfiLog('efi: mem07: [Conventional|   |  |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000100000-0x00000000001fffff] (1MB)');
    expect(one.descriptors).toEqual([{ type: 7, physicalStart: 0x100000, virtualStart: 0n, numberOfPages: 256, attribute: 0xfn }]);
    const gap = parseLinuxEfiLog('efi: mem00: type=7, attr=0xf, range=[0x0-0x1000)\nefi: mem02: type=4, attr=0xf, range=[0x1000-0x2000)');
    expect(gap.descriptors.map((d) => [d.type, d.physicalStart])).toEqual([[7, 0], [4, 0x1000]]);
    // An index that does not grow starts another listing, which must be the same map.
    expect(codeOf(() => parseLinuxEfiLog('efi: mem03: type=7, attr=0xf, range=[0x0-0x1000)\nefi: mem03: type=7, attr=0xf, range=[0x0-0x1000)'))).toBeUndefined();
    expect(codeOf(() => parseLinuxEfiLog('efi: mem03: type=7, attr=0xf, range=[0x0-0x1000)\nefi: mem02: type=7, attr=0xf, range=[0x0-0x1000)'))).toBe('UEFI_TEXT_AMBIGUOUS');
  });

  it('accepts the same map printed twice, and errors carry the line number', () => {
    const once = 'efi: mem00: type=7, attr=0xf, range=[0x0-0x1000)\n';
    expect(parseLinuxEfiLog(once + 'x\n' + once).length).toBe(1);
    try {
      parseLinuxEfiLog('a\nb\nefi: mem00: [Conventional|WB] range=[0x0000000000100000-0x00000000001fffff] (9MB)');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UefiError);
      expect((e as UefiError).details.line).toBe(3);
      expect((e as UefiError).message).toMatch(/^line 3: /);
    }
  });
});

describe('parseShellMemmap', () => {
  const plain = [
    'Type       Start            End              # Pages          Attributes',
    'Available  0000000000100000-00000000001FFFFF 0000000000000100 000000000000000F',
    'RT_Code    000000001F5EC000-000000001F6EBFFF 0000000000000100 800000000000000F',
    '',
  ].join('\n');

  it('reads plain output with CRLF, LF and as UTF-16LE-with-BOM bytes', () => {
    const map = parseShellMemmap(plain);
    expect(map.descriptors[0]).toEqual(conv);
    expect(map.descriptors[1]).toMatchObject({ type: 5, physicalStart: 0x1f5ec000, numberOfPages: 0x100, attribute: 0x800000000000000fn });
    const crlf = plain.replace(/\n/g, '\r\n');
    expect(parseShellMemmap(crlf).equals(map)).toBe(true);
    const utf16 = new Uint8Array([0xff, 0xfe, ...Array.from(crlf).flatMap((c) => [c.charCodeAt(0), 0])]);
    expect(parseShellMemmap(utf16).equals(map)).toBe(true);
  });

  it('renders and reads 0-page rows as the shell prints them (End = Start + 4096 * Pages - 1 in u64)', () => {
    const m = new MemoryMap([
      { type: 0, physicalStart: 0, virtualStart: 0n, numberOfPages: 0, attribute: 0n },
      { type: 7, physicalStart: 0x5000, virtualStart: 0n, numberOfPages: 0, attribute: 0xfn },
    ]);
    const plain = m.toShellMemmap();
    expect(plain).toContain('0000000000000000-FFFFFFFFFFFFFFFF 0000000000000000');
    expect(plain).toContain('0000000000005000-0000000000004FFF 0000000000000000');
    expect(parseShellMemmap(plain).equals(m)).toBe(true);
    const sfo = m.toShellMemmap({ sfo: true });
    expect(sfo).toContain('"0","FFFFFFFFFFFFFFFF","0"');
    expect(parseShellMemmap(sfo).equals(m)).toBe(true);
  });

  it('reads -sfo output and OEM types printed as hex in plain output', () => {
    const sfo = parseShellMemmap('ShellCommand,"memmap"\r\nMemoryMap,"Available","100000","1FFFFF","100","F"\r\nMemoryMapSummary,"1"\r\n');
    expect(sfo.descriptors).toEqual([conv]);
    const oem = new MemoryMap([{ ...conv, type: 0x70000002 }]);
    expect(oem.toShellMemmap()).toContain('70000002   0000000000100000-00000000001FFFFF');
    expect(parseShellMemmap(oem.toShellMemmap()).equals(oem)).toBe(true);
    expect(oem.toShellMemmap({ sfo: true })).not.toContain('MemoryMap,"');
  });

  it('refuses malformed and inconsistent rows, different listings, odd UTF-16', () => {
    const bad: [string | Uint8Array, string][] = [
      ['Available  0000000000100000-00000000001FFFFF 0000000000000100', 'UEFI_TEXT_MALFORMED'],
      ['Availble   0000000000100000-00000000001FFFFF 0000000000000100 000000000000000F', 'UEFI_TEXT_MALFORMED'],
      ['Available  0000000000100000-00000000001FFFFF 0000000000000101 000000000000000F', 'UEFI_TEXT_INCONSISTENT'],
      ['Available  0000000000100800-00000000001FFFFF 0000000000000100 000000000000000F', 'UEFI_TEXT_INCONSISTENT'],
      ['MemoryMap,"Available","100000","1FFFFF","100"', 'UEFI_TEXT_MALFORMED'],
      ['MemoryMap,"Available","10000000000000","10000000000FFF","1","F"', 'UEFI_ADDRESS_TOO_LARGE'],
      ['no map here', 'UEFI_TEXT_NO_DESCRIPTORS'],
      [plain + 'MemoryMap,"Available","100000","2FFFFF","200","F"\n', 'UEFI_TEXT_AMBIGUOUS'],
      [new Uint8Array([0xff, 0xfe, 0x41]), 'UEFI_BAD_ENCODING'],
      [new Uint8Array([0xc3, 0x28]), 'UEFI_BAD_ENCODING'],
    ];
    for (const [input, code] of bad) expect(codeOf(() => parseShellMemmap(input)), String(input)).toBe(code);
    expect(codeOf(() => parseShellMemmap(42 as unknown as string))).toBe('UEFI_BAD_ARGUMENT');
  });
});
