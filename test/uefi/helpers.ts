// Shared helpers of the UEFI tests: fixture paths and loaders, error-code capture.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'uefi');

export function fixtureBytes(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, rel)));
}

export function fixtureText(rel: string): string {
  return readFileSync(join(FIXTURES, rel), 'utf8');
}

export function fixtureJson<T = any>(rel: string): T {
  return JSON.parse(fixtureText(rel)) as T;
}

/** Every raw capture: { dir, label } for ovmf/<config>/<snap> and shell/q35-512M/app-<snap>. */
export function rawCaptures(): { rel: string; bin: string; meta: string; decoded: string }[] {
  const out: { rel: string; bin: string; meta: string; decoded: string }[] = [];
  for (const config of readdirSync(join(FIXTURES, 'ovmf')).sort()) {
    for (const snap of ['initial', 'after_alloc', 'at_exit']) {
      const base = `ovmf/${config}/${snap}`;
      out.push({ rel: base, bin: `${base}.bin`, meta: `${base}.json`, decoded: `${base}.decoded.json` });
    }
  }
  for (const snap of ['initial', 'after_alloc', 'at_exit']) {
    const base = `shell/q35-512M/app-${snap}`;
    out.push({ rel: base, bin: `${base}.bin`, meta: `${base}.json`, decoded: `${base}.decoded.json` });
  }
  return out;
}

/** The `code` of what `fn` throws (undefined if it does not throw); rethrows non-MemprimsErrors' names. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? `not-coded:${(e as Error).name}`;
  }
  return undefined;
}
