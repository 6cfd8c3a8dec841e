/**
 * x86-64 page tables: `PageTableBuilder` writes them, `readPageTables` reads them.
 *
 * @module
 */
export { PageTableBuilder, type PageTableBuilderOptions, type UnmapOptions } from './builder.js';
export { readPageTables, PageTableView, type ReadPageTablesOptions } from './reader.js';
export { PagingError, type ExistingMapping } from './errors.js';
export type { FrameSource } from './frames.js';
export type { PageFlags, PageFlagsInput } from './entry.js';
export type { MapRequest, PageSize } from './request.js';
export type { Mapping, MappedRange, PagingProblem, WalkOptions } from './view.js';
export { explainWalk, walkTranslate, type Translation, type WalkExplanation, type WalkStep } from './walk.js';
export { SECTION_FLAGS, type KernelSection, type DirectMapOptions, type StackOptions, type MappedStack } from './layout.js';
export { decodeEntry, encodeEntry, type DecodedEntry } from './codec.js';
