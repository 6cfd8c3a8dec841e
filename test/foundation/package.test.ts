import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { openMemoryImage } from '../../src/cli/common.js';
import * as api from '../../src/index.js';

const root = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('package', () => {
  it('VERSION equals package.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(api.VERSION).toBe(pkg.version);
    expect(pkg.name).toBe('memprims');
    expect(pkg.type).toBe('module');
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.dependencies ?? {}).toEqual({});
  });

  it('every error code thrown in src is documented in docs/ERRORS.md', () => {
    const doc = readFileSync(join(root, 'docs', 'ERRORS.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
    const missing: string[] = [];
    for (const file of sourceFiles(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/new [A-Za-z]*Error\(\s*'([A-Z][A-Z0-9_]+)'/g)) {
        if (!documented.has(m[1])) missing.push(`${m[1]} (${file.slice(root.length + 1)})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every exported error class derives from MemprimsError', () => {
    for (const [name, value] of Object.entries(api)) {
      if (typeof value === 'function' && /Error$/.test(name)) {
        expect(value === api.MemprimsError || value.prototype instanceof api.MemprimsError, name).toBe(true);
      }
    }
  });
});

describe('cli', () => {
  const run = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  };

  it('prints the version and help', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, out: `${api.VERSION}\n`, err: '' });
    const help = await run(['help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: memprims <command>');
  });

  it('reports an unknown command in one line with exit code 2', async () => {
    const r = await run(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain("unknown command 'frobnicate'");
  });
});

describe('memory images', () => {
  it('opens a raw image in pieces at a base, byte for byte, and reports unreadable files in one line', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'memprims-image-'));
    const bytes = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff);
    writeFileSync(join(dir, 'mem.bin'), bytes);
    const memory = await openMemoryImage(join(dir, 'mem.bin'), 0x100000, 4096);
    expect(memory.regions().map((r) => [r.base, r.size])).toEqual([
      [0x100000, 4096],
      [0x101000, 4096],
      [0x102000, 10_000 - 8192],
    ]);
    expect(memory.read(0x100000, bytes.length)).toEqual(bytes);
    await expect(openMemoryImage(join(dir, 'missing.bin'), 0)).rejects.toThrow(/cannot read .*missing\.bin \(ENOENT\)/);
    writeFileSync(join(dir, 'empty.bin'), new Uint8Array(0));
    await expect(openMemoryImage(join(dir, 'empty.bin'), 0)).rejects.toThrow(/is empty/);
  });
});
