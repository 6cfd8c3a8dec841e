// End-to-end: builds the playground, serves it from 127.0.0.1 with and without COOP/COEP,
// drives it in headless Debian Chromium (playwright-core), and checks what the page shows
// against memprims run here in Node. Skips only when /usr/bin/chromium is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainWalk, parseLinuxEfiLog, parseMemoryMap, PageTableBuilder, PhysicalMemory } from '../../src/index.js';
import { root } from '../docs/doc-program.js';
import { serveStatic } from './static-server.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`SKIPPED playground end-to-end test: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const logText = readFileSync(join(root, 'test', 'fixtures', 'e2e', 'linux-efi-debug-zenbook.txt'), 'utf8');

describe.skipIf(!haveChromium)(`playground in headless Chromium${haveChromium ? '' : ` (SKIPPED: ${CHROMIUM} missing)`}`, () => {
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-playground.mjs')], { cwd: root, encoding: 'utf8' });
    expect(build.status, `playground build failed:\n${build.stderr}`).toBe(0);
    profile = mkdtempSync(join(tmpdir(), 'memprims-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function open(isolated: boolean): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const server = await serveStatic(join(root, 'playground', 'dist'), isolated);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
    return { page, errors, close: async () => (await page.close(), await server.close()) };
  }

  it.each([false, true])('works with cross-origin isolation = %s', async (isolated) => {
    const { page, errors, close } = await open(isolated);
    try {
      // Memory backing follows the isolation.
      expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(isolated);
      expect(await page.getAttribute('#isolation', 'data-shared')).toBe(String(isolated));
      expect(await page.textContent('#isolation')).toContain(isolated ? 'SharedArrayBuffer' : 'ArrayBuffer fallback');

      // Paste an efi=debug log and draw it: the page agrees with memprims in Node.
      const expected = parseLinuxEfiLog(logText);
      await page.fill('#memmap-text', logText);
      await page.click('#memmap-parse');
      await page.waitForFunction(() => document.querySelector('#memmap-summary')?.textContent?.includes('pasted text'));
      const summary = (await page.textContent('#memmap-summary'))!;
      expect(summary).toContain(`${expected.length} descriptors`);
      expect(summary).toContain(`${expected.usableAfterExitBootServices().length} ranges`);
      expect(await page.locator('#memmap-svg svg rect').count()).toBeGreaterThan(expected.length / 2);
      expect(await page.locator('#memmap-table tbody tr').count()).toBe(expected.length);
      expect(await page.isHidden('#memmap-error')).toBe(true);

      // Bad input: a typed error with its code, and the previous picture stays.
      await page.fill('#memmap-text', 'this is not a memory map\n');
      await page.click('#memmap-parse');
      await page.waitForSelector('#memmap-error:not([hidden])', { timeout: 10_000 });
      expect(await page.textContent('#memmap-error code')).toMatch(/^UEFI_[A-Z0-9_]+$/);
      expect(await page.locator('#memmap-table tbody tr').count()).toBe(expected.length);

      // Upload a raw GetMemoryMap() buffer from real OVMF firmware (RAM above 4 GiB, unsorted).
      const rawPath = join(root, 'test', 'fixtures', 'arbitraries', 'ovmf-pc-6G-initial.bin');
      const raw = parseMemoryMap(readFileSync(rawPath), { descriptorSize: 48, descriptorVersion: 1 });
      await page.setInputFiles('#memmap-file', rawPath);
      await page.waitForFunction(() => document.querySelector('#memmap-summary')?.textContent?.includes('ovmf-pc-6G-initial.bin'), undefined, { timeout: 10_000 });
      expect(await page.textContent('#memmap-summary')).toContain(`${raw.length} descriptors`);
      expect(await page.isHidden('#memmap-error')).toBe(true);
      const firstRow = await page.locator('#memmap-table tbody tr').first().locator('td').allTextContents();
      expect(firstRow[2]).toBe('0x' + raw.descriptors[0].physicalStart.toString(16).padStart(9, '0'));

      // Random workload on both frame allocators over that map.
      await page.fill('#wl-steps', '3000');
      await page.click('#wl-run');
      await page.waitForSelector('#frames[data-done="3000"]', { timeout: 30_000 });
      expect(await page.isHidden('#frames-error')).toBe(true);
      for (const side of ['bitmap', 'buddy']) {
        const num = async (cls: string) => Number((await page.textContent(`#${side}-stats .${cls}`))!.replace(/[^0-9.]/g, ''));
        const live = await num('live');
        const used = await num('used');
        expect(live).toBeGreaterThan(0);
        expect(used).toBeGreaterThanOrEqual(live);
        expect(await num('fragmentation')).toBeGreaterThanOrEqual(0);
        // the picture shows held frames: some cells are not the "free" green
        const held = await page.evaluate((id) => {
          const c = document.getElementById(`${id}-canvas`) as HTMLCanvasElement;
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i + 2] > d[i + 1] + 20) n++; // bluish = held
          return n;
        }, side);
        expect(held).toBeGreaterThan(50);
      }

      // Heap holes.
      await page.click('#heap-random');
      expect(await page.isHidden('#heap-error')).toBe(true);
      const holes = Number(await page.textContent('#heap-stats .holes'));
      expect(holes).toBeGreaterThan(0);
      expect(await page.locator('#heap-bar .hole').count()).toBe(holes);
      expect(await page.locator('#heap-holes tbody tr').count()).toBe(holes);

      // Page tables: load the higher-half layout, translate, see the walk.
      await page.click('#pt-preset');
      expect(await page.isHidden('#pt-error')).toBe(true);
      const memory = new PhysicalMemory({ shared: false });
      memory.addRegion(0x1000000, 0x1000000);
      let next = 0x1000000;
      const pt = new PageTableBuilder({ memory, frames: { allocate: () => ((next += 0x1000), next - 0x1000), free: () => {} }, levels: 4 });
      pt.map({ virt: 0xffffffff80000000n, phys: 0x200000, size: 0x200000, flags: {} });
      const walk = explainWalk(memory, pt.root, 4, 0xffffffff80001234n);
      await page.fill('#pt-translate-input', '0xffffffff80001234');
      await page.click('#pt-translate');
      expect(await page.textContent('#pt-phys-result')).toBe('0x' + walk.translation!.phys.toString(16));
      const rows = page.locator('#pt-walk tbody tr');
      expect(await rows.count()).toBe(walk.steps.length);
      expect(await rows.last().textContent()).toContain('leaf');
      expect(await rows.first().textContent()).toContain('PML4');
      await page.fill('#pt-translate-input', '0xffff800012345678');
      await page.click('#pt-translate');
      expect(await page.textContent('#pt-phys-result')).toBe('0x12345678');
      await page.fill('#pt-translate-input', '0x7fff00000000');
      await page.click('#pt-translate');
      expect(await page.isVisible('#pt-fault')).toBe(true);

      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-results', `playground-${isolated ? 'isolated' : 'arraybuffer'}.png`), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  }, 240_000);
});
