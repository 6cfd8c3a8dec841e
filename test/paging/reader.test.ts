/**
 * readPageTables on hand-written tables: reserved bits by level and MAXPHYADDR are reported
 * (and not followed) instead of crashing, pointers out of memory too, a recursive loop is
 * walked finitely, and explain() tells the walk level by level.
 */
import { describe, expect, it } from 'vitest';
import { PageTableBuilder, PhysicalMemory, readPageTables } from '../../src/index.js';
import { BumpFrames } from './helpers.js';

function tables() {
  const memory = new PhysicalMemory();
  memory.addRegion(0, 0x100000);
  // PML4 at 0x1000 -> PDPT 0x2000 -> PD 0x3000 -> PT 0x4000
  memory.writeU64(0x1000 + 0 * 8, 0x2003n);
  memory.writeU64(0x2000 + 0 * 8, 0x3003n);
  memory.writeU64(0x3000 + 0 * 8, 0x4003n);
  memory.writeU64(0x4000 + 1 * 8, 0x8000000000005063n); // 4 KiB at 0x1000 -> 0x5000, W A D NX
  memory.writeU64(0x3000 + 1 * 8, 0x0000000000200083n); // 2 MiB at 0x200000
  return memory;
}

describe('readPageTables', () => {
  it('reads leaves and translates', () => {
    const view = readPageTables(tables(), { root: 0x1000 });
    expect(view.mappings()).toEqual([
      { virt: 0x1000n, phys: 0x5000, size: 4096, flags: expect.objectContaining({ writable: true, accessed: true, dirty: true, noExecute: true }) },
      { virt: 0x200000n, phys: 0x200000, size: 0x200000, flags: expect.objectContaining({ writable: true, noExecute: false }) },
    ]);
    expect(view.translate(0x1abcn)).toMatchObject({ phys: 0x5abc, pageSize: 4096 });
    expect(view.translate(0x2000n)).toBeNull();
    expect(view.problems()).toEqual([]);
  });

  it('reports reserved bits instead of following them', () => {
    const memory = tables();
    memory.writeU64(0x1000 + 1 * 8, 0x2083n); // PS in a PML4E is reserved
    memory.writeU64(0x3000 + 2 * 8, 0x0000000000402083n); // 2 MiB leaf with bit 13 set
    memory.writeU64(0x4000 + 2 * 8, 0x0000200000006003n); // address bit 45: reserved when MAXPHYADDR is 40
    const view = readPageTables(memory, { root: 0x1000, maxPhysBits: 40 });
    const problems = view.problems();
    expect(problems.map((p) => [p.level, p.entryAddress, p.reserved]).sort((a, b) => Number(b[0]) - Number(a[0]))).toEqual([
      [4, 0x1008, 0x80n],
      [2, 0x3010, 0x2000n],
      [1, 0x4010, 0x200000000000n],
    ]);
    expect(view.mappings()).toHaveLength(2);
    expect(view.translate(0x402000n)).toBeNull();
    expect(view.explain(0x8000000000n).steps[0]).toMatchObject({ kind: 'reserved', reserved: 0x80n });
    // with the full 52-bit MAXPHYADDR the high address bit is fine
    expect(readPageTables(memory, { root: 0x1000 }).translate(0x2000n)!.phys).toBe(0x200000006000);
    // without EFER.NXE, NX is a reserved bit
    expect(readPageTables(tables(), { root: 0x1000, nxe: false }).problems().map((p) => p.entryAddress)).toEqual([0x4008]);
  });

  it('reports tables outside memory, walks recursive loops finitely', () => {
    const memory = tables();
    memory.writeU64(0x1000 + 2 * 8, 0x7770000003n);
    memory.writeU64(0x1000 + 511 * 8, 0x1003n); // recursive
    const view = readPageTables(memory, { root: 0x1000 });
    expect(view.problems().map((p) => p.message).join('\n')).toMatch(/0x7770000000, which is not in memory/);
    const m = view.mappings();
    // through slot 511 the PT at 0x4000 appears as a page (PML4[511] -> PML4[0] -> PDPT[0] -> PD[0])
    expect(m.find((x) => x.virt === 0xffffff8000000000n)).toMatchObject({ phys: 0x4000, size: 4096 });
    expect(view.explain(0xfffffffffffff000n).translation?.phys).toBe(0x1000);
  });

  it('explain() walks level by level', () => {
    const w = readPageTables(tables(), { root: 0x1000 }).explain(0x1234n);
    expect(w.steps.map((s) => [s.tableName, s.index, s.entryAddress, s.kind])).toEqual([
      ['PML4', 0, 0x1000, 'table'], ['PDPT', 0, 0x2000, 'table'], ['PD', 0, 0x3000, 'table'], ['PT', 1, 0x4008, 'leaf'],
    ]);
    expect(w.translation!.phys).toBe(0x5234);
    expect(w.effective).toEqual({ writable: true, user: false, noExecute: true });
    expect(readPageTables(tables(), { root: 0x1000 }).explain(0x3000n).fault).toMatch(/PTE 3 is not present/);
  });

  it('equals the builder on 5-level tables, and rejects bad options', () => {
    const memory = new PhysicalMemory();
    memory.addRegion(0, 0x200000);
    const pt = new PageTableBuilder({ memory, frames: new BumpFrames(0x1000), levels: 5 });
    pt.map({ virt: 0xff00000000000000n, phys: 0x40000000, size: 0x40201000, flags: { writable: true } });
    const view = readPageTables(memory, { root: pt.root | 0x18, levels: 5 });
    expect(view.mappings()).toEqual(pt.mappings());
    expect(view.ranges()).toEqual(pt.ranges());
    expect(() => readPageTables(memory, { root: 0x1000, maxPhysBits: 60 })).toThrow(expect.objectContaining({ code: 'PAGING_BAD_OPTIONS' }));
    expect(() => readPageTables(memory, { root: -1 })).toThrow(expect.objectContaining({ code: 'ADDR_NEGATIVE' }));
  });
});
