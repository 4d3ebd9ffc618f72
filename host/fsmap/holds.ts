// What one range of known damage holds, from a kept mapping, for the exports (JSON, CSV): the items whose sector
// ranges meet it, each with the part of the range it takes and, for a file, the bytes of the file those sectors hold
// (from the item's extents). An item lists at most its first ranges (FsMapOptions.maxRanges): sectors of the range no
// listed range covers are counted as `unlisted_sectors` and the capped items named.
import type { FsMapItem, FsMapResult } from '../../engine/api.js';

export type Holds =
  | {
      kind: 'file';
      sectors: number;
      inode: number;
      file_type: string;
      paths: string[];
      paths_total: number;
      size: number;
      bytes: Array<[number, number]> | null;
      meaning: string;
      uncertain?: string;
    }
  | {
      kind: 'metadata';
      sectors: number;
      structure: string;
      description: string;
      group?: number;
      owner?: { inode: number; paths: string[] };
      meaning: string;
      uncertain?: string;
    }
  | { kind: 'free'; sectors: number; meaning: string }
  | { kind: 'unmapped'; sectors: number; reason: string };

/** An index of a mapping's listed ranges, queried with ascending or any ranges (binary search). */
/** what one range holds; unlisted_sectors and capped only when some of its sectors are in no listed range */
export interface RangeHolds {
  holds: Holds[];
  unlisted_sectors?: number;
  capped?: string[];
}

export function holdsOf(r: FsMapResult): { at(first: number, end: number): RangeHolds } {
  const idx: Array<[number, number, number]> = [];
  r.items.forEach((it, k) => {
    for (const [a, b] of it.ranges) idx.push([a, b, k]);
  });
  idx.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  // the largest end so far: a range reaching back over `first` can start well before it
  const maxEnd: number[] = [];
  for (let i = 0; i < idx.length; i++) maxEnd.push(Math.max(idx[i]![1], i ? maxEnd[i - 1]! : 0));
  const capped = r.items.filter((i) => i.ranges_total > i.ranges.length);
  // the ranges past the host's mapping limit: every known range from the first one on is in that item
  const limit = r.items.find((i) => i.kind === 'unmapped' && i.past_limit);
  const limitFrom = limit?.ranges[0]?.[0] ?? Number.POSITIVE_INFINITY;
  return {
    at(first, end) {
      if (limit && first >= limitFrom) return { holds: [holdOne(limit, end - first, first, end)] };
      // the first listed range that may end after `first`
      let lo = 0,
        hi = idx.length;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (maxEnd[m]! <= first) lo = m + 1;
        else hi = m;
      }
      const per = new Map<number, number>();
      const pieces: Array<[number, number]> = [];
      for (let i = lo; i < idx.length && idx[i]![0] < end; i++) {
        const [a, b, k] = idx[i]!;
        const x = Math.max(a, first),
          y = Math.min(b, end);
        if (y <= x) continue;
        per.set(k, (per.get(k) ?? 0) + (y - x));
        pieces.push([x, y]);
      }
      const holds = [...per].map(([k, sectors]) => holdOne(r.items[k]!, sectors, first, end));
      const unlisted = end - first - covered(pieces);
      if (!unlisted) return { holds };
      // the items share out every bad sector between them: with one capped item (besides the limit's), an unlisted
      // sector can only be in it
      const candidates = capped.filter((i) => i !== limit);
      const only = candidates.length === 1 ? candidates[0]! : null;
      if (only) {
        const k = r.items.indexOf(only);
        per.set(k, (per.get(k) ?? 0) + unlisted);
        return { holds: [...per].map(([j, sectors]) => holdOne(r.items[j]!, sectors, first, end)) };
      }
      return { holds, unlisted_sectors: unlisted, capped: candidates.map(label) };
    },
  };
}

function covered(pieces: Array<[number, number]>): number {
  pieces.sort((x, y) => x[0] - y[0]);
  let n = 0,
    at = -1;
  for (const [a, b] of pieces) {
    const s = Math.max(a, at);
    if (b > s) n += b - s;
    at = Math.max(at, b);
  }
  return n;
}

function label(i: FsMapItem): string {
  if (i.kind === 'file') return `file ${i.paths[0] ?? `inode ${i.inode}`}`;
  if (i.kind === 'metadata') return i.description;
  return i.kind === 'free' ? 'free space' : i.reason;
}

/** the file's bytes that sectors [first, end) hold, from its extents (null when it has none listed for them) */
function bytesIn(i: Extract<FsMapItem, { kind: 'file' }>, first: number, end: number): Array<[number, number]> | null {
  if (!i.extents) return null;
  const out: Array<[number, number]> = [];
  for (const [a, b, byte] of i.extents) {
    const x = Math.max(a, first),
      y = Math.min(b, end);
    if (y <= x) continue;
    const s = byte + (x - a) * 512,
      t = Math.min(byte + (y - a) * 512, i.size);
    if (t > s) out.push([s, t]);
  }
  return out.length || (i.extents_total ?? 0) <= i.extents.length ? out : null;
}

function holdOne(i: FsMapItem, sectors: number, first: number, end: number): Holds {
  const unc = i.uncertain ? { uncertain: i.uncertain } : {};
  switch (i.kind) {
    case 'file':
      return {
        kind: 'file',
        sectors,
        inode: i.inode,
        file_type: i.file_type,
        paths: i.paths,
        paths_total: i.paths_total,
        size: i.size,
        bytes: bytesIn(i, first, end),
        meaning: i.meaning,
        ...unc,
      };
    case 'metadata':
      return {
        kind: 'metadata',
        sectors,
        structure: i.structure,
        description: i.description,
        ...(i.group !== undefined ? { group: i.group } : {}),
        ...(i.owner ? { owner: { inode: i.owner.inode, paths: i.owner.paths } } : {}),
        meaning: i.meaning,
        ...unc,
      };
    case 'free':
      return { kind: 'free', sectors, meaning: i.meaning };
    case 'unmapped':
      return { kind: 'unmapped', sectors, reason: i.reason };
  }
}

/** one line for a CSV cell: what the range holds, items separated by "; " */
export function holdsText(h: RangeHolds): string {
  const parts = h.holds.map((x) => {
    switch (x.kind) {
      case 'file': {
        const name = x.paths[0] ?? `inode ${x.inode} (no path found)`;
        const bytes =
          x.bytes === null ? '' : x.bytes.length ? ` bytes ${x.bytes.map(([a, b]) => `${a}-${b - 1}`).join(' ')}` : ' (no contents: unwritten or past the end)';
        return `file ${name} (inode ${x.inode}${x.paths_total > 1 ? `, ${x.paths_total} paths` : ''})${bytes}`;
      }
      case 'metadata':
        return `${x.structure}: ${x.description}`;
      case 'free':
        return 'free space (harmless)';
      case 'unmapped':
        return x.reason;
      default: {
        const kind: never = x;
        return String(kind);
      }
    }
  });
  if (h.unlisted_sectors) parts.push(`${h.unlisted_sectors} sector(s) in one of: ${(h.capped ?? []).join(', ')} (their range lists are capped)`);
  return parts.join('; ');
}
