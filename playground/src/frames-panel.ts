// Frame-allocator panel: the bitmap and the buddy allocator over the current memory map,
// one random workload (same seed, same operations) on both, side by side, with a live
// picture of which usable frames the workload holds and the fragmentation it causes.
import { BitmapFrameAllocator, BuddyFrameAllocator, PhysicalMemory, type FrameAllocator, type MemoryMap, type PhysRange } from '../../src/index.js';
import { append, bytes, el, hex, rng, showError } from './dom.js';

const FRAME = 4096;
const CELL = 5; // px per cell side
const COLS = 112;
const ROWS = 28;
/** Work per chunk of a running workload before yielding to the browser (ms), and how often the clock is read. */
const CHUNK_MS = 12;
const STEPS_BETWEEN_CLOCK_READS = 25;

interface Side {
  name: string;
  allocator: FrameAllocator;
  live: { address: number; count: number }[];
  failures: number;
  cellUsed: Float64Array;
  canvas: HTMLCanvasElement;
  caption: HTMLElement;
  stats: HTMLElement;
  /** The picture spans the usable-frame indices this allocator has handed out so far. */
  lo: number;
  hi: number;
}

/** Maps a physical frame address to its index among the usable frames (ranges concatenated). */
class FrameIndex {
  readonly starts: number[];
  readonly prefix: number[];
  readonly total: number;
  constructor(readonly ranges: PhysRange[]) {
    this.starts = ranges.map((r) => r.start);
    this.prefix = [0];
    for (const r of ranges) this.prefix.push(this.prefix[this.prefix.length - 1] + (r.end - r.start) / FRAME);
    this.total = this.prefix[this.prefix.length - 1];
  }
  indexOf(address: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= address) lo = mid;
      else hi = mid - 1;
    }
    return this.prefix[lo] + (address - this.starts[lo]) / FRAME;
  }
}

export function framesPanel(root: HTMLElement, shared: boolean): { load(map: MemoryMap): void } {
  const seed = el('input', { id: 'wl-seed', type: 'number', value: '42', class: 'narrow' });
  const maxCount = el('input', { id: 'wl-max', type: 'number', value: '64', min: '1', max: '4096', class: 'narrow' });
  const freeRatio = el('input', { id: 'wl-free', type: 'range', min: '0', max: '90', value: '45' });
  const steps = el('input', { id: 'wl-steps', type: 'number', value: '2000', min: '1', class: 'narrow' });
  const status = el('span', { id: 'wl-status', class: 'muted' }, 'Load a memory map first.');
  const error = el('div', { id: 'frames-error', class: 'error', hidden: true });
  const grid = el('div', { class: 'side-by-side' });
  let sides: Side[] = [];
  let index: FrameIndex | null = null;
  let random = rng(42);
  let running = false;
  let runGeneration = 0;
  let opsDone = 0;

  function makeSide(name: string, allocator: FrameAllocator, id: string): Side {
    const canvas = el('canvas', { id: `${id}-canvas`, width: COLS * CELL, height: ROWS * CELL, class: 'frames' });
    const stats = el('div', { id: `${id}-stats`, class: 'stats' });
    const caption = el('div', { id: `${id}-window`, class: 'caption muted' });
    grid.appendChild(el('div', { class: 'card' }, el('h3', {}, name), canvas, caption, stats));
    return { name, allocator, live: [], failures: 0, cellUsed: new Float64Array(COLS * ROWS), canvas, caption, stats, lo: Infinity, hi: 0 };
  }

  function addressOf(i: number): number {
    const idx = index!;
    let r = 0;
    while (r + 1 < idx.starts.length && idx.prefix[r + 1] <= i) r++;
    return idx.starts[r] + (i - idx.prefix[r]) * FRAME;
  }

  /** Widens a side's picture window of usable-frame indices to cover a block. */
  function touch(side: Side, address: number, count: number): void {
    const first = index!.indexOf(address);
    side.lo = Math.min(side.lo, first);
    side.hi = Math.max(side.hi, first + count);
  }

  function load(map: MemoryMap): void {
    running = false;
    showError(error, null);
    grid.replaceChildren();
    sides = [];
    try {
      const usable = map.usableAfterExitBootServices().filter((r) => r.end > Math.max(r.start, FRAME));
      const clipped = usable.map((r) => ({ start: Math.max(r.start, FRAME), end: r.end }));
      index = new FrameIndex(clipped);
      const make = (kind: 'bitmap' | 'buddy'): FrameAllocator => {
        const memory = new PhysicalMemory({ shared });
        for (const r of clipped) memory.addRegion(r.start, r.end - r.start, { backing: 'lazy', name: `usable ${hex(r.start)}` });
        return kind === 'bitmap' ? BitmapFrameAllocator.fromMemoryMap(memory, map, {}) : BuddyFrameAllocator.fromMemoryMap(memory, map, {});
      };
      sides = [makeSide('BitmapFrameAllocator', make('bitmap'), 'bitmap'), makeSide('BuddyFrameAllocator (maxOrder 10)', make('buddy'), 'buddy')];
      random = rng(Number(seed.value) | 0);
      opsDone = 0;

      status.textContent = `${index.total.toLocaleString()} usable frames (${bytes(index.total * FRAME)}) in ${clipped.length} ranges; ${shared ? 'SharedArrayBuffer' : 'ArrayBuffer'}-backed memory.`;
      draw();
    } catch (e) {
      showError(error, e);
    }
  }

  function step(): void {
    const r = random();
    const count = 1 + Math.floor(random() ** 3 * Number(maxCount.value));
    const pick = random();
    const wantFree = r * 100 < Number(freeRatio.value);
    for (const side of sides) {
      if (wantFree && side.live.length > 0) {
        const i = Math.floor(pick * side.live.length);
        const b = side.live[i];
        side.live[i] = side.live[side.live.length - 1];
        side.live.pop();
        side.allocator.free(b.address, b.count);
      } else {
        const address = side.allocator.allocate(count);
        if (address === null) side.failures++;
        else {
          side.live.push({ address, count });
          touch(side, address, count);
        }
      }
    }
    opsDone++;
  }

  function draw(): void {
    if (!index) return;
    for (const side of sides) {
      const lo = side.hi > 0 ? side.lo : 0;
      const span = Math.max(COLS * ROWS, (side.hi > 0 ? side.hi : index.total) - lo);
      const perCell = span / (COLS * ROWS);
      side.caption.textContent = side.hi > 0 ? `${bytes(span * FRAME)} from ${hex(addressOf(lo))} (the span it has handed out), ${perCell < 1.05 ? 'one frame' : `${perCell.toFixed(perCell < 10 ? 1 : 0)} frames`} per cell` : `all ${bytes(index.total * FRAME)} of usable memory`;
      const used = side.cellUsed.fill(0);
      for (const b of side.live) {
        const first = index.indexOf(b.address) - lo;
        for (let i = 0; i < b.count; i++) used[Math.min(COLS * ROWS - 1, Math.floor((first + i) / perCell))] += 1;
      }
      const ctx = side.canvas.getContext('2d')!;
      ctx.fillStyle = '#f4f6f8';
      ctx.fillRect(0, 0, side.canvas.width, side.canvas.height);
      for (let c = 0; c < COLS * ROWS; c++) {
        if (lo + c * perCell >= index.total) break;
        const f = Math.min(1, used[c] / Math.max(1, perCell));
        ctx.fillStyle = f <= 0 ? '#cdebd6' : `hsl(${215 - 10 * f}, ${45 + 30 * f}%, ${78 - 48 * f}%)`;
        ctx.fillRect((c % COLS) * CELL, Math.floor(c / COLS) * CELL, CELL - 1, CELL - 1);
      }
      const s = side.allocator.stats();
      const frag = s.free === 0 ? 0 : 1 - s.largestFreeRun / s.free;
      side.stats.replaceChildren(
        el('div', {}, el('b', {}, 'free '), el('span', { class: 'free' }, s.free.toLocaleString()), ' · ', el('b', {}, 'used '), el('span', { class: 'used' }, s.used.toLocaleString()), ' · ', el('b', {}, 'reserved '), s.reserved.toLocaleString(), ' frames'),
        el('div', {}, el('b', {}, 'largest free run '), el('span', { class: 'largest' }, s.largestFreeRun.toLocaleString()), ' · ', el('b', {}, 'fragmentation '), el('span', { class: 'fragmentation' }, `${(frag * 100).toFixed(1)}%`)),
        el('div', {}, el('b', {}, 'live blocks '), el('span', { class: 'live' }, side.live.length.toLocaleString()), ' · ', el('b', {}, 'failed allocations '), el('span', { class: 'failures' }, String(side.failures))),
      );
    }
    root.dataset.ops = String(opsDone);
  }

  /**
   * Runs `total` operations (null: until Stop) in chunks of about CHUNK_MS of work, each
   * ending with both allocators' check(). Chunks are queued as tasks (MessageChannel), not
   * one per animation frame, so the workload runs at CPU speed while the browser still
   * renders and handles input between chunks; the picture is redrawn at most once per
   * frame and once more at the end, when #frames gets data-done. A hidden page pauses.
   */
  function run(total: number | null): void {
    if (sides.length === 0) return;
    const generation = ++runGeneration; // a newer run, Stop, Reset or a new map ends this one
    running = true;
    delete root.dataset.done;
    let left = total ?? Infinity;
    let drawQueued = false;
    const show = () => {
      drawQueued = false;
      draw();
      status.textContent = `${opsDone.toLocaleString()} operations (same sequence on both allocators)`;
    };
    const chunk = () => {
      if (!running || generation !== runGeneration) return;
      const until = performance.now() + CHUNK_MS;
      try {
        while (left > 0 && performance.now() < until) {
          const n = Math.min(left, STEPS_BETWEEN_CLOCK_READS);
          for (let i = 0; i < n; i++) step();
          left -= n;
        }
        for (const side of sides) side.allocator.check();
      } catch (e) {
        running = false;
        showError(error, e);
      }
      if (left > 0 && running) {
        if (!drawQueued) {
          drawQueued = true;
          requestAnimationFrame(show);
        }
        schedule(chunk);
      } else {
        running = false;
        show();
        root.dataset.done = String(opsDone);
      }
    };
    schedule(chunk);
  }

  /** Queues `fn` as a new task (no 4 ms timer clamping); on a hidden page, waits for a frame instead. */
  const channel = new MessageChannel();
  const queued: (() => void)[] = [];
  channel.port1.onmessage = () => queued.shift()?.();
  function schedule(fn: () => void): void {
    if (document.hidden) requestAnimationFrame(fn);
    else {
      queued.push(fn);
      channel.port2.postMessage(null);
    }
  }

  append(
    root,
    el(
      'div',
      { class: 'row' },
      el('label', {}, 'seed ', seed),
      el('label', {}, 'largest block (frames) ', maxCount),
      el('label', {}, 'free probability ', freeRatio),
      el('label', {}, 'operations ', steps),
      el('button', { id: 'wl-run', class: 'primary', onclick: () => run(Number(steps.value)) }, 'Run workload'),
      el('button', { id: 'wl-go', onclick: () => run(null) }, 'Run continuously'),
      el('button', { id: 'wl-stop', onclick: () => (running = false) }, 'Stop'),
      el('button', { id: 'wl-reset', onclick: () => lastMap && load(lastMap) }, 'Reset'),
    ),
    status,
    error,
    grid,
    el('p', { class: 'legend' }, el('span', { class: 'sw free-sw' }), ' free ', el('span', { class: 'sw used-sw' }), ' held by a live block (darker = fuller), usable frames in address order; each picture zooms to the span its allocator has handed out.'),
  );
  let lastMap: MemoryMap | null = null;
  return {
    load(map: MemoryMap) {
      lastMap = map;
      load(map);
    },
  };
}
