// Serves playground/dist on 127.0.0.1 (default port 5173). With --isolated it sends the
// COOP/COEP headers, so the page is cross-origin isolated and uses SharedArrayBuffer memory;
// without them it runs on the ArrayBuffer fallback.
// Usage: node scripts/serve-playground.mjs [--isolated] [--port N]
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'playground', 'dist');
const isolated = process.argv.includes('--isolated');
const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 5173;
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  const file = normalize(join(dir, path.endsWith('/') ? path + 'index.html' : path));
  if (!file.startsWith(dir + sep)) return res.writeHead(403).end();
  try {
    const body = await readFile(file);
    const headers = { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
    if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
    res.writeHead(200, headers).end(body);
  } catch {
    res.writeHead(404).end('not found (run npm run playground first?)');
  }
}).listen(port, '127.0.0.1', () => console.log(`playground on http://127.0.0.1:${port}/ (${isolated ? 'cross-origin isolated' : 'not isolated: ArrayBuffer fallback'})`));
