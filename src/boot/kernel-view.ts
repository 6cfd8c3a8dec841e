/**
 * The kernel's view of memory after the boot flow, as a MemoryMap for pictures and tables:
 * what the frame allocator manages shows as Conventional, what the kernel keeps (image,
 * heap, page tables, stack, live boot-services blocks) keeps its firmware type, and every
 * other descriptor is unchanged.
 *
 * @module
 */
import { PAGE_SIZE, normalizeRanges, subtractRanges, type PhysRange } from '../addr/phys.js';
import type { MemoryDescriptor } from '../uefi/descriptor.js';
import { MemoryMap } from '../uefi/memory-map.js';
import { isUsableAfterExitType, MemoryType } from '../uefi/types.js';

/**
 * Rewrites `finalMap`: reusable memory (Conventional, BootServices*, Loader*) outside `kept`
 * becomes Conventional; the result is sorted and merged.
 *
 * @example
 * ```ts
 * import { bootFlow, kernelViewMap } from 'memprims';
 * const boot = bootFlow();
 * const view = kernelViewMap(boot.finalMap, [...boot.kernelRanges, ...boot.shim.bootServicesPages()]);
 * view.toSVG({ title: 'after the boot' });
 * ```
 */
export function kernelViewMap(finalMap: MemoryMap, kept: readonly PhysRange[]): MemoryMap {
  const keep = normalizeRanges(kept);
  const out: MemoryDescriptor[] = [];
  for (const d of finalMap.descriptors) {
    if (!isUsableAfterExitType(d.type) || d.numberOfPages === 0) {
      out.push(d);
      continue;
    }
    const whole = { start: d.physicalStart, end: d.physicalStart + d.numberOfPages * PAGE_SIZE };
    const free = subtractRanges([whole], keep);
    const held = subtractRanges([whole], free);
    for (const r of free) out.push({ ...d, type: MemoryType.Conventional, physicalStart: r.start, numberOfPages: (r.end - r.start) / PAGE_SIZE, virtualStart: 0n });
    for (const r of held) out.push({ ...d, physicalStart: r.start, numberOfPages: (r.end - r.start) / PAGE_SIZE, virtualStart: 0n });
  }
  return new MemoryMap(out, { descriptorSize: finalMap.descriptorSize }).merged();
}
