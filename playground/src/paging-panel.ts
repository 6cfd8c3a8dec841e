// Page-table panel: build real x86-64 tables with PageTableBuilder (map ranges with any
// page size and flags), list the coalesced ranges like QEMU's `info mem`, translate an
// address and show the walk level by level (entry address, raw value, flags).
import { explainWalk, PageTableBuilder, PhysicalMemory, type PageFlagsInput } from '../../src/index.js';
import { append, bytes, el, hex, parseSize, parseVirt, showError, table } from './dom.js';

const TABLES_BASE = 0x1000000; // 16 MiB of memory holds the tables
const TABLES_SIZE = 0x1000000;

/** A tiny frame source for the tables: a free list over [TABLES_BASE, TABLES_BASE + TABLES_SIZE). */
function tableFrames() {
  let next = TABLES_BASE;
  const freed: number[] = [];
  return {
    allocate(count = 1): number | null {
      if (count === 1 && freed.length > 0) return freed.pop()!;
      if (next + count * 4096 > TABLES_BASE + TABLES_SIZE) return null;
      next += count * 4096;
      return next - count * 4096;
    },
    free(address: number, count = 1): void {
      for (let i = 0; i < count; i++) freed.push(address + i * 4096);
    },
  };
}

const FLAG_NAMES = ['writable', 'user', 'noExecute', 'global', 'writeThrough', 'cacheDisable'] as const;

function flagText(f: Record<string, unknown>): string {
  const parts = [f.writable ? 'W' : 'R', f.user ? 'U' : 'S', f.noExecute ? 'NX' : 'X'];
  if (f.global) parts.push('G');
  if (f.writeThrough) parts.push('PWT');
  if (f.cacheDisable) parts.push('PCD');
  return parts.join(' ');
}

export function pagingPanel(root: HTMLElement, shared: boolean): void {
  const levels = el('select', { id: 'pt-levels' }, el('option', { value: '4' }, '4-level (48-bit)'), el('option', { value: '5' }, '5-level (57-bit, LA57)'));
  const virt = el('input', { id: 'pt-virt', value: '0xffffffff80000000', class: 'addr' });
  const phys = el('input', { id: 'pt-phys', value: '0x200000', class: 'addr' });
  const size = el('input', { id: 'pt-size', value: '2M', class: 'narrow' });
  const pageSize = el('select', { id: 'pt-page-size' }, ...['auto', '4096', '2097152', '1073741824'].map((v) => el('option', { value: v }, v === 'auto' ? 'auto' : bytes(Number(v)))));
  const boxes = FLAG_NAMES.map((name) => el('input', { type: 'checkbox', id: `pt-flag-${name}`, checked: name === 'writable' }));
  const error = el('div', { id: 'pt-error', class: 'error', hidden: true });
  const ranges = el('div', { id: 'pt-ranges', class: 'scroll short' });
  const summary = el('div', { id: 'pt-summary', class: 'muted' });
  const translateInput = el('input', { id: 'pt-translate-input', value: '0xffffffff80001234', class: 'addr' });
  const result = el('div', { id: 'pt-result', class: 'result' });
  const walk = el('div', { id: 'pt-walk' });
  let memory: PhysicalMemory;
  let builder: PageTableBuilder;

  function reset(): void {
    memory = new PhysicalMemory({ shared });
    memory.addRegion(TABLES_BASE, TABLES_SIZE, { name: 'page tables' });
    builder = new PageTableBuilder({ memory, frames: tableFrames(), levels: Number(levels.value) as 4 | 5 });
    showError(error, null);
    result.replaceChildren();
    walk.replaceChildren();
    draw();
  }

  function map(v: bigint, p: number, s: number, ps: string, flags: PageFlagsInput): void {
    builder.map({ virt: v, phys: p, size: s, flags, pageSize: ps === 'auto' ? 'auto' : (Number(ps) as 4096) });
  }

  function act(fn: () => void): void {
    try {
      showError(error, null);
      fn();
    } catch (e) {
      showError(error, e);
    }
    draw();
  }

  function draw(): void {
    const rs = builder.ranges();
    const leaves = builder.mappings();
    summary.textContent = `CR3 = ${hex(builder.root)} · ${builder.tableFrames().length} table frames · ${leaves.length} leaf entries · ${rs.length} ranges`;
    ranges.replaceChildren(table(['virtual', 'end', 'physical', 'size', 'flags'], rs.map((r) => [hex(r.virt, 16), hex(r.end, 16), r.physContiguous ? hex(r.phys) : `${hex(r.phys)} (scattered)`, bytes(r.size), flagText(r.flags as unknown as Record<string, unknown>)])));
  }

  function translate(): void {
    try {
      showError(error, null);
      const v = parseVirt(translateInput.value);
      const story = explainWalk(memory, builder.root, builder.levels, v);
      result.replaceChildren(
        story.translation
          ? el('span', { class: 'ok' }, `${hex(v)} → physical `, el('strong', { id: 'pt-phys-result' }, hex(story.translation.phys)), ` (${bytes(story.translation.pageSize)} page, ${flagText(story.translation.flags as unknown as Record<string, unknown>)})`)
          : el('span', { class: 'warn', id: 'pt-fault' }, `${hex(v)} is not mapped: ${story.fault ?? 'page fault'}`),
      );
      walk.replaceChildren(
        table(
          ['level', 'table', 'index', 'entry address', 'raw entry', 'bits', 'meaning'],
          story.steps.map((s) => [s.tableName, hex(s.table), String(s.index), hex(s.entryAddress), s.raw === null ? '—' : hex(s.raw, 16), s.bits, s.kind]),
          { class: 'walk' },
        ),
      );
    } catch (e) {
      showError(error, e);
    }
  }

  function preset(): void {
    act(() => {
      reset();
      map(0x100000n, 0x100000, 0x100000, 'auto', { writable: true }); // identity map of the loader
      map(0xffffffff80000000n, 0x200000, 0x200000, 'auto', {}); // kernel .text: read-execute
      map(0xffffffff80200000n, 0x400000, 0x100000, 'auto', { noExecute: true }); // .rodata
      map(0xffffffff80300000n, 0x500000, 0x100000, 'auto', { writable: true, noExecute: true }); // .data/.bss
      map(0xffff800000000000n, 0, 0x80000000, 'auto', { writable: true, noExecute: true, global: true }); // direct map of 2 GiB
    });
  }

  append(
    root,
    el('div', { class: 'row' }, el('label', {}, 'paging ', levels), el('button', { id: 'pt-preset', onclick: preset }, 'Load a higher-half kernel layout'), el('button', { id: 'pt-reset', onclick: reset }, 'Clear')),
    el(
      'div',
      { class: 'row' },
      el('label', {}, 'virt ', virt),
      el('label', {}, 'phys ', phys),
      el('label', {}, 'size ', size),
      el('label', {}, 'pages ', pageSize),
      ...FLAG_NAMES.map((name, i) => el('label', { class: 'check' }, boxes[i], name)),
      el('button', {
        id: 'pt-map',
        class: 'primary',
        onclick: () =>
          act(() => {
            const flags: PageFlagsInput = {};
            FLAG_NAMES.forEach((name, i) => (flags[name] = boxes[i].checked));
            map(parseVirt(virt.value), Number(parseVirt(phys.value)), parseSize(size.value), pageSize.value, flags);
          }),
      }, 'Map'),
    ),
    error,
    summary,
    ranges,
    el('div', { class: 'row' }, el('label', {}, 'translate ', translateInput), el('button', { id: 'pt-translate', class: 'primary', onclick: translate }, 'Translate and explain the walk')),
    result,
    walk,
  );
  levels.addEventListener('change', reset);
  reset();
}
