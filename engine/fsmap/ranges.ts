// Sorted disjoint half-open intervals with binary search: the bad-sector set (the only per-sector state kept, so
// memory follows the number of bad ranges, not the size of the file system), and the range lists of each item.
import { IntegrityStudioError } from '../errors.js';
import type { SectorRange } from './types.js';

export class RangeSet {
  /** starts[i] < ends[i] <= starts[i+1] …; the two arrays always have the same length (every index below that is
   *  checked against starts.length is in range in ends too) */
  readonly starts: number[];
  readonly ends: number[];
  /** total length */
  readonly total: number;

  private constructor(starts: number[], ends: number[]) {
    this.starts = starts;
    this.ends = ends;
    let t = 0;
    for (let i = 0; i < starts.length; i++) t += ends[i]! - starts[i]!;
    this.total = t;
  }

  /** From ranges in any order, overlapping or not; each checked to be whole non-negative numbers, first < end. */
  static from(ranges: Iterable<SectorRange>, limit = Number.MAX_SAFE_INTEGER, what = 'sector range'): RangeSet {
    const list: [number, number][] = [];
    for (const r of ranges) {
      const [a, b] = r;
      if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b <= a) {
        throw new IntegrityStudioError(`invalid ${what} [${a}, ${b}): give whole numbers with first < end`);
      }
      if (b > limit) throw new IntegrityStudioError(`${what} [${a}, ${b}) ends past the end of the volume (${limit} sectors)`);
      list.push([a, b]);
    }
    return RangeSet.fromPairs(list);
  }

  /** From unchecked pairs (internal use). */
  static fromPairs(list: [number, number][]): RangeSet {
    let sorted = true;
    for (let i = 1; i < list.length && sorted; i++) sorted = list[i - 1]![0] <= list[i]![0];
    if (!sorted) list.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const starts: number[] = [];
    const ends: number[] = [];
    for (const [a, b] of list) {
      const n = starts.length;
      const last = ends[n - 1];
      if (last !== undefined && a <= last) {
        if (b > last) ends[n - 1] = b;
      } else {
        starts.push(a);
        ends.push(b);
      }
    }
    return new RangeSet(starts, ends);
  }

  /** From starts sorted ascending (ends any), merging overlaps. */
  static fromSorted(a: number[], b: number[]): RangeSet {
    if (a.length !== b.length) throw new RangeError(`RangeSet.fromSorted: ${a.length} starts but ${b.length} ends`);
    const starts: number[] = [];
    const ends: number[] = [];
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      const n = starts.length;
      const last = ends[n - 1];
      if (last !== undefined && x <= last) {
        if (y > last) ends[n - 1] = y;
      } else {
        starts.push(x);
        ends.push(y);
      }
    }
    return new RangeSet(starts, ends);
  }

  get count(): number {
    return this.starts.length;
  }

  /** index of the first range whose end is > x (count when none) */
  firstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  has(x: number): boolean {
    const i = this.firstEndingAfter(x);
    return i < this.starts.length && this.starts[i]! <= x;
  }

  /** whether [a, b) meets the set */
  intersects(a: number, b: number): boolean {
    const i = this.firstEndingAfter(a);
    return i < this.starts.length && this.starts[i]! < b;
  }

  /** calls f for each piece of the set inside [a, b), in order */
  forEachIn(a: number, b: number, f: (first: number, end: number) => void): void {
    for (let i = this.firstEndingAfter(a); i < this.starts.length && this.starts[i]! < b; i++) {
      f(Math.max(a, this.starts[i]!), Math.min(b, this.ends[i]!));
    }
  }

  /** the pieces of the set inside [a, b) */
  within(a: number, b: number): [number, number][] {
    const out: [number, number][] = [];
    this.forEachIn(a, b, (x, y) => out.push([x, y]));
    return out;
  }

  /** how much of [a, b) the set covers */
  coveredIn(a: number, b: number): number {
    let n = 0;
    this.forEachIn(a, b, (x, y) => (n += y - x));
    return n;
  }

  /** this set less `other` */
  minus(other: RangeSet): RangeSet {
    const out: [number, number][] = [];
    for (let i = 0; i < this.starts.length; i++) {
      let a = this.starts[i]!;
      const b = this.ends[i]!;
      other.forEachIn(a, b, (x, y) => {
        if (x > a) out.push([a, x]);
        a = y;
      });
      if (a < b) out.push([a, b]);
    }
    return RangeSet.fromPairs(out);
  }

  /** the set scaled down to units of `unit` (sectors → blocks): every unit the set touches */
  toUnits(unit: number): RangeSet {
    const out: [number, number][] = [];
    for (let i = 0; i < this.starts.length; i++) out.push([Math.floor(this.starts[i]! / unit), Math.ceil(this.ends[i]! / unit)]);
    return RangeSet.fromPairs(out);
  }

  pairs(limit = Infinity): [number, number][] {
    const n = Math.min(limit, this.starts.length);
    const out: [number, number][] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = [this.starts[i]!, this.ends[i]!];
    return out;
  }
}

/** Ranges appended in any order; adjacent appends coalesce at once, the rest when finished. */
export class RangeList {
  private a: number[] = [];
  private b: number[] = [];
  add(a: number, b: number): void {
    if (b <= a) return;
    const n = this.a.length;
    const lastA = this.a[n - 1];
    const lastB = this.b[n - 1];
    if (lastA !== undefined && lastB !== undefined && a >= lastA && a <= lastB) {
      if (b > lastB) this.b[n - 1] = b;
      return;
    }
    this.a.push(a);
    this.b.push(b);
  }
  get empty(): boolean {
    return this.a.length === 0;
  }
  finish(): RangeSet {
    let sorted = true;
    for (let i = 1; i < this.a.length && sorted; i++) sorted = this.a[i - 1]! <= this.a[i]!;
    if (sorted) return RangeSet.fromSorted(this.a, this.b);
    return RangeSet.fromPairs(this.a.map((x, i) => [x, this.b[i]!]));
  }
}
