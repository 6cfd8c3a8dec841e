import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AddressError,
  checkPhysAddr,
  checkVirtAddr,
  isCanonical,
  isPhysAligned,
  isVirtAligned,
  Layout,
  LayoutError,
  MemprimsError,
  normalizeRanges,
  PHYS_ADDR_LIMIT,
  physAlignDown,
  physAlignUp,
  subtractRanges,
  virtAdd,
  VirtAddr,
  virtAlignDown,
  virtAlignUp,
  virtTruncate,
} from '../../src/index.js';

const runs = Number(process.env.FC_RUNS ?? 200);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MemprimsError);
    return (e as MemprimsError).code;
  }
  return undefined;
}

describe('physical addresses', () => {
  it('accept integers in [0, 2^52)', () => {
    expect(checkPhysAddr(0)).toBe(0);
    expect(checkPhysAddr(PHYS_ADDR_LIMIT - 1)).toBe(PHYS_ADDR_LIMIT - 1);
  });

  it('reject non-integers, negatives, NaN and values at or past 2^52 with typed errors', () => {
    expect(codeOf(() => checkPhysAddr(1.5))).toBe('ADDR_NOT_INTEGER');
    expect(codeOf(() => checkPhysAddr(Number.NaN))).toBe('ADDR_NOT_INTEGER');
    expect(codeOf(() => checkPhysAddr(Infinity))).toBe('ADDR_NOT_INTEGER');
    expect(codeOf(() => checkPhysAddr(10n as unknown as number))).toBe('ADDR_NOT_INTEGER');
    expect(codeOf(() => checkPhysAddr(-4096))).toBe('ADDR_NEGATIVE');
    expect(codeOf(() => checkPhysAddr(PHYS_ADDR_LIMIT))).toBe('ADDR_OUT_OF_RANGE');
    expect(codeOf(() => checkPhysAddr(2 ** 60))).toBe('ADDR_OUT_OF_RANGE');
  });

  it('align up and down to powers of two, exactly up to 2^52', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: PHYS_ADDR_LIMIT - 1 }), fc.integer({ min: 0, max: 40 }), (a, shift) => {
        const align = 2 ** shift;
        const down = physAlignDown(a, align);
        const up = physAlignUp(a, align);
        const ba = BigInt(a);
        const bal = BigInt(align);
        expect(BigInt(down)).toBe((ba / bal) * bal);
        expect(BigInt(up)).toBe(((ba + bal - 1n) / bal) * bal);
        expect(isPhysAligned(down, align)).toBe(true);
        expect(isPhysAligned(a, align)).toBe(a === down);
      }),
      { numRuns: runs },
    );
  });

  it('aligning up past 2^52 is an overflow error; bad alignments are typed errors', () => {
    expect(physAlignUp(PHYS_ADDR_LIMIT - 4096, 4096)).toBe(PHYS_ADDR_LIMIT - 4096);
    expect(physAlignUp(PHYS_ADDR_LIMIT - 4095, 4096)).toBe(PHYS_ADDR_LIMIT);
    expect(codeOf(() => physAlignUp(PHYS_ADDR_LIMIT - 1, 2 ** 51))).toBe(undefined);
    expect(codeOf(() => physAlignUp(3, 3))).toBe('ADDR_BAD_ALIGNMENT');
    expect(codeOf(() => physAlignDown(3, 0))).toBe('ADDR_BAD_ALIGNMENT');
  });

  it('normalizes and subtracts ranges like a set of integers', () => {
    const arbRanges = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 40 })).map(([s, n]) => ({ start: s, end: s + n })),
      { maxLength: 8 },
    );
    const toSet = (rs: { start: number; end: number }[]) => {
      const s = new Set<number>();
      for (const r of rs) for (let i = r.start; i < r.end; i++) s.add(i);
      return s;
    };
    fc.assert(
      fc.property(arbRanges, arbRanges, (a, b) => {
        const n = normalizeRanges(a);
        for (let i = 1; i < n.length; i++) expect(n[i].start).toBeGreaterThan(n[i - 1].end);
        expect(toSet(n)).toEqual(toSet(a));
        const diff = subtractRanges(a, b);
        const expected = new Set([...toSet(a)].filter((x) => !toSet(b).has(x)));
        expect(toSet(diff)).toEqual(expected);
      }),
      { numRuns: runs },
    );
  });
});

describe('virtual addresses', () => {
  it('know canonical form for 48 and 57 bits', () => {
    expect(isCanonical(0x0000_7fff_ffff_ffffn)).toBe(true);
    expect(isCanonical(0x0000_8000_0000_0000n)).toBe(false);
    expect(isCanonical(0xffff_8000_0000_0000n)).toBe(true);
    expect(isCanonical(0xffff_7fff_ffff_ffffn)).toBe(false);
    expect(isCanonical(0x0000_8000_0000_0000n, 5)).toBe(true);
    expect(isCanonical(0x00ff_ffff_ffff_ffffn, 5)).toBe(true);
    expect(isCanonical(0x0100_0000_0000_0000n, 5)).toBe(false);
    expect(isCanonical(0xff00_0000_0000_0000n, 5)).toBe(true);
    expect(isCanonical(-1n)).toBe(false);
  });

  it('truncate sign-extends and is idempotent; canonical values are fixed points', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom<4 | 5>(4, 5), (v, levels) => {
        const t = virtTruncate(v, levels);
        expect(isCanonical(t, levels)).toBe(true);
        expect(virtTruncate(t, levels)).toBe(t);
        const bits = levels === 4 ? 48n : 57n;
        expect(t & ((1n << bits) - 1n)).toBe(v & ((1n << bits) - 1n));
        if (isCanonical(v, levels)) expect(t).toBe(v);
        expect(VirtAddr.try(v, levels)).toBe(isCanonical(v, levels) ? v : null);
      }),
      { numRuns: runs },
    );
  });

  it('rejects non-bigints, negatives, > 64 bits and non-canonical values with typed errors', () => {
    expect(codeOf(() => checkVirtAddr(5 as unknown as bigint))).toBe('ADDR_NOT_BIGINT');
    expect(codeOf(() => checkVirtAddr(-1n))).toBe('ADDR_NEGATIVE');
    expect(codeOf(() => checkVirtAddr(1n << 64n))).toBe('ADDR_OUT_OF_RANGE');
    expect(codeOf(() => VirtAddr.new(0x0000_8000_0000_0000n))).toBe('ADDR_NON_CANONICAL');
    expect(codeOf(() => checkVirtAddr(0n, 3 as 4))).toBe('ADDR_BAD_LEVELS');
    expect(VirtAddr.fromSigned(-0x8000_0000n)).toBe(0xffff_ffff_8000_0000n);
    expect(VirtAddr.toSigned(0xffff_ffff_8000_0000n)).toBe(-0x8000_0000n);
  });

  it('aligns and adds with canonical results', () => {
    expect(virtAlignDown(0xffff_ffff_8000_1234n, 4096)).toBe(0xffff_ffff_8000_1000n);
    expect(virtAlignUp(0xffff_ffff_8000_1234n, 0x20_0000)).toBe(0xffff_ffff_8020_0000n);
    expect(isVirtAligned(0xffff_ffff_8000_0000n, 1 << 30)).toBe(true);
    expect(codeOf(() => virtAlignUp(0x0000_7fff_ffff_f001n, 4096))).toBe('ADDR_NON_CANONICAL');
    expect(codeOf(() => virtAlignUp(0xffff_ffff_ffff_f001n, 4096))).toBe('ADDR_OVERFLOW');
    expect(codeOf(() => virtAdd(0xffff_8000_0000_0000n, -1n, 4))).toBe('ADDR_NON_CANONICAL');
    expect(virtAdd(0xffff_ffff_8000_0000n, 0x1000)).toBe(0xffff_ffff_8000_1000n);
  });
});

describe('Layout.fromSizeAlign', () => {
  it('accepts what Rust accepts', () => {
    const l = Layout.fromSizeAlign(24, 8);
    expect([l.size, l.align]).toEqual([24, 8]);
    expect(Layout.fromSizeAlign(0, 1).size).toBe(0);
    expect(Layout.fromSizeAlign(13, 8).padToAlign().size).toBe(16);
    expect(Layout.fromSizeAlign(13, 8).alignTo(64).align).toBe(64);
    expect(Layout.fromSizeAlign(2 ** 52 - 4096, 4096).size).toBe(2 ** 52 - 4096);
  });

  it('rejects what Rust rejects, with typed errors', () => {
    const err = (s: number, a: number) => {
      try {
        Layout.fromSizeAlign(s, a);
      } catch (e) {
        expect(e).toBeInstanceOf(LayoutError);
        return (e as LayoutError).code;
      }
      return 'ok';
    };
    expect(err(8, 0)).toBe('LAYOUT_BAD_ALIGN');
    expect(err(8, 3)).toBe('LAYOUT_BAD_ALIGN');
    expect(err(8, 1.5)).toBe('LAYOUT_BAD_ALIGN');
    expect(err(-1, 8)).toBe('LAYOUT_BAD_SIZE');
    expect(err(Number.NaN, 8)).toBe('LAYOUT_BAD_SIZE');
    expect(err(2.5, 8)).toBe('LAYOUT_BAD_SIZE');
    expect(err(2 ** 52 - 4095, 4096)).toBe('LAYOUT_OVERFLOW');
    expect(Layout.tryFromSizeAlign(8, 3)).toBeNull();
  });

  it('matches the Rust rule size + align - 1 <= limit - 1 for random inputs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.integer({ min: 0, max: 53 }), (size, shift) => {
        const align = 2 ** shift;
        const ok = align < 2 ** 52 && BigInt(size) + BigInt(align) - 1n <= 2n ** 52n - 1n;
        expect(Layout.tryFromSizeAlign(size, align) !== null).toBe(ok);
      }),
      { numRuns: runs },
    );
  });
});

it('errors carry code, details and the subclass name', () => {
  try {
    checkPhysAddr(-1, 'base');
  } catch (e) {
    expect(e).toBeInstanceOf(AddressError);
    expect((e as AddressError).name).toBe('AddressError');
    expect((e as AddressError).details).toMatchObject({ what: 'base', value: -1 });
    return;
  }
  throw new Error('no error');
});
