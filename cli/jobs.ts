// `integrity-studio recalc` and `integrity-studio scrub`: a job in a worker thread, a progress bar with rate and
// ETA on a terminal (or JSON lines with --progress-json), SIGINT/SIGTERM pause with the position persisted.
import { startJob } from '../engine/jobs/index.js';
import type { JobProgress, JobSpec } from '../engine/jobs/types.js';
import { SECTOR_SIZE } from '../engine/layout/superblock.js';
import type { UncheckedReason } from '../engine/api.js';
import { mappingFields, sectorsOf, SHOWN_RANGES, someRanges, uncheckedList, type CheckReport } from './report.js';
import { mapPlain, mappingText } from './fsmap.js';
import { scrubDamage } from '../engine/jobs/state.js';
import { allOf, pageOf, summaryFrom, type DamageKind } from '../engine/jobs/damage.js';

export interface JobIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** whether stderr is a terminal (progress bar) */
  tty: boolean;
}

export interface JobFlags {
  progressJson: boolean;
  json: boolean;
  /** scrub --map-files: what the bad blocks hold in the file system (cli/fsmap.ts) */
  mapFiles?: boolean;
}

import { formatRate as humanRate } from '../engine/units.js';

export { humanRate };

export function humanEta(ms: number | null): string {
  if (ms === null) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export function progressBar(p: JobProgress, width = 30): string {
  const frac = p.total_sectors ? p.position_sector / p.total_sectors : 1;
  const fill = Math.round(frac * width);
  const bad = p.job === 'scrub' ? `, ${p.mismatches} bad` : '';
  return `${p.job} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(1)}% ${humanRate(p.bytes_per_second)} ETA ${humanEta(p.eta_ms)}${bad}`;
}

function progressLine(p: JobProgress): string {
  const { job, state, position_sector, total_sectors, bytes_per_second, eta_ms, mismatches } = p;
  return JSON.stringify({ job, state, position_sector, total_sectors, bytes_per_second, eta_ms, mismatches, ...(p.error ? { error: p.error } : {}) }) + '\n';
}

/** Set while a job runs: what to do when standard output turns out to be a closed pipe (EPIPE). */
let onStdoutClosed: (() => void) | null = null;

/** Called by the CLI's stdout 'error' handler on EPIPE: true when a running job takes care of it (pauses, saves
 *  its position and then exits 0), false when nothing runs (the caller exits 0 at once). */
export function stdoutClosed(): boolean {
  if (!onStdoutClosed) return false;
  onStdoutClosed();
  return true;
}

/** Runs the job to its end (done, paused by a signal, or failed); returns the exit code. */
export async function runJobCommand(spec: JobSpec, flags: JobFlags, io: JobIo): Promise<number> {
  let drawn = false;
  let closed = false;
  const out = (s: string) => {
    if (closed) return;
    try {
      io.out(s);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e;
      closeOut();
    }
  };
  const handle = startJob(spec, (p) => {
    if (flags.progressJson) out(progressLine(p));
    else if (io.tty) {
      io.err(`\r${progressBar(p)}\x1b[K`);
      drawn = true;
    }
  });
  const onSignal = () => {
    if (io.tty) io.err('\npausing at the next chunk boundary…\n');
    void handle.pause();
  };
  // the reader of our output went away (`| head -1`): pause at the next chunk boundary, position saved, exit 0
  function closeOut() {
    if (closed) return;
    closed = true;
    void handle.pause();
  }
  onStdoutClosed = closeOut;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let p: JobProgress;
  try {
    p = await handle.finished;
  } finally {
    onStdoutClosed = null;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (closed) {
    if (p.state === 'failed') {
      io.err(`integrity-studio: ${p.error}\n`);
      return 1;
    }
    if (p.state === 'paused')
      io.err(
        `${spec.kind} paused at sector ${p.position_sector} of ${p.total_sectors} (its output was closed); the position is saved. Run the same command again to resume.\n`,
      );
    return spec.kind === 'scrub' && p.mismatches && p.state === 'done' ? 4 : 0;
  }
  if (drawn) io.err('\n');
  if (p.state === 'failed') {
    io.err(`integrity-studio: ${p.error}\n`);
    return 1;
  }
  const where = `sector ${p.position_sector} of ${p.total_sectors}`;
  // every range, from the scrub's damage log (its events carry only the first ones)
  const log = spec.kind === 'scrub' ? scrubDamage(spec.device) : null;
  // --json: every range; a person: the first ones and how many in all (a failing disk has hundreds of thousands)
  const rangesOfKind = (kind: DamageKind): { first: Array<[number, number]>; total: number } => {
    if (!log) {
      const all = (kind === 'bad' ? p.bad_ranges : p.read_error_ranges) ?? [];
      return { first: all, total: all.length };
    }
    if (flags.json) {
      const all = allOf(log, kind);
      return { first: all, total: all.length };
    }
    const sum = summaryFrom(log, 0, 1);
    const rows = pageOf([{ src: log }], 0, SHOWN_RANGES, new Set([kind])).rows;
    return {
      first: rows.map((r): [number, number] => [r.first_sector, r.end_sector]),
      total: kind === 'bad' ? sum.bad_range_count : sum.read_error_range_count,
    };
  };
  const bad = rangesOfKind('bad');
  const read = rangesOfKind('read-error');
  const badRanges = bad.first;
  const readRanges = read.first;
  // --map-files: every range goes to the file-system mapping
  const everyRange = (kind: DamageKind) => (log ? allOf(log, kind) : ((kind === 'bad' ? p.bad_ranges : p.read_error_ranges) ?? []));
  const mapped =
    spec.kind === 'scrub' && flags.mapFiles && (bad.total || read.total)
      ? mappingFields(() => mapPlain(spec.device, spec.volume ?? {}, [...everyRange('bad'), ...everyRange('read-error')]))
      : {};
  if (spec.kind === 'scrub' && flags.json) {
    const spb = p.sectors_per_block ?? 1;
    const by: Partial<Record<UncheckedReason, number>> = {};
    for (const u of p.unchecked ?? []) by[u.reason] = u.blocks;
    if (p.state !== 'done') by['not-reached'] = Math.ceil((p.total_sectors - p.position_sector) / spb);
    const report: CheckReport = {
      device: spec.device,
      type: 'dm-integrity',
      command: 'scrub',
      state: p.state === 'done' ? 'done' : 'paused',
      block_size: spb * SECTOR_SIZE,
      provided_data_sectors: p.total_sectors,
      position_sector: p.position_sector,
      start_sector: p.start_sector,
      checked_blocks: p.checked_blocks ?? 0,
      checked_sectors: (p.checked_blocks ?? 0) * spb,
      unchecked_blocks: (p.unchecked_blocks ?? 0) + (by['not-reached'] ?? 0),
      unchecked: uncheckedList(by),
      mismatches: p.mismatches,
      bad_sectors: sectorsOf(badRanges, spb),
      bad_ranges: badRanges,
      // blocks whose read failed (EIO): not tag mismatches, and not checked
      read_errors: p.read_errors ?? 0,
      read_error_ranges: readRanges,
      ...mapped,
    };
    out(JSON.stringify(report) + '\n');
  }
  if (p.state === 'paused') {
    io.err(`${spec.kind} paused at ${where}; the position is saved. Run the same command again to resume.\n`);
    return 0;
  }
  if (spec.kind === 'recalc')
    io.err(`recalculated every tag of ${spec.device} (${p.total_sectors} sectors, ${(p.total_sectors * SECTOR_SIZE) / 1048576} MiB).\n`);
  if (spec.kind === 'scrub') {
    if (!flags.json) {
      const unchecked = p.unchecked_blocks ?? 0;
      const why = (p.unchecked ?? [])
        .map(
          (u) =>
            `${u.reason === 'recalculating' ? 'being recalculated' : u.reason === 'dirty-bitmap' ? 'in a dirty bitmap region' : 'read errors'}: ${u.blocks}`,
        )
        .join(', ');
      const notChecked = unchecked ? `; ${unchecked} block(s) not checked (${why})` : '';
      const all = `\`integrity-studio errors ${spec.device}\` lists every one`;
      const ranges = (r: { first: Array<[number, number]>; total: number }) => someRanges(r.first, all, r.total);
      const readErrors = p.read_errors
        ? `${p.read_errors} block(s) could not be read (read errors, EIO: the device failed to return them; not checked) in sectors ${ranges(read)}\n`
        : '';
      out(
        readErrors +
          (p.mismatches
            ? `${p.mismatches} bad block(s) in sectors ${ranges(bad)}${notChecked}\n`
            : unchecked || p.read_errors
              ? `scrub of ${spec.device}: ${p.checked_blocks ?? 0} blocks checked, no mismatches${notChecked}${p.read_errors ? `; ${p.read_errors} block(s) not checked (read errors)` : ''}\n`
              : `scrub of ${spec.device}: every block verified, no mismatches\n`),
      );
      if (mapped.mapping) out(mappingText(mapped.mapping));
    }
    if (mapped.mapping_error) io.err(`integrity-studio: could not map the bad blocks: ${mapped.mapping_error}\n`);
    return p.mismatches || p.read_errors ? 4 : 0;
  }
  return 0;
}
