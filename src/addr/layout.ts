/**
 * `Layout`: the size and alignment of a block of memory, as Rust's `core::alloc::Layout`.
 *
 * @module
 */
import { describe, hex, LayoutError } from '../errors.js';
import { isPowerOfTwo, PHYS_ADDR_LIMIT } from './phys.js';

/**
 * Size and alignment of a requested block. Built only through {@link Layout.fromSizeAlign},
 * which enforces the same rules as Rust's `Layout::from_size_align`: `align` is a power of
 * two and `size` rounded up to `align` does not overflow the address space (here 2^52).
 *
 * @example
 * ```ts
 * import { Layout } from 'memprims';
 * const layout = Layout.fromSizeAlign(24, 8);
 * layout.padToAlign().size; // 24
 * ```
 */
export class Layout {
  /** Size in bytes (may be 0). */
  readonly size: number;
  /** Alignment in bytes, a power of two. */
  readonly align: number;

  private constructor(size: number, align: number) {
    this.size = size;
    this.align = align;
    Object.freeze(this);
  }

  /**
   * Builds a layout, or throws a {@link LayoutError}: `LAYOUT_BAD_SIZE` (not a non-negative
   * integer), `LAYOUT_BAD_ALIGN` (not a power of two), `LAYOUT_OVERFLOW` (size rounded up to
   * align passes 2^52).
   */
  static fromSizeAlign(size: number, align: number): Layout {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new LayoutError('LAYOUT_BAD_SIZE', `layout size must be a non-negative integer, got ${describe(size)}`, { size, align });
    }
    if (typeof align !== 'number' || !isPowerOfTwo(align)) {
      throw new LayoutError('LAYOUT_BAD_ALIGN', `layout alignment must be a power of two, got ${describe(align)}`, { size, align });
    }
    if (align >= PHYS_ADDR_LIMIT || size > PHYS_ADDR_LIMIT - align) {
      // Rust: size + (align - 1) must not exceed isize::MAX; here the address space is 2^52.
      throw new LayoutError('LAYOUT_OVERFLOW', `layout size ${hex(size)} rounded up to align ${hex(align)} overflows the 2^52 address space`, { size, align });
    }
    return new Layout(size, align);
  }

  /** Like {@link Layout.fromSizeAlign} but returns null instead of throwing. */
  static tryFromSizeAlign(size: number, align: number): Layout | null {
    try {
      return Layout.fromSizeAlign(size, align);
    } catch (e) {
      if (e instanceof LayoutError) return null;
      throw e;
    }
  }

  /** The layout with size rounded up to a multiple of the alignment (Rust's `pad_to_align`). */
  padToAlign(): Layout {
    const rem = this.size % this.align;
    return rem === 0 ? this : new Layout(this.size + this.align - rem, this.align);
  }

  /** The layout with alignment raised to at least `align` (Rust's `align_to`). */
  alignTo(align: number): Layout {
    return Layout.fromSizeAlign(this.size, Math.max(this.align, align));
  }

  /** `Layout { size: 24, align: 8 }` */
  toString(): string {
    return `Layout { size: ${this.size}, align: ${this.align} }`;
  }
}
