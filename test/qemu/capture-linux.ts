/**
 * Captures the page tables of a real Linux kernel for the reader's fixtures (run by hand,
 * not by the test suite):
 *
 *   apt-get download linux-image-6.1.0-56-amd64 && dpkg-deb --fsys-tarfile linux-image-*.deb | tar -x ./boot/
 *   node --import tsx test/qemu/capture-linux.ts boot/vmlinuz-6.1.0-56-amd64 5   # -cpu max (LA57)
 *   node --import tsx test/qemu/capture-linux.ts boot/vmlinuz-6.1.0-56-amd64 4   # -cpu max,-la57
 *
 * Debian's kernel boots under QEMU without a disk and stops in a panic (no root fs) with its
 * tables in place (KASLR on, PTI on). The guest is paused, CR3/CR4 read from `info
 * registers`, RAM dumped with `pmemsave`, and `info tlb` recorded for both the kernel root
 * and the PTI user root (CR3 | 0x1000, switched through the gdb stub). Only the table frames
 * are kept: test/fixtures/paging/linux-<levels>level.json.gz holds the frames (base64) and
 * QEMU's `info tlb` for each root.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PhysicalMemory, readPageTables } from '../../src/index.js';
import { findQemu, GdbClient, GDB_REG, QmpClient } from './harness.js';

const [kernel, levelsArg] = process.argv.slice(2);
const levels = levelsArg === '4' ? 4 : 5;
const qemu = findQemu();
if (!qemu || !kernel) {
  console.error('usage: capture-linux.ts VMLINUZ 4|5 (needs qemu-system-x86_64)');
  process.exit(2);
}
const RAM_MIB = 256;
const dir = mkdtempSync(join(tmpdir(), 'memprims-linux-'));
const serial = join(dir, 'serial.log');
const qmpSock = join(dir, 'qmp.sock');
const gdbSock = join(dir, 'gdb.sock');
const proc = spawn(qemu, [
  '-machine', 'pc', '-accel', 'tcg', '-cpu', levels === 5 ? 'max' : 'max,-la57', '-m', `${RAM_MIB}M`, '-smp', '1',
  '-nodefaults', '-display', 'none', '-no-reboot', '-serial', `file:${serial}`,
  '-kernel', kernel, '-append', 'console=ttyS0 panic=0 loglevel=4 pti=on',
  '-qmp', `unix:${qmpSock},server=on,wait=off`,
  '-chardev', `socket,id=gdb0,path=${gdbSock},server=on,wait=off`, '-gdb', 'chardev:gdb0',
], { stdio: 'inherit' });

const deadline = Date.now() + 300_000;
while (!(existsSync(serial) && /end Kernel panic/.test(readFileSync(serial, 'utf8')))) {
  if (Date.now() > deadline) throw new Error('no kernel panic within 300 s');
  await new Promise((r) => setTimeout(r, 500));
}
const qmp = await QmpClient.open(qmpSock);
await qmp.execute('stop');
const regs = await qmp.hmp('info registers');
const cr3 = Number(BigInt('0x' + /CR3=([0-9a-f]+)/.exec(regs)![1]) & 0x000ffffffffff000n);
const cr4 = Number(BigInt('0x' + /CR4=([0-9a-f]+)/.exec(regs)![1]));
const la57 = (cr4 & 0x1000) !== 0;
if (la57 !== (levels === 5)) throw new Error(`CR4.LA57 is ${la57} but ${levels} levels were asked for`);
const dump = join(dir, 'ram.bin');
await qmp.execute('pmemsave', { val: 0, size: RAM_MIB << 20, filename: dump });
const tlbKernel = await qmp.hmp('info tlb');
const gdb = await GdbClient.open(gdbSock);
const userRoot = cr3 | 0x1000;
await gdb.writeRegister(GDB_REG.cr3, BigInt(userRoot));
const tlbUser = await qmp.hmp('info tlb');
gdb.close();
proc.kill('SIGKILL');

const memory = PhysicalMemory.fromImage(new Uint8Array(readFileSync(dump)));
const frames = new Set<number>();
for (const root of [cr3, userRoot]) for (const f of readPageTables(memory, { root, levels }).tableFrames()) if (memory.isBacked(f, 4096)) frames.add(f);
const sorted = [...frames].sort((a, b) => a - b);
const version = /Linux version (\S+)/.exec(readFileSync(serial, 'utf8'))?.[1] ?? 'unknown';
const out = {
  description: `Page tables of Debian Linux ${version} stopped in a panic under QEMU (${levels}-level, KASLR, PTI): only the table frames, and QEMU's info tlb for the kernel root (CR3) and the PTI user root (CR3 | 0x1000).`,
  kernel: version,
  qemu: 'qemu-system-x86_64 7.2 (Debian), -cpu ' + (levels === 5 ? 'max' : 'max,-la57'),
  levels,
  kernelRoot: cr3,
  userRoot,
  cr4,
  frames: sorted.map((f) => ({ phys: f, data: Buffer.from(memory.read(f, 4096)).toString('base64') })),
  infoTlb: { kernel: tlbKernel, user: tlbUser },
};
const file = new URL(`../fixtures/paging/linux-${levels}level.json.gz`, import.meta.url);
writeFileSync(file, gzipSync(JSON.stringify(out), { level: 9 }));
console.log(`captured ${sorted.length} table frames, CR3=0x${cr3.toString(16)}, info tlb ${tlbKernel.split('\n').length} / ${tlbUser.split('\n').length} lines -> ${file.pathname}`);
process.exit(0);
