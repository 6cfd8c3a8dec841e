/**
 * Shared pieces of the CLI: the command shape, a small argument parser and the usage error.
 *
 * @module
 */

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
