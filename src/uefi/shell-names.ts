/**
 * The vocabulary of the UEFI Shell `memmap` command (EDK II ShellPkg, MemMap.c): short
 * names of the plain listing, full names of `-sfo` output, the summary rows.
 *
 * @module
 */

/** Names in the plain listing, by type 0..15. */
export const SHELL_PLAIN_NAMES: readonly string[] = [
  'Reserved', 'LoaderCode', 'LoaderData', 'BS_Code', 'BS_Data', 'RT_Code', 'RT_Data', 'Available', 'Unusable',
  'ACPI_Recl', 'ACPI_NVS', 'MMIO', 'MMIO_Port', 'PalCode', 'Persistent', 'Unaccepted',
];

/** Names in `-sfo` output, by type 0..15. */
export const SHELL_SFO_NAMES: readonly string[] = [
  'Reserved', 'LoaderCode', 'LoaderData', 'BootServiceCode', 'BootServiceData', 'RuntimeCode', 'RuntimeData', 'Available',
  'UnusableMemory', 'ACPIReclaimMemory', 'ACPIMemoryNVS', 'MemoryMappedIO', 'MemoryMappedIOPortSpace', 'PalCode',
  'Persistent', 'Unaccepted',
];

/** Rows of the plain summary, in the shell's order: label and type. */
export const SHELL_SUMMARY_ROWS: readonly (readonly [string, number])[] = [
  ['Reserved', 0], ['LoaderCode', 1], ['LoaderData', 2], ['BS_Code', 3], ['BS_Data', 4], ['RT_Code', 5], ['RT_Data', 6],
  ['ACPI_Recl', 9], ['ACPI_NVS', 10], ['MMIO', 11], ['MMIO_Port', 12], ['PalCode', 13], ['Unaccepted', 15], ['Available', 7],
  ['Persistent', 14],
];

/** Types in the `MemoryMapSummary` record after the total, in order. */
export const SHELL_SFO_SUMMARY_TYPES: readonly number[] = [0, 3, 4, 5, 6, 1, 2, 7, 11, 12, 13, 9, 10, 14, 8, 15];

/** Types the shell leaves out of "Total Memory": Reserved, Unusable, MMIO, MMIO port space. */
export const SHELL_TOTAL_EXCLUDES: readonly number[] = [0, 8, 11, 12];

/** Type of a plain or -sfo name (either spelling), undefined if unknown. */
export function shellTypeFromName(name: string): number | undefined {
  const i = SHELL_PLAIN_NAMES.indexOf(name);
  if (i >= 0) return i;
  const j = SHELL_SFO_NAMES.indexOf(name);
  if (j >= 0) return j;
  if (name === 'UnacceptedMemory') return 15;
  return undefined;
}
