// Runs every bench/*.bench.ts (or those whose name contains the first argument) one after
// another, each in its own process so it gets the machine to itself.
//
// Each suite is first bundled with tsup (esbuild) into bench/.<suite>.js and run by plain
// `node`, as a program using the built library runs. Running the TypeScript through the tsx
// loader instead (BENCH_TSX=1) measures an artifact: the loader transfers ArrayBuffers
// between threads at startup, which invalidates V8's "no buffer was ever detached" protector,
// and from then on every typed-array access in the process carries a detach check (the
// bitmap's random free ran 7.6 ns that way against 6.8 ns bundled).
import { readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root); // tsup reads the package.json of the working directory (the bundle's extension)
const filter = process.argv[2] ?? '';
const suites = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts') && f.includes(filter)).sort();
if (suites.length === 0) {
  console.error(`no bench suite matches '${filter}'`);
  process.exit(2);
}
const viaTsx = process.env.BENCH_TSX === '1';
let build = null;
if (!viaTsx) ({ build } = await import('tsup'));
let failed = 0;
let current = null; // the bundle on disk, removed however the run ends
const removeBundle = () => {
  if (current !== null) rmSync(current, { force: true });
  current = null;
};
process.on('SIGINT', () => {
  removeBundle();
  process.exit(130);
});
for (const suite of suites) {
  console.log(`\n=== bench/${suite}${viaTsx ? ' (tsx)' : ''}`);
  const source = join(root, 'bench', suite);
  const name = '.' + suite.replace(/\.ts$/, '');
  try {
    if (!viaTsx) {
      // the bundle sits beside the source, so its import.meta.url finds the same fixtures
      current = join(root, 'bench', name + '.js');
      await build({ entry: { [name]: source }, outDir: join(root, 'bench'), format: ['esm'], platform: 'node', target: 'node20', splitting: false, sourcemap: false, dts: false, clean: false, silent: true, config: false, external: ['tinybench', 'fast-check', 'tsx'] });
    }
    const args = viaTsx ? ['--import', 'tsx', '--expose-gc', source] : ['--expose-gc', current];
    const r = spawnSync(process.execPath, [...args, ...process.argv.slice(3)], { cwd: root, stdio: 'inherit' });
    if (r.signal === 'SIGINT') {
      removeBundle();
      process.exit(130);
    }
    if (r.status !== 0) failed++;
  } finally {
    removeBundle();
  }
}
process.exit(failed ? 1 : 0);
