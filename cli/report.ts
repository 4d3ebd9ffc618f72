// One schema for what `verify --json` and `scrub --json` print, for plain dm-integrity volumes and LUKS2
// authenticated ones alike (a LUKS2 volume's blocks are its encryption sectors, and a bad one is a sector failing
// authentication): scripts read the same names whatever the volume.
import type { FsMapResult, UncheckedReason } from '../engine/api.js';

export interface CheckReport {
  device: string;
  /** dm-integrity: tags of an internal hash; luks2: dm-crypt's AEAD over dm-integrity */
  type: 'dm-integrity' | 'luks2';
  /** verify: every block at once; scrub: a resumable job (state done or paused) */
  command: 'verify' | 'scrub';
  state: 'done' | 'paused';
  /** bytes per block (a LUKS2 volume's encryption sector size) */
  block_size: number;
  provided_data_sectors: number;
  /** where the check got to (512-byte sectors): provided_data_sectors when done */
  position_sector: number;
  checked_blocks: number;
  /** checked_blocks in 512-byte sectors */
  checked_sectors: number;
  /** blocks not checked, in all and by reason (only the reasons that apply) */
  unchecked_blocks: number;
  unchecked: Array<{ reason: UncheckedReason; blocks: number }>;
  /** bad blocks: tag mismatches (dm-integrity), or sectors failing authentication (LUKS2) */
  mismatches: number;
  /** the first 512-byte sector of every bad block, ascending */
  bad_sectors: number[];
  /** bad blocks as merged [first, end) 512-byte sector ranges */
  bad_ranges: Array<[number, number]>;
  /** blocks whose read failed (EIO): not mismatches, and not checked */
  read_errors: number;
  read_error_ranges: Array<[number, number]>;
  /** dm-integrity: blocks discarded (filler tags, accepted as the kernel does) */
  discarded_blocks?: number;
  /** LUKS2: the kernel's AEAD (dmsetup table's capi: name) */
  cipher?: string;
  /** scrub: where this run started (a resumed scrub's position) */
  start_sector?: number;
  /** a labelled guess when every checked block failed (the algorithm or key is probably wrong) */
  hint?: string;
  /** --map-files: what the bad blocks and unreadable blocks hold in the file system on the volume (engine/fsmap; lists
   *  capped per item as the mapper caps them) */
  mapping?: FsMapResult;
  /** --map-files: why no mapping could be made */
  mapping_error?: string;
}

/** --map-files: the mapping, or why there is none, as report fields */
export function mappingFields(f: () => FsMapResult): Pick<CheckReport, 'mapping' | 'mapping_error'> {
  try {
    return { mapping: f() };
  } catch (e) {
    return { mapping_error: (e as Error).message };
  }
}

/** [first, end) ranges of whole blocks from their first sectors (ascending) */
export function rangesOf(sectors: number[], spb: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const s of sectors) {
    const last = out[out.length - 1];
    if (last && last[1] === s) last[1] = s + spb;
    else out.push([s, s + spb]);
  }
  return out;
}

/** the first sector of every block of [first, end) ranges */
export function sectorsOf(ranges: Array<[number, number]>, spb: number): number[] {
  const out: number[] = [];
  for (const [a, b] of ranges) for (let s = a; s < b; s += spb) out.push(s);
  return out;
}

/** the reasons with blocks, in the one order every report uses */
export function uncheckedList(by: Partial<Record<UncheckedReason, number>>): Array<{ reason: UncheckedReason; blocks: number }> {
  return (['recalculating', 'dirty-bitmap', 'read-error', 'not-reached'] as const)
    .map((reason) => ({ reason, blocks: by[reason] ?? 0 }))
    .filter((u) => u.blocks > 0);
}

/** Ranges on a line a person reads: at most SHOWN_RANGES of them, the rest counted, with where to find every one
 *  (a failing disk has hundreds of thousands; a script takes --json, or `errors`, which streams them). */
export const SHOWN_RANGES = 20;
export function someRanges(ranges: Array<[number, number]>, rest: string, total = ranges.length): string {
  const shown = ranges
    .slice(0, SHOWN_RANGES)
    .map(([a, b]) => (b - a > 1 ? `${a}-${b - 1}` : `${a}`))
    .join(', ');
  return total > SHOWN_RANGES ? `${shown} … and ${total - SHOWN_RANGES} more range(s) (${rest})` : shown;
}
