// Tiny DOM helpers for the playground (no framework).
import { MemprimsError } from '../../src/index.js';

type Child = Node | string | number | null | undefined | false;

/** Creates an element with attributes (`class`, `id`, `data-*`, event handlers as `onclick`) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'class') node.className = String(value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, ...children);
  return node;
}

export function append(node: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id}`);
  return node as T;
}

export function hex(value: number | bigint, pad = 0): string {
  return '0x' + value.toString(16).padStart(pad, '0');
}

/** 1536 → "1.5 KiB", exact powers as "4 KiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

/** Parses "0x1000", "4096", "2M", "1G", "64K" (also "2MiB"); throws on garbage. */
export function parseSize(text: string): number {
  const m = /^\s*(0x[0-9a-f_]+|\d+)\s*([kmgt])?(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new Error(`not a size: ${JSON.stringify(text)}`);
  const base = Number(m[1].replace(/_/g, ''));
  const mult = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
  return base * mult;
}

/** Parses a hex or decimal virtual address into a bigint. */
export function parseVirt(text: string): bigint {
  const t = text.trim().replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new Error(`not an address: ${JSON.stringify(text)}`);
  return BigInt(t);
}

/** Shows an error (a MemprimsError's code and message, or any error) in `box`; clears it for null. */
export function showError(box: HTMLElement, error: unknown): void {
  box.replaceChildren();
  box.hidden = error === null;
  if (error === null) return;
  if (error instanceof MemprimsError) append(box, el('code', {}, error.code), ' ', error.message);
  else append(box, error instanceof Error ? error.message : String(error));
}

/** mulberry32: a small seeded PRNG so that both allocators see the same workload. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function table(headers: string[], rows: Child[][], attrs: Record<string, unknown> = {}): HTMLTableElement {
  return el('table', attrs, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
}
