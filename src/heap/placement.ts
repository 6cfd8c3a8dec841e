/**
 * The crate's placement rules (linked_list_allocator 0.10.5 `Hole::split_current`), shared by
 * the list walk and the index: the adjusted size of a request and where a block goes in a hole.
 *
 * @module
 */

/** Size of a hole node and the smallest block: two 64-bit words. */
export const MIN_HOLE = 16;

/** A request's size as the crate adjusts it: at least 16, rounded up to a multiple of 8. */
export function adjustedSize(size: number): number {
  if (size <= MIN_HOLE) return MIN_HOLE;
  // int32 arithmetic for the usual sizes (small enough to be inlined into the hot paths)
  if (size < 0x7fff_fff0) return (size + 7) & -8;
  const rem = size % 8;
  return rem === 0 ? size : size + 8 - rem;
}

/**
 * Where a block of `adj` bytes aligned to `align` goes in the hole `[h, h + hs)`, or -1 when the
 * crate skips that hole: too small, no room after front padding (which, when `h` is not aligned,
 * ends at the first multiple of `align` at least 16 bytes above `h`), or a back remainder of
 * 1..15 bytes. Exact for addresses below 2^53 and any power-of-two `align`.
 */
export function placeInHole(h: number, hs: number, adj: number, align: number): number {
  if (hs < adj) return -1;
  let a = h;
  const misaligned = align <= 0x40000000 ? (h & (align - 1)) !== 0 : h % align !== 0;
  if (misaligned) a = Math.ceil((h + MIN_HOLE) / align) * align;
  const end = a + adj;
  const he = h + hs;
  if (end > he) return -1;
  const rest = he - end;
  if (rest !== 0 && rest < MIN_HOLE) return -1;
  return a;
}
