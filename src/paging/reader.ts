/**
 * Reading page tables that are already in memory (a guest's, from a `pmemsave` dump, or a
 * builder's): the same mappings / ranges / translate view as the builder, with entries
 * whose reserved bits are set reported as problems instead of followed.
 *
 * @module
 */
import { virtBits, type PagingLevels } from '../addr/virt.js';
import { checkPhysAddr } from '../addr/phys.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { describe } from '../errors.js';
import { PagingError } from './errors.js';
import { explainWalk, walkTranslate, type Translation, type WalkExplanation } from './walk.js';
import { toMappings, toRanges, walkLeaves, type MappedRange, type Mapping, type PagingProblem, type RawLeaf, type WalkOptions } from './view.js';

/** Options of {@link readPageTables}. */
export interface ReadPageTablesOptions extends WalkOptions {
  /** Physical address of the top table (a CR3 value: its low 12 bits, PCID/PWT/PCD, are ignored). */
  root: number;
  /** 4 or 5 (CR4.LA57). Default 4. */
  levels?: PagingLevels;
}

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * A read-only view of page tables in memory. Every query walks the tables as they are now.
 *
 * @example
 * ```ts
 * import { PageTableBuilder, PageTableView, PhysicalMemory } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 16 * 1024 * 1024);
 * let next = 0x100000;
 * const frames = { allocate: () => (next += 0x1000) - 0x1000, free: () => {} };
 * const pt = new PageTableBuilder({ memory, frames, levels: 4 });
 * pt.map({ virt: 0xffffffff80000000n, phys: 0x200000, size: 0x200000, flags: { writable: true } });
 * const view = new PageTableView(memory, { root: pt.root }); // or readPageTables(memory, { root: cr3 })
 * view.translate(0xffffffff80001234n)?.phys; // 0x201234
 * view.mappings().length;                    // 1: one 2 MiB page
 * ```
 */
export class PageTableView {
  readonly root: number;
  readonly levels: PagingLevels;
  private readonly walk: WalkOptions;

  constructor(
    readonly memory: PhysicalMemory,
    options: ReadPageTablesOptions,
  ) {
    if (typeof options !== 'object' || options === null) throw new PagingError('PAGING_BAD_OPTIONS', `readPageTables needs { root, levels? }, got ${describe(options)}`, {});
    const root = checkPhysAddr(options.root, 'root');
    this.root = root - (root % 4096);
    this.levels = options.levels ?? 4;
    virtBits(this.levels);
    const maxPhysBits = options.maxPhysBits ?? 52;
    if (!Number.isInteger(maxPhysBits) || maxPhysBits < 12 || maxPhysBits > 52) {
      throw new PagingError('PAGING_BAD_OPTIONS', `maxPhysBits must be an integer 12..52, got ${describe(maxPhysBits)}`, { maxPhysBits });
    }
    this.walk = { maxPhysBits, nxe: options.nxe ?? true };
  }

  private leaves(problems: PagingProblem[] | null, onTable?: (phys: number) => void): RawLeaf[] {
    const memory = this.memory;
    return walkLeaves((phys) => {
      onTable?.(phys);
      if (!memory.isBacked(phys, 4096)) return null;
      const bytes = memory.read(phys, 4096);
      if (LITTLE) return new Uint32Array(bytes.buffer, 0, 1024);
      const dv = new DataView(bytes.buffer);
      const words = new Uint32Array(1024);
      for (let i = 0; i < 1024; i++) words[i] = dv.getUint32(i * 4, true);
      return words;
    }, this.root, this.levels, this.walk, problems);
  }

  /** Every valid leaf mapping in address order. */
  mappings(): Mapping[] {
    return toMappings(this.leaves(null), this.levels);
  }

  /** Contiguous leaves with equal flags, coalesced (like QEMU's `info mem`). */
  ranges(): MappedRange[] {
    return toRanges(this.leaves(null), this.levels);
  }

  /** Entries with reserved bits set, and table pointers to memory that is not there. */
  problems(): PagingProblem[] {
    const out: PagingProblem[] = [];
    this.leaves(out);
    return out;
  }

  /** Physical addresses of every table frame reachable from the root (root first, each once). */
  tableFrames(): number[] {
    const seen = new Set<number>([this.root]);
    this.leaves(null, (phys) => seen.add(phys));
    return [...seen];
  }

  /** Where `virt` leads (null when the CPU would fault: not present, reserved bits, no memory). */
  translate(virt: bigint): Translation | null {
    return walkTranslate(this.memory, this.root, this.levels, virt, this.walk);
  }

  /** The walk for `virt`, level by level. */
  explain(virt: bigint): WalkExplanation {
    return explainWalk(this.memory, this.root, this.levels, virt, this.walk);
  }
}

/**
 * Opens the page tables at `root` in `memory` for reading.
 *
 * @example
 * ```ts
 * import { PhysicalMemory, readPageTables } from 'memprims';
 * const memory = new PhysicalMemory();
 * memory.addRegion(0, 0x10000);
 * const view = readPageTables(memory, { root: 0x1000, levels: 4 });
 * view.mappings(); // [] for an empty PML4
 * ```
 */
export function readPageTables(memory: PhysicalMemory, options: ReadPageTablesOptions): PageTableView {
  return new PageTableView(memory, options);
}
