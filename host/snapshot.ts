// A volume as the dashboard may describe it, read from disk every time (never from a cache of ours): the
// superblock, the journal area, the job state files engine/jobs writes for the CLI and the dashboard alike, and
// this host's running jobs. States come in order of importance; the first is the badge.
import fs from 'node:fs';
import { openVolume, type Volume } from '../engine/volume.js';
import { flagNames, SB_FLAG_RECALCULATING } from '../engine/layout/superblock.js';
import { algorithmInfo } from '../engine/hash/index.js';
import { journalOnDisk } from '../engine/integrity/journal-disk.js';
import { DASHBOARD_ALGORITHM_REMEDY, everyBlockFailedHint } from '../engine/hints.js';
import { jobStatePath, readJobStateAt, readRecalcHistory, volumeIdOf } from '../engine/jobs/state.js';
import { fingerprintOf } from '../engine/jobs/fingerprint.js';
import { emptySummary } from '../engine/jobs/damage.js';
import { lockHolder } from '../engine/io/lock.js';
import type { JournalOnDisk, Verification, VolumeSnapshot, VolumeState } from '../engine/api.js';
import { dmTable, openCommand } from './open-command.js';
import { keysRequired, missingKeys, missingWords } from './keys.js';
import { engineOptions, type KeyName } from './requests.js';
import { recalcView, scanView } from './job-views.js';
import { fillLuksSnapshot } from './luks/header-view.js';
import type { Entry } from './volumes.js';
import { damageMapSummary } from './fsmap/index.js';

/** Conditions in order of importance (the first is the badge). */
export const ORDER: VolumeState[] = [
  'missing',
  'unreadable',
  'formatting',
  'locked',
  'needs-key',
  'checking',
  'recalculating',
  'errors',
  'check-interrupted',
  'recalc-interrupted',
  'journal-replay',
  'recalc-pending',
  'recalc-paused',
  'check-paused',
  'changed',
  'partial',
  'not-checked',
  'clean',
];

export function emptyVerification(totalBlocks: number): Verification {
  return {
    scrub: 'none',
    started_at: null,
    finished_at: null,
    duration_ms: null,
    position_sector: 0,
    running_elsewhere: null,
    interrupted: null,
    total_blocks: totalBlocks,
    checked_blocks: 0,
    bad_blocks: 0,
    bad_ranges: [],
    damage: emptySummary(1),
    carried_over: null,
    changed_since: [],
    changed_during: [],
    change_detection: 'image',
    read_errors: 0,
    read_error_ranges: [],
    unchecked_blocks: totalBlocks,
    unchecked: totalBlocks ? [{ reason: 'not-reached', blocks: totalBlocks }] : [],
    suspect_algorithm_or_key: false,
  };
}

/** The scrub state file of a volume (plain or LUKS2), named by its salt and size, with the file's path. */

export function snapshotOf(e: Entry, hostStartedAt: string, kernel: VolumeSnapshot['kernel'] = null): VolumeSnapshot {
  const o = e.options;
  const s: VolumeSnapshot = {
    id: e.id,
    name: e.name,
    path: e.path,
    data_device: o.data_device,
    size_bytes: 0,
    algorithm: o.integrity,
    mode: o.mode,
    state: 'not-checked',
    conditions: [],
    error_count: 0,
    bad_ranges: [],
    verification: emptyVerification(0),
    superblock: null,
    geometry: null,
    journal: e.jobs.recalc?.journal ?? e.jobs.scrub?.journal ?? null,
    journal_disk: null,
    jobs: { ...e.jobs },
    runs: [],
    options: { ...o },
    keys: { integrity: !!e.keys.integrity, journalIntegrity: !!e.keys.journalIntegrity, journalCrypt: !!e.keys.journalCrypt },
    keys_required: keysRequired(o, null),
    open_command: '',
    dm_table: '',
    error: e.error ?? e.keyWarning,
    speed_limit_mib_s: e.speedLimit,
    kernel,
  };
  const finish = (conds: VolumeState[]): VolumeSnapshot => {
    s.conditions = ORDER.filter((c) => conds.includes(c));
    s.state = s.conditions[0] ?? 'not-checked';
    s.damage_map = damageMapSummary(e, s);
    return s;
  };
  if (e.formatting) return finish(['formatting']);
  const gone = [e.path, o.data_device].filter((p): p is string => !!p && !fs.existsSync(p));
  if (gone.length) {
    s.error = `${gone.join(' and ')} ${gone.length > 1 ? 'are' : 'is'} missing (moved, deleted or detached); the volume stays in the list until removed`;
    return finish(['missing']);
  }
  if (e.luks) {
    s.keys_required = { integrity: false, journalIntegrity: false, journalCrypt: false };
    return finish(
      fillLuksSnapshot(s, { path: e.path, name: e.name, handles: e.handles, jobs: e.jobs, error: e.error, locked: !e.luks.volumeKey }, hostStartedAt),
    );
  }
  let sbVol: Volume;
  try {
    sbVol = openVolume(e.path, { dataDevice: o.data_device ?? undefined, superblockOnly: true });
  } catch (err) {
    s.error = (err as Error).message;
    return finish(['unreadable']);
  }
  const conds: VolumeState[] = [];
  try {
    const sb = sbVol.sb,
      g = sbVol.geometry;
    const spb = g.sectors_per_block;
    s.size_bytes = sb.provided_data_sectors * 512;
    const recalculating = !!(sb.flags & SB_FLAG_RECALCULATING);
    s.superblock = {
      version: sb.version,
      flags: flagNames(sb.flags),
      integrity_tag_size: sb.integrity_tag_size,
      journal_sections: sb.journal_sections,
      provided_data_sectors: sb.provided_data_sectors,
      log2_interleave_sectors: sb.log2_interleave_sectors,
      log2_sectors_per_block: sb.log2_sectors_per_block,
      log2_blocks_per_bitmap_bit: sb.log2_blocks_per_bitmap_bit,
      recalc_sector: recalculating ? sb.recalc_sector : null,
    };
    s.geometry = {
      block_size: g.block_size,
      tag_size: g.tag_size,
      initial_sectors: g.initial_sectors,
      metadata_run: g.metadata_run,
      journal_section_sectors: g.journal_section_sectors,
      journal_entries: g.journal_entries,
      meta_dev: g.meta_dev,
    };
    s.keys_required = keysRequired(o, sb.flags);
    const missing = missingKeys(e, sb.flags);
    if (missing.length) {
      conds.push('needs-key');
      s.error = s.error ?? `${missingWords(missing)} (keys are forgotten when the host restarts): use Unlock`;
    }
    const idHex = volumeIdOf(sb);

    // recalculation: the position is the superblock's (the kernel's); runs and a run going on elsewhere from the
    // recalc history file; a recalculation another process runs also holds the volume's write lock
    const rv = recalcView({
      recalculating,
      recalcSector: sb.recalc_sector,
      providedSectors: sb.provided_data_sectors,
      spb,
      hist: readRecalcHistory(e.path, idHex),
      live: e.jobs.recalc ?? null,
      liveRunning: !!e.handles.recalc,
      lockedElsewhere: !e.handles.recalc && lockHolder(e.path) !== null,
      last: e.jobs.recalc ?? null,
    });
    if (rv.job) s.jobs.recalc = rv.job;
    else delete s.jobs.recalc;
    conds.push(...rv.conditions);

    // scrub: the state file engine/jobs writes (the CLI's and ours), or this session's running job
    const stateFile = jobStatePath(e.path, 'scrub');
    const sv = scanView({
      st: readJobStateAt(stateFile, idHex),
      live: e.jobs.scrub ?? null,
      liveRunning: !!e.handles.scrub,
      totalSectors: sb.provided_data_sectors,
      spb,
      now: fingerprintOf(sbVol),
      hostStartedAt,
      stateFile,
    });
    const v = sv.verification;
    s.verification = v;
    s.error_count = v.bad_blocks;
    s.bad_ranges = v.bad_ranges;
    if (sv.job && !(sv.job.state !== 'running' && e.jobs.scrub?.state === 'failed')) s.jobs.scrub = sv.job;
    else if (e.jobs.scrub?.state !== 'failed') delete s.jobs.scrub;
    conds.push(...sv.conditions);
    if (v.suspect_algorithm_or_key && !e.error) {
      s.error = `${everyBlockFailedHint(o.integrity, algorithmInfo(o.integrity).keyed, DASHBOARD_ALGORITHM_REMEDY)} (a guess)`;
    }

    // history: both files, newest last, with what runs now (here or elsewhere) and what was interrupted
    s.runs = [...rv.runs, ...sv.runs].sort((a, b) => a.started_at.localeCompare(b.started_at));

    // the journal as it is on disk (needs the journal keys when it has a MAC or is encrypted)
    s.journal_disk = journalDisk(e, sbVol, missing);
    if (s.journal_disk.committed_entries > 0) conds.push('journal-replay');

    const input = {
      path: e.path,
      name: e.name,
      options: o,
      bufferSectors: e.bufferSectors,
      keySizes: { integrity: e.keys.integrity?.length, journalIntegrity: e.keys.journalIntegrity?.length, journalCrypt: e.keys.journalCrypt?.length },
    };
    s.open_command = openCommand(input, sb);
    s.dm_table = dmTable(input, sb, g);
  } catch (err) {
    s.error = (err as Error).message;
    conds.push('unreadable');
  } finally {
    sbVol.close();
  }
  return finish(conds);
}

/** The journal area as it is on disk, read without writing; why not, when it cannot be read now. */
function journalDisk(e: Entry, sbVol: Volume, missing: KeyName[]): JournalOnDisk {
  const g = sbVol.geometry;
  const none = (unreadable: string): JournalOnDisk => ({
    kind: e.options.mode === 'bitmap' ? 'bitmap' : 'journal',
    sections: g.journal_sections,
    section_entries: g.journal_section_entries,
    committed_entries: 0,
    committed_sections: 0,
    commit_seq: null,
    fill: 0,
    torn_entries: 0,
    unreadable,
  });
  const journalKeysMissing = missing.filter((k) => k !== 'integrity');
  if (journalKeysMissing.length) return none(`${missingWords(journalKeysMissing)}: Unlock to read the journal`);
  // another process writes it (a recalculation, a write): its journal is read once it has finished
  const writer = lockHolder(e.path);
  if (writer) return none(`another process (pid ${writer.info.pid}) is writing the volume: the journal is read again when it has finished`);
  // without the integrity key the tags of replayed entries cannot be checked, but the journal can be read
  const o = missing.includes('integrity') ? { ...e.options, integrity: 'crc32c' } : e.options;
  let vol: Volume;
  try {
    vol = openVolume(e.path, { ...engineOptions(o, e.keys), superblockOnly: true, readOnly: true });
  } catch (err) {
    return { ...none((err as Error).message), kind: 'journal' };
  }
  try {
    const j = journalOnDisk(vol, e.options.mode);
    if (missing.includes('integrity') && j.unreadable && /tag/.test(j.unreadable)) delete j.unreadable;
    return j;
  } finally {
    vol.close();
  }
}
