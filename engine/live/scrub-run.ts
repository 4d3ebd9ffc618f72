// The live scrub's loop: reads a mapped device the kernel verifies (dm-integrity's /dev/mapper/NAME, or dm-crypt
// above a LUKS2 `_dif`) in aligned O_DIRECT chunks, so every block comes from the disk through the kernel's check,
// and narrows a failing read down to its blocks by bisection (a failed O_DIRECT read returns EILSEQ for the whole
// request; seen in the 6.1, 6.12 and 7.2 guests, buffered reads return EIO instead). What the kernel does not
// verify is counted by reason, never as checked:
// - dm_integrity_map_continue skips the check of a whole read request that reaches past recalc_sector while the
//   superblock says recalculating, so a chunk is split at the live position and the part past it is "recalculating";
// - in bitmap mode it also skips requests touching a region still set in recalc_bitmap; integrity_recalc clears a
//   region only once a chunk covers all of it, so the region holding recalc_sector is "dirty-bitmap";
// - mode R (recovery) checks nothing ("recovery-mode"), nor does a device without an internal hash and no dm-crypt
//   above ("not-verified").
// Synchronous (runs in a worker thread); the device and the kernel's status are injected so the loop is tested on
// a simulated device.
import { addBadBlock } from '../jobs/state.js';
import type { IntegrityMode, IntegrityStatus, Verifier } from './types.js';

import type { LiveKernelMismatches, LiveUncheckedReason } from './wire.js';

export type { LiveUncheckedReason } from './wire.js';
export type LiveUncheckedCounts = Record<LiveUncheckedReason, number>;

export const SECTOR = 512;

export interface LiveScrubPosition {
  position_sector: number;
  total_sectors: number;
  start_sector: number;
  block_sectors: number;
  checked_blocks: number;
  bad_blocks: number;
  bad_ranges: Array<[number, number]>;
  read_errors: number;
  read_error_ranges: Array<[number, number]>;
  unchecked: LiveUncheckedCounts;
  /** our read requests that failed (each one the kernel counts once as a mismatch when it was EILSEQ) */
  failed_reads: number;
  /** the kernel's counter over this run: increases seen, across table loads */
  kernel_mismatches: LiveKernelMismatches;
}

export interface LiveScrubGeometry {
  total_sectors: number;
  block_sectors: number;
  mode: IntegrityMode;
  verifier: Verifier;
  /** bitmap mode: sectors per bitmap bit (the table's sectors_per_bit) */
  sectors_per_bit?: number;
  /** the read size, bytes (a multiple of the block size; default 1 MiB) */
  chunk_bytes?: number;
}

export interface LiveScrubIo {
  /** reads `length` bytes at byte `offset` into buf[0..length): throws an errno error (code EILSEQ, EIO…) */
  read(buf: Buffer, offset: number, length: number): void;
  /** the integrity device's status now (null: unknown, e.g. a crypt device's own status) */
  status(): IntegrityStatus | null;
  buffer: Buffer;
}

export interface LiveScrubHooks {
  shouldStop(): boolean;
  progress(p: LiveScrubPosition): void;
  /** called about every `saveEveryMs` with the position to persist */
  save?(p: LiveScrubPosition): void;
  now?: () => number;
}

export const emptyUnchecked = (): LiveUncheckedCounts => ({ recalculating: 0, 'dirty-bitmap': 0, 'recovery-mode': 0, 'not-verified': 0 });

/** Where the kernel stops verifying: reads of [0, limit) are checked. */
export function verifiedLimit(
  g: Pick<LiveScrubGeometry, 'mode' | 'verifier' | 'sectors_per_bit' | 'total_sectors'>,
  status: IntegrityStatus | null,
): { limit: number; recalc: number } {
  if (g.verifier === 'nothing' || g.mode === 'R') return { limit: 0, recalc: 0 };
  const recalc = g.verifier === 'dm-integrity' && status?.recalc_sector != null ? status.recalc_sector : g.total_sectors;
  let limit = recalc;
  if (g.mode === 'B' && recalc < g.total_sectors && g.sectors_per_bit) limit = Math.floor(recalc / g.sectors_per_bit) * g.sectors_per_bit;
  return { limit, recalc };
}

/** Continues `p` to the end or until shouldStop(); returns whether it reached the end. */
export function runLiveScrub(g: LiveScrubGeometry, io: LiveScrubIo, p: LiveScrubPosition, hooks: LiveScrubHooks, saveEveryMs = 5000): boolean {
  const now = hooks.now ?? Date.now;
  const bs = g.block_sectors;
  const chunkSectors = Math.max(bs, Math.floor((g.chunk_bytes ?? 1 << 20) / SECTOR / bs) * bs);
  let lastStatusAt = 0;
  let lastSave = now();
  let status: IntegrityStatus | null = null;
  let prevCounter: number | null = p.kernel_mismatches.now;
  // ranges counted as checked since the status was last read: if it then shows the position went back (a
  // reset_recalculate table resumed meanwhile), the parts past the new position were not verified after all
  let checkedSince: Array<[number, number]> = [];
  const refreshStatus = () => {
    const before = verifiedLimit(g, status).limit;
    status = io.status();
    lastStatusAt = now();
    const after = verifiedLimit(g, status).limit;
    if (after < before) {
      for (const [a, b] of checkedSince) {
        const from = Math.max(a, Math.ceil(after / bs) * bs);
        if (b > from) {
          const n = (b - from) / bs;
          p.checked_blocks -= n;
          p.unchecked.recalculating += n;
        }
      }
    }
    checkedSince = [];
    const c = (status as IntegrityStatus | null)?.mismatches ?? null;
    if (c !== null) {
      if (p.kernel_mismatches.at_start === null) p.kernel_mismatches.at_start = c;
      else if (prevCounter !== null) {
        if (c < prevCounter) {
          p.kernel_mismatches.table_loads_seen++;
          p.kernel_mismatches.increase += c;
        } else p.kernel_mismatches.increase += c - prevCounter;
      }
      prevCounter = c;
      p.kernel_mismatches.now = c;
    }
  };
  const reasonOf = (sector: number, limit: number, recalc: number): LiveUncheckedReason | null => {
    if (g.mode === 'R') return 'recovery-mode';
    if (g.verifier === 'nothing') return 'not-verified';
    if (sector >= recalc) return 'recalculating';
    if (sector >= limit) return 'dirty-bitmap';
    return null;
  };
  /** reads [start, start+count) sectors; on failure bisects down to blocks */
  const scan = (start: number, count: number, limit: number, recalc: number): void => {
    try {
      io.read(io.buffer, start * SECTOR, count * SECTOR);
      for (let s = start; s < start + count; s += bs) {
        const why = reasonOf(s, limit, recalc);
        if (why) p.unchecked[why]++;
        else {
          p.checked_blocks++;
          const last = checkedSince[checkedSince.length - 1];
          if (last && last[1] === s) last[1] = s + bs;
          else checkedSince.push([s, s + bs]);
        }
      }
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EILSEQ' && code !== 'EIO' && code !== 'EBADMSG') throw e;
      p.failed_reads++;
      if (count <= bs) {
        if (code === 'EIO') {
          p.read_errors++;
          addBadBlock(p.read_error_ranges, start, bs);
        } else {
          p.bad_blocks++;
          addBadBlock(p.bad_ranges, start, bs);
        }
        return;
      }
    }
    const half = Math.max(bs, Math.floor(count / 2 / bs) * bs);
    scan(start, half, limit, recalc);
    scan(start + half, count - half, limit, recalc);
  };
  refreshStatus();
  while (p.position_sector < g.total_sectors) {
    if (hooks.shouldStop()) {
      refreshStatus();
      return false;
    }
    const start = p.position_sector;
    const end = Math.min(g.total_sectors, start + chunkSectors);
    // the position moves on while we read: look again when this chunk reaches past it, or every 250 ms
    let { limit } = verifiedLimit(g, status);
    if ((end > limit && limit < g.total_sectors) || now() - lastStatusAt > 250) refreshStatus();
    const v = verifiedLimit(g, status);
    limit = v.limit;
    // a request reaching past the limit is not verified at all: split there
    const cut = start + Math.floor((Math.min(end, Math.max(start, limit)) - start) / bs) * bs;
    if (cut > start) scan(start, cut - start, limit, v.recalc);
    if (end > cut) scan(cut, end - cut, limit, v.recalc);
    p.position_sector = end;
    hooks.progress(p);
    if (hooks.save && now() - lastSave >= saveEveryMs) {
      hooks.save(p);
      lastSave = now();
    }
  }
  refreshStatus();
  return true;
}
