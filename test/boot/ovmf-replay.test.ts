// Replays the allocation calls real OVMF answered (captured under QEMU, see
// test/fixtures/boot/ovmf/*/after_alloc.json) on the captured initial map, and compares
// addresses, statuses and the resulting GetMemoryMap bytes with what OVMF returned.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BootServices, BootServicesError, inferDefaultMaximumAddress, MemoryType, parseMemoryMap } from '../../src/index.js';

const dir = new URL('../fixtures/boot/ovmf/', import.meta.url);
const configs = ['pc-128M', 'q35-2G', 'pc-6G'] as const;

interface Capture { map_key: number; descriptor_size: number; descriptor_version: number; allocations: { call: string; status: string; request: string; result: string; count: string }[]; exit_boot_services: { stale_status: string } }

function load(cfg: string, snap: string) {
  const bytes = new Uint8Array(readFileSync(new URL(`${cfg}/${snap}.bin`, dir)));
  const meta = JSON.parse(readFileSync(new URL(`${cfg}/${snap}.json`, dir), 'utf8')) as Capture;
  const map = parseMemoryMap(bytes, { descriptorSize: meta.descriptor_size, descriptorVersion: meta.descriptor_version, mapKey: meta.map_key });
  return { bytes, meta, map };
}

function setup(cfg: string) {
  const initial = load(cfg, 'initial');
  const bs = new BootServices(BootServices.memoryForMap(initial.map), initial.map);
  return { initial, bs };
}

/** Runs one captured call; returns [status, result] as OVMF logs them. */
function replay(bs: BootServices, call: Capture['allocations'][number]): [bigint, number] {
  const request = Number(call.request);
  const count = Number(call.count);
  try {
    if (call.call.startsWith('AllocatePool(')) return [0n, bs.allocatePool(MemoryType.LoaderData, count)];
    if (call.call.startsWith('AllocatePages(AllocateAnyPages')) return [0n, bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: count })];
    if (call.call.startsWith('AllocatePages(AllocateMaxAddress')) return [0n, bs.allocatePages({ type: 'maxAddress', memoryType: MemoryType.LoaderData, pages: count, address: request })];
    if (call.call.startsWith('AllocatePages(AllocateAddress')) return [0n, bs.allocatePages({ type: 'address', memoryType: MemoryType.LoaderData, pages: count, address: request })];
  } catch (e) {
    if (e instanceof BootServicesError) return [e.statusValue, request];
    throw e;
  }
  throw new Error(`unknown call ${call.call}`);
}

describe('BootServices replays real OVMF allocations', () => {
  for (const cfg of configs) {
    it(`${cfg}: same addresses, statuses and map bytes as OVMF`, () => {
      const { initial, bs } = setup(cfg);
      const after = load(cfg, 'after_alloc');
      expect(bs.mapKey).toBe(initial.meta.map_key);
      expect(bs.getMemoryMap().buffer).toEqual(initial.bytes);
      if (cfg === 'pc-128M') {
        // Between the two snapshots OVMF itself took one BootServicesData page (console
        // output); the capture shows it at 0x6535000, merged into the BootServicesData above.
        bs.allocatePages({ type: 'address', memoryType: MemoryType.BootServicesData, pages: 1, address: 0x6535000 });
      }
      for (const call of after.meta.allocations) {
        const [status, result] = replay(bs, call);
        expect({ call: call.call, status: '0x' + status.toString(16), result: '0x' + result.toString(16) })
          .toEqual({ call: call.call, status: call.status, result: call.result });
      }
      const snap = bs.getMemoryMap();
      expect(snap.descriptorSize).toBe(48);
      expect(snap.descriptorVersion).toBe(1);
      expect(snap.mapSize).toBe(after.bytes.length);
      expect(snap.buffer).toEqual(after.bytes);
      expect(snap.mapKey).not.toBe(initial.meta.map_key);
    });

    it(`${cfg}: stale key fails like OVMF, the fresh one exits, the map is at_exit`, () => {
      const { initial, bs } = setup(cfg);
      const after = load(cfg, 'after_alloc');
      const atExit = load(cfg, 'at_exit');
      if (cfg === 'pc-128M') bs.allocatePages({ type: 'address', memoryType: MemoryType.BootServicesData, pages: 1, address: 0x6535000 });
      for (const call of after.meta.allocations) replay(bs, call);
      let stale: unknown;
      try {
        bs.exitBootServices(initial.meta.map_key);
      } catch (e) {
        stale = e;
      }
      expect(stale).toBeInstanceOf(BootServicesError);
      expect((stale as BootServicesError).code).toBe('INVALID_PARAMETER');
      expect('0x' + (stale as BootServicesError).statusValue.toString(16)).toBe(after.meta.exit_boot_services.stale_status);
      expect(bs.exited).toBe(false);
      const snap = bs.getMemoryMap();
      expect(snap.buffer).toEqual(atExit.bytes);
      bs.exitBootServices(snap.mapKey);
      expect(bs.exited).toBe(true);
      expect(bs.currentMap().toBytes()).toEqual(atExit.bytes);
    });
  }

  it('infers the default maximum address at the top of the loader region', () => {
    expect(inferDefaultMaximumAddress(load('pc-128M', 'initial').map)).toBe(0x5f93000);
    expect(inferDefaultMaximumAddress(load('q35-2G', 'initial').map)).toBe(0x7de8f000);
    expect(inferDefaultMaximumAddress(load('pc-6G', 'initial').map)).toBe(0xbdf93000);
  });

  it('without the default region, AnyPages takes the top of the highest free block (RAM above 4 GiB on pc-6G)', () => {
    const { map } = load('pc-6G', 'initial');
    const bs = new BootServices(BootServices.memoryForMap(map), map, { defaultMaximumAddress: null });
    expect(bs.allocatePages({ type: 'anyPages', memoryType: MemoryType.LoaderData, pages: 4 })).toBe(0x1c0000000 - 4 * 4096);
  });

  for (const cfg of configs) {
    it(`${cfg}: the size query asks for what OVMF asked (7 descriptors more than the map), before and after the allocations`, () => {
      const { bs, initial } = setup(cfg);
      const query = (b: BootServices) => {
        try {
          b.getMemoryMap({ bufferSize: 0 });
        } catch (e) {
          expect((e as BootServicesError).code).toBe('BUFFER_TOO_SMALL');
          return (e as BootServicesError).details.mapSize;
        }
        throw new Error('expected BUFFER_TOO_SMALL');
      };
      const meta = (snap: string) => JSON.parse(readFileSync(new URL(`${cfg}/${snap}.json`, dir), 'utf8')) as { query_map_size: number };
      expect(query(bs)).toBe(meta('initial').query_map_size);
      expect(bs.getMemoryMap({ bufferSize: initial.bytes.length }).mapSize).toBe(initial.bytes.length);
      if (cfg === 'pc-128M') bs.allocatePages({ type: 'address', memoryType: MemoryType.BootServicesData, pages: 1, address: 0x6535000 });
      for (const call of load(cfg, 'after_alloc').meta.allocations) replay(bs, call);
      expect(query(bs)).toBe(meta('after_alloc').query_map_size);
    });
  }

});
