/**
 * `parseShellMemmap`: reads the output of the UEFI Shell `memmap` command, plain or
 * `-sfo`, from console text or from the bytes of a file the shell wrote (UTF-16LE + BOM).
 *
 * @module
 */
import { type MemoryDescriptor } from './descriptor.js';
import { UefiError } from './errors.js';
import { MemoryMap } from './memory-map.js';
import { shellTypeFromName } from './shell-names.js';
import { decodeText, hexBig, lineError, rangeToPages, textLines, type LineRef, type TextInput } from './text-common.js';

const PLAIN_HEADER = /^\s*Type\s+Start\s+End\s+# Pages\s+Attributes\s*$/;
const PLAIN_LOOKS_LIKE = /^\s*\S+\s+[0-9A-Fa-f]{16}-/;
const PLAIN_ROW = /^\s*(\S+)\s+([0-9A-Fa-f]{16})-([0-9A-Fa-f]{16})\s+([0-9A-Fa-f]{16})\s+([0-9A-Fa-f]{16})\s*$/;
const SFO_HEADER = /^\s*ShellCommand,"memmap"\s*$/;
const SFO_LOOKS_LIKE = /^\s*MemoryMap,/;
const SFO_ROW = /^\s*MemoryMap,"([^"]*)","([0-9A-Fa-f]{1,16})","([0-9A-Fa-f]{1,16})","([0-9A-Fa-f]{1,16})","([0-9A-Fa-f]{1,16})"\s*$/;

interface Block { kind: 'plain' | 'sfo'; line: number; descriptors: MemoryDescriptor[] }

/**
 * Parses `memmap` or `memmap -sfo` output. Takes a string or file bytes (UTF-8, or UTF-16LE
 * with BOM as the shell writes; CRLF or LF; terminal escape sequences are removed). Lines
 * that are not descriptors are ignored; a line that looks like one but is malformed is an
 * error (`UEFI_TEXT_MALFORMED`, `UEFI_TEXT_INCONSISTENT` when the page count disagrees with
 * the range). Several listings (e.g. plain and -sfo in one console log) must agree, else
 * `UEFI_TEXT_AMBIGUOUS`. virtualStart is 0 (the shell does not print it).
 *
 * @example
 * ```ts
 * import { parseShellMemmap } from 'memprims';
 * const map = parseShellMemmap('MemoryMap,"Available","1000","9FFFF","9F","F"');
 * map.descriptors[0].physicalStart; // 4096
 * ```
 */
export function parseShellMemmap(textOrBytes: TextInput): MemoryMap {
  const lines = textLines(decodeText(textOrBytes));
  const blocks: Block[] = [];
  let current: Block | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const ref: LineRef = { line: i + 1, text: line };
    if (PLAIN_HEADER.test(line) || SFO_HEADER.test(line)) {
      current = { kind: SFO_HEADER.test(line) ? 'sfo' : 'plain', line: i + 1, descriptors: [] };
      blocks.push(current);
      continue;
    }
    const kind = SFO_LOOKS_LIKE.test(line) ? 'sfo' : PLAIN_LOOKS_LIKE.test(line) ? 'plain' : undefined;
    if (!kind) continue;
    const descriptor = kind === 'sfo' ? parseSfoRow(ref) : parsePlainRow(ref);
    if (!current || current.kind !== kind) {
      current = { kind, line: i + 1, descriptors: [] };
      blocks.push(current);
    }
    current.descriptors.push(descriptor);
  }
  const filled = blocks.filter((b) => b.descriptors.length > 0);
  if (filled.length === 0) throw new UefiError('UEFI_TEXT_NO_DESCRIPTORS', 'no UEFI Shell memmap rows found');
  const first = filled[0];
  for (const other of filled.slice(1)) {
    // -sfo omits OEM/OS types: compare a plain listing with an -sfo one on types 0..15 only.
    const mixed = other.kind !== first.kind;
    const a = mixed ? first.descriptors.filter((d) => d.type <= 15) : first.descriptors;
    const b = mixed ? other.descriptors.filter((d) => d.type <= 15) : other.descriptors;
    const same = a.length === b.length && a.every((d, k) => d.type === b[k].type && d.physicalStart === b[k].physicalStart && d.numberOfPages === b[k].numberOfPages && d.attribute === b[k].attribute);
    if (!same) throw new UefiError('UEFI_TEXT_AMBIGUOUS', `the text holds ${filled.length} different memmap listings (lines ${first.line} and ${other.line})`, { blocks: filled.length });
  }
  // Prefer a plain listing: it also shows OEM/OS types.
  const chosen = filled.find((b) => b.kind === 'plain') ?? first;
  return MemoryMap.fromChecked(chosen.descriptors);
}

function typeOf(name: string, ref: LineRef): number {
  const t = shellTypeFromName(name);
  if (t !== undefined) return t;
  if (/^[0-9A-Fa-f]{1,8}$/.test(name)) return Number.parseInt(name, 16);
  throw lineError('UEFI_TEXT_MALFORMED', ref, `unknown memory type name '${name}'`);
}

function build(ref: LineRef, name: string, startHex: string, lastHex: string, pagesHex: string, attrHex: string): MemoryDescriptor {
  const type = typeOf(name, ref);
  const start = hexBig(startHex);
  const pagesText = hexBig(pagesHex);
  // The shell prints Start + 4096 * Pages - 1 (u64 arithmetic), so a 0-page row ends one below its start.
  const end = (hexBig(lastHex) + 1n) & 0xffffffffffffffffn;
  const { physicalStart, numberOfPages } = rangeToPages(start, end === 0n && start > 0n ? start : end, ref);
  if (BigInt(numberOfPages) !== pagesText) {
    throw lineError('UEFI_TEXT_INCONSISTENT', ref, `the page count 0x${pagesHex} does not match the range (0x${numberOfPages.toString(16)} pages)`);
  }
  return Object.freeze({ type, physicalStart, virtualStart: 0n, numberOfPages, attribute: hexBig(attrHex) });
}

function parsePlainRow(ref: LineRef): MemoryDescriptor {
  const m = PLAIN_ROW.exec(ref.text);
  if (!m) throw lineError('UEFI_TEXT_MALFORMED', ref, 'looks like a memmap row but is not one');
  return build(ref, m[1], m[2], m[3], m[4], m[5]);
}

function parseSfoRow(ref: LineRef): MemoryDescriptor {
  const m = SFO_ROW.exec(ref.text);
  if (!m) throw lineError('UEFI_TEXT_MALFORMED', ref, 'looks like a memmap -sfo row but is not one');
  return build(ref, m[1], m[2], m[3], m[4], m[5]);
}
