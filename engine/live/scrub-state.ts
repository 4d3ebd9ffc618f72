// Where a live scrub keeps its position and findings across restarts: like the offline scrub's state file
// (engine/jobs/state.ts: written durably, one per volume, the last runs kept, a marker while a run goes on), under
// the state folder with its own name, live-scrub.<dm name>.json. It names the volume by its dm UUID and the
// superblock's salt and size, so a state left by another volume under the same name is never resumed.
import fs from 'node:fs';
import path from 'node:path';
import { runningMarker, stateDir, writeJsonDurably, type JobStateFile } from '../jobs/state.js';
import { emptyUnchecked, type LiveScrubPosition } from './scrub-run.js';

export const MAX_LIVE_RUNS = 20;

export interface LiveScrubRun {
  by: 'cli' | 'dashboard';
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  result: 'running' | 'paused' | 'done' | 'failed';
  from_sector: number;
  to_sector: number;
  bad_blocks: number;
  read_errors: number;
  unchecked_blocks: number;
  kernel_mismatch_increase: number;
  error?: string;
}

export interface LiveScrubState extends LiveScrubPosition {
  kind: 'live-scrub';
  name: string;
  /** the device read (/dev/mapper/NAME or the dm-crypt device above) */
  device: string;
  /** dm UUID | superblock salt:provided_data_sectors */
  identity: string;
  /** who verified the reads */
  verified_by: 'dm-integrity' | 'dm-crypt' | 'nothing';
  state: 'paused' | 'done';
  started_at: string;
  finished_at: string | null;
  duration_ms: number;
  runs: LiveScrubRun[];
  running: JobStateFile['running'];
  updated?: string;
}

export function liveScrubStatePath(name: string): string {
  return path.join(stateDir(), `live-scrub.${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`);
}

export function readLiveScrubState(name: string, identity?: string): LiveScrubState | null {
  let j: LiveScrubState;
  try {
    j = JSON.parse(fs.readFileSync(liveScrubStatePath(name), 'utf8')) as LiveScrubState;
  } catch {
    return null;
  }
  if (j?.kind !== 'live-scrub' || typeof j.position_sector !== 'number' || !Array.isArray(j.bad_ranges)) return null;
  if (identity !== undefined && j.identity !== identity) return null;
  if (!Array.isArray(j.runs)) j.runs = [];
  j.unchecked = { ...emptyUnchecked(), ...j.unchecked };
  return j;
}

export function writeLiveScrubState(st: LiveScrubState): void {
  writeJsonDurably(liveScrubStatePath(st.name), { ...st, updated: new Date().toISOString() });
}

/** The paused state to resume (same volume, same size and block size), or a fresh one from sector 0. */
export function resumeLiveScrubState(init: {
  name: string;
  device: string;
  identity: string;
  verified_by: LiveScrubState['verified_by'];
  total_sectors: number;
  block_sectors: number;
  reset?: boolean;
}): LiveScrubState {
  const prev = readLiveScrubState(init.name, init.identity);
  if (!init.reset && prev && prev.state === 'paused' && prev.total_sectors === init.total_sectors && prev.block_sectors === init.block_sectors) {
    return { ...prev, device: init.device, verified_by: init.verified_by, start_sector: prev.position_sector };
  }
  return {
    kind: 'live-scrub',
    name: init.name,
    device: init.device,
    identity: init.identity,
    verified_by: init.verified_by,
    state: 'paused',
    position_sector: 0,
    start_sector: 0,
    total_sectors: init.total_sectors,
    block_sectors: init.block_sectors,
    checked_blocks: 0,
    bad_blocks: 0,
    bad_ranges: [],
    read_errors: 0,
    read_error_ranges: [],
    unchecked: emptyUnchecked(),
    failed_reads: 0,
    kernel_mismatches: { at_start: null, now: null, increase: 0, table_loads_seen: 0 },
    started_at: new Date().toISOString(),
    finished_at: null,
    duration_ms: 0,
    runs: prev?.runs ?? [],
    running: null,
  };
}

export function pushLiveRun(runs: LiveScrubRun[], run: LiveScrubRun): LiveScrubRun[] {
  const out = [...runs, run];
  return out.slice(Math.max(0, out.length - MAX_LIVE_RUNS));
}

export { runningMarker };
