// Runs the README tutorial (test/docs/tutorial.ts) and checks what it claims, and that the
// README carries it verbatim once it has a tutorial section.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { root } from './doc-program.js';

describe('README tutorial', () => {
  it('runs: boot services → own heap, higher-half tables, exit, frame allocator', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const t = await import('./tutorial.js');
    log.mockRestore();
    expect(t.bs.exited).toBe(true);
    expect(t.shim.phase).toBe('ownHeap');
    // the early block came from the pool, the late one from the heap
    expect(t.early < t.heapStart || t.early >= t.heapStart + 256 * 4096).toBe(true);
    expect(t.late).toBeGreaterThanOrEqual(t.heap.bottom);
    expect(t.late).toBeLessThan(t.heap.top);
    expect(t.pt.translate(0xffffffff80000010n)?.phys).toBe(t.heapStart + 0x10);
    // the frame allocator never hands out the heap or the tables
    const inUse = (a: number) => (a >= t.heapStart && a < t.heapStart + 256 * 4096) || (a >= t.tablesStart && a < t.tablesStart + 16 * 4096);
    expect(t.frames.isFree(t.heapStart)).toBe(false);
    for (let i = 0; i < 200; i++) {
      const a = t.frames.allocate(1);
      expect(a).not.toBeNull();
      expect(inUse(a!)).toBe(false);
    }
  });

  it('is in README.md verbatim when the README has it', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const file = readFileSync(join(root, 'test', 'docs', 'tutorial.ts'), 'utf8');
    const body = file.slice(file.indexOf('// --- tutorial ---\n') + 20, file.indexOf('// --- end ---')).trim().replace("from '../../src/index.js'", "from 'memprims'");
    expect(body).toContain("from 'memprims';");
    expect(body.length).toBeGreaterThan(500);
    expect(body.split('\n').length).toBeLessThanOrEqual(40);
    expect(readme).toContain('## Five-minute tutorial');
    expect(readme).toContain(body);
  });
});
