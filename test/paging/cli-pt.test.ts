/**
 * `memprims pt`: listing like info mem / info tlb, warnings, --translate walk, JSON, and
 * usage errors, through main() with captured output.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { PageTableBuilder, PhysicalMemory } from '../../src/index.js';
import { BumpFrames } from './helpers.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

let image: string;
let root: number;
const BASE = 0x100000;

beforeAll(() => {
  const memory = new PhysicalMemory();
  memory.addRegion(BASE, 0x40000);
  const pt = new PageTableBuilder({ memory, frames: new BumpFrames(BASE), levels: 4 });
  pt.mapKernelSections([
    { name: '.text', vma: 0xffffffff80000000n, lma: 0x200000, size: 0x2000, kind: 'text' },
    { name: '.data', vma: 0xffffffff80002000n, lma: 0x202000, size: 0x1000, kind: 'data' },
  ]);
  pt.map({ virt: 0xffffffff80100000n, phys: 0x300000, size: 0x1000, flags: { writable: true } }); // W+X
  pt.map({ virt: 0xffff888000000000n, phys: 0, size: 0x200000, flags: { user: true, noExecute: true } }); // user upper half
  root = pt.root;
  memory.writeU64(root + 8 * 3, 0x0000000000100083n); // PML4E with PS: reserved
  const dir = mkdtempSync(join(tmpdir(), 'memprims-pt-'));
  image = join(dir, 'mem.bin');
  writeFileSync(image, memory.exportImage(BASE, 0x40000));
});

describe('memprims pt', () => {
  it('lists ranges like info mem, with warnings', async () => {
    const r = await run('pt', image, '--cr3', `0x${root.toString(16)}`, '--base', `0x${BASE.toString(16)}`);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('ffff888000000000-ffff888000200000 0000000000200000 ur--  -> 0x0');
    expect(lines[1]).toBe('ffffffff80000000-ffffffff80002000 0000000000002000 -r-x  -> 0x200000');
    expect(lines[2]).toBe('ffffffff80002000-ffffffff80003000 0000000000001000 -rw-  -> 0x202000');
    expect(lines[3]).toBe('ffffffff80100000-ffffffff80101000 0000000000001000 -rwx  -> 0x300000');
    expect(r.out).toContain('warning: writable and executable: 0xffffffff80100000-0xffffffff80101000');
    expect(r.out).toContain('warning: user-accessible page in the upper half: 0xffff888000000000');
    expect(r.out).toMatch(/warning: PML4E 3 at 0x[0-9a-f]+ has reserved bits 0x80 set/);
  });

  it('--tlb prints one line per leaf in QEMU info tlb format', async () => {
    const r = await run('pt', image, '--cr3', String(root), '--base', String(BASE), '--tlb');
    expect(r.out.split('\n')).toContain('ffffffff80000000: 0000000000200000 ---------');
    expect(r.out.split('\n')).toContain('ffff888000000000: 0000000000000000 X-P----U-');
  });

  it('--translate explains the walk', async () => {
    const r = await run('pt', image, '--cr3', String(root), '--base', String(BASE), '--translate', '0xffffffff80001234');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe(`walk of 0xffffffff80001234 (4-level, root 0x${root.toString(16)})`);
    expect(lines[1]).toMatch(/^ {2}PML4\[511\] +@0x[0-9a-f]+ = 0x[0-9a-f]{16} {2}P W {2}-> next table$/);
    expect(lines[4]).toMatch(/^ {2}PT\[1\] +@0x[0-9a-f]+ = 0x0000000000201001 {2}P {2}-> 4 KiB page$/);
    expect(lines[5]).toBe('= phys 0x201234 (effective: supervisor, read-only, executable)');
    const miss = await run('pt', image, '--cr3', String(root), '--base', String(BASE), '--translate', '0xffffffff80005000');
    expect(miss.out).toContain('= fault: PTE 5 is not present');
  });

  it('--json', async () => {
    const r = await run('pt', image, '--cr3', String(root), '--base', String(BASE), '--json');
    const j = JSON.parse(r.out);
    expect(j.ranges).toHaveLength(4);
    expect(j.ranges[1]).toMatchObject({ virt: '0xffffffff80000000', size: 0x2000, phys: '0x200000', flags: { writable: false, noExecute: false } });
    expect(j.warnings).toHaveLength(3);
    const t = JSON.parse((await run('pt', image, '--cr3', String(root), '--base', String(BASE), '--translate', '0xffffffff80002000', '--json')).out);
    expect(t.translation.phys).toBe(0x202000);
    expect(t.steps).toHaveLength(4);
  });

  it('usage and input errors are one line and a non-zero code', async () => {
    expect(await run('pt', image)).toMatchObject({ code: 2, err: 'memprims: pt needs --cr3 ADDR\n' });
    expect((await run('pt', '/nonexistent/x', '--cr3', '0')).code).toBe(1);
    expect((await run('pt', image, '--cr3', '0x1000', '--levels', '3')).code).toBe(2);
    const bad = await run('pt', image, '--cr3', String(root), '--base', String(BASE), '--translate', '0x0000800000000000');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^memprims: .*not canonical.*\n$/);
    expect((await run('help', 'pt')).out).toContain('Usage: memprims pt IMAGE --cr3 ADDR');
    // A root outside the image (forgotten --base) is an error, not an empty listing.
    const outside = await run('pt', image, '--cr3', String(root));
    expect(outside.code).toBe(1);
    expect(outside.err).toMatch(/^memprims: --cr3 0x[0-9a-f]+: the root table is not inside the image .*--base.*\n$/);
  });
});
