/**
 * Buffer regions backed by a `WebAssembly.Memory`, so that WebAssembly kernels (the page-table
 * batch walk in `paging/wasm-walk.ts`) can run over the region's bytes in place.
 *
 * A region of `size` bytes that `PhysicalMemory` allocates itself (a byte count, not a caller's
 * buffer; by default from 1 MiB up, see {@link allocateWasmBacked}) becomes a memory of
 * `ceil(size / 64 KiB) + 1` WebAssembly pages: the region's bytes
 * at offset 0, then one 64 KiB page of scratch past its end, outside the region, where a
 * kernel takes its input and leaves its results (a WebAssembly function reads only its own
 * memory). The region's views cover exactly `size` bytes; `RegionInfo.buffer` is then larger
 * than the region. Where WebAssembly is missing, the region too large (over 4 GiB - 64 KiB) or
 * the memory cannot be created, the region gets a plain (Shared)ArrayBuffer as before.
 *
 * @module
 */
import type { BackingBuffer } from './region.js';

/** Bytes of a WebAssembly page. */
const WASM_PAGE = 0x10000;
/** Most pages one WebAssembly memory has (4 GiB). */
const MAX_PAGES = 0x10000;
/** Smallest region backed by a WebAssembly memory unless asked for (see {@link allocateWasmBacked}). */
const WASM_MIN_REGION = 0x100000;

/**
 * Set once creating a memory failed: not tried again in this thread. (A refusal comes after V8
 * has run garbage collections and retried, ~100 ms, and means the address space is short:
 * every WebAssembly memory reserves ~10 GiB of it for guard pages.)
 */
let refused = false;

/** A region's WebAssembly memory and where its scratch page starts (a byte offset in it). */
export interface WasmBacking {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** Byte offset of the scratch page (page-aligned, past the region's last byte). */
  readonly scratch: number;
}

/**
 * A zeroed buffer of at least `size` bytes inside a new WebAssembly memory with a scratch page
 * after it, or null when that is not wanted or not possible here (the caller then makes a
 * plain buffer). `want`: true tries at any size, false never, undefined from
 * {@link WASM_MIN_REGION} bytes up: each memory reserves ~10 GiB of address space whatever its
 * size, so thousands of small regions would exhaust it.
 */
export function allocateWasmBacked(size: number, shared: boolean, want?: boolean): { buffer: BackingBuffer; wasm: WasmBacking } | null {
  if (want === false || (want === undefined && size < WASM_MIN_REGION) || refused) return null;
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.Memory !== 'function') return null;
  const pages = Math.ceil(size / WASM_PAGE) + 1;
  if (pages > MAX_PAGES) return null;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages, maximum: pages });
  } catch {
    refused = true; // address space or memory refused: a plain buffer will do, now and later
    return null;
  }
  const buffer = memory.buffer as BackingBuffer;
  if (shared && !(typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer)) return null;
  return { buffer, wasm: { memory, shared, scratch: (pages - 1) * WASM_PAGE } };
}
