import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bootFlow, BootFlowError, BootServicesError, bundledOvmfMap, bundledOvmfMapBytes, formatSteps, kernelViewMap, MemoryType, parseMemoryMap, PagingError,
} from '../../src/index.js';

const dir = new URL('../fixtures/boot/ovmf/', import.meta.url);
const PAGE = 4096;

function fixtureMap(cfg: string) {
  const bytes = new Uint8Array(readFileSync(new URL(`${cfg}/initial.bin`, dir)));
  const meta = JSON.parse(readFileSync(new URL(`${cfg}/initial.json`, dir), 'utf8')) as { map_key: number };
  return parseMemoryMap(bytes, { descriptorSize: 48, descriptorVersion: 1, mapKey: meta.map_key });
}

describe('bundled map', () => {
  it('is byte for byte the captured q35-2G initial map', () => {
    expect(bundledOvmfMapBytes()).toEqual(new Uint8Array(readFileSync(new URL('q35-2G/initial.bin', dir))));
    expect(bundledOvmfMap().mapKey).toBe(fixtureMap('q35-2G').mapKey);
  });
});

describe('bootFlow', () => {
  for (const cfg of ['pc-128M', 'q35-2G', 'pc-6G']) {
    for (const levels of [4, 5] as const) {
      it(`${cfg}, ${levels}-level: seven steps, and the result is what a kernel needs`, () => {
        const map = fixtureMap(cfg);
        const boot = bootFlow({ map, levels });
        expect(boot.steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
        for (const s of boot.steps) expect(s.summary.length).toBeGreaterThan(10);
        expect(formatSteps(boot.steps)).toContain('[5/7] exit boot services');
        expect(boot.bootServices.exited).toBe(true);
        expect(boot.steps[4].details.attempts).toBe(2); // the default model changes the map once during the first exit
        expect(boot.shim.phase).toBe('ownHeap');

        // Kernel sections: VMA high, LMA in the loaded image, W^X.
        const pt = boot.pageTables;
        for (const s of boot.kernel.sections) {
          const t = pt.translate(s.vma)!;
          expect(t.phys).toBe(s.lma);
          expect(t.flags.writable).toBe(s.kind === 'data' || s.kind === 'bss');
          expect(t.flags.noExecute).toBe(s.kind !== 'text');
          expect(s.lma).toBeGreaterThanOrEqual(boot.kernel.image.start);
          expect(s.lma + s.size).toBeLessThanOrEqual(boot.kernel.image.end);
        }
        // The image is the LoaderCode the firmware loaded.
        const image = map.descriptors.find((x) => x.physicalStart === boot.kernel.image.start)!;
        expect(image.type).toBe(MemoryType.LoaderCode);
        // Identity map of the loader's text.
        const text = boot.kernel.sections[0];
        expect(pt.translate(BigInt(text.lma))!.phys).toBe(text.lma);
        // Direct map of RAM.
        const offset = levels === 5 ? 0xff11000000000000n : 0xffff800000000000n;
        for (const d of map.descriptors.filter((x) => x.type === MemoryType.Conventional)) {
          expect(pt.translate(offset + BigInt(d.physicalStart))!.phys).toBe(d.physicalStart);
        }
        expect(pt.translate(offset + 0xffc00000n)).toBeNull(); // MMIO is not RAM
        // Stack with a guard page below it.
        expect(pt.translate(boot.stack.top - 8n)!.phys).toBe(boot.stack.range.end - 8);
        expect(pt.translate(boot.stack.guard)).toBeNull();
        // Page-table frames come from the reserved LoaderData block.
        for (const f of pt.tableFrames()) expect(f >= boot.pageTableFrames.range.start && f < boot.pageTableFrames.range.end).toBe(true);

        // Everything the kernel keeps is LoaderCode/LoaderData in the final map and never free in the frame allocator.
        for (const r of boot.kernelRanges) {
          for (let p = r.start; p < r.end; p += PAGE) {
            const desc = boot.finalMap.descriptors.find((x) => x.physicalStart <= p && p < x.physicalStart + x.numberOfPages * PAGE)!;
            expect([MemoryType.LoaderCode, MemoryType.LoaderData]).toContain(desc.type);
            expect(boot.frames.isFree(p)).toBe(false);
          }
        }
        // Boot-services memory is reclaimed.
        const bsData = boot.finalMap.descriptors.find((x) => x.type === MemoryType.BootServicesData && x.physicalStart >= 0x100000)!;
        expect(boot.frames.isFree(bsData.physicalStart)).toBe(true);
        boot.frames.check();
        boot.heap.check();
        // The shim now allocates from the heap.
        const a = boot.shim.alloc({ size: 64, align: 8 } as never)!;
        expect(a >= boot.heap.bottom && a < boot.heap.top).toBe(true);
        // The after picture shows reclaimed memory as Conventional and the kernel's memory as kept.
        const view = kernelViewMap(boot.finalMap, boot.kernelRanges);
        expect(view.descriptors.some((x) => x.type === MemoryType.BootServicesData)).toBe(false);
        expect(view.descriptors.some((x) => x.type === MemoryType.LoaderData)).toBe(true);
      });
    }
  }

  it('a 4-page image still gets four non-empty W^X sections', () => {
    const image = bundledOvmfMap().descriptors.find((x) => x.type === MemoryType.LoaderCode)!;
    const boot = bootFlow({ kernelImage: { start: image.physicalStart, pages: 4 } });
    expect(boot.kernel.sections.map((s) => s.size / PAGE)).toEqual([1, 1, 1, 1]);
    expect(boot.pageTables.translate(boot.kernel.sections[3].vma)!.flags.writable).toBe(true);
  });

  it('without a map change at exit, one attempt is enough', () => {
    const boot = bootFlow({ bootServices: { changeMapOnExit: 0 } });
    expect(boot.steps[4].details.attempts).toBe(1);
  });

  it("policy 'reclaim' gives the map copy's pages to the frame allocator", () => {
    const boot = bootFlow({ shim: { freedAfterExit: 'reclaim' } });
    const copy = boot.steps[0].details.copy as number;
    expect(boot.frames.isFree(copy - (copy % PAGE))).toBe(true);
    expect(boot.shim.stats().reclaimedFrames).toBeGreaterThan(0);
    expect(boot.shim.stats().leaked.blocks).toBe(0);
  });

  it('a failing step explains itself: which step, what completed, and the cause', () => {
    const fail = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as BootFlowError;
      }
      throw new Error('expected a failure');
    };
    const e2 = fail(() => bootFlow({ heapSize: 2 ** 40 }));
    expect(e2).toBeInstanceOf(BootFlowError);
    expect(e2.code).toBe('BOOT_STEP_FAILED');
    expect(e2.step).toBe(2);
    expect(e2.stepName).toBe('allocate kernel memory');
    expect(e2.completed.map((s) => s.step)).toEqual([1]);
    expect(e2.cause).toBeInstanceOf(BootServicesError);
    expect(e2.message).toContain('OUT_OF_RESOURCES');

    const e4 = fail(() => bootFlow({ pageTableFrames: 2 }));
    expect(e4.step).toBe(4);
    expect(e4.cause).toBeInstanceOf(PagingError);

    const e5 = fail(() => bootFlow({ exitAttempts: 1 }));
    expect(e5.step).toBe(5);
    expect(e5.message).toContain('stale map key');

    const bad = fail(() => bootFlow({ levels: 3 as 4 }));
    expect(bad.code).toBe('BOOT_BAD_OPTIONS');
    expect(fail(() => bootFlow({ heapSize: -1 })).code).toBe('BOOT_BAD_OPTIONS');
  });
});
