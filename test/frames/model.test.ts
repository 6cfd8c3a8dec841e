/**
 * Model-based tests (fc.commands + fc.modelRun) of both frame allocators over arbitrary
 * small maps, firmware-shaped maps and the real OVMF memory maps.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { firmwareMemoryMaps } from '../../src/arbitraries/uefi.js';
import { BitmapFrameAllocator, BuddyFrameAllocator, type FrameAllocator } from '../../src/frames/index.js';
import { PhysicalMemory } from '../../src/memory/index.js';
import { parseMemoryMap } from '../../src/uefi/index.js';
import { commands, FRAME, initialModel, teardown, type Block, type Range } from './model.js';

const runs = Number(process.env.FC_RUNS ?? 60);
const KINDS = ['bitmap', 'buddy'] as const;

type Built = FrameAllocator & { metadataAddress: number };

function build(kind: 'bitmap' | 'buddy', memory: PhysicalMemory, byteRanges: Range[], maxOrder: number, extra: { inUse?: Range[]; reserved?: Range[] } = {}): Built {
  const options = { ranges: byteRanges, inUse: extra.inUse, reserved: extra.reserved };
  return kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, null, options) : BuddyFrameAllocator.fromMemoryMap(memory, null, { ...options, maxOrder });
}

/** Usable frame ranges the allocator manages: the byte ranges shrunk to frames, page 0 left out. */
function frameRanges(byteRanges: Range[]): Range[] {
  const out: Range[] = [];
  for (const r of byteRanges) {
    const s = Math.max(1, Math.ceil(r.start / FRAME));
    const e = Math.floor(r.end / FRAME);
    if (e > s) out.push({ start: s, end: e });
  }
  return out;
}

/** Small maps: 1..8 ranges of 1..400 frames separated by gaps, from frame 0..3. */
const smallMaps = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 400 })), { minLength: 1, maxLength: 8 }))
  .map(([first, parts]) => {
    const out: Range[] = [];
    let at = first;
    for (const [gap, len] of parts) {
      out.push({ start: at * FRAME, end: (at + len) * FRAME });
      at += len + gap;
    }
    return out;
  })
  .filter((rs) => frameRanges(rs).reduce((n, r) => n + r.end - r.start, 0) >= 80);

function pieces(kind: 'bitmap' | 'buddy', maxOrder: number, r: Range): Block[] {
  if (kind === 'bitmap') return [{ start: r.start, count: r.end - r.start, span: r.end - r.start }];
  const out: Block[] = [];
  let at = r.start;
  while (at < r.end) {
    let j = 0;
    while (j < maxOrder && at % 2 ** (j + 1) === 0 && at + 2 ** (j + 1) <= r.end) j++;
    out.push({ start: at, count: 2 ** j, span: 2 ** j });
    at += 2 ** j;
  }
  return out;
}

describe.each(KINDS)('%s frame allocator: model-based', (kind) => {
  it('small arbitrary maps, with in-use and reserved options', () => {
    fc.assert(
      fc.property(smallMaps, fc.integer({ min: 0, max: 12 }), fc.nat(), fc.nat(), fc.commands(commands(12, 6), { maxCommands: 60 }), (byteRanges, maxOrder, a, b, cmds) => {
        const top = byteRanges[byteRanges.length - 1].end;
        const memory = new PhysicalMemory({ shared: false });
        memory.addRegion(0, top);
        const usable = frameRanges(byteRanges);
        const total = usable.reduce((n, r) => n + r.end - r.start, 0);
        // one in-use range and one reserved range of a few frames each, somewhere in usable memory
        const pickFrame = (n: number): number => {
          let k = n % total;
          for (const r of usable) {
            if (k < r.end - r.start) return r.start + k;
            k -= r.end - r.start;
          }
          return usable[0].start;
        };
        const iu = pickFrame(a);
        const inUseFrames = usable.map((r) => ({ start: Math.max(r.start, iu), end: Math.min(r.end, iu + 3) })).filter((r) => r.end > r.start);
        const rs = pickFrame(b);
        const resFrames = usable.map((r) => ({ start: Math.max(r.start, rs), end: Math.min(r.end, rs + 2) })).filter((r) => r.end > r.start);
        const inUseOnly = inUseFrames.flatMap((r) => [r]).flatMap((r) => subtract(r, resFrames));
        let real: Built;
        try {
          real = build(kind, memory, byteRanges, maxOrder, {
            inUse: inUseFrames.map((r) => ({ start: r.start * FRAME, end: r.end * FRAME })),
            reserved: resFrames.map((r) => ({ start: r.start * FRAME, end: r.end * FRAME })),
          });
        } catch (e) {
          if ((e as { code?: string }).code === 'FRAME_NO_METADATA_SPACE') return; // the map is too fragmented to hold the metadata
          throw e;
        }
        const model = initialModel(kind, maxOrder, usable, real, resFrames, inUseOnly.flatMap((r) => pieces(kind, maxOrder, r)));
        real.check();
        fc.modelRun(() => ({ model, real }), cmds);
        teardown(model, real);
      }),
      { numRuns: runs },
    );
  });

  it('firmware-shaped maps (lazily backed memory up to 68 GiB)', () => {
    fc.assert(
      fc.property(firmwareMemoryMaps(), fc.integer({ min: 0, max: 18 }), fc.commands(commands(16, 9), { maxCommands: 40 }), (map, maxOrder, cmds) => {
        const memory = new PhysicalMemory({ shared: false });
        memory.addRegion(0, 2 ** 37, { backing: 'lazy' });
        const byteRanges = map.usableAfterExitBootServices();
        const real = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, map) : BuddyFrameAllocator.fromMemoryMap(memory, map, { maxOrder });
        const model = initialModel(kind, maxOrder, frameRanges(byteRanges), real);
        real.check();
        fc.modelRun(() => ({ model, real }), cmds);
        teardown(model, real);
      }),
      { numRuns: Math.max(1, Math.floor(runs / 2)) },
    );
  });

  it.each(['pc-128M', 'q35-2G', 'pc-6G'])('real OVMF map %s (at ExitBootServices)', (config) => {
    const bytes = readFileSync(new URL(`../fixtures/frames/ovmf/${config}.at_exit.bin`, import.meta.url));
    const map = parseMemoryMap(new Uint8Array(bytes), { descriptorSize: 48, descriptorVersion: 1 });
    const byteRanges = map.usableAfterExitBootServices();
    fc.assert(
      fc.property(fc.commands(commands(16, 9), { maxCommands: 50 }), (cmds) => {
        const memory = new PhysicalMemory({ shared: false });
        memory.addRegion(0, 2 ** 34, { backing: 'lazy' });
        const real = kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, map) : BuddyFrameAllocator.fromMemoryMap(memory, map);
        const model = initialModel(kind, 10, frameRanges(byteRanges), real);
        real.check();
        fc.modelRun(() => ({ model, real }), cmds);
        teardown(model, real);
      }),
      { numRuns: Math.max(1, Math.floor(runs / 4)) },
    );
  });
});

function subtract(r: Range, holes: Range[]): Range[] {
  let parts = [r];
  for (const h of holes) parts = parts.flatMap((p) => (h.end <= p.start || h.start >= p.end ? [p] : [{ start: p.start, end: h.start }, { start: h.end, end: p.end }].filter((x) => x.end > x.start)));
  return parts;
}
