/**
 * `parseLinuxEfiLog`: reads the memory map a Linux kernel printed with `efi=debug` out of
 * a boot log (dmesg, journal, syslog, serial console), in every format kernels have used.
 *
 * @module
 */
import { hex } from '../errors.js';
import { EFI_PAGE_SIZE, type MemoryDescriptor } from './descriptor.js';
import { UefiError } from './errors.js';
import { LINUX_FLAG_BITS, linuxTypeFromName } from './linux-names.js';
import { MemoryMap } from './memory-map.js';
import { decodeText, hexBig, lineError, rangeToPages, textLines, type LineRef, type TextInput } from './text-common.js';

/** A line that claims to be a descriptor: `memNN:` followed by `[` or `type=`. */
const LOOKS_LIKE = /(?:^|[\s\]>:|])mem(\d{1,6}):\s*(?=\[|type=)/;
const BRACKET_FORM = /^\[([^|\]]*)\|([^\]]*)\]\s+range=\[0x([0-9a-fA-F]{1,16})-0x([0-9a-fA-F]{1,16})([\])])(?:\s+\(\s*(\d+)\s*MB\))?\s*$/;
const NUMERIC_FORM = /^type=(\d{1,10}),\s*attr=0x([0-9a-fA-F]{1,16}),\s*range=\[0x([0-9a-fA-F]{1,16})-0x([0-9a-fA-F]{1,16})([\])])(?:\s+\(\s*(\d+)\s*MB\))?\s*$/;

interface Entry { index: number; descriptor: MemoryDescriptor; ref: LineRef }

/**
 * Parses the `efi: memNN: …` lines of a boot log. Accepts `[Type|attr columns]` with
 * inclusive `]` or half-open `)` range ends, entries without cache attributes, raw
 * `|attr=0x…]` values, `[type=N|…` for unknown types, the old numeric
 * `type=7, attr=0xf, range=[…)` form, and any timestamp/syslog prefix before `efi:`.
 * Other lines are ignored. A line that looks like a descriptor but is malformed is an error
 * (`UEFI_TEXT_MALFORMED`, `UEFI_TEXT_INCONSISTENT`, `UEFI_ADDRESS_TOO_LARGE`,
 * `UEFI_PAGE_COUNT_TOO_LARGE`); so are two different maps (`UEFI_TEXT_AMBIGUOUS`; an index that
 * does not grow starts another listing) and no map (`UEFI_TEXT_NO_DESCRIPTORS`). An excerpt
 * may start at any `memNN` and skip lines.
 * virtualStart is 0 (the log does not show it).
 *
 * @example
 * ```ts
 * import { parseLinuxEfiLog } from 'memprims';
 * const map = parseLinuxEfiLog('[    0.000000] efi: mem00: [Conventional|   |  |  |  |  |  |  |  |  |   |WB|WT|WC|UC] range=[0x0000000000000000-0x0000000000000fff] (0MB)');
 * map.descriptors[0].numberOfPages; // 1
 * ```
 */
export function parseLinuxEfiLog(text: TextInput): MemoryMap {
  const lines = textLines(decodeText(text));
  const blocks: Entry[][] = [];
  let current: Entry[] | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const m = LOOKS_LIKE.exec(line);
    if (!m) continue;
    const ref: LineRef = { line: i + 1, text: line };
    const index = Number(m[1]);
    const descriptor = parseBody(line.slice(m.index + m[0].length), ref);
    // A pasted excerpt may start anywhere (mem07 alone is a valid paste) and may skip lines;
    // an index that does not grow starts another listing of the map.
    if (!current || index <= current[current.length - 1].index) {
      current = [];
      blocks.push(current);
    }
    current.push({ index, descriptor, ref });
  }
  if (blocks.length === 0) throw new UefiError('UEFI_TEXT_NO_DESCRIPTORS', 'no efi=debug memory map lines (efi: memNN: …) found');
  const first = blocks[0];
  for (const other of blocks.slice(1)) {
    const same = other.length === first.length && other.every((e, k) => e.index === first[k].index && sameDescriptor(e.descriptor, first[k].descriptor));
    if (!same) throw new UefiError('UEFI_TEXT_AMBIGUOUS', `the log holds ${blocks.length} different memory maps (second one from line ${other[0].ref.line})`, { blocks: blocks.length });
  }
  return MemoryMap.fromChecked(first.map((e) => e.descriptor));
}

function sameDescriptor(a: MemoryDescriptor, b: MemoryDescriptor): boolean {
  return a.type === b.type && a.physicalStart === b.physicalStart && a.numberOfPages === b.numberOfPages && a.attribute === b.attribute;
}

function parseBody(body: string, ref: LineRef): MemoryDescriptor {
  let type: number;
  let attribute: bigint;
  let start: bigint;
  let last: bigint;
  let closer: string;
  let mb: string | undefined;
  const b = BRACKET_FORM.exec(body);
  if (b) {
    type = parseTypeName(b[1].trim(), ref);
    attribute = parseFlags(b[2], ref);
    [start, last, closer, mb] = [hexBig(b[3]), hexBig(b[4]), b[5], b[6]];
  } else {
    const n = NUMERIC_FORM.exec(body);
    if (!n) throw lineError('UEFI_TEXT_MALFORMED', ref, 'looks like an efi=debug descriptor but is not one');
    type = Number(n[1]);
    if (type > 0xffffffff) throw lineError('UEFI_TEXT_MALFORMED', ref, `type ${n[1]} is not a u32`);
    attribute = hexBig(n[2]);
    [start, last, closer, mb] = [hexBig(n[3]), hexBig(n[4]), n[5], n[6]];
  }
  // The kernel prints start + size - 1 in u64 arithmetic: a 0-page entry at 0 ends at 2^64 - 1.
  const end = closer === ']' ? (last + 1n) & 0xffffffffffffffffn : last;
  const { physicalStart, numberOfPages } = rangeToPages(start, end, ref);
  if (mb !== undefined) {
    const expected = Math.floor((numberOfPages * EFI_PAGE_SIZE) / 0x100000);
    if (Number(mb) !== expected) {
      throw lineError('UEFI_TEXT_INCONSISTENT', ref, `size (${mb}MB) does not match the range ${hex(start)}..${hex(end)} (${expected}MB)`);
    }
  }
  return Object.freeze({ type, physicalStart, virtualStart: 0n, numberOfPages, attribute });
}

function parseTypeName(name: string, ref: LineRef): number {
  const t = /^type=(\d{1,10})$/.exec(name);
  if (t) {
    const v = Number(t[1]);
    if (v <= 0xffffffff) return v;
  }
  const v = linuxTypeFromName(name);
  if (v === undefined) throw lineError('UEFI_TEXT_MALFORMED', ref, `unknown memory type name '${name}'`);
  return v;
}

function parseFlags(text: string, ref: LineRef): bigint {
  const raw = /^\s*attr=0x([0-9a-fA-F]{1,16})\s*$/.exec(text);
  if (raw) return hexBig(raw[1]);
  let attribute = 0n;
  for (const cell of text.split('|')) {
    const token = cell.trim();
    if (token === '') continue;
    const bit = LINUX_FLAG_BITS.get(token);
    if (bit === undefined) throw lineError('UEFI_TEXT_MALFORMED', ref, `unknown attribute column '${token}'`);
    attribute |= bit;
  }
  return attribute;
}
