// Builds the static playground: bundles playground/src/main.ts (and the memprims source it
// imports) with esbuild into playground/dist/app.js, and copies index.html and style.css.
// Usage: node scripts/build-playground.mjs [--dev]   (--dev: no minification)
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'playground', 'src');
const out = join(root, 'playground', 'dist');
const dev = process.argv.includes('--dev');

export async function buildPlayground({ minify = !dev, quiet = false } = {}) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: [join(src, 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    minify,
    sourcemap: true,
    loader: { '.bin': 'binary', '.txt': 'text' },
    logLevel: quiet ? 'silent' : 'warning',
    metafile: true,
  });
  copyFileSync(join(src, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(src, 'style.css'), join(out, 'style.css'));
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  if (!quiet) console.log(`playground built into ${out} (${(bytes / 1024).toFixed(0)} KiB with source map)`);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildPlayground().catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
}
