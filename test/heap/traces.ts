/**
 * Test helper: loads the linked_list_allocator 0.10.5 differential traces copied from the
 * shared oracles (test/fixtures/heap/traces) and replays them on a LinkedListHeap.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Layout, LinkedListHeap, PhysicalMemory } from '../../src/index.js';

export const TRACE_DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/heap/traces');

export interface TraceHeader {
  name: string;
  region_start: number;
  region_len: number;
  bottom: number;
  size: number;
  max_extend: number;
  ops: number;
}
export type TraceOp = { op: 'alloc'; id: number; size: number; align: number } | { op: 'dealloc'; id: number } | { op: 'extend'; by: number };
export interface GoldenStep {
  i: number;
  a?: number | null;
  u: number;
  f: number;
  nh: number;
  holes?: [number, number][];
}
export interface GoldenInit {
  bottom: number;
  top: number;
  size: number;
  pending: number;
  used: number;
  free: number;
  holes: [number, number][];
}
export interface GoldenFinal {
  sha256: string;
  bottom: number;
  top: number;
  size: number;
  pending: number;
  used: number;
  free: number;
  hole_count: number;
  hole_sum: number;
  live: number;
  holes: { addr: number; size: number; next: number | null; hex: string }[];
}
export interface Trace {
  file: string;
  header: TraceHeader;
  ops: TraceOp[];
  init: GoldenInit;
  steps: GoldenStep[];
  final: GoldenFinal;
}

function jsonl(path: string): unknown[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

export function traceNames(): string[] {
  return readdirSync(TRACE_DIR).filter((f) => f.endsWith('.trace.jsonl')).map((f) => f.replace('.trace.jsonl', '')).sort();
}

export function loadTrace(name: string): Trace {
  const input = jsonl(join(TRACE_DIR, `${name}.trace.jsonl`));
  const golden = jsonl(join(TRACE_DIR, `${name}.golden.jsonl`));
  return {
    file: name,
    header: input[0] as TraceHeader,
    ops: input.slice(1) as TraceOp[],
    init: golden[0] as GoldenInit,
    steps: golden.slice(1, -1) as GoldenStep[],
    final: golden[golden.length - 1] as GoldenFinal,
  };
}

/** Step-by-step observations of a replay (for comparing modes and the crate). */
export interface Replay {
  heap: LinkedListHeap;
  memory: PhysicalMemory;
  results: { a?: number | null; u: number; f: number; nh: number }[];
  sha256: string;
  live: number;
}

/** Replays a trace; `onStep` sees each step (for asserting as it goes). */
export function replay(trace: Trace, mode: 'list' | 'indexed', strict = false, onStep?: (i: number, heap: LinkedListHeap) => void): Replay {
  const h = trace.header;
  // indexed replays run on SharedArrayBuffer-backed memory, list replays on ArrayBuffer
  const memory = new PhysicalMemory({ shared: mode === 'indexed' });
  memory.addRegion(h.region_start, h.region_len);
  const heap = LinkedListHeap.init(memory, h.bottom, h.size, { mode, strict });
  const blocks = new Map<number, { address: number; layout: Layout }>();
  const results: Replay['results'] = [];
  trace.ops.forEach((op, i) => {
    if (op.op === 'alloc') {
      const layout = Layout.fromSizeAlign(op.size, op.align);
      const a = heap.allocateFirstFit(layout);
      if (a !== null) blocks.set(op.id, { address: a, layout });
      results.push({ a, u: heap.used, f: heap.free, nh: heap.stats().holes });
    } else if (op.op === 'dealloc') {
      const b = blocks.get(op.id)!;
      heap.deallocate(b.address, b.layout);
      blocks.delete(op.id);
      results.push({ u: heap.used, f: heap.free, nh: heap.stats().holes });
    } else {
      heap.extend(op.by);
      results.push({ u: heap.used, f: heap.free, nh: heap.stats().holes });
    }
    onStep?.(i, heap);
  });
  const sha256 = createHash('sha256').update(memory.read(h.region_start, h.region_len)).digest('hex');
  return { heap, memory, results, sha256, live: blocks.size };
}

/** The 16 raw bytes of a hole header as hex, read from memory. */
export function headerHex(memory: PhysicalMemory, address: number): string {
  return Buffer.from(memory.read(address, 16)).toString('hex');
}
