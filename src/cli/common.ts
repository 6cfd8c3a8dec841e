/**
 * Shared pieces of the CLI: the command shape, a small argument parser and the usage error.
 *
 * @module
 */
import { PhysicalMemory } from '../memory/physical-memory.js';

/** Where a command writes. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** One `memprims <name>` command. */
export interface CliCommand {
  /** One line for `memprims help`. */
  readonly summary: string;
  /** Full help text. */
  readonly help: string;
  /** Runs with the arguments after the command name; returns the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** A usage or input error: printed as one line, exit code 2 (usage) or 1 (input). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** Parsed arguments: positionals and `--name value` / `--flag` options. */
export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | true>;
}

/**
 * Parses `args`. `valueOptions` lists the options that take a value (`--cr3 0x1000` or
 * `--cr3=0x1000`); `flagOptions` the ones that do not. Anything else is a usage error.
 */
export function parseArgs(args: string[], valueOptions: readonly string[], flagOptions: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const options: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (valueOptions.includes(name)) {
        const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
        if (value === undefined) throw new CliError(`option --${name} needs a value`);
        options[name] = value;
      } else if (flagOptions.includes(name) && eq < 0) {
        options[name] = true;
      } else {
        throw new CliError(`unknown option --${name}`);
      }
    } else {
      positionals.push(a);
    }
  }
  return { positionals, options };
}

/** Parses a number given as decimal or 0x-hex (underscores allowed); a usage error otherwise. */
export function parseNumberArg(text: string, what: string): number {
  const t = text.replace(/_/g, '');
  const v = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^[0-9]+$/.test(t) ? Number.parseInt(t, 10) : NaN;
  if (!Number.isSafeInteger(v)) throw new CliError(`${what}: '${text}' is not a number`);
  return v;
}

/** Parses a 64-bit value given as decimal or 0x-hex into a bigint; a usage error otherwise. */
export function parseBigIntArg(text: string, what: string): bigint {
  const t = text.replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw new CliError(`${what}: '${text}' is not a number`);
  const v = BigInt(t);
  if (v > 0xffffffffffffffffn) throw new CliError(`${what}: '${text}' does not fit in 64 bits`);
  return v;
}

/** Reads a whole (small) input file; a missing or unreadable file is a one-line CLI error. */
export async function readInputFile(file: string): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    throw new CliError(`cannot read ${file}${code ? ` (${code})` : ''}`, 1);
  }
}

/** Largest piece of a memory image read into one region (1 GiB). */
const IMAGE_PIECE = 2 ** 30;

/**
 * Opens a raw memory image (e.g. QEMU `pmemsave` output) at physical `base` as
 * `PhysicalMemory`, in regions of at most 1 GiB each, so images larger than one buffer
 * (Node caps a buffer at 4 GiB and `readFile` at 2 GiB) still open.
 */
export async function openMemoryImage(file: string, base: number, pieceSize = IMAGE_PIECE): Promise<PhysicalMemory> {
  const { open } = await import('node:fs/promises');
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    throw new CliError(`cannot read ${file}${code ? ` (${code})` : ''}`, 1);
  }
  try {
    const size = (await handle.stat()).size;
    if (size === 0) throw new CliError(`${file} is empty`, 1);
    const memory = new PhysicalMemory({ shared: false });
    for (let offset = 0; offset < size; offset += pieceSize) {
      const piece = new Uint8Array(Math.min(pieceSize, size - offset));
      let filled = 0;
      while (filled < piece.length) {
        const { bytesRead } = await handle.read(piece, filled, piece.length - filled, offset + filled);
        if (bytesRead === 0) throw new CliError(`${file} ended early at byte ${offset + filled}`, 1);
        filled += bytesRead;
      }
      memory.addRegion(base + offset, piece, { name: size > pieceSize ? `${file}+0x${offset.toString(16)}` : file });
    }
    return memory;
  } finally {
    await handle.close();
  }
}
