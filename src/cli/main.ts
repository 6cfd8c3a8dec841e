/**
 * The `memprims` command line: dispatches to one module per command under src/cli/.
 * Every command reports bad input as one line on stderr and a non-zero exit code, never
 * a stack trace (set MEMPRIMS_DEBUG=1 to see one).
 *
 * @module
 */
import { MemprimsError } from '../errors.js';
import { VERSION } from '../version.js';
import { CliError, type CliCommand, type CliIo } from './common.js';

const defaultIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

/** Commands by name; each module exports one `CliCommand`. Loaded on demand. */
const COMMANDS: Record<string, () => Promise<CliCommand>> = {
  pt: async () => (await import('./pt.js')).command,
  memmap: async () => (await import('./memmap.js')).command,
  'boot-demo': async () => (await import('./boot-demo.js')).command,
};

function usage(): string {
  const lines = [
    `memprims ${VERSION} — typed OS memory primitives`,
    '',
    'Usage: memprims <command> [options]',
    '',
    'Commands:',
  ];
  return lines.join('\n');
}

async function helpText(): Promise<string> {
  const parts = [usage()];
  for (const [name, load] of Object.entries(COMMANDS)) {
    const cmd = await load();
    parts.push(`  ${name.padEnd(12)} ${cmd.summary}`);
  }
  parts.push('  help         this text; `memprims help <command>` for one command');
  parts.push('  version      print the version');
  return parts.join('\n');
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      const sub = rest[0];
      if (name === 'help' && sub !== undefined && COMMANDS[sub]) {
        io.out((await COMMANDS[sub]()).help + '\n');
      } else {
        io.out((await helpText()) + '\n');
      }
      return 0;
    }
    if (name === 'version' || name === '--version' || name === '-v') {
      io.out(`${VERSION}\n`);
      return 0;
    }
    const load = COMMANDS[name];
    if (!load) throw new CliError(`unknown command '${name}' (try 'memprims help')`);
    const cmd = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(cmd.help + '\n');
      return 0;
    }
    return await cmd.run(rest, io);
  } catch (e) {
    if (process.env.MEMPRIMS_DEBUG) io.err(String((e as Error)?.stack ?? e) + '\n');
    if (e instanceof CliError || e instanceof MemprimsError) {
      io.err(`memprims: ${e.message}\n`);
      return e instanceof CliError ? e.exitCode : 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.err(`memprims: ${message.split('\n')[0]}\n`);
    return 1;
  }
}

const isEntry = typeof process !== 'undefined' && process.argv[1] !== undefined && /(?:^|[\\/])(?:cli\.[cm]?js|main\.ts|memprims)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
