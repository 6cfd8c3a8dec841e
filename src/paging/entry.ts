/**
 * One x86-64 paging-structure entry: the bit layout, level-aware.
 *
 * An entry is 64 bits, handled here as two 32-bit words (`lo` = bits 0..31, `hi` = bits
 * 32..63) so hot paths never touch BigInt. Bit 7 means different things by level: PAT in
 * a 4 KiB PTE, PS (page size, i.e. "this is a huge leaf") in a PDE or PDPTE, reserved in a
 * PML4E/PML5E. In a 2 MiB or 1 GiB leaf PAT moves to bit 12. Facts from the Intel SDM
 * vol. 3A §4.5 (tables 4-14 .. 4-20).
 *
 * Levels are numbered like the SDM: 1 = page table (PTE), 2 = page directory (PDE),
 * 3 = PDPT (PDPTE), 4 = PML4, 5 = PML5.
 *
 * @module
 */
import { describe } from '../errors.js';
import { PagingError } from './errors.js';

/** Low-word bits. */
export const P = 0x1;
export const RW = 0x2;
export const US = 0x4;
export const PWT = 0x8;
export const PCD = 0x10;
export const A = 0x20;
export const D = 0x40;
/** Bit 7: PAT in a PTE, PS in a PDE/PDPTE. */
export const PS = 0x80;
export const PAT_4K = 0x80;
export const G = 0x100;
/** Bits 9..11: ignored by hardware, free for software. */
export const AVL_LO = 0xe00;
/** Bit 12: PAT in a 2 MiB / 1 GiB leaf. */
export const PAT_HUGE = 0x1000;
/** High-word bits (bit n of the entry is bit n-32 of `hi`). */
export const AVL_HI = 0x07f00000; // bits 52..58
export const PK_HI = 0x78000000; // bits 59..62
export const NX_HI = 0x80000000; // bit 63
/** Address bits 32..51 in the high word. */
export const ADDR_HI = 0x000fffff;
/** Address bits 12..31 of a 4 KiB frame / table pointer. */
export const ADDR_LO_4K = 0xfffff000;
/** Address bits of a 2 MiB leaf (21..31) and a 1 GiB leaf (30..31) in the low word. */
export const ADDR_LO_2M = 0xffe00000;
export const ADDR_LO_1G = 0xc0000000;

/** Bytes covered by one entry at a level: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB. */
export const ENTRY_SPAN = [0, 0x1000, 0x200000, 0x40000000, 0x8000000000, 0x1000000000000] as const;
/** Names of the table at each level, for messages and walk explanations. */
export const TABLE_NAMES = ['', 'PT', 'PD', 'PDPT', 'PML4', 'PML5'] as const;
/** Names of an entry at each level. */
export const ENTRY_NAMES = ['', 'PTE', 'PDE', 'PDPTE', 'PML4E', 'PML5E'] as const;

/**
 * Flags of a leaf mapping, as accepted by `map`/`protect` (every field optional, default
 * false/0) and returned (every field present) by `translate`/`mappings`/`ranges`.
 */
export interface PageFlags {
  /** R/W, bit 1. */
  writable: boolean;
  /** U/S, bit 2: user-mode accessible. */
  user: boolean;
  /** PWT, bit 3. */
  writeThrough: boolean;
  /** PCD, bit 4. */
  cacheDisable: boolean;
  /** A, bit 5. */
  accessed: boolean;
  /** D, bit 6. */
  dirty: boolean;
  /** G, bit 8. */
  global: boolean;
  /** XD/NX, bit 63 (needs EFER.NXE). */
  noExecute: boolean;
  /** PAT index bit: bit 7 in a 4 KiB PTE, bit 12 in a 2 MiB / 1 GiB leaf. */
  pat: boolean;
  /**
   * Software-available bits as a 10-bit number: bits 0..2 are entry bits 9..11, bits 3..9
   * are entry bits 52..58.
   */
  available: number;
  /** Protection key, entry bits 59..62 (0..15; ignored by hardware unless CR4.PKE). */
  protectionKey: number;
}

/** What `map`/`protect` accept: any subset of {@link PageFlags}. */
export type PageFlagsInput = Partial<PageFlags>;

const FLAG_KEYS: readonly (keyof PageFlags)[] = [
  'writable', 'user', 'writeThrough', 'cacheDisable', 'accessed', 'dirty', 'global', 'noExecute', 'pat', 'available', 'protectionKey',
];
const BOOL_BITS: readonly [keyof PageFlags, number][] = [
  ['writable', RW], ['user', US], ['writeThrough', PWT], ['cacheDisable', PCD], ['accessed', A], ['dirty', D], ['global', G], ['pat', PAT_4K],
];

/** Flags encoded in 4 KiB-leaf form: `lo` without P and address, `hi` without address. */
export interface EncodedFlags {
  readonly lo: number;
  readonly hi: number;
}

/** Validates and encodes flags into 4 KiB-leaf form (PAT at bit 7). */
export function encodeFlags(input: unknown): EncodedFlags {
  if (input === undefined || input === null) return { lo: 0, hi: 0 };
  if (typeof input !== 'object') throw new PagingError('PAGING_BAD_FLAGS', `flags must be an object, got ${describe(input)}`, { value: input });
  const f = input as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!FLAG_KEYS.includes(key as keyof PageFlags)) {
      throw new PagingError('PAGING_BAD_FLAGS', `unknown page flag '${key}' (known: ${FLAG_KEYS.join(', ')})`, { flag: key });
    }
  }
  let lo = 0;
  let hi = 0;
  for (const [key, bit] of BOOL_BITS) {
    const v = f[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new PagingError('PAGING_BAD_FLAGS', `flag '${key}' must be a boolean, got ${describe(v)}`, { flag: key, value: v });
    if (v) lo |= bit;
  }
  const nx = f.noExecute;
  if (nx !== undefined && typeof nx !== 'boolean') throw new PagingError('PAGING_BAD_FLAGS', `flag 'noExecute' must be a boolean, got ${describe(nx)}`, { flag: 'noExecute', value: nx });
  if (nx) hi |= NX_HI;
  const avl = f.available;
  if (avl !== undefined) {
    if (typeof avl !== 'number' || !Number.isInteger(avl) || avl < 0 || avl > 0x3ff) {
      throw new PagingError('PAGING_BAD_FLAGS', `'available' must be an integer 0..0x3ff (entry bits 9..11 and 52..58), got ${describe(avl)}`, { flag: 'available', value: avl });
    }
    lo |= (avl & 7) << 9;
    hi |= (avl >>> 3) << 20;
  }
  const pk = f.protectionKey;
  if (pk !== undefined) {
    if (typeof pk !== 'number' || !Number.isInteger(pk) || pk < 0 || pk > 15) {
      throw new PagingError('PAGING_BAD_FLAGS', `'protectionKey' must be an integer 0..15, got ${describe(pk)}`, { flag: 'protectionKey', value: pk });
    }
    hi |= pk << 27;
  }
  return { lo, hi: hi >>> 0 };
}

/** The low word (without address) of a leaf at `level` for flags in 4 KiB form. */
export function leafLo(flagsLo: number, level: number): number {
  if (level === 1) return flagsLo | P;
  return ((flagsLo & ~PAT_4K) | (flagsLo & PAT_4K ? PAT_HUGE : 0) | PS | P) >>> 0;
}

/** Address mask of the low word for a leaf at `level`. */
export function leafAddrLo(level: number): number {
  return level === 1 ? ADDR_LO_4K : level === 2 ? ADDR_LO_2M : ADDR_LO_1G;
}

/** Flag bits (4 KiB form) of a leaf's low word at `level`: PS dropped, PAT moved to bit 7. */
export function leafFlagsLo(lo: number, level: number): number {
  const f = lo & (RW | US | PWT | PCD | A | D | G | AVL_LO);
  if (level === 1) return (f | (lo & PAT_4K)) >>> 0;
  return (f | (lo & PAT_HUGE ? PAT_4K : 0)) >>> 0;
}

/** Flag bits of a leaf's high word. */
export function leafFlagsHi(hi: number): number {
  return (hi & (AVL_HI | PK_HI | NX_HI)) >>> 0;
}

/** Decodes flags in 4 KiB form (see {@link encodeFlags}) into a {@link PageFlags} object. */
export function decodeFlags(lo: number, hi: number): PageFlags {
  return {
    writable: (lo & RW) !== 0,
    user: (lo & US) !== 0,
    writeThrough: (lo & PWT) !== 0,
    cacheDisable: (lo & PCD) !== 0,
    accessed: (lo & A) !== 0,
    dirty: (lo & D) !== 0,
    global: (lo & G) !== 0,
    noExecute: (hi & NX_HI) !== 0,
    pat: (lo & PAT_4K) !== 0,
    available: ((lo >>> 9) & 7) | (((hi >>> 20) & 0x7f) << 3),
    protectionKey: (hi >>> 27) & 15,
  };
}

const flagsCache = new Map<number, Readonly<PageFlags>>();

/**
 * Like {@link decodeFlags} but returns a shared frozen object per distinct flag set
 * (translate and listings hand these out without allocating).
 */
let lastKey = -1;
let lastFlags: Readonly<PageFlags> | null = null;

export function flagsObject(lo: number, hi: number): Readonly<PageFlags> {
  const key = (hi >>> 20) * 0x2000 + (lo & 0x1ffe);
  if (key === lastKey) return lastFlags!;
  let f = flagsCache.get(key);
  if (f === undefined) {
    f = Object.freeze(decodeFlags(lo, hi));
    flagsCache.set(key, f);
  }
  lastKey = key;
  lastFlags = f;
  return f;
}

/** The physical address held in an entry (table pointer or leaf) at `level`. */
export function entryAddress(lo: number, hi: number, level: number, leaf: boolean): number {
  const mask = leaf ? leafAddrLo(level) : ADDR_LO_4K;
  return ((lo & mask) >>> 0) + (hi & ADDR_HI) * 0x100000000;
}

/**
 * Reserved bits set in a present entry, as `{ lo, hi }` masks (both 0 when the entry is
 * valid). `maxPhysBits` is the CPU's MAXPHYADDR (address bits at and above it must be 0);
 * `nxe` whether EFER.NXE is set (bit 63 is reserved otherwise).
 */
export function reservedBits(lo: number, hi: number, level: number, maxPhysBits: number, nxe: boolean): { lo: number; hi: number } {
  let rhi = maxPhysBits >= 52 ? 0 : maxPhysBits <= 32 ? ADDR_HI : ADDR_HI & ~((1 << (maxPhysBits - 32)) - 1);
  if (!nxe) rhi |= NX_HI;
  let rlo = 0;
  if (level >= 4) rlo |= PS;
  else if (level === 3 && lo & PS) rlo |= 0x3fffe000;
  else if (level === 2 && lo & PS) rlo |= 0x001fe000;
  if (maxPhysBits < 32) rlo |= (ADDR_LO_4K & ~((2 ** maxPhysBits - 1) >>> 0)) >>> 0;
  return { lo: (lo & rlo) >>> 0, hi: (hi & rhi) >>> 0 };
}

/** Describes the set flag bits of an entry, e.g. `P W U A NX`, for walk explanations. */
export function describeEntryBits(lo: number, hi: number, level: number): string {
  const out: string[] = [];
  if (lo & P) out.push('P');
  if (lo & RW) out.push('W');
  if (lo & US) out.push('U');
  if (lo & PWT) out.push('PWT');
  if (lo & PCD) out.push('PCD');
  if (lo & A) out.push('A');
  if (lo & D) out.push('D');
  if (lo & 0x80) out.push(level === 1 ? 'PAT' : level <= 3 ? 'PS' : 'bit7(reserved)');
  if (lo & G) out.push('G');
  if (level > 1 && level <= 3 && lo & PS && lo & PAT_HUGE) out.push('PAT');
  if (lo & AVL_LO) out.push(`avl9-11=${(lo >>> 9) & 7}`);
  if (hi & AVL_HI) out.push(`avl52-58=0x${((hi >>> 20) & 0x7f).toString(16)}`);
  if (hi & PK_HI) out.push(`pk=${(hi >>> 27) & 15}`);
  if (hi & NX_HI) out.push('NX');
  return out.join(' ');
}
