// What the dashboard may say about a volume's scrub and recalculation, derived from what is on disk (the state
// files engine/jobs writes for the CLI and the dashboard alike, the superblock) and from this host's running jobs —
// one derivation for plain and LUKS2 volumes. Truth first: a scan running elsewhere shows its live position, known
// damage stays until checked again, a dead process's run is "interrupted" (never "paused"), and a result is dated
// and compared with the volume as it is now.
import type { JobProgress, JobRun, UncheckedReason, Verification, VolumeState } from '../engine/api.js';
import { changesSince, type VolumeFingerprint } from '../engine/jobs/fingerprint.js';
import {
  damagePath,
  deadMarker,
  interruptedRun,
  runningElsewhere,
  type JobStateFile,
  type RecalcHistoryFile,
  type RunningMarker,
} from '../engine/jobs/state.js';
import { addSummaries, emptySummary, summaryFrom, type DamageSource } from '../engine/jobs/damage.js';

/** The damage logs behind a scrub state: the current scrub's, and the last finished one's (DAMAGE.prev). */
export function knownDamageLogs(st: JobStateFile | null, stateFile: string): { current: DamageSource | null; previous: DamageSource | null } {
  return {
    current: st?.damage ? { file: damagePath(stateFile), state: st.damage } : null,
    previous: st?.last_finished?.damage ? { file: st.last_finished.damage_file, state: st.last_finished.damage } : null,
  };
}

/** the union of two ascending merged range lists, merged */
export function unionRanges(x: Array<[number, number]>, y: Array<[number, number]>): Array<[number, number]> {
  const all = [...x, ...y].sort((p, q) => p[0] - q[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of all) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

export interface ScanInput {
  st: JobStateFile | null;
  /** this host's running scrub (its latest progress), when one runs here */
  live: JobProgress | null;
  liveRunning: boolean;
  totalSectors: number;
  spb: number;
  now: VolumeFingerprint | null;
  hostStartedAt: string;
  /** the scrub's state file (its damage log lies beside it) */
  stateFile: string;
}

export interface ScanView {
  verification: Verification;
  /** what the Scrub panel shows: this host's job, or the one the state file describes */
  job: JobProgress | null;
  runs: JobRun[];
  conditions: VolumeState[];
}

function eta(total: number, position: number, bps: number): number | null {
  return bps > 0 ? Math.round((((total - position) * 512) / bps) * 1000) : null;
}

/** The scrub of a volume as the dashboard may describe it. */
export function scanView(i: ScanInput): ScanView {
  const { st, live, liveRunning, totalSectors, spb } = i;
  const totalBlocks = Math.floor(totalSectors / spb);
  const detection = i.now?.detection ?? 'image';
  const elsewhere = !liveRunning && runningElsewhere(st) ? st!.running! : null;
  const dead = !liveRunning && !elsewhere ? deadMarker(st) : null;
  const scrub: Verification['scrub'] = liveRunning
    ? 'running'
    : elsewhere
      ? 'running'
      : dead
        ? 'interrupted'
        : !st
          ? 'none'
          : st.state === 'done'
            ? 'finished'
            : 'paused';
  // the current scan's own findings: this host's live progress, or the state file (brought up to date every second)
  const log = knownDamageLogs(st, i.stateFile);
  const src =
    liveRunning && live
      ? {
          position: live.position_sector,
          checked: live.checked_blocks ?? 0,
          bad: live.mismatches,
          readErrors: live.read_errors ?? 0,
          damage: live.damage ?? (log.current ? summaryFrom(log.current, 0, spb) : emptySummary(totalSectors)),
          unchecked: new Map<string, number>((live.unchecked ?? []).map((u) => [u.reason, u.blocks])),
        }
      : st
        ? {
            position: st.position_sector,
            checked: st.checked_blocks,
            bad: st.mismatches,
            readErrors: st.read_errors ?? 0,
            damage: log.current ? summaryFrom(log.current, 0, spb) : emptySummary(totalSectors),
            unchecked: new Map<string, number>([
              ['recalculating', st.unchecked?.recalculating ?? 0],
              ['dirty-bitmap', st.unchecked?.['dirty-bitmap'] ?? 0],
            ]),
          }
        : null;
  const position = scrub === 'finished' ? totalSectors : (src?.position ?? 0);
  let known = src?.damage ?? emptySummary(totalSectors);
  // the last finished scan's findings in blocks this one has not reached are still known damage
  const prev = scrub !== 'finished' ? (st?.last_finished ?? null) : null;
  let carried: Verification['carried_over'] = null;
  if (prev && log.previous) {
    const past = summaryFrom(log.previous, position, spb);
    known = addSummaries(known, past);
    carried = {
      finished_at: prev.finished_at,
      bad_blocks: past.bad_blocks,
      read_errors: past.read_errors,
      changed_since: i.now ? changesSince(prev.measured_on, i.now) : [],
    };
  }
  const unchecked = new Map(src?.unchecked ?? []);
  const readErrors = known.read_errors;
  if (src?.readErrors) unchecked.set('read-error', src.readErrors);
  const notReached = scrub === 'finished' || scrub === 'none' ? (scrub === 'none' ? totalBlocks : 0) : Math.max(0, Math.ceil((totalSectors - position) / spb));
  if (notReached) unchecked.set('not-reached', notReached);
  const checked = src?.checked ?? 0;
  const measuredOn = scrub === 'finished' ? st?.measured_on : st?.started_on;
  const v: Verification = {
    scrub,
    started_at: live?.started_at ?? st?.started_at ?? null,
    finished_at: scrub === 'finished' ? (st?.finished_at ?? st?.updated ?? null) : null,
    duration_ms: st && !liveRunning ? (st.duration_ms ?? null) : null,
    position_sector: position,
    running_elsewhere: elsewhere
      ? { by: elsewhere.by, pid: elsewhere.pid, seen_at: elsewhere.at ?? st?.updated ?? null, bytes_per_second: elsewhere.bytes_per_second ?? 0 }
      : null,
    interrupted: dead ? { saved_sector: st!.position_sector, reached_sector: dead.position_sector ?? null, at: dead.at ?? st!.updated ?? null } : null,
    total_blocks: totalBlocks,
    checked_blocks: checked,
    bad_blocks: known.bad_blocks,
    bad_ranges: known.bad_ranges,
    damage: known,
    carried_over: carried,
    changed_since: i.now && measuredOn ? changesSince(measuredOn, i.now) : [],
    changed_during: scrub === 'finished' ? (st?.changed_during ?? []) : [],
    change_detection: detection,
    read_errors: readErrors,
    read_error_ranges: known.read_error_ranges,
    unchecked_blocks: Math.max(0, totalBlocks - checked),
    unchecked: (['recalculating', 'dirty-bitmap', 'read-error', 'not-reached'] as const satisfies readonly UncheckedReason[])
      .map((reason) => ({ reason, blocks: unchecked.get(reason) ?? 0 }))
      .filter((u) => u.blocks > 0),
    suspect_algorithm_or_key: checked > 0 && (src?.bad ?? 0) === checked,
  };

  let job: JobProgress | null = liveRunning && live ? live : null;
  if (!job && st) {
    const bps = elsewhere?.bytes_per_second ?? 0;
    const state = elsewhere ? 'running' : dead ? 'interrupted' : st.state;
    job = {
      job: 'scrub',
      state,
      position_sector: st.position_sector,
      total_sectors: st.total_sectors,
      start_sector: elsewhere?.from_sector ?? st.position_sector,
      sectors_per_block: spb,
      bytes_per_second: bps,
      eta_ms: state === 'done' ? 0 : state === 'running' ? eta(st.total_sectors, st.position_sector, bps) : null,
      mismatches: v.bad_blocks,
      bad_ranges: v.bad_ranges,
      journal: null,
      checked_blocks: st.checked_blocks,
      unchecked_blocks: v.unchecked_blocks,
      unchecked: v.unchecked.filter((u): u is { reason: Exclude<UncheckedReason, 'not-reached'>; blocks: number } => u.reason !== 'not-reached'),
      read_errors: v.read_errors,
      read_error_ranges: v.read_error_ranges,
      ...(st.started_at ? { started_at: st.started_at } : {}),
      ...(elsewhere ? { run_started_at: elsewhere.since } : {}),
    };
  } else if (job) job = { ...job, mismatches: v.bad_blocks, bad_ranges: v.bad_ranges };

  const runs: JobRun[] = [...(st?.runs ?? [])];
  if (liveRunning && live)
    runs.push({
      job: 'scrub',
      by: 'dashboard',
      started_at: live.run_started_at ?? live.started_at ?? i.hostStartedAt,
      ended_at: null,
      duration_ms: null,
      result: 'running',
      from_sector: live.start_sector,
      to_sector: live.position_sector,
    });
  if (elsewhere) runs.push(runningRun('scrub', elsewhere, st!.position_sector));
  if (dead) runs.push(interruptedRun('scrub', dead, st!.position_sector, st!.updated));

  const conditions: VolumeState[] = [];
  if (scrub === 'running') conditions.push('checking');
  if (scrub === 'paused') conditions.push('check-paused');
  if (scrub === 'interrupted') conditions.push('check-interrupted');
  if (v.bad_blocks > 0 || v.read_errors > 0) conditions.push('errors');
  if (scrub === 'finished' && v.changed_since.length) conditions.push('changed');
  else if (scrub === 'finished' && !v.bad_blocks && !v.read_errors) conditions.push(v.unchecked_blocks > 0 || v.changed_during.length ? 'partial' : 'clean');
  if (scrub === 'none') conditions.push('not-checked');
  return { verification: v, job, runs, conditions };
}

function runningRun(job: 'scrub' | 'recalc', r: RunningMarker, fallbackPos: number): JobRun {
  return {
    job,
    by: r.by,
    started_at: r.since,
    ended_at: null,
    duration_ms: null,
    result: 'running',
    from_sector: r.from_sector ?? fallbackPos,
    to_sector: r.position_sector ?? fallbackPos,
  };
}

export interface RecalcInput {
  /** the superblock's flag and position (the kernel's) */
  recalculating: boolean;
  recalcSector: number;
  providedSectors: number;
  spb: number;
  hist: RecalcHistoryFile | null;
  /** this host's running recalculation (its latest progress) */
  live: JobProgress | null;
  liveRunning: boolean;
  /** another process holds the volume's write lock (a recalculation there, or any other writer) */
  lockedElsewhere: boolean;
  /** this session's last recalc job (a failure is kept until the next run) */
  last: JobProgress | null;
}

export interface RecalcView {
  job: JobProgress | null;
  runs: JobRun[];
  conditions: VolumeState[];
}

/** The recalculation of a volume: the superblock's position, this host's job, or the run another process keeps. */
export function recalcView(i: RecalcInput): RecalcView {
  const { hist, providedSectors: total, spb } = i;
  const pending = i.recalculating && i.recalcSector < total;
  const marker = hist?.running ?? null;
  const elsewhere = !i.liveRunning && runningElsewhere(hist) ? marker : null;
  const dead = !i.liveRunning && !elsewhere ? deadMarker(hist) : null;
  const lastRun = hist?.runs.at(-1);
  const runs: JobRun[] = [...(hist?.runs ?? [])];
  const conditions: VolumeState[] = [];
  const base = {
    job: 'recalc' as const,
    total_sectors: total,
    sectors_per_block: spb,
    mismatches: 0,
    bad_ranges: [] as Array<[number, number]>,
    journal: null,
  };
  let job: JobProgress | null = null;
  if (i.liveRunning) {
    conditions.push('recalculating');
    job = i.live;
    if (i.live)
      runs.push({
        job: 'recalc',
        by: 'dashboard',
        started_at: i.live.run_started_at ?? i.live.started_at ?? new Date().toISOString(),
        ended_at: null,
        duration_ms: null,
        result: 'running',
        from_sector: i.live.start_sector,
        to_sector: i.live.position_sector,
      });
  } else if (elsewhere || (pending && i.lockedElsewhere && !dead)) {
    conditions.push('recalculating');
    const pos = Math.max(i.recalcSector, elsewhere?.position_sector ?? 0);
    const bps = elsewhere?.bytes_per_second ?? 0;
    job = {
      ...base,
      state: 'running',
      position_sector: pos,
      start_sector: elsewhere?.from_sector ?? i.recalcSector,
      bytes_per_second: bps,
      eta_ms: eta(total, pos, bps),
      ...(elsewhere ? { started_at: elsewhere.since, run_started_at: elsewhere.since } : {}),
    };
    if (elsewhere) runs.push(runningRun('recalc', elsewhere, i.recalcSector));
  } else if (dead && pending) {
    conditions.push('recalc-interrupted');
    job = {
      ...base,
      state: 'interrupted',
      position_sector: i.recalcSector,
      start_sector: dead.from_sector ?? i.recalcSector,
      bytes_per_second: 0,
      eta_ms: null,
      started_at: dead.since,
    };
    runs.push(interruptedRun('recalc', dead, i.recalcSector, hist?.updated));
  } else if (pending) {
    const never = !runs.length && i.recalcSector === 0;
    conditions.push(never ? 'recalc-pending' : 'recalc-paused');
    job = {
      ...base,
      state: 'paused',
      position_sector: i.recalcSector,
      start_sector: i.recalcSector,
      bytes_per_second: 0,
      eta_ms: null,
      ...(lastRun ? { started_at: lastRun.started_at } : {}),
    };
  } else if (i.last?.state === 'failed') job = i.last;
  else if (i.recalculating || lastRun?.result === 'done') {
    // the kernel keeps the flag after finishing, with recalc_sector = provided_data_sectors
    job = {
      ...base,
      state: 'done',
      position_sector: total,
      start_sector: lastRun?.from_sector ?? 0,
      bytes_per_second: 0,
      eta_ms: 0,
      ...(lastRun ? { started_at: lastRun.started_at } : {}),
    };
  }
  if (dead && !pending) runs.push(interruptedRun('recalc', dead, i.recalcSector, hist?.updated));
  return { job, runs, conditions };
}
