import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

async function runCli(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

describe('memprims boot-demo', () => {
  it('runs on the bundled OVMF map with no map argument and writes both pictures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memprims-boot-'));
    const { code, out, err } = await runCli(['boot-demo', '--svg', join(dir, 'map')]);
    expect(err).toBe('');
    expect(code).toBe(0);
    for (let n = 1; n <= 7; n++) expect(out).toContain(`[${n}/7]`);
    expect(out).toContain('ExitBootServices = EFI_INVALID_PARAMETER');
    expect(out).toContain('ExitBootServices = EFI_SUCCESS');
    expect(out).toMatch(/Page tables \(CR3 0x[0-9a-f]+, 4-level/);
    expect(out).toContain('0xffffffff80000000');
    expect(out).toMatch(/frames: \d+ total, \d+ free/);
    for (const f of ['map-before.svg', 'map-after.svg']) {
      expect(existsSync(join(dir, f))).toBe(true);
      expect(readFileSync(join(dir, f), 'utf8')).toMatch(/^<svg|<\?xml/);
    }
  });

  it('takes a map file (raw buffer of another OVMF configuration), 5-level paging and the reclaim policy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memprims-boot-'));
    const file = new URL('../fixtures/boot/ovmf/pc-6G/initial.bin', import.meta.url).pathname;
    const { code, out } = await runCli(['boot-demo', '--memmap', file, '--levels', '5', '--policy', 'reclaim', '--svg', join(dir, 'x.svg')]);
    expect(code).toBe(0);
    expect(out).toContain('raw, 123 descriptors');
    expect(out).toContain('5-level');
    expect(out).toMatch(/its pages went to the frame allocator/);
    expect(existsSync(join(dir, 'x-after.svg'))).toBe(true);
  });

  it('bad input: one line on stderr and a non-zero exit, never a stack trace', async () => {
    const missing = await runCli(['boot-demo', '--memmap', '/nonexistent/map.bin']);
    expect(missing.code).toBe(1);
    expect(missing.err.trim().split('\n')).toHaveLength(1);
    const levels = await runCli(['boot-demo', '--levels', '3']);
    expect(levels.code).toBe(2);
    const tooBig = await runCli(['boot-demo', '--heap-size', String(2 ** 40), '--svg', join(tmpdir(), 'memprims-never')]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.err).toMatch(/boot step 2 \(allocate kernel memory\) failed: OUT_OF_RESOURCES/);
    expect(tooBig.err.trim().split('\n')).toHaveLength(1);
  });
});
