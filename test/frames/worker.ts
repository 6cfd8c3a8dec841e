/**
 * Worker for the multi-worker test and benchmark: attaches to a shared allocator state and
 * runs a seeded stream of mixed operations, recording every frame it holds in an
 * independent ledger (one Int32 owner slot per frame, claimed with compare-and-swap), so a
 * frame handed out twice is caught at once.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BitmapFrameAllocator, BuddyFrameAllocator, type FrameAllocator } from '../../src/frames/index.js';
import { PhysicalMemory } from '../../src/memory/index.js';
// the benchmarks' generator (this worker serves bench/frames.bench.ts as well as the test)
import { xs32 } from '../../bench/xorshift.js';

type SharedMemoryHandle = Parameters<typeof PhysicalMemory.fromShared>[0];

interface Job {
  handle: SharedMemoryHandle;
  metadataAddress: number;
  kind: 'bitmap' | 'buddy';
  ops: number;
  seed: number;
  id: number;
  ledger: SharedArrayBuffer;
  start: SharedArrayBuffer;
  /** 'single': only allocate() and free() of one frame (the benchmark's lock-free mix); default: the mixed stream. */
  mix?: 'mixed' | 'single';
}

const job = workerData as Job;
const memory = PhysicalMemory.fromShared(job.handle);
const frames: FrameAllocator = job.kind === 'bitmap' ? BitmapFrameAllocator.attach(memory, job.metadataAddress) : BuddyFrameAllocator.attach(memory, job.metadataAddress);
const ledger = new Int32Array(job.ledger);
const me = job.id + 1;
const next = xs32(job.seed >>> 0 || 1);
const held: { address: number; count: number; span: number }[] = [];
let violations = 0;
let allocs = 0;
let frees = 0;
let failed = 0;
const firstViolation: string[] = [];

function claim(address: number, span: number): void {
  for (let f = address / 4096; f < address / 4096 + span; f++) {
    const old = Atomics.compareExchange(ledger, f, 0, me);
    if (old !== 0) {
      violations++;
      if (firstViolation.length < 3) firstViolation.push(`frame ${f} handed to worker ${me - 1} while worker ${old - 1} holds it`);
    }
  }
}
function unclaim(address: number, span: number): void {
  for (let f = address / 4096; f < address / 4096 + span; f++) {
    if (Atomics.compareExchange(ledger, f, me, 0) !== me) {
      violations++;
      if (firstViolation.length < 3) firstViolation.push(`frame ${f} was not held by worker ${me - 1} when it freed it`);
    }
  }
}
function release(i: number): void {
  const b = held[i];
  held[i] = held[held.length - 1];
  held.pop();
  unclaim(b.address, b.span);
  frames.free(b.address, b.count);
  frees++;
}

// wait for the start signal so all workers run at once
const start = new Int32Array(job.start);
while (Atomics.load(start, 0) === 0) Atomics.wait(start, 0, 0, 50);
const t0 = performance.now();
for (let i = 0; i < job.ops; i++) {
  const r = next() % 100;
  if (held.length > 0 && (r < 45 || held.length >= 200)) {
    release(next() % held.length);
    continue;
  }
  let count = 1;
  let address: number | null;
  if (job.mix === 'single') address = frames.allocate();
  else if (r < 85) {
    if (r % 4 === 0) count = 1 + (next() % 8);
    const options = r % 7 === 0 ? { align: 4096 * 2 ** (next() % 4) } : r % 11 === 0 ? { maxAddress: 0xffffff } : undefined;
    address = frames.allocate(count, options);
  } else {
    const guess = (256 + (next() % 8192)) * 4096;
    address = frames.allocateAt(guess, 1) ? guess : null;
  }
  if (address === null) {
    failed++;
    continue;
  }
  const span = job.kind === 'buddy' ? 2 ** Math.ceil(Math.log2(count)) : count;
  claim(address, span);
  held.push({ address, count, span });
  allocs++;
}
while (held.length > 0) release(held.length - 1);
const ms = performance.now() - t0;
parentPort!.postMessage({ violations, allocs, frees, failed, ms, firstViolation });
