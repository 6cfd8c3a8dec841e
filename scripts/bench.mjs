// Runs every bench/*.bench.ts (or those whose name contains the first argument) one after
// another with tsx, so each suite gets the machine to itself.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ?? '';
const suites = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.bench.ts') && f.includes(filter)).sort();
if (suites.length === 0) {
  console.error(`no bench suite matches '${filter}'`);
  process.exit(2);
}
let failed = 0;
for (const suite of suites) {
  console.log(`\n=== bench/${suite}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join('bench', suite), ...process.argv.slice(3)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
