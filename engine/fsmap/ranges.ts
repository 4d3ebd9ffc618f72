// Sorted disjoint half-open intervals with binary search: the bad-sector set (the only per-sector state kept, so
// memory follows the number of bad ranges, not the size of the file system), and the range lists of each item.
import { IntegrityStudioError } from '../errors.js';
import type { SectorRange } from './types.js';

export class RangeSet {
  /** starts[i] < ends[i] <= starts[i+1] … */
  readonly starts: number[];
  readonly ends: number[];
  /** total length */
  readonly total: number;

  private constructor(starts: number[], ends: number[]) {
    this.starts = starts;
    this.ends = ends;
    let t = 0;
    for (let i = 0; i < starts.length; i++) t += ends[i] - starts[i];
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
    list.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const starts: number[] = [];
    const ends: number[] = [];
    for (const [a, b] of list) {
      const n = starts.length;
      if (n && a <= ends[n - 1]) {
        if (b > ends[n - 1]) ends[n - 1] = b;
      } else {
        starts.push(a);
        ends.push(b);
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
      if (this.ends[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  has(x: number): boolean {
    const i = this.firstEndingAfter(x);
    return i < this.starts.length && this.starts[i] <= x;
  }

  /** whether [a, b) meets the set */
  intersects(a: number, b: number): boolean {
    const i = this.firstEndingAfter(a);
    return i < this.starts.length && this.starts[i] < b;
  }

  /** calls f for each piece of the set inside [a, b), in order */
  forEachIn(a: number, b: number, f: (first: number, end: number) => void): void {
    for (let i = this.firstEndingAfter(a); i < this.starts.length && this.starts[i] < b; i++) {
      f(Math.max(a, this.starts[i]), Math.min(b, this.ends[i]));
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
      let a = this.starts[i];
      const b = this.ends[i];
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
    for (let i = 0; i < this.starts.length; i++) out.push([Math.floor(this.starts[i] / unit), Math.ceil(this.ends[i] / unit)]);
    return RangeSet.fromPairs(out);
  }

  pairs(): [number, number][] {
    return this.starts.map((s, i) => [s, this.ends[i]]);
  }
}

/** Ranges appended in any order; adjacent appends coalesce at once, the rest when finished. */
export class RangeList {
  private list: [number, number][] = [];
  add(a: number, b: number): void {
    if (b <= a) return;
    const last = this.list[this.list.length - 1];
    if (last && a >= last[0] && a <= last[1]) {
      if (b > last[1]) last[1] = b;
      return;
    }
    this.list.push([a, b]);
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
  finish(): RangeSet {
    return RangeSet.fromPairs(this.list);
  }
}
