/**
 * The reader on tables written by real software: Debian Linux 6.1 stopped in a panic under
 * QEMU (KASLR, PTI; 4- and 5-level), captured by test/qemu/capture-linux.ts. Only the table
 * frames are stored, with QEMU's own `info tlb` for the kernel and the PTI user root; the
 * reader must list exactly the same leaves (address, frame, flags) and report no problems.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory, readPageTables, type Mapping } from '../../src/index.js';

interface Capture {
  levels: 4 | 5;
  kernel: string;
  kernelRoot: number;
  userRoot: number;
  frames: { phys: number; data: string }[];
  infoTlb: { kernel: string; user: string };
}

function load(levels: number): { capture: Capture; memory: PhysicalMemory } | null {
  const file = new URL(`../fixtures/paging/linux-${levels}level.json.gz`, import.meta.url);
  if (!existsSync(file)) return null;
  const capture = JSON.parse(gunzipSync(readFileSync(file)).toString()) as Capture;
  const memory = new PhysicalMemory({ shared: false });
  for (const f of capture.frames) memory.addRegion(f.phys, new Uint8Array(Buffer.from(f.data, 'base64')));
  return { capture, memory };
}

const letters = (m: Mapping) => {
  const f = m.flags;
  return `${f.noExecute ? 'X' : '-'}${f.global ? 'G' : '-'}${m.size > 4096 ? 'P' : '-'}${f.dirty ? 'D' : '-'}${f.accessed ? 'A' : '-'}${f.cacheDisable ? 'C' : '-'}${f.writeThrough ? 'T' : '-'}${f.user ? 'U' : '-'}${f.writable ? 'W' : '-'}`;
};

for (const levels of [4, 5]) {
  const loaded = load(levels);
  describe.skipIf(loaded === null)(`Linux ${levels}-level tables captured under QEMU`, () => {
    for (const which of ['kernel', 'user'] as const) {
      it(`${which} root: reader == QEMU info tlb`, () => {
        const { capture, memory } = loaded!;
        const root = which === 'kernel' ? capture.kernelRoot : capture.userRoot;
        const view = readPageTables(memory, { root, levels: capture.levels });
        const tlb = capture.infoTlb[which].split(/\r?\n/).filter((l) => /^[0-9a-f]{16}: /.test(l));
        const mine = view.mappings();
        if (which === 'kernel') expect(mine.length).toBeGreaterThan(1000);
        expect(mine.length).toBe(tlb.length);
        for (let i = 0; i < mine.length; i++) {
          const m = mine[i];
          const line = `${m.virt.toString(16).padStart(16, '0')}: ${m.phys.toString(16).padStart(16, '0')} ${letters(m)}`;
          if (line !== tlb[i]) expect(line).toBe(tlb[i]);
        }
        expect(view.problems()).toEqual([]);
        // translate agrees with the listing inside pages of every size
        const bySize = new Map<number, Mapping>();
        for (const m of mine) if (!bySize.has(m.size)) bySize.set(m.size, m);
        for (const m of bySize.values()) expect(view.translate(m.virt + BigInt(m.size) - 1n)).toMatchObject({ phys: m.phys + m.size - 1, pageSize: m.size });
      });
    }
  });
}
