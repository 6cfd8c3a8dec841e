/**
 * `memprims pt IMAGE --cr3 ADDR`: reads the page tables in a raw physical memory image (a
 * QEMU `pmemsave` dump, say) and prints their mappings like QEMU's `info mem` (coalesced
 * ranges) or `info tlb` (one line per leaf), with warnings for writable+executable pages,
 * user pages in the upper half and entries with reserved bits; or, with `--translate`,
 * explains one walk level by level.
 *
 * @module
 */
import { readPageTables, type PageTableView } from '../paging/reader.js';
import type { PageFlags } from '../paging/entry.js';
import type { MappedRange, Mapping } from '../paging/view.js';
import type { WalkExplanation } from '../paging/walk.js';
import { CliError, openMemoryImage, parseArgs, parseBigIntArg, parseNumberArg, type CliCommand, type CliIo } from './common.js';

const HELP = `Usage: memprims pt IMAGE --cr3 ADDR [options]

Reads x86-64 page tables from a raw physical memory image and lists what they map.

Options:
  --cr3 ADDR           physical address of the top table (a CR3 value; low 12 bits ignored)
  --base ADDR          physical address of the image's first byte (default 0)
  --levels 4|5         paging depth: 4 (48-bit) or 5 (57-bit, CR4.LA57) (default 4)
  --tlb                one line per leaf, like QEMU's 'info tlb' (default: ranges, like 'info mem')
  --translate VIRT     explain the walk of one virtual address, level by level
  --max-phys-bits N    the CPU's MAXPHYADDR for the reserved-bit check (default 52)
  --json               print JSON
  -h, --help           this text

Warnings: writable+executable pages, user-accessible pages in the upper half, entries
with reserved bits set (the CPU would fault on them; they are not followed).`;

const hex = (v: number | bigint, pad = 0): string => '0x' + v.toString(16).padStart(pad, '0');

function flagText(f: PageFlags): string {
  return [
    f.user ? 'u' : '-', 'r', f.writable ? 'w' : '-', f.noExecute ? '-' : 'x',
    f.global ? ' G' : '', f.accessed ? ' A' : '', f.dirty ? ' D' : '', f.writeThrough ? ' PWT' : '', f.cacheDisable ? ' PCD' : '', f.pat ? ' PAT' : '',
    f.available ? ` avl=${hex(f.available)}` : '', f.protectionKey ? ` pk=${f.protectionKey}` : '',
  ].join('');
}

/** QEMU `info tlb` letters: XGPDACTUW. */
function tlbLetters(m: Mapping): string {
  const f = m.flags;
  return `${f.noExecute ? 'X' : '-'}${f.global ? 'G' : '-'}${m.size > 4096 ? 'P' : '-'}${f.dirty ? 'D' : '-'}${f.accessed ? 'A' : '-'}${f.cacheDisable ? 'C' : '-'}${f.writeThrough ? 'T' : '-'}${f.user ? 'U' : '-'}${f.writable ? 'W' : '-'}`;
}

function warningsOf(ranges: readonly MappedRange[], view: PageTableView): string[] {
  const out: string[] = [];
  for (const r of ranges) {
    if (r.flags.writable && !r.flags.noExecute) out.push(`writable and executable: ${hex(r.virt, 16)}-${hex(r.end, 16)}`);
    if (r.flags.user && r.virt >= 0x8000000000000000n) out.push(`user-accessible page in the upper half: ${hex(r.virt, 16)}-${hex(r.end, 16)}`);
  }
  for (const p of view.problems()) out.push(p.message);
  return out;
}

function walkText(w: WalkExplanation): string {
  const lines = [`walk of ${hex(w.virt, 16)} (${w.levels}-level, root ${hex(w.root)})`];
  for (const s of w.steps) {
    const head = `  ${`${s.tableName}[${s.index}]`.padEnd(10)} @${hex(s.entryAddress)} = ${s.raw === null ? '(not in memory)' : hex(s.raw, 16)}  ${s.bits}`;
    let tail = '';
    if (s.kind === 'table' && s.raw !== null) tail = `  -> next table`;
    if (s.kind === 'leaf') tail = `  -> ${w.translation!.pageSize === 4096 ? '4 KiB' : w.translation!.pageSize === 0x200000 ? '2 MiB' : '1 GiB'} page`;
    if (s.kind === 'reserved') tail = `  RESERVED BITS ${hex(s.reserved)}`;
    if (s.kind === 'not-present') tail = '  not present';
    lines.push(head + tail);
  }
  if (w.translation) {
    const e = w.effective!;
    lines.push(`= phys ${hex(w.translation.phys)} (effective: ${e.user ? 'user' : 'supervisor'}, ${e.writable ? 'read-write' : 'read-only'}, ${e.noExecute ? 'no-execute' : 'executable'})`);
  } else {
    lines.push(`= fault: ${w.fault}`);
  }
  return lines.join('\n');
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { positionals, options } = parseArgs(args, ['cr3', 'base', 'levels', 'translate', 'max-phys-bits'], ['json', 'tlb']);
  if (positionals.length !== 1) throw new CliError(positionals.length === 0 ? 'pt needs an IMAGE (try memprims pt --help)' : `pt takes one IMAGE, got ${positionals.length}`);
  if (options.cr3 === undefined) throw new CliError('pt needs --cr3 ADDR');
  const cr3 = parseNumberArg(String(options.cr3), '--cr3');
  const base = options.base === undefined ? 0 : parseNumberArg(String(options.base), '--base');
  const levels = options.levels === undefined ? 4 : parseNumberArg(String(options.levels), '--levels');
  if (levels !== 4 && levels !== 5) throw new CliError(`--levels must be 4 or 5, got ${String(options.levels)}`);
  const maxPhysBits = options['max-phys-bits'] === undefined ? 52 : parseNumberArg(String(options['max-phys-bits']), '--max-phys-bits');
  const file = positionals[0];
  const memory = await openMemoryImage(file, base);
  if (!memory.isBacked(cr3 - (cr3 % 4096), 4096)) {
    const end = base + memory.size;
    throw new CliError(`--cr3 ${hex(cr3)}: the root table is not inside the image (${file} covers ${hex(base)}..${hex(end)}; pass --base if the image does not start at physical 0)`, 1);
  }
  const view = readPageTables(memory, { root: cr3, levels, maxPhysBits });
  if (options.translate !== undefined) {
    const w = view.explain(parseBigIntArg(String(options.translate), '--translate'));
    if (options.json) io.out(JSON.stringify(w, (_k, v) => (typeof v === 'bigint' ? hex(v) : v), 2) + '\n');
    else io.out(walkText(w) + '\n');
    return 0;
  }
  const ranges = view.ranges();
  const warnings = warningsOf(ranges, view);
  if (options.json) {
    const body = options.tlb
      ? { mappings: view.mappings().map((m) => ({ virt: hex(m.virt, 16), phys: hex(m.phys), size: m.size, flags: m.flags })) }
      : { ranges: ranges.map((r) => ({ virt: hex(r.virt, 16), end: hex(r.end, 16), size: r.size, phys: hex(r.phys), physContiguous: r.physContiguous, flags: r.flags })) };
    io.out(JSON.stringify({ image: file, base: hex(base), cr3: hex(view.root), levels, ...body, warnings }, null, 2) + '\n');
    return 0;
  }
  if (options.tlb) {
    for (const m of view.mappings()) io.out(`${m.virt.toString(16).padStart(16, '0')}: ${m.phys.toString(16).padStart(16, '0')} ${tlbLetters(m)}\n`);
  } else {
    for (const r of ranges) {
      io.out(`${r.virt.toString(16).padStart(16, '0')}-${r.end.toString(16).padStart(16, '0')} ${r.size.toString(16).padStart(16, '0')} ${flagText(r.flags)}  -> ${hex(r.phys)}${r.physContiguous ? '' : ' (scattered)'}\n`);
    }
    io.out(`${ranges.length} ranges, ${ranges.reduce((n, r) => n + r.size, 0) / 4096} pages mapped\n`);
  }
  for (const w of warnings) io.out(`warning: ${w}\n`);
  return 0;
}

/** The `pt` command. */
export const command: CliCommand = {
  summary: 'list or explain x86-64 page tables in a raw memory image',
  help: HELP,
  run,
};
