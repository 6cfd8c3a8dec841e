/**
 * The vocabulary of Linux's `efi=debug` memory-map lines (drivers/firmware/efi/efi.c,
 * `efi_md_typeattr_format`): type names of old and new kernels and the attribute columns.
 *
 * @module
 */
import { MemoryAttribute } from './types.js';

/** Type names of kernels up to about 5.7 (padded to 19 columns). */
export const LINUX_TYPE_NAMES_OLD: readonly string[] = [
  'Reserved', 'Loader Code', 'Loader Data', 'Boot Code', 'Boot Data', 'Runtime Code', 'Runtime Data',
  'Conventional Memory', 'Unusable Memory', 'ACPI Reclaim Memory', 'ACPI Memory NVS', 'Memory Mapped I/O',
  'MMIO Port Space', 'PAL Code', 'Persistent Memory', 'Unaccepted',
];

/** Type names of current kernels (padded to 12 columns). */
export const LINUX_TYPE_NAMES_NEW: readonly string[] = [
  'Reserved', 'Loader Code', 'Loader Data', 'Boot Code', 'Boot Data', 'Runtime Code', 'Runtime Data',
  'Conventional', 'Unusable', 'ACPI Reclaim', 'ACPI Mem NVS', 'MMIO', 'MMIO Port', 'PAL Code', 'Persistent', 'Unaccepted',
];

/** Attribute column tokens and their bits. */
export const LINUX_FLAG_BITS: ReadonlyMap<string, bigint> = new Map([
  ['RUN', MemoryAttribute.RUNTIME], ['HP', MemoryAttribute.HOT_PLUGGABLE], ['MR', MemoryAttribute.MORE_RELIABLE],
  ['CC', MemoryAttribute.CPU_CRYPTO], ['SP', MemoryAttribute.SP], ['NV', MemoryAttribute.NV], ['XP', MemoryAttribute.XP],
  ['RP', MemoryAttribute.RP], ['WP', MemoryAttribute.WP], ['RO', MemoryAttribute.RO], ['UCE', MemoryAttribute.UCE],
  ['WB', MemoryAttribute.WB], ['WT', MemoryAttribute.WT], ['WC', MemoryAttribute.WC], ['UC', MemoryAttribute.UC],
]);

/** Type value of a Linux type name (old or new spelling), or undefined. */
export function linuxTypeFromName(name: string): number | undefined {
  const i = LINUX_TYPE_NAMES_NEW.indexOf(name);
  if (i >= 0) return i;
  const j = LINUX_TYPE_NAMES_OLD.indexOf(name);
  return j >= 0 ? j : undefined;
}
