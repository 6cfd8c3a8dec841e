// End-to-end: builds the playground, serves it from 127.0.0.1 with and without COOP/COEP,
// drives it in headless Debian Chromium (playwright-core), and checks what the page shows
// against memprims run here in Node. Skips only when /usr/bin/chromium is missing.
// Kept fast: the build runs while Chromium starts, one browser holds both runs (a context
// each) and they run concurrently, and each check reads the page's state in one evaluate
// instead of a round trip per element. MEMPRIMS_E2E_TIMINGS=1 prints the time of each step.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { serveStatic } from './static-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`SKIPPED playground end-to-end test: ${CHROMIUM} is missing (apt-get install -y chromium)`);
// Debian's /usr/bin/chromium is a shell wrapper (sources /etc/chromium.d, loads extensions);
// the binary behind it is what we drive when it is there.
const CHROMIUM_BINARY = existsSync('/usr/lib/chromium/chromium') ? '/usr/lib/chromium/chromium' : CHROMIUM;

const logText = readFileSync(join(root, 'test', 'fixtures', 'e2e', 'linux-efi-debug-zenbook.txt'), 'utf8');
const rawPath = join(root, 'test', 'fixtures', 'arbitraries', 'ovmf-pc-6G-initial.bin');

// ---- step timings (printed with MEMPRIMS_E2E_TIMINGS=1) ----
const started = performance.now();
const timings: string[] = [];
function record(label: string, since: number): number {
  const now = performance.now();
  timings.push(`${label.padEnd(36)}${(now - since).toFixed(0).padStart(7)} ms   (done at ${((now - started) / 1000).toFixed(2)} s)`);
  return now;
}
/** A sequential stopwatch: each call records the time since the previous one. */
function stopwatch(prefix: string): (label: string) => void {
  let last = performance.now();
  return (label) => (last = record(prefix + label, last));
}

/** Runs `node scripts/build-playground.mjs` (the `npm run playground` build) in a child process. */
function buildPlayground(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'build-playground.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`playground build failed (exit ${code}):\n${stderr}`))));
  });
}

type What = 'text' | 'texts' | 'count' | 'visible';
type Answer<W> = W extends 'count' ? number : W extends 'visible' ? boolean : W extends 'texts' ? string[] : string | null;

/**
 * Reads several things off the page in one round trip: for each key, `[selector, what]` with
 * what = 'text' (textContent of the first match, null if none), 'texts' (of every match),
 * 'count' (number of matches) or 'visible' (the first match exists and is rendered).
 */
async function inspect<Q extends Record<string, readonly [string, What]>>(page: Page, queries: Q): Promise<{ -readonly [K in keyof Q]: Answer<Q[K][1]> }> {
  return (await page.evaluate((qs) => {
    const out: Record<string, unknown> = {};
    for (const [key, [selector, what]] of Object.entries(qs)) {
      const all = Array.from(document.querySelectorAll(selector));
      if (what === 'count') out[key] = all.length;
      else if (what === 'visible') out[key] = all.length > 0 && all[0].checkVisibility();
      else if (what === 'texts') out[key] = all.map((e) => e.textContent ?? '');
      else out[key] = all.length > 0 ? all[0].textContent : null;
    }
    return out;
  }, queries as Record<string, readonly [string, What]>)) as never;
}

describe.skipIf(!haveChromium)(`playground in headless Chromium${haveChromium ? '' : ` (SKIPPED: ${CHROMIUM} missing)`}`, () => {
  let browser: Browser | undefined;
  /** memprims itself, imported (like playwright-core) while the build and the launch run; only the checks need it. */
  let memprimsLoaded: Promise<typeof import('../../src/index.js')>;

  beforeAll(async () => {
    const t = performance.now();
    memprimsLoaded = import('../../src/index.js').then((m) => (record('import memprims (alongside)', t), m));
    memprimsLoaded.catch(() => {}); // a failure surfaces in the tests that await it
    const [built, launched] = await Promise.allSettled([
      buildPlayground().then(() => record('build (alongside the launch)', t)),
      import('playwright-core').then(async ({ chromium }) => {
        const b = await chromium.launch({
          executablePath: CHROMIUM_BINARY,
          headless: true,
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync', '--disable-extensions'],
        });
        record('import playwright-core + launch', t);
        return b;
      }),
    ]);
    if (launched.status === 'fulfilled') browser = launched.value;
    if (built.status === 'rejected') throw built.reason;
    if (launched.status === 'rejected') throw launched.reason;
  }, 120_000);

  afterAll(async () => {
    const t = performance.now();
    await browser?.close();
    record('close browser', t);
    if (process.env.MEMPRIMS_E2E_TIMINGS) console.log(`playground e2e step timings:\n${timings.join('\n')}`);
  });

  it.concurrent.for([false, true])('works with cross-origin isolation = %s', { timeout: 240_000 }, async (isolated, { expect }) => {
    const lap = stopwatch(isolated ? 'isolated    ' : 'arraybuffer ');
    const server = await serveStatic(join(root, 'playground', 'dist'), isolated);
    const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
      lap('server + context + page');
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
      lap('load the page');

      const { explainWalk, parseLinuxEfiLog, parseMemoryMap, PageTableBuilder, PhysicalMemory } = await memprimsLoaded;

      // Memory backing follows the isolation.
      const badge = await page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, shared: document.querySelector('#isolation')?.getAttribute('data-shared') }));
      expect(badge.isolated).toBe(isolated);
      expect(badge.shared).toBe(String(isolated));
      expect(await page.textContent('#isolation')).toContain(isolated ? 'SharedArrayBuffer' : 'ArrayBuffer fallback');
      lap('isolation');

      // Paste an efi=debug log and draw it: the page agrees with memprims in Node.
      const expected = parseLinuxEfiLog(logText);
      await page.fill('#memmap-text', logText);
      await page.click('#memmap-parse');
      await page.waitForFunction(() => document.querySelector('#memmap-summary')?.textContent?.includes('pasted text'));
      const pasted = await inspect(page, { summary: ['#memmap-summary', 'text'], rects: ['#memmap-svg svg rect', 'count'], rows: ['#memmap-table tbody tr', 'count'], error: ['#memmap-error', 'visible'] });
      expect(pasted.summary).toContain(`${expected.length} descriptors`);
      expect(pasted.summary).toContain(`${expected.usableAfterExitBootServices().length} ranges`);
      expect(pasted.rects).toBeGreaterThan(expected.length / 2);
      expect(pasted.rows).toBe(expected.length);
      expect(pasted.error).toBe(false);
      lap('paste a map');

      // Bad input: a typed error with its code, and the previous picture stays.
      await page.fill('#memmap-text', 'this is not a memory map\n');
      await page.click('#memmap-parse');
      await page.waitForSelector('#memmap-error:not([hidden])', { timeout: 10_000 });
      const bad = await inspect(page, { code: ['#memmap-error code', 'text'], rows: ['#memmap-table tbody tr', 'count'] });
      expect(bad.code).toMatch(/^UEFI_[A-Z0-9_]+$/);
      expect(bad.rows).toBe(expected.length);
      lap('bad input');

      // Upload a raw GetMemoryMap() buffer from real OVMF firmware (RAM above 4 GiB, unsorted).
      const raw = parseMemoryMap(readFileSync(rawPath), { descriptorSize: 48, descriptorVersion: 1 });
      await page.setInputFiles('#memmap-file', rawPath);
      await page.waitForFunction(() => document.querySelector('#memmap-summary')?.textContent?.includes('ovmf-pc-6G-initial.bin'), undefined, { timeout: 10_000 });
      const uploaded = await inspect(page, { summary: ['#memmap-summary', 'text'], error: ['#memmap-error', 'visible'], firstRow: ['#memmap-table tbody tr:first-child td', 'texts'] });
      expect(uploaded.summary).toContain(`${raw.length} descriptors`);
      expect(uploaded.error).toBe(false);
      expect(uploaded.firstRow[2]).toBe('0x' + raw.descriptors[0].physicalStart.toString(16).padStart(9, '0'));
      lap('upload a raw buffer');

      // Random workload on both frame allocators over that map.
      await page.fill('#wl-steps', '3000');
      await page.click('#wl-run');
      await page.waitForSelector('#frames[data-done="3000"]', { timeout: 30_000 });
      const frames = await page.evaluate(() => {
        const num = (side: string, cls: string) => Number((document.querySelector(`#${side}-stats .${cls}`)?.textContent ?? 'NaN').replace(/[^0-9.]/g, ''));
        const held = (side: string) => {
          const c = document.getElementById(`${side}-canvas`) as HTMLCanvasElement;
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i + 2] > d[i + 1] + 20) n++; // bluish = held
          return n;
        };
        return {
          errorVisible: document.querySelector('#frames-error')!.checkVisibility(),
          sides: ['bitmap', 'buddy'].map((side) => ({ side, live: num(side, 'live'), used: num(side, 'used'), fragmentation: num(side, 'fragmentation'), held: held(side) })),
        };
      });
      expect(frames.errorVisible).toBe(false);
      for (const side of frames.sides) {
        expect(side.live, side.side).toBeGreaterThan(0);
        expect(side.used, side.side).toBeGreaterThanOrEqual(side.live);
        expect(side.fragmentation, side.side).toBeGreaterThanOrEqual(0);
        // the picture shows held frames: some cells are not the "free" green
        expect(side.held, side.side).toBeGreaterThan(50);
      }
      lap('workload (3000 operations)');

      // Heap holes.
      await page.click('#heap-random');
      const heap = await inspect(page, { error: ['#heap-error', 'visible'], holes: ['#heap-stats .holes', 'text'], bar: ['#heap-bar .hole', 'count'], rows: ['#heap-holes tbody tr', 'count'] });
      expect(heap.error).toBe(false);
      const holes = Number(heap.holes);
      expect(holes).toBeGreaterThan(0);
      expect(heap.bar).toBe(holes);
      expect(heap.rows).toBe(holes);
      lap('heap holes');

      // Page tables: load the higher-half layout, translate, see the walk.
      await page.click('#pt-preset');
      expect((await inspect(page, { error: ['#pt-error', 'visible'] })).error).toBe(false);
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(0x1000000, 0x1000000);
      let next = 0x1000000;
      const pt = new PageTableBuilder({ memory, frames: { allocate: () => ((next += 0x1000), next - 0x1000), free: () => {} }, levels: 4 });
      pt.map({ virt: 0xffffffff80000000n, phys: 0x200000, size: 0x200000, flags: {} });
      const walk = explainWalk(memory, pt.root, 4, 0xffffffff80001234n);
      await page.fill('#pt-translate-input', '0xffffffff80001234');
      await page.click('#pt-translate');
      const kernel = await inspect(page, { phys: ['#pt-phys-result', 'text'], rows: ['#pt-walk tbody tr', 'texts'] });
      expect(kernel.phys).toBe('0x' + walk.translation!.phys.toString(16));
      expect(kernel.rows.length).toBe(walk.steps.length);
      expect(kernel.rows.at(-1)).toContain('leaf');
      expect(kernel.rows[0]).toContain('PML4');
      await page.fill('#pt-translate-input', '0xffff800012345678');
      await page.click('#pt-translate');
      expect(await page.textContent('#pt-phys-result')).toBe('0x12345678');
      await page.fill('#pt-translate-input', '0x7fff00000000');
      await page.click('#pt-translate');
      expect((await inspect(page, { fault: ['#pt-fault', 'visible'] })).fault).toBe(true);
      lap('page tables');

      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-results', `playground-${isolated ? 'isolated' : 'arraybuffer'}.png`), fullPage: true });
      lap('screenshot');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await server.close();
      lap('close context + server');
    }
  });
});
