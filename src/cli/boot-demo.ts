/**
 * `memprims boot-demo`: runs the whole boot flow (boot services → own heap, page tables,
 * ExitBootServices with retry, frame allocator) on the bundled real OVMF memory map, or on
 * a map read from a file, and prints every step, the page-table summary and the final frame
 * and heap statistics; writes before/after SVG pictures of the memory map.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootFlow, type BootFlowOptions } from '../boot/boot-flow.js';
import { BootFlowError } from '../boot/errors.js';
import { kernelViewMap } from '../boot/kernel-view.js';
import { BUNDLED_OVMF_MAP_INFO } from '../boot/ovmf-map.js';
import { bytesText, formatSteps } from '../boot/steps.js';
import { hex } from '../errors.js';
import { parseAnyMemoryMap } from '../uefi/detect.js';
import type { MemoryMap } from '../uefi/memory-map.js';
import { CliError, parseArgs, parseNumberArg, readInputFile, type CliCommand, type CliIo } from './common.js';

const HELP = `Usage: memprims boot-demo [--memmap FILE] [--svg OUT] [options]

Runs the boot flow of a kernel that is one UEFI application, on a model of the firmware's
boot services: get the memory map, allocate heap, page-table frames and stack as LoaderData,
initialize the heap, build higher-half page tables, exit boot services (retrying on a stale
map key), switch the global allocator to its own heap, and build the frame allocator over
the final map. Prints every step with its addresses.

Without --memmap it uses a bundled real map (${BUNDLED_OVMF_MAP_INFO.firmware}, ${BUNDLED_OVMF_MAP_INFO.machine}).

Options:
  --memmap FILE         the initial map: raw GetMemoryMap buffer, efi=debug log or Shell memmap
  --descriptor-size N   stride of a raw buffer (default 48)
  --svg OUT             write OUT-before.svg and OUT-after.svg (default: in the temp directory)
  --levels 4|5          paging levels (default 4)
  --heap-size N         heap bytes (default 1 MiB)
  --policy leak|reclaim what happens to boot-services blocks freed after the exit (default leak)
  -h, --help            this text`;

function svgPaths(out: string | undefined): { before: string; after: string } {
  const base = out === undefined ? join(tmpdir(), 'memprims-boot-demo') : out.replace(/\.svg$/i, '');
  return { before: `${base}-before.svg`, after: `${base}-after.svg` };
}

function flagText(f: { writable: boolean; user: boolean; noExecute: boolean; global: boolean }): string {
  return `${f.writable ? 'RW' : 'R-'}${f.noExecute ? ' NX' : ' X '}${f.user ? ' U' : ' S'}${f.global ? ' G' : '  '}`;
}

async function run(args: string[], io: CliIo): Promise<number> {
  const { positionals, options } = parseArgs(args, ['memmap', 'svg', 'descriptor-size', 'levels', 'heap-size', 'policy'], []);
  if (positionals.length > 0) throw new CliError(`boot-demo takes no positional arguments (got '${positionals[0]}'); use --memmap FILE`);
  let map: MemoryMap | undefined;
  let source = `bundled ${BUNDLED_OVMF_MAP_INFO.firmware} map (${BUNDLED_OVMF_MAP_INFO.machine})`;
  if (typeof options.memmap === 'string') {
    const bytes = await readInputFile(options.memmap);
    const descriptorSize = options['descriptor-size'] === undefined ? 48 : parseNumberArg(String(options['descriptor-size']), '--descriptor-size');
    const parsed = parseAnyMemoryMap(bytes, { descriptorSize });
    map = parsed.map;
    source = `${options.memmap} (${parsed.format}, ${map.length} descriptors)`;
  }
  const flow: BootFlowOptions = { map };
  if (options.levels !== undefined) {
    const levels = parseNumberArg(String(options.levels), '--levels');
    if (levels !== 4 && levels !== 5) throw new CliError(`--levels must be 4 or 5, got ${levels}`);
    flow.levels = levels;
  }
  if (options['heap-size'] !== undefined) flow.heapSize = parseNumberArg(String(options['heap-size']), '--heap-size');
  if (options.policy !== undefined) {
    if (options.policy !== 'leak' && options.policy !== 'reclaim') throw new CliError(`--policy must be leak or reclaim, got ${String(options.policy)}`);
    flow.shim = { freedAfterExit: options.policy };
  }

  io.out(`memprims boot demo — initial map: ${source}\n\n`);
  let boot;
  try {
    boot = bootFlow(flow);
  } catch (e) {
    if (e instanceof BootFlowError && e.completed.length > 0) io.out(formatSteps(e.completed) + '\n');
    throw e;
  }
  io.out(formatSteps(boot.steps) + '\n\n');

  io.out(`Page tables (CR3 ${hex(boot.pageTables.root)}, ${boot.pageTables.levels}-level, ${boot.pageTableFrames.used} table frames):\n`);
  for (const r of boot.pageTables.ranges()) {
    io.out(`  ${hex(r.virt).padEnd(20)} - ${hex(r.end).padEnd(20)} -> ${hex(r.phys).padEnd(12)} ${bytesText(r.size).padStart(12)}  ${flagText(r.flags)}\n`);
  }

  const fs = boot.frames.stats();
  const hs = boot.heap.stats();
  const ss = boot.shim.stats();
  io.out('\nFinal statistics:\n');
  io.out(`  frames: ${fs.total} total, ${fs.free} free, ${fs.used} used, ${fs.reserved} reserved, largest free run ${fs.largestFreeRun} (${bytesText(fs.largestFreeRun * 4096)})\n`);
  io.out(`  heap:   ${hex(boot.heap.bottom)}..${hex(boot.heap.top)}, ${hs.used} used, ${hs.free} free, ${hs.holes} hole(s), fragmentation ${hs.fragmentation.toFixed(3)}\n`);
  io.out(`  shim:   phase ${ss.phase}; allocated ${ss.allocated.blocks} blocks (${ss.allocated.bytes} B) = freed ${ss.freed.blocks} + live ${ss.live.blocks} + leaked ${ss.leaked.blocks}; ${ss.reclaimedFrames} frame(s) reclaimed\n`);

  const paths = svgPaths(typeof options.svg === 'string' ? options.svg : undefined);
  const kept = [...boot.kernelRanges, ...boot.shim.bootServicesPages()];
  try {
    await writeFile(paths.before, boot.initialMap.toSVG({ title: 'Before: the firmware memory map at entry' }));
    await writeFile(paths.after, kernelViewMap(boot.finalMap, kept).toSVG({ title: 'After: the kernel view (Conventional = frames the allocator hands out)' }));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    throw new CliError(`cannot write the SVG files ${paths.before}, ${paths.after}${code ? ` (${code})` : ''}`, 1);
  }
  io.out(`\nMemory map pictures: ${paths.before}\n                     ${paths.after}\n`);
  return 0;
}

/** The `boot-demo` command. */
export const command: CliCommand = {
  summary: 'run the boot flow (boot services → own heap, page tables, exit) on a real OVMF map',
  help: HELP,
  run,
};
