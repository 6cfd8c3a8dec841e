/**
 * QEMU harness for booting code on memprims page tables: starts qemu-system-x86_64 paused
 * with chunks of guest physical memory preloaded, a debug console on port 0xe9 written to a
 * file, the gdb stub and QMP on Unix sockets, and a guest triple fault turned into a pause
 * (so a crash is reported, with registers, instead of QEMU vanishing). The CPU is pointed
 * at real-mode code (CS = 0, IP = entry) through the gdb stub and resumed; `run` waits for
 * a marker on the debug console.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GdbClient, QmpClient, stopGuest } from './harness.js';

/** gdb register numbers (QEMU's x86-64 target description) used here. */
export const GDB_BOOT_REG = { rip: 16, eflags: 17, cs: 18 } as const;

/** Bytes to load at a guest physical address. */
export interface MemoryChunk {
  base: number;
  bytes: Uint8Array;
}

/** What `run` saw. */
export interface RunOutcome {
  /** The debug console text so far. */
  console: string;
  /** True when the marker appeared; false on a timeout or when the guest stopped by itself. */
  reachedMarker: boolean;
  /** The stop reply when the guest stopped (crash, triple fault) before the marker. */
  stoppedEarly: string | null;
  elapsedMs: number;
}

/** A paused guest ready to run real-mode code at `entry`. */
export interface BootGuest {
  gdb: GdbClient;
  qmp: QmpClient;
  /** Sets CS:IP = 0:entry (real mode), resumes, waits for `marker` (or `failMarker`), then stops the CPU. */
  run(entry: number, marker: string, timeoutMs: number, failMarker?: string): Promise<RunOutcome>;
  /** Resumes the stopped CPU for `ms` milliseconds and stops it again (lets it reach a halt loop). */
  resumeFor(ms: number): Promise<void>;
  /** Guest physical memory, read by QEMU itself (QMP pmemsave), bypassing any page table. */
  readPhysical(address: number, length: number): Promise<Uint8Array>;
  /** Register dump (`info registers`) for failure messages. */
  registers(): Promise<string>;
  stop(): Promise<void>;
}

/** Options of {@link startBootGuest}. */
export interface BootGuestOptions {
  qemu: string;
  chunks: MemoryChunk[];
  memMiB: number;
}

/** Starts QEMU paused with `chunks` loaded. */
export async function startBootGuest(o: BootGuestOptions): Promise<BootGuest> {
  const dir = mkdtempSync(join(tmpdir(), 'memprims-boot-'));
  const gdbSock = join(dir, 'gdb.sock');
  const qmpSock = join(dir, 'qmp.sock');
  const consoleFile = join(dir, 'debugcon.txt');
  const args = [
    '-machine', 'pc', '-accel', 'tcg', '-cpu', 'max', '-m', `${o.memMiB}M`,
    '-nodefaults', '-display', 'none', '-S', '-action', 'reboot=shutdown,shutdown=pause',
    '-chardev', `socket,id=gdb0,path=${gdbSock},server=on,wait=off`, '-gdb', 'chardev:gdb0',
    '-qmp', `unix:${qmpSock},server=on,wait=off`,
    '-chardev', `file,id=dbg0,path=${consoleFile}`, '-device', 'isa-debugcon,iobase=0xe9,chardev=dbg0',
  ];
  o.chunks.forEach((c, i) => {
    const file = join(dir, `chunk${i}.bin`);
    writeFileSync(file, c.bytes);
    args.push('-device', `loader,file=${file},addr=0x${c.base.toString(16)},force-raw=on`);
  });
  const proc: ChildProcess = spawn(o.qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr += String(d)));
  const cleanup = () => {
    try {
      proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  };
  const readConsole = () => (existsSync(consoleFile) ? readFileSync(consoleFile, 'latin1') : '');
  try {
    const qmp = await QmpClient.open(qmpSock);
    const gdb = await GdbClient.open(gdbSock);
    await gdb.request('?');
    let dumpSeq = 0;
    return {
      gdb,
      qmp,
      async run(entry, marker, timeoutMs, failMarker) {
        // real mode (CR0.PE clear after reset): writing CS loads base = selector << 4
        await gdb.writeRegister(GDB_BOOT_REG.cs, 0n);
        await gdb.writeRegister(GDB_BOOT_REG.rip, BigInt(entry));
        const started = Date.now();
        const state: { stopReply: string | null } = { stopReply: null };
        const stopped = gdb.request('c').then((r) => (state.stopReply = r), () => (state.stopReply = 'no stop reply'));
        let text = '';
        for (;;) {
          text = readConsole();
          if (text.includes(marker) || (failMarker !== undefined && text.includes(failMarker))) break;
          if (state.stopReply !== null || Date.now() - started > timeoutMs) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        const elapsedMs = Date.now() - started;
        const reachedMarker = text.includes(marker);
        const stoppedEarly = state.stopReply;
        if (stoppedEarly === null) {
          gdb.interrupt();
          await stopped;
        }
        return { console: readConsole(), reachedMarker, stoppedEarly, elapsedMs };
      },
      async resumeFor(ms) {
        const stopped = gdb.request('c');
        await new Promise((r) => setTimeout(r, ms));
        gdb.interrupt();
        await stopped;
      },
      async readPhysical(address, length) {
        const file = join(dir, `pmem${dumpSeq++}.bin`);
        await qmp.execute('pmemsave', { val: address, size: length, filename: file });
        return new Uint8Array(readFileSync(file));
      },
      registers: () => qmp.hmp('info registers'),
      stop: () => stopGuest(gdb, qmp, cleanup),
    };
  } catch (e) {
    cleanup();
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
}
