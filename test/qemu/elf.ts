/**
 * A small ELF64 (little-endian) reader for the QEMU boot test: section headers, program
 * headers and the symbol table: enough to load a kernel at its physical (load) addresses
 * and to hand its section layout, link address and load address, to mapKernelSections.
 * Test support only; memprims itself has no ELF loader.
 */

/** One section header (allocated sections are the ones a loader cares about). */
export interface ElfSection {
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
}

/** One program header. */
export interface ElfSegment {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: number;
  filesz: number;
  memsz: number;
}

/** One symbol. */
export interface ElfSymbol {
  name: string;
  value: bigint;
  size: number;
}

/** A parsed ELF64 file. */
export interface ElfImage {
  bytes: Uint8Array;
  entry: bigint;
  sections: ElfSection[];
  segments: ElfSegment[];
  symbols: Map<string, ElfSymbol>;
}

export const SHT_NOBITS = 8;
export const SHF_WRITE = 1n;
export const SHF_ALLOC = 2n;
export const SHF_EXECINSTR = 4n;
export const PT_LOAD = 1;

function cstring(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

/** Parses an x86-64 ELF64 executable; throws on anything else. */
export function parseElf(bytes: Uint8Array): ElfImage {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, false) !== 0x7f454c46 || bytes[4] !== 2 || bytes[5] !== 1) throw new Error('not a little-endian ELF64 file');
  if (dv.getUint16(18, true) !== 62) throw new Error('not an x86-64 ELF file');
  const num = (at: number) => Number(dv.getBigUint64(at, true));
  const entry = dv.getBigUint64(24, true);
  const phoff = num(32);
  const shoff = num(40);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);
  const shstrndx = dv.getUint16(62, true);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    segments.push({
      type: dv.getUint32(at, true), flags: dv.getUint32(at + 4, true), offset: num(at + 8),
      vaddr: dv.getBigUint64(at + 16, true), paddr: num(at + 24), filesz: num(at + 32), memsz: num(at + 40),
    });
  }
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    raw.push({
      nameOff: dv.getUint32(at, true), type: dv.getUint32(at + 4, true), flags: dv.getBigUint64(at + 8, true),
      addr: dv.getBigUint64(at + 16, true), offset: num(at + 24), size: num(at + 32), link: dv.getUint32(at + 40, true),
      entsize: num(at + 56),
    });
  }
  const shstr = raw[shstrndx].offset;
  const sections = raw.map((s) => ({ name: cstring(bytes, shstr + s.nameOff), type: s.type, flags: s.flags, addr: s.addr, offset: s.offset, size: s.size }));
  const symbols = new Map<string, ElfSymbol>();
  for (const s of raw) {
    if (s.type !== 2) continue; // SHT_SYMTAB
    const strtab = raw[s.link].offset;
    for (let at = s.offset; at + 24 <= s.offset + s.size; at += s.entsize || 24) {
      const name = cstring(bytes, strtab + dv.getUint32(at, true));
      if (name) symbols.set(name, { name, value: dv.getBigUint64(at + 8, true), size: num(at + 16) });
    }
  }
  return { bytes, entry, sections, segments, symbols };
}

/** The load segment that holds virtual address `vaddr` (in memory, bss included). */
export function segmentOf(elf: ElfImage, vaddr: bigint): ElfSegment {
  const seg = elf.segments.find((p) => p.type === PT_LOAD && vaddr >= p.vaddr && vaddr < p.vaddr + BigInt(p.memsz));
  if (!seg) throw new Error(`no load segment holds 0x${vaddr.toString(16)}`);
  return seg;
}

/** Physical (load) address of a virtual (link) address, from the program headers. */
export function loadAddress(elf: ElfImage, vaddr: bigint): number {
  const seg = segmentOf(elf, vaddr);
  return seg.paddr + Number(vaddr - seg.vaddr);
}

/** The file bytes at a virtual address (for comparing what the kernel saw with the image). */
export function bytesAt(elf: ElfImage, vaddr: bigint, length: number): Uint8Array {
  const seg = segmentOf(elf, vaddr);
  const off = Number(vaddr - seg.vaddr);
  if (off + length > seg.filesz) throw new Error(`0x${vaddr.toString(16)} (+${length}) is not file-backed`);
  return elf.bytes.subarray(seg.offset + off, seg.offset + off + length);
}

/** Section kind for mapKernelSections, from the section flags (W^X as the linker set them). */
export function sectionKind(s: ElfSection): 'text' | 'rodata' | 'data' | 'bss' {
  if (s.flags & SHF_EXECINSTR) return 'text';
  if (!(s.flags & SHF_WRITE)) return 'rodata';
  return s.type === SHT_NOBITS ? 'bss' : 'data';
}
