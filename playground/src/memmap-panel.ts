// Memory-map panel: paste efi=debug / Shell memmap text, upload a raw buffer or a text file,
// or pick a bundled real OVMF sample; draws the map (SVG), its totals and its descriptors.
import { memoryTypeName, memoryAttributeNames, parseAnyMemoryMap, parseLinuxEfiLog, parseShellMemmap, type MemoryMap } from '../../src/index.js';
import { append, byId, bytes, el, hex, showError, table } from './dom.js';
import { SAMPLES } from './samples.js';

export interface MemmapPanel {
  /** Called with every successfully parsed map. */
  onMap(listener: (map: MemoryMap, source: string) => void): void;
  current(): MemoryMap | null;
}

export function memmapPanel(root: HTMLElement): MemmapPanel {
  const listeners: ((map: MemoryMap, source: string) => void)[] = [];
  let current: MemoryMap | null = null;
  const select = el('select', { id: 'sample' }, el('option', { value: '' }, 'Pick a bundled real memory map…'), ...SAMPLES.map((s) => el('option', { value: s.id }, s.label)));
  const text = el('textarea', { id: 'memmap-text', rows: 8, spellcheck: 'false', placeholder: 'Paste dmesg lines with efi: memNN: [...] range=[...] (boot with efi=debug), or the output of the UEFI Shell memmap command (plain or -sfo).' });
  const file = el('input', { id: 'memmap-file', type: 'file' });
  const descriptorSize = el('input', { id: 'descriptor-size', type: 'number', value: '48', min: '40', step: '8', class: 'narrow' });
  const error = el('div', { id: 'memmap-error', class: 'error', hidden: true });
  const summary = el('div', { id: 'memmap-summary', class: 'summary' });
  const picture = el('div', { id: 'memmap-svg', class: 'picture' });
  const details = el('details', { id: 'memmap-details' }, el('summary', {}, 'Descriptors'), el('div', { id: 'memmap-table', class: 'scroll' }));

  function show(map: MemoryMap, source: string): void {
    current = map;
    showError(error, null);
    const totals = map.totalsByType();
    const usable = map.usableAfterExitBootServices();
    const usableBytes = usable.reduce((n, r) => n + (r.end - r.start), 0);
    const report = map.validate();
    summary.replaceChildren();
    append(
      summary,
      el('strong', {}, source), ` — ${map.length} descriptors, `,
      el('span', { id: 'usable-bytes' }, bytes(usableBytes)), ` usable after ExitBootServices in ${usable.length} ranges`,
      report.ok ? '' : el('span', { class: 'warn' }, ` — ${report.problems.length} problem(s): ${report.problems[0]?.message ?? ''}`),
    );
    const chips = el('div', { class: 'chips' }, ...totals.map((t) => el('span', { class: 'chip' }, `${t.name}: ${bytes(t.bytes)}`)));
    summary.appendChild(chips);
    picture.innerHTML = map.toSVG();
    const rows = map.descriptors.map((d, i) => [
      String(i),
      memoryTypeName(d.type),
      hex(d.physicalStart, 9),
      hex(d.physicalStart + d.numberOfPages * 4096, 9),
      bytes(d.numberOfPages * 4096),
      memoryAttributeNames(d.attribute).join(' '),
    ]);
    byId('memmap-table').replaceChildren(table(['#', 'type', 'start', 'end', 'size', 'attributes'], rows));
    for (const l of listeners) l(map, source);
  }

  function parseText(input: string): MemoryMap {
    const bytesIn = new TextEncoder().encode(input);
    try {
      return parseAnyMemoryMap(bytesIn).map;
    } catch (e) {
      // Give the format-specific error when the text looks like one of them.
      if (/mem\d+:|efi:/.test(input)) return parseLinuxEfiLog(input);
      if (/MemoryMap,|Start\s+End/.test(input)) return parseShellMemmap(input);
      throw e;
    }
  }

  function attempt(fn: () => MemoryMap, source: string): void {
    try {
      show(fn(), source);
    } catch (e) {
      showError(error, e);
    }
  }

  select.addEventListener('change', () => {
    const sample = SAMPLES.find((s) => s.id === select.value);
    if (!sample) return;
    if (sample.text !== undefined) {
      text.value = sample.text;
      attempt(() => parseText(sample.text!), sample.label);
    } else {
      text.value = '';
      attempt(() => parseAnyMemoryMap(sample.raw!, { descriptorSize: 48 }).map, sample.label);
    }
  });
  const parseButton = el('button', { id: 'memmap-parse', class: 'primary', onclick: () => {
        select.value = '';
        attempt(() => parseText(text.value), 'pasted text');
      } }, 'Draw pasted map');
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    const buf = new Uint8Array(await f.arrayBuffer());
    select.value = '';
    attempt(() => parseAnyMemoryMap(buf, { descriptorSize: Number(descriptorSize.value) }).map, f.name);
  });

  append(
    root,
    el('div', { class: 'row' }, select),
    text,
    el('div', { class: 'row' }, parseButton, el('label', {}, 'or upload a raw buffer / text file ', file), el('label', {}, 'descriptor size ', descriptorSize)),
    error,
    summary,
    picture,
    details,
  );
  return { onMap: (l) => listeners.push(l), current: () => current };
}
