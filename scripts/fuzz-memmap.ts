/**
 * Soak fuzz of the UEFI memory-map parsers: random and mutated raw buffers, random and
 * mutated efi=debug / Shell memmap text (UTF-8 and UTF-16LE), each must give a MemoryMap
 * (whose operations and renderers then run) or a MemprimsError: never a crash, a hang or a
 * raw RangeError/TypeError.
 *
 * Run: node --import tsx scripts/fuzz-memmap.ts [cases=100000] [seed]
 * The test suite runs a small number of cases through `runMemmapFuzz`.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MemprimsError } from '../src/errors.js';
import {
  encodeUtf16leWithBom, MemoryMap, parseAnyMemoryMap, parseLinuxEfiLog, parseMemoryMap, parseShellMemmap, type MemoryDescriptor,
} from '../src/uefi/index.js';

/** A case that crashed, hung or threw something other than a MemprimsError. */
export interface FuzzFailure {
  readonly index: number;
  readonly kind: string;
  readonly error: string;
  readonly input: string;
}

/** Outcome of {@link runMemmapFuzz}. */
export interface FuzzReport {
  readonly cases: number;
  readonly parsed: number;
  readonly rejected: number;
  readonly codes: Record<string, number>;
  readonly failures: FuzzFailure[];
  readonly slowestMs: number;
}

/** Wraps a throw from an operation on a successfully parsed map (always a failure). */
class OperationFailure extends Error {
  constructor(readonly inner: unknown) {
    super(String(inner));
  }
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'fixtures', 'uefi');

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadCorpus(): { bins: Uint8Array[]; texts: string[] } {
  const bins: Uint8Array[] = [];
  const texts: string[] = [];
  if (!existsSync(FIXTURES)) return { bins, texts };
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, name.name);
      if (name.isDirectory()) walk(p);
      else if (name.name.endsWith('.bin')) bins.push(new Uint8Array(readFileSync(p)));
      else if (/memmap.*\.txt$|linux-efi-debug.*\.txt$/.test(p) && !p.includes('utf16')) texts.push(readFileSync(p, 'utf8'));
    }
  };
  walk(FIXTURES);
  return { bins, texts };
}

const TOKENS = [
  'efi: ', 'mem', '00', '07', '99', ': ', '[', ']', ')', '(', '|', '   ', 'RUN', 'WB', 'WT', 'WC', 'UC', 'XP', 'attr=0x', 'type=', ', ',
  'range=[0x', '-0x', '0000000000100000', '00000000001fffff', 'ffffffffffffffff', '0010000000000000', '(0MB)', '(1MB)',
  'Conventional', 'Boot Data', 'Reserved', 'MMIO', 'Available  ', 'BS_Code    ', '0000000000001000', '-', '000000000000000F',
  'MemoryMap,"', 'Available', '","', '"', 'ShellCommand,"memmap"', '\n', '\r\n', '\r', ' ', '\x1b[1m', '\u0000', 'é', '\uffff', '\ud800',
];

/** Runs `cases` fuzz cases from `seed`; never throws for a bad case, reports it instead. */
export function runMemmapFuzz(cases: number, seed = 0x5eed, onProgress?: (done: number) => void): FuzzReport {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const corpus = loadCorpus();
  const failures: FuzzFailure[] = [];
  const codes: Record<string, number> = {};
  let parsed = 0;
  let rejected = 0;
  let slowestMs = 0;

  const randomMap = (): MemoryMap => {
    const n = int(12);
    const ds: MemoryDescriptor[] = [];
    for (let i = 0; i < n; i++) {
      const big = rnd() < 0.1;
      ds.push({
        type: rnd() < 0.8 ? int(16) : int(2 ** 32),
        physicalStart: (big ? int(2 ** 40) : int(0x200000)) * 4096 + (rnd() < 0.05 ? int(4096) : 0),
        virtualStart: rnd() < 0.8 ? 0n : BigInt(int(2 ** 32)) << BigInt(int(33)),
        numberOfPages: rnd() < 0.05 ? int(2 ** 40) : int(0x10000),
        attribute: pick([0xfn, 0x800000000000000fn, 0x1n, 0n, 0x070000000000000fn, BigInt(int(2 ** 32)) << BigInt(int(33))]),
      });
    }
    return new MemoryMap(ds);
  };
  const mutateBytes = (src: Uint8Array): Uint8Array => {
    let b = src.slice();
    const edits = 1 + int(6);
    for (let e = 0; e < edits; e++) {
      const r = rnd();
      if (r < 0.6 && b.length) b[int(b.length)] = int(256);
      else if (r < 0.8) b = b.subarray(0, int(b.length + 1)).slice();
      else {
        const extra = new Uint8Array(int(64)).map(() => int(256));
        const c = new Uint8Array(b.length + extra.length);
        c.set(b);
        c.set(extra, b.length);
        b = c;
      }
    }
    return b;
  };
  const mutateText = (src: string): string => {
    let lines = src.split('\n');
    if (lines.length > 60 && rnd() < 0.7) {
      const start = int(lines.length);
      lines = lines.slice(start, start + 1 + int(40));
    }
    let t = lines.join('\n');
    const edits = int(5);
    for (let e = 0; e < edits; e++) {
      const at = int(t.length + 1);
      const r = rnd();
      if (r < 0.4) t = t.slice(0, at) + pick(TOKENS) + t.slice(at);
      else if (r < 0.7) t = t.slice(0, at) + t.slice(at + 1 + int(8));
      else if (r < 0.85) t = t.slice(0, at) + String.fromCharCode(int(0x80)) + t.slice(at + 1);
      else {
        const ls = t.split('\n');
        const i = int(ls.length);
        ls.splice(int(ls.length), 0, ls[i]);
        t = ls.join('\n');
      }
    }
    return t;
  };
  const randomText = (): string => Array.from({ length: int(40) }, () => pick(TOKENS)).join('');

  // Every operation on a map that parsed must succeed: a throw here is a failure, typed or not.
  const exercise = (m: MemoryMap): void => {
    parsed++;
    try {
      m.validate();
      if (!m.merged().merged().equals(m.merged())) throw new Error('merge is not idempotent');
      m.sorted();
      m.totalsByType();
      m.usableAfterExitBootServices({ inUse: [{ start: 0x1000, end: 0x200000 }] });
      m.runtimeRegions();
      const size = 40 + 8 * int(4);
      if (!parseMemoryMap(m.toBytes({ descriptorSize: size }), { descriptorSize: size }).equals(m)) throw new Error('toBytes/parse round trip differs');
      m.toLinuxEfiLog({ style: pick(['current', '5.10', '5.3', 'legacy'] as const) });
      m.toShellMemmap({ sfo: rnd() < 0.5 });
      if (m.length < 50) {
        m.toTable();
        m.toSVG();
      }
    } catch (e) {
      throw new OperationFailure(e);
    }
  };

  for (let i = 0; i < cases; i++) {
    let kind = '';
    let input: string | Uint8Array = '';
    const t0 = performance.now();
    try {
      const which = int(9);
      if (which === 0) {
        kind = 'raw-random';
        input = new Uint8Array(int(8) * 48 + (rnd() < 0.3 ? int(48) : 0)).map(() => int(256));
        exercise(parseMemoryMap(input, { descriptorSize: rnd() < 0.8 ? 48 : int(80) - 8, descriptorVersion: rnd() < 0.95 ? 1 : int(3) }));
      } else if (which === 1 && corpus.bins.length) {
        kind = 'raw-mutated-fixture';
        input = mutateBytes(pick(corpus.bins));
        exercise(parseMemoryMap(input, { descriptorSize: rnd() < 0.9 ? 48 : 40 + 8 * int(4) }));
      } else if (which === 2) {
        kind = 'raw-mutated-generated';
        const size = 40 + 8 * int(6);
        const clean = randomMap().toBytes({ descriptorSize: size });
        input = rnd() < 0.3 ? clean : mutateBytes(clean);
        exercise(parseMemoryMap(input, { descriptorSize: size }));
      } else if (which === 3 && corpus.texts.length) {
        kind = 'text-mutated-fixture';
        input = mutateText(pick(corpus.texts));
        exercise(rnd() < 0.5 ? parseLinuxEfiLog(input) : parseShellMemmap(input));
      } else if (which === 4) {
        kind = 'linux-mutated-rendered';
        input = mutateText(randomMap().toLinuxEfiLog({ style: pick(['current', '5.10', '5.3', 'legacy'] as const), prefix: pick(['efi: ', '[    0.000000] efi: ', 'Nov 1 host kernel: efi: ']) }));
        exercise(parseLinuxEfiLog(input));
      } else if (which === 5) {
        kind = 'shell-mutated-rendered';
        input = mutateText(randomMap().toShellMemmap({ sfo: rnd() < 0.5, newline: rnd() < 0.5 ? '\n' : '\r\n' }));
        exercise(parseShellMemmap(rnd() < 0.3 ? encodeUtf16leWithBom(input) : input));
      } else if (which === 6) {
        kind = 'text-random';
        input = randomText();
        exercise(rnd() < 0.5 ? parseLinuxEfiLog(input) : parseShellMemmap(input));
      } else if (which === 7) {
        kind = 'auto-bytes';
        const base = rnd() < 0.5 && corpus.texts.length ? new TextEncoder().encode(mutateText(pick(corpus.texts))) : mutateBytes(randomMap().toBytes());
        input = rnd() < 0.2 ? encodeUtf16leWithBom(new TextDecoder().decode(base)) : base;
        exercise(parseAnyMemoryMap(input, { descriptorSize: 48 }).map);
      } else {
        kind = 'utf16-bytes';
        input = mutateBytes(encodeUtf16leWithBom(randomMap().toShellMemmap({ newline: '\r\n' })));
        exercise(parseShellMemmap(input));
      }
    } catch (e) {
      if (e instanceof MemprimsError && !(e instanceof OperationFailure)) {
        rejected++;
        codes[e.code] = (codes[e.code] ?? 0) + 1;
      } else {
        const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 300)) : `bytes(${input.length}) ${Buffer.from(input.subarray(0, 96)).toString('hex')}`;
        const cause = e instanceof OperationFailure ? e.inner : e;
        failures.push({ index: i, kind: e instanceof OperationFailure ? `${kind} (operation on a parsed map)` : kind, error: String((cause as Error)?.stack ?? cause).split('\n').slice(0, 3).join(' | '), input: shown });
      }
    }
    const ms = performance.now() - t0;
    if (ms > slowestMs) slowestMs = ms;
    if (ms > 2000) failures.push({ index: i, kind, error: `took ${ms.toFixed(0)} ms (hang?)`, input: String(input).slice(0, 100) });
    if (onProgress && (i + 1) % 10000 === 0) onProgress(i + 1);
  }
  return { cases, parsed, rejected, codes, failures, slowestMs };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const cases = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? 0x5eed);
  const t0 = performance.now();
  const report = runMemmapFuzz(cases, seed, (done) => process.stderr.write(`  ${done} cases\n`));
  const seconds = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`fuzz-memmap: ${report.cases} cases (seed ${seed}) in ${seconds} s: ${report.parsed} parsed, ${report.rejected} typed errors, ${report.failures.length} failures; slowest case ${report.slowestMs.toFixed(1)} ms`);
  console.log('typed error codes:', JSON.stringify(report.codes));
  for (const f of report.failures.slice(0, 20)) console.log(`FAIL #${f.index} ${f.kind}: ${f.error}\n  input: ${f.input}`);
  process.exitCode = report.failures.length ? 1 : 0;
}
