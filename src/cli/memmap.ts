/**
 * `memprims memmap FILE`: reads a UEFI memory map from a raw GetMemoryMap buffer, a Linux
 * efi=debug boot log or UEFI Shell memmap output (auto-detected) and prints a table, JSON,
 * the usable ranges after ExitBootServices, or writes an SVG picture.
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { parseAnyMemoryMap } from '../uefi/detect.js';
import { CliError, parseArgs, parseNumberArg, readInputFile, type CliCommand, type CliIo } from './common.js';

const HELP = `Usage: memprims memmap FILE [options]

Reads a UEFI memory map and prints it as a table. FILE may be
  - a raw buffer from GetMemoryMap (stride --descriptor-size, default 48),
  - a Linux boot log with efi=debug lines (efi: memNN: [...] range=[...]),
  - UEFI Shell 'memmap' or 'memmap -sfo' output (UTF-8, or UTF-16LE with BOM as the shell writes).

Options:
  --descriptor-size N   stride of a raw buffer in bytes (default 48)
  --json                print the map as JSON
  --usable              print the ranges usable after ExitBootServices
  --svg OUT             write an SVG picture of the address space to OUT
  -h, --help            this text`;

async function run(args: string[], io: CliIo): Promise<number> {
  const { positionals, options } = parseArgs(args, ['descriptor-size', 'svg'], ['json', 'usable']);
  if (positionals.length !== 1) throw new CliError(positionals.length === 0 ? 'memmap needs a FILE (try memprims memmap --help)' : `memmap takes one FILE, got ${positionals.length}`);
  const descriptorSize = options['descriptor-size'] === undefined ? 48 : parseNumberArg(String(options['descriptor-size']), '--descriptor-size');
  const file = positionals[0];
  const bytes = await readInputFile(file);
  const { format, map } = parseAnyMemoryMap(bytes, { descriptorSize });
  if (typeof options.svg === 'string') {
    try {
      await writeFile(options.svg, map.toSVG({ title: `UEFI memory map of ${file}` }));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code;
      throw new CliError(`cannot write ${options.svg}${code ? ` (${code})` : ''}`, 1);
    }
  }
  if (options.json) {
    const usable = options.usable ? { usableAfterExitBootServices: map.usableAfterExitBootServices().map((r) => ({ start: '0x' + r.start.toString(16), end: '0x' + r.end.toString(16) })) } : {};
    io.out(JSON.stringify({ file, format, ...map.toJSON(), ...usable, problems: map.validate().problems }, null, 2) + '\n');
    return 0;
  }
  if (options.usable) {
    const ranges = map.usableAfterExitBootServices();
    let total = 0;
    for (const r of ranges) {
      io.out(`0x${r.start.toString(16).padStart(12, '0')}-0x${r.end.toString(16).padStart(12, '0')}  ${(r.end - r.start) / 4096} pages\n`);
      total += r.end - r.start;
    }
    io.out(`${ranges.length} ranges, ${total / 4096} pages (${total} bytes) usable after ExitBootServices\n`);
    return 0;
  }
  io.out(`${file}: ${format}, ${map.length} descriptors\n`);
  io.out(map.toTable());
  const report = map.validate();
  for (const p of report.problems) io.out(`problem: ${p.message}\n`);
  if (typeof options.svg === 'string') io.out(`wrote ${options.svg}\n`);
  return 0;
}

/** The `memmap` command. */
export const command: CliCommand = {
  summary: 'show a UEFI memory map (raw buffer, efi=debug log or Shell memmap text)',
  help: HELP,
  run,
};
