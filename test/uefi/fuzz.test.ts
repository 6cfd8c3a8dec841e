// A small run of the soak fuzz script (scripts/fuzz-memmap.ts; the soak runs 100,000+ cases).
import { describe, expect, it } from 'vitest';
import { runMemmapFuzz } from '../../scripts/fuzz-memmap.js';

const cases = Number(process.env.FUZZ_CASES ?? 2000);

describe('fuzz (small run)', () => {
  it(`${cases} random and mutated buffers and texts give a MemoryMap or a typed error`, () => {
    const report = runMemmapFuzz(cases, 0xc0ffee);
    expect(report.failures).toEqual([]);
    expect(report.parsed + report.rejected).toBe(cases);
    // the run really exercises both outcomes and many error kinds
    expect(report.parsed).toBeGreaterThan(cases / 20);
    expect(Object.keys(report.codes).length).toBeGreaterThanOrEqual(8);
  });
});
