/**
 * Shared machinery of the conformance suites: the error they reject with, how an
 * implementation's `check()` result is read, and running a fast-check property so that a
 * failure names the shortest failing command sequence.
 *
 * @module
 */
import fc from 'fast-check';
import { describe, InvalidArgumentError, MemprimsError } from '../errors.js';

/**
 * What a conformance suite rejects with when the implementation broke a rule: the message
 * lists the shortest failing command sequence fast-check found (after shrinking), the rule
 * that broke, and the seed that replays it (`options.seed`).
 *
 * @example
 * ```ts
 * import { ConformanceError } from 'memprims/arbitraries';
 * function report(e: unknown): string[] {
 *   return e instanceof ConformanceError ? e.commands : [];
 * }
 * ```
 */
export class ConformanceError extends MemprimsError {
  /** The shortest failing command sequence, one command per entry, in the order run. */
  readonly commands: string[];
  /** Seed of the failing fast-check run (pass it back as `options.seed` to replay). */
  readonly seed: number;
  /** fast-check path of the counterexample (informative; `seed` alone replays the run). */
  readonly path: string | null;
  /** fast-check replay path of the command sequence (informative; `seed` alone replays the run). */
  readonly replayPath: string | null;
  /** The rule the implementation broke, without the command list. */
  readonly failure: string;

  constructor(suite: string, commands: string[], failure: string, run: { seed: number; path: string | null; replayPath?: string | null; numRuns: number; numShrinks: number }, cause: unknown) {
    const lines = commands.length === 0 ? ['  (no command: the failure happens right after the factory)'] : commands.map((c, i) => `  ${i + 1}. ${c}`);
    super(
      'CONFORMANCE_FAILED',
      `${suite} failed on run ${run.numRuns} (seed ${run.seed}: pass { seed: ${run.seed} } to replay; ${run.numShrinks} shrinks).\n` +
        `Shortest failing command sequence (${commands.length} command${commands.length === 1 ? '' : 's'}):\n${lines.join('\n')}\n` +
        `Failure: ${failure}`,
      { suite, commands, seed: run.seed, path: run.path, replayPath: run.replayPath ?? null },
      { cause },
    );
    this.commands = commands;
    this.seed = run.seed;
    this.path = run.path;
    this.replayPath = run.replayPath ?? null;
    this.failure = failure;
  }
}

/** Options every conformance suite takes. */
export interface ConformanceOptions {
  /** Number of random command sequences to run (default 100, or the FC_RUNS environment variable). */
  numRuns?: number;
  /** Longest command sequence per run (default 40). */
  maxCommands?: number;
  /** Seed of the random generator: pass {@link ConformanceError.seed} back to replay a failure, shrinking included. */
  seed?: number;
  /**
   * Require misuse (a double free, freeing a frame never handed out) to throw a memprims
   * `MemprimsError`. By default any thrown `Error` counts, so allocators that know nothing of
   * memprims can be checked; either way the misuse must change nothing.
   */
  typedErrors?: boolean;
}

/** A rule of the interface was broken; thrown inside a command, caught by the runner. */
export class ConformanceViolation extends Error {}

/** Throws a {@link ConformanceViolation} with `message` unless `condition` holds. */
export function expect(condition: unknown, message: () => string): asserts condition {
  if (!condition) throw new ConformanceViolation(message());
}

/**
 * Reads the result of an implementation's `check()`: a throw, `false`, a non-empty string,
 * a non-empty array or `{ ok: false }` is a violation; anything else passes.
 */
export function runCheck(target: { check?: () => unknown }, after: string): void {
  if (typeof target.check !== 'function') return;
  let result: unknown;
  try {
    result = target.check();
  } catch (e) {
    throw new ConformanceViolation(`check() failed after ${after}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const bad =
    result === false ||
    (typeof result === 'string' && result.length > 0) ||
    (Array.isArray(result) && result.length > 0) ||
    (typeof result === 'object' && result !== null && !Array.isArray(result) && (result as { ok?: unknown }).ok === false);
  if (bad) throw new ConformanceViolation(`check() reported a violation after ${after}: ${JSON.stringify(result)}`);
}

/**
 * Runs `fn`, expecting misuse to be rejected with an `Error` (a `MemprimsError` when `typed`);
 * throws a violation describing what happened otherwise.
 */
export function expectTypedError(fn: () => unknown, what: string, typed = false): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof MemprimsError || (!typed && e instanceof Error)) return;
    const wanted = typed ? 'a MemprimsError' : 'an Error';
    throw new ConformanceViolation(`${what} threw ${e instanceof Error ? `a raw ${e.name}` : typeof e} instead of ${wanted}: ${e instanceof Error ? e.message : String(e)}`);
  }
  throw new ConformanceViolation(`${what} was accepted; misuse must throw`);
}

/** Number of runs: options, then FC_RUNS, then `fallback`. */
export function resolveRuns(options: ConformanceOptions, fallback = 100): number {
  const env = typeof process !== 'undefined' ? process.env?.FC_RUNS : undefined;
  const runs = options.numRuns ?? (env !== undefined ? Number(env) : fallback);
  if (!Number.isSafeInteger(runs) || runs <= 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `numRuns must be a positive integer, got ${describe(runs)}`, { numRuns: runs });
  }
  return runs;
}

/** Splits the string fast-check gives for a command iterable into the commands that ran, and its replay path. */
function commandList(counterexample: unknown): { commands: string[]; replayPath: string | null } {
  if (!Array.isArray(counterexample) || counterexample.length === 0) return { commands: [], replayPath: null };
  const full = String(counterexample[0]);
  const replay = /\/\*replayPath=(.*?)\*\/\s*$/.exec(full);
  const text = full.replace(/\s*\/\*replayPath=.*\*\/\s*$/, '').trim();
  return { commands: text === '' ? [] : text.split(',').map((s) => s.trim()), replayPath: replay ? replay[1] : null };
}

/** Constraints for `fc.commands` from the suite options . */
export function commandConstraints(options: ConformanceOptions): fc.CommandsContraints {
  const c: fc.CommandsContraints = { maxCommands: options.maxCommands ?? 40 };
  return c;
}

/**
 * Runs an async property over a command arbitrary and turns a failure into a
 * {@link ConformanceError} naming the shortest failing sequence.
 */
export async function runSuite<C>(suite: string, commands: fc.Arbitrary<C>, body: (cmds: C) => Promise<void>, options: ConformanceOptions): Promise<void> {
  const numRuns = resolveRuns(options);
  const params: fc.Parameters<[C]> = { numRuns };
  if (options.seed !== undefined) params.seed = options.seed;
  const details = await fc.check(fc.asyncProperty(commands, body), params);
  if (!details.failed) return;
  if (details.counterexample === null) {
    throw new ConformanceError(suite, [], details.interrupted ? 'the run was interrupted' : 'too many skipped runs', { ...details, path: null }, null);
  }
  const error = details.errorInstance;
  const failure = error instanceof Error ? (error instanceof ConformanceViolation ? error.message : `${error.name}: ${error.message}`) : String(error);
  const { commands: list, replayPath } = commandList(details.counterexample);
  throw new ConformanceError(suite, list, failure, { ...details, path: details.counterexamplePath, replayPath }, error);
}

/** Formats an address for command names (no commas: fast-check joins commands with them). */
export function h(value: number): string {
  return '0x' + value.toString(16);
}
