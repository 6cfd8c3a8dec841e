// Packs the package (after `npm run build`) and checks the tarball with publint and
// @arethetypeswrong/cli; both must be clean. Builds first when dist/ is missing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: 'inherit', ...opts });
if (!existsSync('dist/index.js')) run('npm', ['run', 'build']);
const dir = mkdtempSync(join(tmpdir(), 'memprims-pack-'));
try {
  const out = execFileSync('npm', ['pack', '--pack-destination', dir, '--json'], { encoding: 'utf8' });
  const tarball = join(dir, JSON.parse(out)[0].filename);
  run('npx', ['--no-install', 'publint', 'run', tarball, '--strict']);
  run('npx', ['--no-install', 'attw', tarball, '--profile', 'node16']);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
