/**
 * Captures the page tables OVMF (UEFI firmware, EDK II) builds for its DXE phase, for the
 * reader's fixtures (run by hand, not by the test suite; needs `apt-get install -y ovmf`):
 *
 *   node --import tsx test/qemu/capture-ovmf.ts                     # -> ovmf-q35-4level (2G, -cpu max)
 *   node --import tsx test/qemu/capture-ovmf.ts --mem 512M --out ovmf-q35-512m-4level
 *
 * `-cpu max` (the default here) offers 1 GiB pages (and LA57, which this OVMF leaves off), so
 * OVMF's identity map of the whole 2^phys-bits (1 TiB) space takes 6 table frames. QEMU's
 * default q35 CPU (qemu64) has no pdpe1gb: OVMF then maps the same 1 TiB with 2 MiB pages
 * (1028 frames, ~524,800 info tlb lines, a ~4 MB fixture), too big to keep; pass
 * `--cpu qemu64 --out NAME` to capture it for a one-off check.
 *
 * QEMU boots OVMF_CODE.fd (+ a scratch copy of OVMF_VARS.fd) as pflash on q35 with no disk
 * and no network, so the boot manager falls through to the built-in UEFI shell; the script
 * waits for the `Shell>` prompt on the serial log, pauses the guest (QMP `stop`), reads
 * CR3/CR4/EFER from `info registers` and MAXPHYADDR from the CPU object, and records
 * `info tlb`. The table frames are fetched with `pmemsave` one 4 KiB frame at a time: our
 * reader walks from CR3 over what has been fetched so far and every table frame it reaches
 * that is not there yet is fetched, until nothing is missing (no full RAM dump needed).
 * Output: test/fixtures/paging/<out>.json.gz with the frames (base64) and QEMU's info tlb.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PhysicalMemory, readPageTables } from '../../src/index.js';
import { findQemu, QmpClient } from './harness.js';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const mem = option('mem', '2G');
const cpu = option('cpu', 'max');
const outName = option('out', 'ovmf-q35-4level');
const code = option('code', '/usr/share/OVMF/OVMF_CODE.fd');
const vars = option('vars', '/usr/share/OVMF/OVMF_VARS.fd');
const qemu = findQemu();
if (!qemu || !existsSync(code) || !existsSync(vars)) {
  console.error('usage: capture-ovmf.ts [--mem 2G] [--cpu MODEL] [--out NAME] [--code OVMF_CODE.fd] [--vars OVMF_VARS.fd]\n(needs qemu-system-x86_64 and the ovmf package)');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'memprims-ovmf-'));
const serial = join(dir, 'serial.log');
const qmpSock = join(dir, 'qmp.sock');
const varsCopy = join(dir, 'OVMF_VARS.fd');
copyFileSync(vars, varsCopy);
const args = [
  '-machine', 'q35', '-accel', 'tcg', '-cpu', cpu, '-m', mem, '-smp', '1',
  '-nodefaults', '-display', 'none', '-no-reboot', '-nic', 'none', '-serial', `file:${serial}`,
  '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${code}`,
  '-drive', `if=pflash,format=raw,unit=1,file=${varsCopy}`,
  '-qmp', `unix:${qmpSock},server=on,wait=off`,
];
const proc = spawn(qemu, args, { stdio: 'inherit' });
const started = Date.now();

const deadline = started + 180_000;
while (!(existsSync(serial) && /Shell> /.test(readFileSync(serial, 'latin1')))) {
  if (Date.now() > deadline || proc.exitCode !== null) {
    proc.kill('SIGKILL');
    throw new Error(`no UEFI shell prompt within 180 s; serial log:\n${existsSync(serial) ? readFileSync(serial, 'latin1').slice(-2000) : '(none)'}`);
  }
  await new Promise((r) => setTimeout(r, 500));
}
const bootSeconds = (Date.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 1000)); // let the shell settle at its prompt
const qmp = await QmpClient.open(qmpSock);
await qmp.execute('stop');
const version = (await qmp.execute('query-version')).return as { qemu: { major: number; minor: number; micro: number }; package: string };
const regs = await qmp.hmp('info registers');
const reg = (name: string) => BigInt('0x' + new RegExp(`${name}=([0-9a-f]+)`).exec(regs)![1]);
const cr3Raw = reg('CR3');
const cr4 = Number(reg('CR4'));
const efer = Number(reg('EFER'));
const cr3 = Number(cr3Raw & 0x000ffffffffff000n);
const levels = (cr4 & 0x1000) !== 0 ? 5 : 4; // CR4.LA57
const nxe = (efer & 0x800) !== 0;
const cpus = (await qmp.execute('query-cpus-fast')).return as { 'qom-path': string }[];
const physBits = Number((await qmp.execute('qom-get', { path: cpus[0]['qom-path'], property: 'phys-bits' })).return);
const cpuModel = String((await qmp.execute('qom-get', { path: cpus[0]['qom-path'], property: 'model-id' })).return);
const pdpe1gb = Boolean((await qmp.execute('qom-get', { path: cpus[0]['qom-path'], property: 'pdpe1gb' })).return);
const infoTlb = await qmp.hmp('info tlb');
const infoMem = await qmp.hmp('info mem');

// fetch table frames until the walk reaches none that is missing
const memory = new PhysicalMemory({ shared: false });
const fetched = new Set<number>();
async function fetch(phys: number): Promise<void> {
  const file = join(dir, `frame-${phys.toString(16)}.bin`);
  await qmp.execute('pmemsave', { val: phys, size: 4096, filename: file });
  memory.addRegion(phys, new Uint8Array(readFileSync(file)));
  fetched.add(phys);
}
await fetch(cr3);
for (;;) {
  const missing = readPageTables(memory, { root: cr3, levels, maxPhysBits: physBits, nxe }).tableFrames().filter((f) => !fetched.has(f));
  if (missing.length === 0) break;
  for (const f of missing) await fetch(f);
}
qmp.close();
proc.kill('SIGKILL');

const sorted = [...fetched].sort((a, b) => a - b);
const serialText = readFileSync(serial, 'latin1');
rmSync(dir, { recursive: true, force: true });
const qemuVersion = `qemu-system-x86_64 ${version.qemu.major}.${version.qemu.minor}.${version.qemu.micro} (${version.package.trim()})`;
const out = {
  description: `Page tables of OVMF (EDK II DXE phase) at the UEFI shell prompt under QEMU q35 with ${mem} RAM, no disk, no network (${levels}-level): only the table frames reachable from CR3, and QEMU's info tlb / info mem for that CR3.`,
  firmware: { code, vars, package: 'ovmf (Debian)' },
  qemu: qemuVersion,
  qemuArgs: args.map((a) => a.split(dir).join('$TMP')),
  machine: 'q35',
  memory: mem,
  cpu,
  cpuModelId: cpuModel,
  pdpe1gb,
  physBits,
  bootSeconds,
  howMade: 'node --import tsx test/qemu/capture-ovmf.ts ' + process.argv.slice(2).join(' '),
  levels,
  root: cr3,
  cr3: '0x' + cr3Raw.toString(16),
  cr4,
  efer,
  nxe,
  frames: sorted.map((f) => ({ phys: f, data: Buffer.from(memory.read(f, 4096)).toString('base64') })),
  infoTlb,
  infoMem,
  serialTail: serialText.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').slice(-600),
};
const file = new URL(`../fixtures/paging/${outName}.json.gz`, import.meta.url);
writeFileSync(file, gzipSync(JSON.stringify(out), { level: 9 }));
console.log(`booted to the shell in ${bootSeconds} s; ${levels}-level, CR3=0x${cr3.toString(16)}, CR4=0x${cr4.toString(16)}, EFER=0x${efer.toString(16)}, phys-bits ${physBits}, pdpe1gb ${pdpe1gb}`);
console.log(`captured ${sorted.length} table frames, info tlb ${infoTlb.split('\n').length} lines -> ${file.pathname}`);
process.exit(0);
