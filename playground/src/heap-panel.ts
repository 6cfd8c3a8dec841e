// Heap panel: a LinkedListHeap (linked_list_allocator's exact behaviour) in 64 KiB of
// memory; allocate and free by hand or at random and watch its holes.
import { Layout, LinkedListHeap, PhysicalMemory } from '../../src/index.js';
import { append, bytes, el, hex, rng, showError, table } from './dom.js';

const BOTTOM = 0x10000;
const SIZE = 0x10000;

export function heapPanel(root: HTMLElement, shared: boolean): void {
  const size = el('input', { id: 'heap-size', type: 'number', value: '200', min: '0', class: 'narrow' });
  const align = el('select', { id: 'heap-align' }, ...[8, 16, 64, 256, 4096].map((a) => el('option', { value: String(a) }, String(a))));
  const mode = el('select', { id: 'heap-mode' }, el('option', { value: 'list' }, 'list (walks the holes)'), el('option', { value: 'indexed' }, 'indexed (same answers, no walk)'));
  const error = el('div', { id: 'heap-error', class: 'error', hidden: true });
  const bar = el('div', { id: 'heap-bar', class: 'heap-bar' });
  const stats = el('div', { id: 'heap-stats', class: 'stats' });
  const holes = el('div', { id: 'heap-holes', class: 'scroll short' });
  let heap: LinkedListHeap;
  let live: { address: number; layout: Layout }[] = [];
  const random = rng(7);

  function reset(): void {
    const memory = new PhysicalMemory({ shared });
    memory.addRegion(BOTTOM, SIZE, { name: 'heap' });
    heap = LinkedListHeap.init(memory, BOTTOM, SIZE, { mode: mode.value as 'list' | 'indexed', strict: true });
    live = [];
    showError(error, null);
    draw();
  }

  function allocate(layout: Layout): void {
    const address = heap.allocateFirstFit(layout);
    if (address === null) showError(error, new Error(`allocateFirstFit(${layout}) returned null: no hole fits`));
    else live.push({ address, layout });
  }

  function freeRandom(): void {
    if (live.length === 0) return;
    const [b] = live.splice(Math.floor(random() * live.length), 1);
    heap.deallocate(b.address, b.layout);
  }

  function act(fn: () => void): void {
    try {
      showError(error, null);
      fn();
      heap.check();
    } catch (e) {
      showError(error, e);
    }
    draw();
  }

  function draw(): void {
    const hs = heap.holes();
    const s = heap.stats();
    bar.replaceChildren();
    const span = heap.top - heap.bottom;
    const pct = (n: number) => `${(n / span) * 100}%`;
    for (const b of live) bar.appendChild(el('div', { class: 'blk used', style: `left:${pct(b.address - heap.bottom)};width:${pct(Math.max(16, b.layout.size))}`, title: `live ${hex(b.address)} ${b.layout}` }));
    for (const h of hs) bar.appendChild(el('div', { class: 'blk hole', style: `left:${pct(h.address - heap.bottom)};width:${pct(h.size)}`, title: `hole ${hex(h.address)} ${h.size} bytes` }));
    stats.replaceChildren(
      el('div', {}, el('b', {}, 'used '), el('span', { class: 'used' }, String(s.used)), ' · ', el('b', {}, 'free '), String(s.free), ` bytes of ${bytes(span)} · `, el('b', {}, 'holes '), el('span', { class: 'holes' }, String(s.holes)), ' · ', el('b', {}, 'largest hole '), String(s.largestHole), ' · ', el('b', {}, 'fragmentation '), `${(s.fragmentation * 100).toFixed(1)}%`),
      el('div', { class: 'muted' }, `${live.length} live blocks; heap [${hex(heap.bottom)}..${hex(heap.top)}), first hole ${heap.firstHole === null ? 'none' : hex(heap.firstHole)}`),
    );
    holes.replaceChildren(table(['hole header', 'size', 'next'], hs.map((h) => [hex(h.address), String(h.size), h.next === null ? '—' : hex(h.next)])));
  }

  append(
    root,
    el(
      'div',
      { class: 'row' },
      el('label', {}, 'size ', size),
      el('label', {}, 'align ', align),
      el('button', { id: 'heap-alloc', class: 'primary', onclick: () => act(() => allocate(Layout.fromSizeAlign(Number(size.value), Number(align.value)))) }, 'Allocate'),
      el('button', { id: 'heap-free', onclick: () => act(freeRandom) }, 'Free a random block'),
      el('button', {
        id: 'heap-random',
        onclick: () =>
          act(() => {
            for (let i = 0; i < 50; i++) {
              if (random() < 0.45) freeRandom();
              else allocate(Layout.fromSizeAlign(1 + Math.floor(random() ** 2 * 600), 2 ** Math.floor(random() * 6)));
            }
          }),
      }, '50 random operations'),
      el('label', {}, 'mode ', mode),
      el('button', { id: 'heap-reset', onclick: reset }, 'Reset'),
    ),
    error,
    bar,
    el('p', { class: 'legend' }, el('span', { class: 'sw hole-sw' }), ' hole (free, its header written in heap memory) ', el('span', { class: 'sw live-sw' }), ' live block'),
    stats,
    holes,
  );
  mode.addEventListener('change', reset);
  reset();
}
