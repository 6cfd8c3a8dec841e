/**
 * Hardware-emulation checks of the page tables: QEMU's MMU runs on the builder's tables
 * as they are. For 4- and 5-level paging, with 4 KiB / 2 MiB / 1 GiB pages, higher-half
 * addresses and every flag, `info tlb` must list exactly `mappings()` (address, frame and
 * flags), and reads of virtual addresses through QEMU's MMU must land where `translate()`
 * says (every data frame holds its own physical address in each 8-byte word) or fault
 * where it says null. The reader's view of the same memory must agree too.
 *
 * Skipped (with a message) only when qemu-system-x86_64 is not installed; CI installs the
 * Debian package `qemu-system-x86`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageTableBuilder, PhysicalMemory, readPageTables, type Mapping } from '../../src/index.js';
import { findQemu, parseInfoTlb, startPagedGuest, type PagedGuest } from './harness.js';

const qemu = findQemu();
if (qemu === null) console.warn('[paging-qemu] SKIPPED: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
const suite = qemu === null ? describe.skip : describe;

const IMAGE_BASE = 0x200000;
const IMAGE_SIZE = 14 << 20; // guest physical 2 MiB .. 16 MiB
const GUEST_MIB = 64;

/** Memory whose every 8-byte word holds its own physical address (tables overwrite theirs). */
function patternedMemory(): PhysicalMemory {
  const memory = new PhysicalMemory();
  memory.addRegion(IMAGE_BASE, IMAGE_SIZE);
  const words = new Uint32Array(memory.view(IMAGE_BASE, IMAGE_SIZE).buffer);
  for (let i = 0; i < words.length; i += 2) words[i] = IMAGE_BASE + i * 4;
  return memory;
}

function bumpFrames(start: number) {
  let next = start;
  return { allocate: (n: number) => ((next += n * 4096), next - n * 4096), free: () => {} };
}

function tlbLetters(m: Mapping): string {
  const f = m.flags;
  return [
    f.noExecute ? 'X' : '-', f.global ? 'G' : '-', m.size > 4096 ? 'P' : '-', f.dirty ? 'D' : '-', f.accessed ? 'A' : '-',
    f.cacheDisable ? 'C' : '-', f.writeThrough ? 'T' : '-', f.user ? 'U' : '-', f.writable ? 'W' : '-',
  ].join('');
}

const FLAG_NAMES = ['writable', 'user', 'writeThrough', 'cacheDisable', 'accessed', 'dirty', 'global', 'noExecute'] as const;
function flagsFor(bits: number) {
  const f: Record<string, boolean | number> = {};
  FLAG_NAMES.forEach((name, i) => (f[name] = (bits & (1 << i)) !== 0));
  f.pat = (bits & 1) === 1;
  f.available = bits & 0x3ff;
  f.protectionKey = bits & 15;
  return f;
}

/** Builds the scenario for a paging depth; returns the builder and addresses expected to fault. */
function buildScenario(levels: 4 | 5) {
  const memory = patternedMemory();
  const pt = new PageTableBuilder({ memory, frames: bumpFrames(IMAGE_BASE), levels });
  const hi = levels === 4 ? 0xffff800000000000n : 0xff00000000000000n;
  const lowTop = levels === 4 ? 0x00007f0000000000n : 0x00ff000000000000n;
  // every combination of the eight boolean flags on 4 KiB pages (plus PAT, AVL, PK bits)
  for (let bits = 0; bits < 256; bits++) {
    pt.map({ virt: lowTop + BigInt(bits) * 0x1000n, phys: 0x800000 + bits * 0x1000, size: 4096, flags: flagsFor(bits), pageSize: 4096 });
  }
  // 2 MiB pages with assorted flags, and a 1 GiB page over guest RAM from 0
  for (let k = 0; k < 4; k++) {
    pt.map({ virt: hi + 0x40000000n + BigInt(k) * 0x200000n, phys: 0x400000 + k * 0x200000, size: 0x200000, flags: flagsFor(k * 37 + 3), pageSize: 0x200000 });
  }
  pt.map({ virt: hi + 0x80000000n, phys: 0, size: 0x40000000, flags: { writable: true, noExecute: true, global: true }, pageSize: 0x40000000 });
  // higher-half kernel linked at -2 GiB, loaded low, W^X sections
  pt.mapKernelSections([
    { name: '.text', vma: 0xffffffff80000000n, lma: 0xa00000, size: 0x5000, kind: 'text' },
    { name: '.rodata', vma: 0xffffffff80005000n, lma: 0xa05000, size: 0x2000, kind: 'rodata' },
    { name: '.data', vma: 0xffffffff80007000n, lma: 0xa07000, size: 0x1000, kind: 'data' },
    { name: '.bss', vma: 0xffffffff80008000n, lma: 0xa08000, size: 0x3000, kind: 'bss' },
  ], { global: true });
  // direct map of guest RAM with auto page sizes (a 4 KiB head/tail around 2 MiB pages)
  pt.mapPhysicalMemory({ offset: hi + 0x100000000n, ranges: [{ start: 0x1ff000, end: 0x1000000 + 0x3000 }] });
  pt.identityMap({ start: 0xb00000, end: 0xb02000 }, { writable: true });
  const stack = pt.mapStack({ top: 0xffffffffc0000000n, size: 0x4000, phys: 0xc00000 });
  pt.mapRecursive(levels === 4 ? 510 : 509);
  // edits: protect part of a range, unmap a page in the middle, split a 2 MiB page
  pt.protect(hi + 0x40000000n, 0x200000, { writable: true, user: true, dirty: true });
  pt.unmap(0xffffffff80002000n, 0x1000);
  pt.unmap(hi + 0x40200000n + 0x1000n, 0x1000, { split: true });
  const expected = [
    { virt: hi + 0x80000000n, phys: 0, size: 0x40000000 },
    { virt: hi + 0x40000000n, phys: 0x400000, size: 0x200000 },
    { virt: lowTop, phys: 0x800000, size: 4096 },
    { virt: 0xffffffff80000000n, phys: 0xa00000, size: 4096 },
    { virt: 0xffffffffbfffc000n, phys: 0xc00000, size: 4096 },
    { virt: 0xb00000n, phys: 0xb00000, size: 4096 },
  ];
  const faults = [stack.guard, 0xffffffff80002000n, hi + 0x40201000n, 0xffffffff8000b000n, lowTop + 0x100000n];
  return { memory, pt, faults, expected };
}

for (const levels of [4, 5] as const) {
  suite(`QEMU MMU on ${levels}-level tables`, () => {
    let guest: PagedGuest;
    let scenario: ReturnType<typeof buildScenario>;

    beforeAll(async () => {
      scenario = buildScenario(levels);
      guest = await startPagedGuest({ qemu: qemu!, image: scenario.memory.exportImage(IMAGE_BASE, IMAGE_SIZE), imageBase: IMAGE_BASE, memMiB: GUEST_MIB, root: scenario.pt.root, levels });
    });
    afterAll(async () => guest?.stop());

    it('info tlb lists exactly mappings(): addresses, frames and flags', async () => {
      const tlb = parseInfoTlb(await guest.infoTlb());
      const mine = scenario.pt.mappings();
      console.log(`[paging-qemu] ${levels}-level: info tlb ${tlb.length} leaves, mappings() ${mine.length}`);
      expect(mine.length).toBeGreaterThan(300);
      expect(tlb.map((l) => `${l.virt.toString(16)} ${l.phys.toString(16)} ${l.flags}`)).toEqual(
        mine.map((m) => `${m.virt.toString(16)} ${m.phys.toString(16)} ${tlbLetters(m)}`),
      );
    });

    it.skipIf(levels === 5)('info mem (effective user/write rights through every level) matches the walk', async () => {
      // QEMU's info mem ANDs U/S and R/W down the levels: it checks the intermediate entries
      const text = await guest.qmp.hmp('info mem');
      const got = text.split(/\r?\n/).filter((l) => /^[0-9a-f]{16}-/.test(l));
      const { memory, pt } = scenario;
      const view = readPageTables(memory, { root: pt.root, levels });
      const out: { start: bigint; end: bigint; prot: string }[] = [];
      for (const m of pt.mappings()) {
        const e = view.explain(m.virt).effective!;
        const prot = `${e.user ? 'u' : '-'}r${e.writable ? 'w' : '-'}`;
        const last = out[out.length - 1];
        if (last && last.end === m.virt && last.prot === prot) last.end += BigInt(m.size);
        else out.push({ start: m.virt, end: m.virt + BigInt(m.size), prot });
      }
      const want = out.map((r) => `${r.start.toString(16).padStart(16, '0')}-${r.end.toString(16).padStart(16, '0')} ${(r.end - r.start).toString(16).padStart(16, '0')} ${r.prot}`);
      expect(got).toEqual(want);
      // with the builder's tables the effective rights are the leaf's own, outside the recursive slot
      for (const m of pt.mappings()) {
        if (m.virt >= 0xffffff0000000000n && m.virt < 0xffffff8000000000n) continue;
        const e = view.explain(m.virt).effective!;
        expect([e.user, e.writable, e.noExecute]).toEqual([m.flags.user, m.flags.writable, m.flags.noExecute]);
      }
    });

    it('maps what was asked where it was asked', () => {
      const mine = scenario.pt.mappings();
      for (const e of scenario.expected) expect(mine.find((m) => m.virt === e.virt), `0x${e.virt.toString(16)}`).toMatchObject(e);
    });

    it('the reader sees what the builder and QEMU see', () => {
      const view = readPageTables(scenario.memory, { root: scenario.pt.root, levels });
      expect(view.mappings()).toEqual(scenario.pt.mappings());
      expect(view.problems()).toEqual([]);
    });

    it('reads through the MMU land where translate() says, and fault where it says null', async () => {
      const { pt, memory } = scenario;
      const samples: bigint[] = [...scenario.faults];
      const all = pt.mappings();
      const stride = Math.ceil(all.length / 230);
      for (let k = 0; k < all.length; k += stride) {
        const m = all[k];
        samples.push(m.virt, m.virt + BigInt(m.size) - 8n, m.virt + BigInt((m.size / 2) & ~7));
      }
      const view = readPageTables(memory, { root: pt.root, levels });
      let checkedData = 0;
      for (const virt of samples) {
        const t = pt.translate(virt);
        expect(view.translate(virt)).toEqual(t);
        const got = await guest.gdb.readMemory(virt, 8);
        if (t === null) {
          expect(got, `0x${virt.toString(16)} should fault`).toBeNull();
          continue;
        }
        if (t.phys >= GUEST_MIB << 20) continue; // no RAM behind it in the guest
        expect(got, `0x${virt.toString(16)} should read`).not.toBeNull();
        if (t.phys >= IMAGE_BASE && t.phys + 8 <= IMAGE_BASE + IMAGE_SIZE) {
          expect(Buffer.from(got!).toString('hex'), `0x${virt.toString(16)} -> 0x${t.phys.toString(16)}`).toBe(Buffer.from(memory.read(t.phys, 8)).toString('hex'));
          checkedData++;
        }
      }
      console.log(`[paging-qemu] ${levels}-level: ${samples.length} reads, ${checkedData} data compared`);
      expect(checkedData).toBeGreaterThan(200);
    });
  });
}
