/**
 * Boots a real higher-half kernel under QEMU on tables PageTableBuilder made from the
 * kernel's own ELF section layout: the CPU executes on them, it does not just inspect them.
 *
 * test/fixtures/kernel/kernel.elf (built from the committed boot.S, kernel.c and kernel.ld
 * by build.sh; committed so the suite needs no compiler) is linked at 0xffffffff80000000
 * and loaded at physical 0x200000, with page-aligned .text (RX), .rodata (R, NX), .data
 * and .bss (RW, NX); kernel-packed.elf is the same code with .bss starting inside .data's
 * last page (the default linker layout, a page shared by two sections). Both carry a loader
 * stub (.boot, identity mapped at 0x8000) that starts in real mode and does what a real
 * loader does: GDT, protected mode, CR4.PAE (+LA57),
 * CR3 = builder.root, EFER.LME|NXE, CR0.PG|WP, far jump to 64-bit code, RSP = top of a
 * mapStack stack, jump to the ELF entry. The test parses the ELF, maps the sections with
 * mapKernelSections, the stub with identityMap, a stack with mapStack and RAM with
 * mapPhysicalMemory, writes the image at its load addresses and runs it, for 4- and
 * 5-level tables. The kernel reports through a results block it writes via the direct map
 * (read back here from guest physical memory by QEMU, bypassing the tables) and the debug
 * console on port 0xe9; it probes W^X with its own IDT (page-fault vector, error code, CR2
 * and RIP for every forbidden access). Afterwards the tables, as the CPU left them, are read
 * back: accessed/dirty bits set exactly where the kernel went, nothing else changed, and
 * QEMU's `info tlb` equals readPageTables on them.
 *
 * Skipped (with a message) only when qemu-system-x86_64 is not installed.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PageTableBuilder, PhysicalMemory, readPageTables, type MappedStack, type Mapping } from '../../src/index.js';
import { startBootGuest, type BootGuest, type RunOutcome } from './boot-harness.js';
import { bytesAt, loadAddress, parseElf, sectionKind, SHF_ALLOC, type ElfImage } from './elf.js';
import { findQemu, parseInfoTlb } from './harness.js';

const qemu = findQemu();
if (qemu === null) console.warn('[boot-kernel] SKIPPED: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)');
const suite = qemu === null ? describe.skip : describe;

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/kernel/${name}`, import.meta.url));
/** kernel.elf: every section page aligned; kernel-packed.elf: .bss shares .data's last page. */
const KERNELS = ['kernel.elf', 'kernel-packed.elf'] as const;
const RAM_MIB = 32;
const DIRECT_MAP = 0xffff800000000000n;
const STACK_TOP = 0xffffffffc0000000n;
const STACK_SIZE = 0x4000;
const FRAMES_BASE = 0x400000;
const HIGH_CHUNK = { start: 0x200000, end: 0x800000 }; // kernel image, tables, stack, results
const PARAMS_MAGIC = 0x524150544f4f4250n;
const RESULTS_MAGIC = 0x544c5553455250cdn;
const MASK64 = (1n << 64n) - 1n;

function symbolOf(elf: ElfImage, name: string): bigint {
  const s = elf.symbols.get(name);
  if (!s) throw new Error(`the kernel has no symbol ${name}`);
  return s.value;
}
const u64 = (bytes: Uint8Array, at = 0): bigint => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at, true);

function fnv1a64(bytes: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & MASK64;
  return h;
}

/** The allocated sections: low ones (VMA = LMA) are the loader stub, high ones the kernel. */
function layout(image: ElfImage) {
  const alloc = image.sections.filter((s) => (s.flags & SHF_ALLOC) !== 0n && s.size > 0);
  const stub = alloc.filter((s) => s.addr < 1n << 47n);
  const kernel = alloc.filter((s) => s.addr >= 1n << 47n).map((s) => ({ name: s.name, vma: s.addr, lma: loadAddress(image, s.addr), size: s.size, kind: sectionKind(s) }));
  return { stub, kernel };
}

interface Boot {
  memory: PhysicalMemory;
  pt: PageTableBuilder;
  stack: MappedStack;
  resultsPhys: number;
  kernelDelta: bigint;
  paramsPhys: number;
}

function buildBoot(elf: ElfImage, levels: 4 | 5): Boot {
  const sym = (name: string) => symbolOf(elf, name);
  const memory = new PhysicalMemory();
  memory.addRegion(0, HIGH_CHUNK.end);
  for (const seg of elf.segments.filter((p) => p.type === 1)) {
    memory.write(seg.paddr, elf.bytes.subarray(seg.offset, seg.offset + seg.filesz));
    memory.write(seg.paddr + seg.filesz, new Uint8Array(seg.memsz - seg.filesz)); // bss
  }
  let next = FRAMES_BASE;
  const frames = { allocate: (n: number) => ((next += n * 4096), next - n * 4096), free: () => {} };
  const pt = new PageTableBuilder({ memory, frames, levels });
  const { stub, kernel } = layout(elf);
  for (const s of stub) pt.identityMap({ start: Number(s.addr), end: Number(s.addr) + s.size });
  pt.mapKernelSections(kernel);
  const stack = pt.mapStack({ top: STACK_TOP, size: STACK_SIZE });
  pt.mapPhysicalMemory({ offset: DIRECT_MAP, ranges: [{ start: 0, end: RAM_MIB << 20 }] });
  const resultsPhys = frames.allocate(1);
  if (next > HIGH_CHUNK.end) throw new Error('frames ran past the loaded chunk');
  const kernelDelta = elf.entry - BigInt(loadAddress(elf, elf.entry));
  const paramsPhys = loadAddress(elf, sym('boot_params'));
  const params = [
    PARAMS_MAGIC, BigInt(pt.root), levels === 5 ? 0x1020n : 0x20n, elf.entry, STACK_TOP, DIRECT_MAP + BigInt(paramsPhys),
    DIRECT_MAP, BigInt(resultsPhys), kernelDelta, stack.guard, sym('kernel_end'), BigInt(levels),
  ];
  params.forEach((v, i) => memory.writeU64(paramsPhys + 8 * i, v));
  return { memory, pt, stack, resultsPhys, kernelDelta, paramsPhys };
}

const RESULT_FIELDS = [
  'magic', 'done', 'entryRsp', 'localAddr', 'deepestRsp', 'rodataHash', 'dataBefore', 'dataTailBefore', 'dataAfter',
  'bssNonzeroBefore', 'bssSum', 'aliasSeen', 'cr0', 'cr3', 'cr4', 'efer', 'textFirst', 'unexpectedFaults', 'nprobes',
] as const;
type Results = Record<(typeof RESULT_FIELDS)[number], bigint> & { probes: { faulted: bigint; vector: bigint; error: bigint; cr2: bigint; rip: bigint }[] };

function parseResults(page: Uint8Array): Results {
  const r = {} as Results;
  RESULT_FIELDS.forEach((name, i) => (r[name] = u64(page, 8 * i)));
  r.probes = [];
  for (let k = 0; k < 12; k++) {
    const at = 8 * RESULT_FIELDS.length + 40 * k;
    r.probes.push({ faulted: u64(page, at), vector: u64(page, at + 8), error: u64(page, at + 16), cr2: u64(page, at + 24), rip: u64(page, at + 32) });
  }
  return r;
}

const hex = (v: bigint | number) => `0x${v.toString(16)}`;

describe('the kernel fixture', () => {
  it('kernel.elf and kernel-packed.elf were built from the committed sources (build.sh)', () => {
    const recorded = readFileSync(fixture('sources.sha256'), 'utf8').trim().split('\n');
    expect(recorded.length).toBe(4);
    for (const line of recorded) {
      const [digest, file] = line.split(/\s+/);
      expect(createHash('sha256').update(readFileSync(fixture(file))).digest('hex'), `${file} changed: run sh test/fixtures/kernel/build.sh`).toBe(digest);
    }
  });
});

for (const [kernelFile, levels] of KERNELS.flatMap((k) => [[k, 4], [k, 5]] as const)) {
  suite(`${kernelFile} (higher half, W^X) boots on ${levels}-level tables built from its ELF layout`, () => {
    const elf = parseElf(new Uint8Array(readFileSync(fixture(kernelFile))));
    const sym = (name: string) => symbolOf(elf, name);
    let boot: Boot;
    let guest: BootGuest;
    let outcome: RunOutcome;
    let results: Results;

    beforeAll(async () => {
      boot = buildBoot(elf, levels);
      const t0 = Date.now();
      guest = await startBootGuest({
        qemu: qemu!,
        memMiB: RAM_MIB,
        chunks: [
          ...layout(elf).stub.map((s) => ({ base: Number(s.addr), bytes: boot.memory.exportImage(Number(s.addr), s.size) })),
          { base: HIGH_CHUNK.start, bytes: boot.memory.exportImage(HIGH_CHUNK.start, HIGH_CHUNK.end - HIGH_CHUNK.start) },
        ],
      });
      outcome = await guest.run(Number(sym('boot_start')), 'DONE\n', 10_000, 'FAIL\n');
      if (!outcome.reachedMarker) {
        throw new Error(`the kernel did not finish (${outcome.stoppedEarly ? `guest stopped: ${outcome.stoppedEarly}` : 'timeout'})\nconsole:\n${outcome.console}\n${await guest.registers()}`);
      }
      results = parseResults(await guest.readPhysical(boot.resultsPhys, 4096));
      console.log(`[boot-kernel] ${kernelFile} ${levels}-level: booted to DONE in ${outcome.elapsedMs} ms (QEMU start + boot ${Date.now() - t0} ms)`);
    });
    afterAll(async () => guest?.stop());

    it('the tables are W^X and the layout is what the ELF asked for', () => {
      const { pt } = boot;
      for (const m of pt.mappings()) expect(m.flags.writable && !m.flags.noExecute, `W+X page at ${hex(m.virt)}`).toBe(false);
      for (const s of layout(elf).kernel) {
        const t = pt.translate(s.vma)!;
        expect(t.phys, s.name).toBe(s.lma);
        expect([t.flags.writable, t.flags.noExecute], s.name).toEqual([s.kind === 'data' || s.kind === 'bss', s.kind !== 'text']);
      }
      // the packed kernel really has a page shared by two sections; the aligned one has none
      const ks = layout(elf).kernel;
      const shared = ks.filter((a, i) => ks.some((b, j) => j !== i && (a.vma + BigInt(a.size) - 1n) / 4096n === b.vma / 4096n && a.vma < b.vma));
      expect(shared.length).toBe(kernelFile === 'kernel-packed.elf' ? 1 : 0);
      expect(pt.translate(boot.stack.guard)).toBeNull();
      expect(pt.translate(sym('kernel_end'))).toBeNull();
      expect(readPageTables(boot.memory, { root: pt.root, levels }).mappings()).toEqual(pt.mappings());
    });

    it('runs to the end: debug console, results block through the direct map, CPU halted in .text', async () => {
      const banner = new TextDecoder().decode(bytesAt(elf, sym('banner'), elf.symbols.get('banner')!.size - 1));
      expect(outcome.console.startsWith(banner)).toBe(true);
      expect(outcome.console).not.toContain('FAIL');
      expect(results.magic).toBe(RESULTS_MAGIC);
      expect(results.done).toBe(1n);
      expect(results.unexpectedFaults).toBe(0n);
      // DONE is printed just before the halt loop: give the CPU a moment if it was stopped in between
      let rip = await guest.gdb.readRegister(16);
      for (let k = 0; k < 20 && !(rip >= sym('halt_forever') && rip < sym('probe_read')); k++) {
        await guest.resumeFor(20);
        rip = await guest.gdb.readRegister(16);
      }
      expect(rip >= sym('halt_forever') && rip < sym('probe_read'), `rip ${hex(rip)}`).toBe(true);
    });

    it('the CPU ran in long mode with CR3 = root, paging, WP, NXE (and LA57 for 5 levels)', () => {
      expect(results.cr3 & ~0xfffn).toBe(BigInt(boot.pt.root));
      expect(results.cr0 & 0x80010001n).toBe(0x80010001n);
      expect(results.cr4 & 0x1020n).toBe(levels === 5 ? 0x1020n : 0x20n);
      expect(results.efer & 0xd00n).toBe(0xd00n); // LME | LMA | NXE
    });

    it('reads .text and .rodata as loaded, .data with its initial values, .bss as zero', () => {
      expect(results.textFirst).toBe(u64(bytesAt(elf, elf.entry, 8)));
      const blob = elf.symbols.get('rodata_blob')!;
      expect(blob.size).toBeGreaterThan(4096);
      expect(results.rodataHash).toBe(fnv1a64(bytesAt(elf, blob.value, blob.size)));
      expect(results.dataBefore).toBe(u64(bytesAt(elf, sym('data_word'), 8)));
      expect(results.dataTailBefore).toBe(u64(bytesAt(elf, sym('data_table') + 1023n * 8n, 8)));
      expect(results.bssNonzeroBefore).toBe(0n);
    });

    it('writes .data and .bss at their link addresses and they land at their load addresses', async () => {
      expect(results.dataAfter).toBe(0x5555aaaa5555aaaan);
      let sum = 0n;
      for (let i = 0n; i < 2048n; i++) sum = (sum + (~i & MASK64)) & MASK64;
      expect(results.bssSum).toBe(sum);
      // the word written through the direct map at .data's load address is what .data's link address shows
      expect(results.aliasSeen).toBe(0xa11a5a11a5a11a5n);
      const dataWordPhys = loadAddress(elf, sym('data_word'));
      expect(u64(await guest.readPhysical(dataWordPhys, 8))).toBe(0xa11a5a11a5a11a5n);
      // .data and .bss rewritten by the kernel, read back by QEMU at the load addresses and through its MMU
      const table = await guest.readPhysical(loadAddress(elf, sym('data_table')), 8192);
      const bss = await guest.readPhysical(loadAddress(elf, sym('bss_area')), 16384);
      for (const i of [0, 1, 511, 512, 1023]) expect(u64(table, 8 * i), `data_table[${i}]`).toBe((BigInt(i) * 0x9e3779b97f4a7c15n) & MASK64);
      for (const i of [0, 1, 1024, 2047]) expect(u64(bss, 8 * i), `bss_area[${i}]`).toBe(~BigInt(i) & MASK64);
      const viaMmu = await guest.gdb.readMemory(sym('bss_area') + 2047n * 8n, 8);
      expect(viaMmu && u64(viaMmu)).toBe(~2047n & MASK64);
    });

    it('ran on the mapStack stack in the higher half, several pages deep, above the guard', () => {
      const { stack } = boot;
      expect(results.entryRsp).toBe(stack.top);
      for (const v of [results.localAddr, results.deepestRsp]) expect(v >= stack.bottom && v < stack.top, hex(v)).toBe(true);
      expect(results.deepestRsp < stack.top - 0x2000n, `deepest rsp ${hex(results.deepestRsp)}`).toBe(true);
    });

    it('the CPU set accessed/dirty bits where the kernel went; the reader and info tlb agree, nothing else changed', async () => {
      const { pt, stack } = boot;
      const after = PhysicalMemory.fromImage(await guest.readPhysical(HIGH_CHUNK.start, HIGH_CHUNK.end - HIGH_CHUNK.start), HIGH_CHUNK.start);
      const view = readPageTables(after, { root: pt.root, levels });
      expect(view.problems()).toEqual([]);
      const withoutAD = (ms: readonly Mapping[]) => ms.map((m) => ({ ...m, flags: { ...m.flags, accessed: false, dirty: false } }));
      expect(withoutAD(view.mappings())).toEqual(withoutAD(pt.mappings()));
      const ad = (virt: bigint) => {
        const t = view.translate(virt);
        return t && `${t.flags.accessed ? 'A' : '-'}${t.flags.dirty ? 'D' : '-'}`;
      };
      expect(ad(elf.entry), '.text').toBe('A-');
      expect(ad(sym('rodata_blob')), '.rodata').toBe('A-');
      expect(ad(sym('data_word')), '.data').toBe('AD');
      expect(ad(sym('bss_area') + 2047n * 8n), '.bss').toBe('AD');
      expect(ad(stack.top - 8n), 'stack top').toBe('AD');
      expect(ad(DIRECT_MAP + BigInt(boot.resultsPhys)), 'results via the direct map').toBe('AD');
      expect(ad(DIRECT_MAP + BigInt(RAM_MIB - 2) * 0x100000n), 'untouched direct map').toBe('--');
      expect(ad(stack.guard)).toBeNull();
      const letters = (m: Mapping) => {
        const f = m.flags;
        return `${f.noExecute ? 'X' : '-'}${f.global ? 'G' : '-'}${m.size > 4096 ? 'P' : '-'}${f.dirty ? 'D' : '-'}${f.accessed ? 'A' : '-'}${f.cacheDisable ? 'C' : '-'}${f.writeThrough ? 'T' : '-'}${f.user ? 'U' : '-'}${f.writable ? 'W' : '-'}`;
      };
      const tlb = parseInfoTlb(await guest.qmp.hmp('info tlb'));
      expect(tlb.map((l) => `${l.virt.toString(16)} ${l.phys.toString(16)} ${l.flags}`)).toEqual(view.mappings().map((m) => `${m.virt.toString(16)} ${m.phys.toString(16)} ${letters(m)}`));
    });

    it('W^X holds on the real CPU: every forbidden access page-faults with the right error code, CR2 and RIP', () => {
      const { stack } = boot;
      const inProbe = (rip: bigint, name: string) => rip >= sym(name) && rip < sym(name) + 16n;
      const textRetAlias = DIRECT_MAP + BigInt(loadAddress(elf, sym('text_ret')));
      // [what, address, error code (P=1, W=2, I/D=0x10) or null when allowed, probe routine or exec]
      const expected: [string, bigint, bigint | null, string | null][] = [
        ['write .text', elf.entry, 0x3n, 'probe_write'],
        ['write .rodata', sym('rodata_blob'), 0x3n, 'probe_write'],
        ['execute .data', sym('data_ret'), 0x11n, null],
        ['execute .bss', sym('bss_ret'), 0x11n, null],
        ['execute the stack', results.localAddr, 0x11n, null],
        ['execute the direct map', textRetAlias, 0x11n, null],
        ['read the guard page', stack.guard, 0x0n, 'probe_read'],
        ['read past the kernel image', sym('kernel_end'), 0x0n, 'probe_read'],
        ['write .data', sym('data_table') + 512n * 8n, null, null],
        ['read .rodata', sym('rodata_blob') + 1535n * 4n, null, null],
        ['execute .text', sym('text_ret'), null, null],
        ['write the lowest stack page', stack.guard + 0x1000n, null, null],
      ];
      expect(results.nprobes).toBe(BigInt(expected.length));
      expected.forEach(([what, addr, error, routine], k) => {
        const p = results.probes[k];
        if (error === null) {
          expect(p.faulted, `${what} should be allowed`).toBe(0n);
          return;
        }
        expect(p.faulted, `${what} should fault`).toBe(1n);
        expect([p.vector, p.error, p.cr2], what).toEqual([14n, error, addr]);
        if (routine === null) expect(p.rip, what).toBe(addr);
        else expect(inProbe(p.rip, routine), `${what}: rip ${hex(p.rip)}`).toBe(true);
      });
    });
  });
}
