/**
 * The index of the heap's 'indexed' mode: the holes in address order, kept outside heap memory
 * in chunks of sorted `(address, size)` pairs (a one-level B+-tree), with an upper bound of the
 * largest hole size per chunk (tightened when a search scans the chunk) and a max segment tree
 * over the chunks. It answers, without walking the list:
 * the first hole (in address order) where a block fits, and the last hole at or before an
 * address. Positions are `(chunk, slot)` pairs left in {@link HoleIndex.ci}/{@link HoleIndex.j}
 * by the search methods; they stay valid until the next structural change.
 *
 * @module
 */
import { placeInHole } from './placement.js';

const CAP = 32;
const HALF = CAP >>> 1;

/** Holes in address order with per-chunk max sizes (see the module comment). */
export class HoleIndex {
  /** Hole positions (offsets from the heap bottom), one array per chunk (first `lens[c]` slots used). */
  private addrs: Float64Array[] = [];
  /** Hole sizes, parallel to `addrs`. */
  private sizes: Float64Array[] = [];
  private lens: number[] = [];
  /** Position of the first hole of each chunk (for the binary search). */
  private firsts: number[] = [];
  /** Upper bound of the largest hole size of each chunk (the segment tree's leaves). */
  private maxes: number[] = [];
  /** Arrays of removed chunks, reused by splits (creating a typed array is costly). */
  private spare: Float64Array[] = [];
  /** Segment tree over chunk max sizes: leaves at `leafBase + c`, node 1 is the root. */
  private tree = new Float64Array(2);
  private leafBase = 1;
  /** Number of holes. */
  count = 0;
  /** Chunk of the last search result. */
  ci = 0;
  /** Slot (inside chunk `ci`) of the last search result. */
  j = 0;

  /** Rebuilds from holes listed in address order. */
  reset(addresses: readonly number[], sizes: readonly number[]): void {
    this.addrs = [];
    this.sizes = [];
    this.lens = [];
    this.firsts = [];
    this.maxes = [];
    const n = addresses.length;
    for (let at = 0; at < n; at += HALF) {
      const a = new Float64Array(CAP);
      const s = new Float64Array(CAP);
      const len = Math.min(HALF, n - at);
      for (let k = 0; k < len; k++) {
        a[k] = addresses[at + k];
        s[k] = sizes[at + k];
      }
      this.addrs.push(a);
      this.sizes.push(s);
      this.lens.push(len);
      this.firsts.push(a[0]);
      this.maxes.push(chunkMax(s, len));
    }
    this.count = n;
    this.rebuildTree();
  }

  /** All holes as `[address, size]` pairs in address order. */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let c = 0; c < this.lens.length; c++) {
      for (let k = 0; k < this.lens[c]; k++) out.push([this.addrs[c][k], this.sizes[c][k]]);
    }
    return out;
  }

  /** Largest hole size (0 when empty). Exact: tightens every chunk maximum first. */
  largest(): number {
    for (let c = 0; c < this.lens.length; c++) this.updateLeaf(c, chunkMax(this.sizes[c], this.lens[c]));
    return this.count === 0 ? 0 : this.tree[1];
  }


  address(c: number, k: number): number {
    return this.addrs[c][k];
  }

  size(c: number, k: number): number {
    return this.sizes[c][k];
  }

  /**
   * Finds the first hole where a block of `adj` bytes aligned to `align` fits by the crate's
   * rules, leaves its position in `ci`/`j` and returns the block position, or -1. Positions are
   * offsets from `bottom` (the absolute address of position 0, for the alignment).
   */
  findFit(adj: number, align: number, bottom: number): number {
    if (this.count === 0 || this.tree[1] < adj) return -1;
    const lens = this.lens;
    let c = this.nextChunkWithMax(0, adj);
    while (c >= 0) {
      const a = this.addrs[c];
      const s = this.sizes[c];
      const len = lens[c];
      if (align <= 8) {
        const adj16 = adj + 16;
        for (let k = 0; k < len; k++) {
          const hs = s[k];
          if (hs >= adj && (hs === adj || hs >= adj16)) {
            this.ci = c;
            this.j = k;
            return a[k];
          }
        }
      } else {
        for (let k = 0; k < len; k++) {
          const hs = s[k];
          if (hs < adj) continue;
          const at = placeInHole(bottom + a[k], hs, adj, align);
          if (at < 0) continue;
          this.ci = c;
          this.j = k;
          return at - bottom;
        }
      }
      // the whole chunk was scanned: its exact maximum is known now
      const max = chunkMax(s, len);
      // maxima are kept as upper bounds when holes shrink or go, and tightened here
      if (max < this.tree[this.leafBase + c]) this.updateLeaf(c, max);
      c = this.nextChunkWithMax(c + 1, adj);
    }
    return -1;
  }

  /**
   * Finds the last hole whose address is `<= p`, leaving it in `ci`/`j`. Returns false when
   * there is none (empty, or `p` is below the first hole).
   */
  findAtOrBefore(p: number): boolean {
    const nc = this.lens.length;
    const firsts = this.firsts;
    if (nc === 0 || p < firsts[0]) return false;
    let lo = 0;
    let hi = nc - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (firsts[mid] <= p) lo = mid;
      else hi = mid - 1;
    }
    const a = this.addrs[lo];
    let l = 0;
    let h = this.lens[lo] - 1;
    while (l < h) {
      const mid = (l + h + 1) >>> 1;
      if (a[mid] <= p) l = mid;
      else h = mid - 1;
    }
    this.ci = lo;
    this.j = l;
    return true;
  }

  /** Position of the hole before `(c, k)`, or -1 when it is the first. */
  prevAddress(c: number, k: number): number {
    if (k > 0) return this.addrs[c][k - 1];
    if (c > 0) return this.addrs[c - 1][this.lens[c - 1] - 1];
    return -1;
  }

  /** Whether a hole follows `(c, k)`. */
  hasNext(c: number, k: number): boolean {
    return k + 1 < this.lens[c] || c + 1 < this.lens.length;
  }

  /** Position of the hole after `(c, k)`, or -1 when it is the last. */
  nextAddress(c: number, k: number): number {
    if (k + 1 < this.lens[c]) return this.addrs[c][k + 1];
    if (c + 1 < this.lens.length) return this.addrs[c + 1][0];
    return -1;
  }

  /** Position of the hole two after `(c, k)` (the one after must exist), or -1. */
  nextNextAddress(c: number, k: number): number {
    if (k + 1 < this.lens[c]) return this.nextAddress(c, k + 1);
    return this.nextAddress(c + 1, 0);
  }

  /** Size of the hole after `(c, k)` (which must exist). */
  nextSize(c: number, k: number): number {
    if (k + 1 < this.lens[c]) return this.sizes[c][k + 1];
    return this.sizes[c + 1][0];
  }

  /** Changes the size of the hole at `(c, k)`. */
  setSize(c: number, k: number, size: number): void {
    this.sizes[c][k] = size;
    this.sizeChanged(c, size);
  }

  /** Replaces the hole at `(c, k)` by one at `address` (a position) (which must keep the order). */
  setEntry(c: number, k: number, address: number, size: number): void {
    this.addrs[c][k] = address;
    if (k === 0) this.firsts[c] = address;
    this.setSize(c, k, size);
  }

  /** Replaces the hole after `(c, k)` (which must exist) by one at `address`, keeping the order. */
  setNextEntry(c: number, k: number, address: number, size: number): void {
    if (k + 1 < this.lens[c]) this.setEntry(c, k + 1, address, size);
    else this.setEntry(c + 1, 0, address, size);
  }

  /** Inserts a hole right after `(c, k)`. */
  insertAfter(c: number, k: number, address: number, size: number): void {
    this.insertAt(c, k + 1, address, size);
  }

  /** Inserts a hole before every other hole. */
  insertFirst(address: number, size: number): void {
    if (this.lens.length === 0) {
      this.reset([address], [size]);
      return;
    }
    this.insertAt(0, 0, address, size);
  }

  /** Removes the hole at `(c, k)`. */
  removeAt(c: number, k: number): void {
    const a = this.addrs[c];
    const s = this.sizes[c];
    const len = this.lens[c];
    for (let i = k + 1; i < len; i++) {
      a[i - 1] = a[i];
      s[i - 1] = s[i];
    }
    this.lens[c] = len - 1;
    this.count--;
    if (len === 1) {
      this.spare.push(a, s);
      this.addrs.splice(c, 1);
      this.sizes.splice(c, 1);
      this.lens.splice(c, 1);
      this.firsts.splice(c, 1);
      this.maxes.splice(c, 1);
      this.rebuildTree();
    } else if (k === 0) {
      this.firsts[c] = a[0];
    }
  }

  /** Removes the hole after `(c, k)` (which must exist). */
  removeNext(c: number, k: number): void {
    if (k + 1 < this.lens[c]) this.removeAt(c, k + 1);
    else this.removeAt(c + 1, 0);
  }

  private insertAt(c: number, k: number, address: number, size: number): void {
    let a = this.addrs[c];
    let s = this.sizes[c];
    let len = this.lens[c];
    if (len === CAP) {
      // split the full chunk in two halves, then insert into the proper half
      const s2 = this.spare.pop() ?? new Float64Array(CAP);
      const a2 = this.spare.pop() ?? new Float64Array(CAP);
      a2.set(a.subarray(HALF, CAP));
      s2.set(s.subarray(HALF, CAP));
      this.addrs.splice(c + 1, 0, a2);
      this.sizes.splice(c + 1, 0, s2);
      this.lens.splice(c + 1, 0, CAP - HALF);
      this.firsts.splice(c + 1, 0, a2[0]);
      this.maxes.splice(c + 1, 0, 0);
      this.lens[c] = HALF;
      const first = c;
      if (k > HALF) {
        c++;
        k -= HALF;
        a = a2;
        s = s2;
      }
      len = this.lens[c];
      for (let i = len; i > k; i--) {
        a[i] = a[i - 1];
        s[i] = s[i - 1];
      }
      a[k] = address;
      s[k] = size;
      if (k === 0) this.firsts[c] = address;
      this.lens[c] = len + 1;
      this.count++;
      this.maxes[first] = chunkMax(this.sizes[first], this.lens[first]);
      this.maxes[first + 1] = chunkMax(this.sizes[first + 1], this.lens[first + 1]);
      this.rebuildTree();
      return;
    }
    for (let i = len; i > k; i--) {
      a[i] = a[i - 1];
      s[i] = s[i - 1];
    }
    a[k] = address;
    s[k] = size;
    if (k === 0) this.firsts[c] = address;
    this.lens[c] = len + 1;
    this.count++;
    if (size > this.tree[this.leafBase + c]) this.updateLeaf(c, size);
  }

  private sizeChanged(c: number, size: number): void {
    if (size > this.tree[this.leafBase + c]) this.updateLeaf(c, size);
  }

  private rebuildTree(): void {
    const nc = this.lens.length;
    let base = 1;
    while (base < nc) base <<= 1;
    if (this.tree.length !== 2 * base) this.tree = new Float64Array(2 * base);
    else this.tree.fill(0);
    this.leafBase = base;
    for (let c = 0; c < nc; c++) this.tree[base + c] = this.maxes[c];
    for (let i = base - 1; i >= 1; i--) this.tree[i] = Math.max(this.tree[2 * i], this.tree[2 * i + 1]);
  }

  private updateLeaf(c: number, max: number): void {
    const t = this.tree;
    let i = this.leafBase + c;
    this.maxes[c] = max;
    t[i] = max;
    i >>>= 1;
    while (i >= 1) {
      const m = t[2 * i] > t[2 * i + 1] ? t[2 * i] : t[2 * i + 1];
      if (t[i] === m) break;
      t[i] = m;
      i >>>= 1;
    }
  }

  /** The first chunk index `>= from` whose max is `>= need`, or -1. */
  private nextChunkWithMax(from: number, need: number): number {
    const nc = this.lens.length;
    if (from >= nc) return -1;
    const t = this.tree;
    const base = this.leafBase;
    let i = base + from;
    if (t[i] >= need) return from;
    // climb until a right sibling subtree holds a big enough max, then descend leftmost
    for (;;) {
      if ((i & 1) === 0 && t[i + 1] >= need) {
        i = i + 1;
        break;
      }
      i >>>= 1;
      if (i <= 1) return -1;
    }
    while (i < base) {
      i = t[2 * i] >= need ? 2 * i : 2 * i + 1;
    }
    const c = i - base;
    return c < nc ? c : -1;
  }
}

function chunkMax(s: Float64Array, len: number): number {
  let m = 0;
  for (let k = 0; k < len; k++) if (s[k] > m) m = s[k];
  return m;
}
