/**
 * QEMU harness for the paging checks: boots nothing — it loads a raw memory image into a
 * paused qemu-system-x86_64 guest, puts the CPU into long-mode paging with CR3 = root by
 * writing control registers through QEMU's gdb stub (the gdb remote protocol, spoken here
 * directly over a Unix socket, so gdb is not needed), then lets a test ask QEMU's own MMU:
 * `info tlb` through QMP's human-monitor-command, and reads of virtual addresses through
 * gdb `m` packets.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The qemu binary, or null when it is not installed (tests then skip, saying so). */
export function findQemu(): string | null {
  const bin = process.env.QEMU_SYSTEM_X86_64 ?? 'qemu-system-x86_64';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? bin : null;
}

/** gdb register numbers of QEMU's x86-64 target description. */
export const GDB_REG = { cr0: 0x1b, cr2: 0x1c, cr3: 0x1d, cr4: 0x1e, efer: 0x20 } as const;

function checksum(s: string): string {
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum = (sum + s.charCodeAt(i)) & 0xff;
  return sum.toString(16).padStart(2, '0');
}

async function connectUnix(path: string, timeoutMs = 10_000): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect(path, () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A minimal gdb remote-protocol client (no-ack mode). */
export class GdbClient {
  private buf = '';
  private waiters: ((s: string) => void)[] = [];
  private noAck = false;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.drain();
    });
  }

  static async open(path: string): Promise<GdbClient> {
    const c = new GdbClient(await connectUnix(path));
    await c.request('qSupported:multiprocess+;xmlRegisters=i386;qRelocInsn+');
    await c.request('QStartNoAckMode');
    c.noAck = true;
    // QEMU accepts register writes (P packets) only once the client read the target XML.
    let offset = 0;
    for (;;) {
      const r = await c.request(`qXfer:features:read:target.xml:${offset.toString(16)},ffb`);
      if (!r.startsWith('m')) break;
      offset += r.length - 1;
    }
    return c;
  }

  private drain(): void {
    for (;;) {
      while (this.buf.startsWith('+')) this.buf = this.buf.slice(1);
      const start = this.buf.indexOf('$');
      if (start < 0) return;
      const hash = this.buf.indexOf('#', start);
      if (hash < 0 || this.buf.length < hash + 3) return;
      const body = this.buf.slice(start + 1, hash);
      this.buf = this.buf.slice(hash + 3);
      if (!this.noAck) this.sock.write('+');
      const w = this.waiters.shift();
      if (w) w(body);
    }
  }

  /** Sends one packet and waits for its reply. */
  request(data: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gdb stub did not answer '${data.slice(0, 40)}'`)), 20_000);
      this.waiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.sock.write(`$${data}#${checksum(data)}`);
    });
  }

  async readRegister(n: number): Promise<bigint> {
    const hex = await this.request(`p${n.toString(16)}`);
    if (!/^[0-9a-f]+$/.test(hex)) throw new Error(`reading register ${n}: ${hex}`);
    let v = 0n;
    for (let i = hex.length - 2; i >= 0; i -= 2) v = (v << 8n) | BigInt(parseInt(hex.slice(i, i + 2), 16));
    return v;
  }

  async writeRegister(n: number, value: bigint): Promise<void> {
    let hex = '';
    for (let i = 0; i < 8; i++) hex += Number((value >> BigInt(8 * i)) & 0xffn).toString(16).padStart(2, '0');
    const r = await this.request(`P${n.toString(16)}=${hex}`);
    if (r !== 'OK') throw new Error(`writing register ${n}: ${r}`);
  }

  /** Reads through the CPU's MMU (virtual addresses once paging is on); null on a fault. */
  async readMemory(addr: bigint, length: number): Promise<Uint8Array | null> {
    const r = await this.request(`m${addr.toString(16)},${length.toString(16)}`);
    if (/^E[0-9a-f]{2}$/i.test(r) || r.length !== length * 2) return null;
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = parseInt(r.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  /** Sends the interrupt byte that stops a running guest; the stop reply answers the pending `c`. */
  interrupt(): void {
    this.sock.write('\x03');
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A minimal QMP client. */
export class QmpClient {
  private buf = '';
  private waiters: ((v: Record<string, unknown>) => void)[] = [];

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('event' in msg) continue;
        this.waiters.shift()?.(msg);
      }
    });
  }

  static async open(path: string): Promise<QmpClient> {
    const sock = await connectUnix(path);
    const c = new QmpClient(sock);
    await new Promise<Record<string, unknown>>((r) => c.waiters.push(r)); // greeting
    await c.execute('qmp_capabilities');
    return c;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`QMP did not answer ${command}`)), 30_000);
      this.waiters.push((v) => {
        clearTimeout(timer);
        if ('error' in v) reject(new Error(`QMP ${command}: ${JSON.stringify(v.error)}`));
        else resolve(v);
      });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  /** Runs a human monitor command (e.g. `info tlb`) and returns its text. */
  async hmp(commandLine: string): Promise<string> {
    const r = await this.execute('human-monitor-command', { 'command-line': commandLine });
    return String(r.return);
  }

  close(): void {
    this.sock.destroy();
  }
}

/** A paused guest with an image loaded and paging switched on. */
export interface PagedGuest {
  gdb: GdbClient;
  qmp: QmpClient;
  /** `info tlb` as text. */
  infoTlb(): Promise<string>;
  stop(): Promise<void>;
}

/** Options for {@link startPagedGuest}. */
export interface GuestOptions {
  qemu: string;
  /** Raw bytes to load at `imageBase` (guest physical). */
  image: Uint8Array;
  imageBase: number;
  /** Guest RAM in MiB (default 128). */
  memMiB?: number;
  root: number;
  levels: 4 | 5;
}

/** Starts QEMU paused, loads the image, and sets CR4/EFER/CR3/CR0 for long-mode paging. */
export async function startPagedGuest(o: GuestOptions): Promise<PagedGuest> {
  const dir = mkdtempSync(join(tmpdir(), 'memprims-qemu-'));
  const img = join(dir, 'image.bin');
  writeFileSync(img, o.image);
  const gdbSock = join(dir, 'gdb.sock');
  const qmpSock = join(dir, 'qmp.sock');
  const args = [
    '-machine', 'pc', '-accel', 'tcg', '-cpu', 'max', '-m', `${o.memMiB ?? 128}M`,
    '-nodefaults', '-display', 'none', '-S', '-no-reboot',
    '-chardev', `socket,id=gdb0,path=${gdbSock},server=on,wait=off`, '-gdb', 'chardev:gdb0',
    '-qmp', `unix:${qmpSock},server=on,wait=off`,
    '-device', `loader,file=${img},addr=0x${o.imageBase.toString(16)},force-raw=on`,
  ];
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
  try {
    const qmp = await QmpClient.open(qmpSock);
    const gdb = await GdbClient.open(gdbSock);
    await gdb.request('?');
    const cr4 = 0x20n | (o.levels === 5 ? 0x1000n : 0n); // PAE (+LA57)
    await gdb.writeRegister(GDB_REG.cr4, cr4);
    await gdb.writeRegister(GDB_REG.efer, 0x100n | 0x800n); // LME | NXE
    await gdb.writeRegister(GDB_REG.cr3, BigInt(o.root));
    await gdb.writeRegister(GDB_REG.cr0, 0x80000011n); // PG | ET | PE
    const efer = await gdb.readRegister(GDB_REG.efer);
    if ((efer & 0x400n) === 0n) throw new Error(`long mode did not activate (EFER=${efer.toString(16)})`);
    if (o.levels === 5 && ((await gdb.readRegister(GDB_REG.cr4)) & 0x1000n) === 0n) throw new Error('CR4.LA57 did not stick (cpu without la57?)');
    return {
      gdb,
      qmp,
      infoTlb: () => qmp.hmp('info tlb'),
      stop: () => stopGuest(gdb, qmp, cleanup),
    };
  } catch (e) {
    cleanup();
    throw new Error(`${(e as Error).message}\n${stderr}`);
  }
}

/** One parsed `info tlb` line. */
/** Detaches the debugger, asks QEMU to quit and removes the guest's temporary files. */
export async function stopGuest(gdb: GdbClient, qmp: QmpClient, cleanup: () => void): Promise<void> {
  gdb.close();
  try {
    await qmp.execute('quit');
  } catch {
    /* the socket closes as QEMU exits */
  }
  qmp.close();
  cleanup();
}

export interface TlbLine {
  virt: bigint;
  phys: number;
  /** The 9 flag letters `XGPDACTUW` (dashes where clear). */
  flags: string;
}

/** Parses `info tlb` output. */
export function parseInfoTlb(text: string): TlbLine[] {
  const out: TlbLine[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-f]+): ([0-9a-f]+) ([-XGPDACTUW]{9})$/.exec(line.trim());
    if (m) out.push({ virt: BigInt('0x' + m[1]), phys: Number(BigInt('0x' + m[2])), flags: m[3] });
  }
  return out;
}
