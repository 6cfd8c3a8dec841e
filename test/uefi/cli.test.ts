// `memprims memmap`: run through main() with captured output, and once as a real process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseMemoryMap } from '../../src/uefi/index.js';
import { FIXTURES, fixtureBytes } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fx = (rel: string): string => join(FIXTURES, rel);

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['memmap', ...argv], { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

function expectOneLineError(r: { code: number; out: string; err: string }, code: number, pattern: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.out).toBe('');
  expect(r.err.split('\n')).toHaveLength(2); // one line + final newline
  expect(r.err).toMatch(/^memprims: /);
  expect(r.err).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('memprims memmap', () => {
  it('auto-detects a raw buffer, an efi=debug log and Shell text (UTF-16LE file bytes too)', async () => {
    const cases: [string, string, number][] = [
      ['ovmf/pc-6G/initial.bin', 'raw', 123],
      ['linux-efi-debug/asus-zenbook-ux391fa-ami-2.70-linux-5.3.11.txt', 'linux-efi-debug', 49],
      ['shell/q35-512M/memmap.file.utf16le.txt', 'shell', 123],
      ['shell/q35-512M/memmap-sfo.console.txt', 'shell', 125],
      ['shell/q35-512M/serial.log', 'shell', 125],
    ];
    for (const [file, format, count] of cases) {
      const r = await run(fx(file));
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out.split('\n')[0]).toBe(`${fx(file)}: ${format}, ${count} descriptors`);
      expect(r.out).toContain('Totals by type:');
    }
  });

  it('--json prints the descriptors; --usable the usable ranges', async () => {
    const bin = fx('ovmf/pc-6G/initial.bin');
    const json = JSON.parse((await run(bin, '--json')).out);
    expect(json.format).toBe('raw');
    expect(json.descriptors).toHaveLength(123);
    expect(json.descriptors[7]).toMatchObject({ type: 7, typeName: 'Conventional', physicalStart: '0x1500000', numberOfPages: 763509, attribute: '0xf' });
    expect(json.problems).toEqual([]);
    const usable = (await run(bin, '--usable')).out.trim().split('\n');
    const expected = parseMemoryMap(fixtureBytes('ovmf/pc-6G/initial.bin')).usableAfterExitBootServices();
    expect(usable).toHaveLength(expected.length + 1);
    expect(usable[0]).toBe(`0x${expected[0].start.toString(16).padStart(12, '0')}-0x${expected[0].end.toString(16).padStart(12, '0')}  ${(expected[0].end - expected[0].start) / 4096} pages`);
    const withJson = JSON.parse((await run(bin, '--json', '--usable')).out);
    expect(withJson.usableAfterExitBootServices).toHaveLength(expected.length);
  });

  it('--svg writes the picture; --descriptor-size reads other strides', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memmap-'));
    const out = join(dir, 'map.svg');
    const r = await run(fx('ovmf/q35-2G/initial.bin'), '--svg', out);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);
    const bin56 = join(dir, 'map56.bin');
    writeFileSync(bin56, parseMemoryMap(fixtureBytes('ovmf/q35-2G/initial.bin')).toBytes({ descriptorSize: 56 }));
    expect((await run(bin56, '--descriptor-size', '56')).out).toContain('raw, 123 descriptors');
  });

  it('bad input: one line, non-zero exit, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memmap-'));
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, new Uint8Array([1, 2, 3, 0, 0, 0, 7]));
    const badLine = join(dir, 'bad.log');
    writeFileSync(badLine, 'efi: mem00: [Conventional|WB] range=[0x0000000000100000-0x00000000001fffff] (7MB)\n');
    expectOneLineError(await run(fx('ovmf/pc-6G/initial.bin'), '--descriptor-size', '40'), 1, /not a multiple of descriptorSize 40/);
    expectOneLineError(await run(fx('ovmf/pc-6G/initial.bin'), '--descriptor-size', '44'), 1, /descriptorSize must be/);
    expectOneLineError(await run(fx('ovmf/pc-6G/initial.json')), 1, /not a raw memory map/);
    expectOneLineError(await run(junk), 1, /not a multiple/);
    expectOneLineError(await run(badLine), 1, /line 1: size \(7MB\)/);
    expectOneLineError(await run(join(dir, 'missing.bin')), 1, /cannot read .*ENOENT/);
    expectOneLineError(await run(), 2, /needs a FILE/);
    expectOneLineError(await run('a', 'b'), 2, /one FILE/);
    expectOneLineError(await run(junk, '--bogus'), 2, /unknown option --bogus/);
    expectOneLineError(await run(junk, '--descriptor-size', 'x'), 2, /is not a number/);
  });

  it('runs as a real process through node --import tsx src/cli/main.ts', () => {
    const ok = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'memmap', fx('ovmf/pc-128M/initial.bin'), '--usable'], { cwd: ROOT, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/usable after ExitBootServices\n$/);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'memmap', fx('ovmf/pc-128M/initial.json')], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('memprims: not a raw memory map, an efi=debug log or UEFI Shell memmap output\n');
  });
});
