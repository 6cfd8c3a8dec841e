/**
 * The reader on tables written by real firmware: OVMF (Debian's EDK II build) stopped at the
 * UEFI shell prompt under QEMU q35, captured by test/qemu/capture-ovmf.ts. Only the table
 * frames reachable from CR3 are stored, with QEMU's own `info tlb` and `info mem` for that
 * CR3. The reader must list exactly QEMU's leaves (address, frame, flag letters), with leaf
 * sizes that tile QEMU's listing, coalesce like `info mem`, report no reserved-bit problems
 * with the captured CPU's MAXPHYADDR and EFER.NXE, and translate as the identity map that
 * OVMF builds; `memprims pt --tlb` over an image of the frames must print `info tlb` itself.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { PhysicalMemory, readPageTables, type Mapping, type PageTableView } from '../../src/index.js';

interface OvmfCapture {
  levels: 4 | 5;
  root: number;
  memory: string;
  cpu: string;
  physBits: number;
  nxe: boolean;
  cr4: number;
  efer: number;
  frames: { phys: number; data: string }[];
  infoTlb: string;
  infoMem: string;
}

/** One `info tlb` line: `virt: phys XGPDACTUW`. */
interface TlbLine {
  text: string;
  virt: bigint;
  phys: number;
  letters: string;
}

const FIXTURES = ['ovmf-q35-4level', 'ovmf-q35-512m-4level'];
const GiB = 0x4000_0000;
const MiB2 = 0x20_0000;

function load(name: string): { capture: OvmfCapture; memory: PhysicalMemory; view: PageTableView; tlb: TlbLine[] } {
  const file = new URL(`../fixtures/paging/${name}.json.gz`, import.meta.url);
  const capture = JSON.parse(gunzipSync(readFileSync(file)).toString()) as OvmfCapture;
  const memory = new PhysicalMemory({ shared: false });
  for (const f of capture.frames) memory.addRegion(f.phys, new Uint8Array(Buffer.from(f.data, 'base64')));
  const view = readPageTables(memory, { root: capture.root, levels: capture.levels, maxPhysBits: capture.physBits, nxe: capture.nxe });
  const tlb = capture.infoTlb
    .split(/\r?\n/)
    .filter((l) => /^[0-9a-f]{16}: /.test(l))
    .map((text) => {
      const [v, p, letters] = text.split(/:? /);
      return { text, virt: BigInt('0x' + v), phys: Number(BigInt('0x' + p)), letters };
    });
  return { capture, memory, view, tlb };
}

const letters = (m: Mapping) => {
  const f = m.flags;
  return `${f.noExecute ? 'X' : '-'}${f.global ? 'G' : '-'}${m.size > 4096 ? 'P' : '-'}${f.dirty ? 'D' : '-'}${f.accessed ? 'A' : '-'}${f.cacheDisable ? 'C' : '-'}${f.writeThrough ? 'T' : '-'}${f.user ? 'U' : '-'}${f.writable ? 'W' : '-'}`;
};
const tlbText = (m: Mapping) => `${m.virt.toString(16).padStart(16, '0')}: ${m.phys.toString(16).padStart(16, '0')} ${letters(m)}`;

/** QEMU 7.2 `info mem`: runs of leaves with equal user/writable bits (NX and A/D not shown), `-rw` style. */
function infoMemOf(mappings: readonly Mapping[]): string[] {
  const out: string[] = [];
  let start = -1n;
  let end = -1n;
  let prot = '';
  const flush = () => {
    if (start >= 0n) out.push(`${start.toString(16).padStart(16, '0')}-${end.toString(16).padStart(16, '0')} ${(end - start).toString(16).padStart(16, '0')} ${prot}`);
  };
  for (const m of mappings) {
    const p = `${m.flags.user ? 'u' : '-'}r${m.flags.writable ? 'w' : '-'}`;
    if (m.virt !== end || p !== prot) {
      flush();
      start = m.virt;
      prot = p;
    }
    end = m.virt + BigInt(m.size);
  }
  flush();
  return out;
}

/** The raw 64-bit entry at `address`, read straight from the fixture's frames (not through the library). */
function rawEntry(capture: OvmfCapture, address: number): bigint {
  const frame = capture.frames.find((f) => f.phys === address - (address % 4096))!;
  return Buffer.from(frame.data, 'base64').readBigUInt64LE(address % 4096);
}

const tmp = mkdtempSync(join(tmpdir(), 'memprims-ovmf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

for (const name of FIXTURES) {
  describe(`OVMF tables captured under QEMU: ${name}`, () => {
    const { capture, memory, view, tlb } = load(name);
    const mine = view.mappings();

    it('is a 4-level capture with the table frames only (OVMF does not enable LA57 even when the CPU offers it)', () => {
      expect(capture.levels).toBe(4);
      expect(capture.cr4 & 0x1000).toBe(0);
      expect(capture.frames.length).toBeLessThan(64);
      expect(tlb.length).toBeGreaterThan(1000);
    });

    it('every leaf equals QEMU info tlb (address, frame, flag letters)', () => {
      expect(mine.length).toBe(tlb.length);
      for (let i = 0; i < mine.length; i++) {
        const line = tlbText(mine[i]);
        if (line !== tlb[i].text) expect(line).toBe(tlb[i].text);
      }
    });

    it('leaf sizes tile QEMU listing, and runs coalesce exactly like QEMU info mem', () => {
      const mem = capture.infoMem.split(/\r?\n/).filter((l) => /^[0-9a-f]{16}-/.test(l));
      const lastEnd = BigInt('0x' + mem[mem.length - 1].slice(17, 33));
      for (let i = 0; i < mine.length; i++) {
        const next = i + 1 < tlb.length ? tlb[i + 1].virt : lastEnd;
        if (BigInt(mine[i].size) !== next - tlb[i].virt) expect([tlb[i].text, mine[i].size]).toEqual([tlb[i].text, Number(next - tlb[i].virt)]);
      }
      expect(infoMemOf(mine)).toEqual(mem);
      // what the capture holds: 1 GiB, 2 MiB and 4 KiB leaves, some 4 KiB ones NX or read-only
      const sizes = new Set(mine.map((m) => m.size));
      expect([...sizes].sort((a, b) => a - b)).toEqual([4096, MiB2, GiB]);
      expect(mine.some((m) => m.size === 4096 && m.flags.noExecute)).toBe(true);
      expect(mine.some((m) => m.size === 4096 && !m.flags.writable)).toBe(true);
    });

    it('reports no reserved-bit problems, with the captured CPU facts and with the defaults', () => {
      expect(view.problems()).toEqual([]);
      expect(readPageTables(memory, { root: capture.root, levels: capture.levels }).problems()).toEqual([]);
      // NX entries are there, so with EFER.NXE clear the same tables would fault
      const noNxe = readPageTables(memory, { root: capture.root, levels: capture.levels, nxe: false }).problems();
      expect(noNxe.length).toBeGreaterThan(0);
      for (const p of noNxe) expect(p.reserved).toBe(1n << 63n);
    });

    it('reaches exactly the captured frames, root first', () => {
      const frames = view.tableFrames();
      expect(frames[0]).toBe(capture.root);
      expect([...frames].sort((a, b) => a - b)).toEqual(capture.frames.map((f) => f.phys));
    });

    it('translate: OVMF identity-maps everything it maps, agreeing with each info tlb line', () => {
      for (const l of tlb) expect(l.phys === Number(l.virt) || l.text).toBe(true);
      // every 4 KiB leaf, and the first / last byte of every 64th larger leaf
      for (let i = 0; i < tlb.length; i++) {
        const m = mine[i];
        if (m.size !== 4096 && i % 64 !== 0 && i !== tlb.length - 1) continue;
        for (const off of [0, m.size - 1]) {
          const v = tlb[i].virt + BigInt(off);
          const t = view.translate(v);
          expect(t).not.toBeNull();
          expect(t!.phys).toBe(Number(v));
          expect(t!.pageSize).toBe(m.size);
          expect(t!.flags.noExecute).toBe(tlb[i].letters[0] === 'X');
          expect(t!.flags.writable).toBe(tlb[i].letters[8] === 'W');
        }
      }
      // past the end of OVMF's map (2^physBits) nothing is mapped, nor in the upper half
      const end = BigInt(2 ** capture.physBits);
      expect(tlb[tlb.length - 1].virt + BigInt(mine[mine.length - 1].size)).toBe(end);
      expect(view.translate(end)).toBeNull();
      expect(view.translate(0xffff800000000000n)).toBeNull();
    });

    it('explain: the walk to an NX 4 KiB page reads the raw entry words stored in the frames', () => {
      const i = tlb.findIndex((l, k) => l.letters[0] === 'X' && mine[k].size === 4096);
      const w = view.explain(tlb[i].virt + 0x123n);
      expect(w.steps.map((s) => s.kind)).toEqual(['table', 'table', 'table', 'leaf']);
      for (const s of w.steps) expect(s.raw).toBe(rawEntry(capture, s.entryAddress));
      const leaf = w.steps[3].raw!;
      expect(leaf >> 63n).toBe(1n);
      expect(Number(leaf & 0x000ffffffffff000n)).toBe(tlb[i].phys);
      expect(w.translation?.phys).toBe(tlb[i].phys + 0x123);
      expect(w.effective?.noExecute).toBe(true);
    });

    it('memprims pt --tlb over an image of the frames prints QEMU info tlb', async () => {
      const phys = capture.frames.map((f) => f.phys);
      const base = Math.min(...phys);
      const image = new Uint8Array(Math.max(...phys) + 4096 - base);
      for (const f of capture.frames) image.set(Buffer.from(f.data, 'base64'), f.phys - base);
      const file = join(tmp, `${name}.bin`);
      writeFileSync(file, image);
      let out = '';
      let err = '';
      const code = await main(['pt', file, '--cr3', `0x${capture.root.toString(16)}`, '--base', `0x${base.toString(16)}`, '--max-phys-bits', String(capture.physBits), '--tlb'], {
        out: (s) => void (out += s),
        err: (s) => void (err += s),
      });
      expect([code, err]).toEqual([0, '']);
      const lines = out.split('\n');
      const listing = lines.filter((l) => /^[0-9a-f]{16}: /.test(l));
      expect(listing).toEqual(tlb.map((l) => l.text));
      // OVMF leaves most of memory writable and executable; no entry has reserved bits
      expect(lines.some((l) => l.startsWith('warning: writable and executable: 0x0000000000000000-'))).toBe(true);
      expect(lines.filter((l) => /reserved/i.test(l))).toEqual([]);
    });
  });
}
