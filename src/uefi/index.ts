/**
 * UEFI memory maps: the exact EFI_MEMORY_DESCRIPTOR format, `MemoryMap` and its
 * operations, the Linux efi=debug and UEFI Shell memmap text formats, table and SVG
 * renderers, format detection.
 *
 * @module
 */
export * from './errors.js';
export * from './types.js';
export {
  descriptorEnd, EFI_MEMORY_DESCRIPTOR_STRUCT_SIZE, EFI_MEMORY_DESCRIPTOR_VERSION, EFI_PAGE_SIZE, MAX_NUMBER_OF_PAGES,
  MAX_PHYSICAL_START_EXCLUSIVE, type MemoryDescriptor,
} from './descriptor.js';
export { validateDescriptors, type MemoryMapProblem, type MemoryMapProblemKind, type MemoryMapReport } from './validate.js';
export { MemoryMap, type MemoryMapMeta, type MemoryTypeTotal, type UsableOptions } from './memory-map.js';
export { parseMemoryMap, type ParseMemoryMapOptions } from './binary.js';
export { parseLinuxEfiLog } from './linux-parse.js';
export { renderLinuxEfiLog, type LinuxEfiLogRenderOptions, type LinuxEfiLogStyle } from './linux-render.js';
export { parseShellMemmap } from './shell-parse.js';
export { renderShellMemmap, encodeUtf16leWithBom, type ShellMemmapRenderOptions } from './shell-render.js';
export { decodeText, type TextInput } from './text-common.js';
export { renderTable, formatSize } from './table.js';
export { renderSvg, TYPE_COLOURS, type SvgOptions } from './svg.js';
export { detectMemoryMapFormat, parseAnyMemoryMap, type MemoryMapFormat } from './detect.js';
