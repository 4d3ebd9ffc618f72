// Recalculation and scrub: progress, state, one Start/Pause/Resume button (the same element whatever its label, so
// focus stays on it: Start → Pause → Resume), "Restart from start" asking first, the rate chart of the current run
// in a fixed place, and the last runs.
import type { JobKind, JobProgress, VolumeSnapshot } from '../../../engine/api.js';
import { RateChart } from '../charts/RateChart.js';
import { ConfirmButton } from '../lib/ConfirmButton.js';
import { formatCount, formatEta, formatRate, formatTime, percent, plural } from '../lib/format.js';
import { Progress } from '../lib/Progress.js';
import type { Dashboard } from '../store.js';
import { RunsTable } from './RunsTable.js';

type Cmd = 'startRecalc' | 'pauseRecalc' | 'resumeRecalc' | 'startScrub' | 'pauseScrub' | 'resumeScrub';

export interface JobView {
  /** what the panel says: running · paused · finished · failed · not started · not needed */
  state: string;
  detail: string;
  position: number;
  total: number;
  pct: number;
  toggle: { label: string; cmd: Cmd; enabled: boolean };
  restart: { enabled: boolean; question: string } | null;
}

/** who runs a job elsewhere, in words, from the run the host lists as running there */
function elsewhereWords(v: VolumeSnapshot, job: 'recalc' | 'scrub'): string | null {
  const r = v.runs.filter((x) => x.job === job && x.result === 'running').at(-1);
  if (!r || r.by === 'dashboard') return v.verification.running_elsewhere && job === 'scrub' ? 'another dashboard' : null;
  return 'the command line';
}

export function recalcView(v: VolumeSnapshot): JobView {
  const p = v.jobs.recalc,
    sb = v.superblock;
  const total = p?.total_sectors ?? sb?.provided_data_sectors ?? 0;
  const flagged = sb?.recalc_sector ?? null;
  const lastRun = v.runs.filter((r) => r.job === 'recalc').at(-1);
  let state: string,
    detail = '',
    position: number;
  // running in another process: this dashboard cannot pause it
  let elsewhere = false;
  // the kernel keeps the recalculating flag after finishing, with recalc_sector = provided_data_sectors
  const complete = p?.state === 'done' || flagged === null || flagged >= total;
  if (p?.state === 'running') {
    state = 'running';
    position = p.position_sector;
    const who = v.conditions.includes('recalculating') && lastRun?.result === 'running' && lastRun.by === 'cli' ? elsewhereWords(v, 'recalc') : null;
    if (who) {
      elsewhere = true;
      detail = `in another process (${who}): pause it there (Ctrl-C); the position it last reported is shown`;
    }
  } else if (p?.state === 'failed') {
    state = 'failed';
    position = p.position_sector;
    detail = p.error ?? '';
  } else if (p?.state === 'interrupted') {
    state = 'interrupted';
    position = p.position_sector;
    const reached = lastRun?.result === 'interrupted' ? lastRun.reached_sector : undefined;
    detail = `its process stopped without pausing (killed, crashed or power lost)${reached !== undefined && reached > position ? `; it had reached sector ${formatCount(reached)}` : ''}: Resume continues from sector ${formatCount(position)}, the position saved in the superblock${reached !== undefined && reached > position ? ', and recomputes the tags after it again' : ''}`;
  } else if (complete) {
    // what the superblock says, and no more: a finished recalculation computed tags from the data as it was
    position = total;
    if (p?.state === 'done' || lastRun?.result === 'done' || flagged !== null) {
      state = 'finished';
      detail = `the recalculation reached the end (superblock: ${flagged === null ? 'not recalculating' : 'recalc sector at the end'})${lastRun?.result === 'done' && lastRun.ended_at ? `; finished ${formatTime(lastRun.ended_at)}` : ''}`;
    } else {
      state = 'not needed';
      detail = 'nothing to recalculate: the superblock has no recalculating flag (whether the tags match the data, only a scrub tells)';
    }
    // bitmap mode left dirty: the superblock asks for no recalculation, but the dirty regions' tags may be stale
    const jd = v.journal_disk;
    if (jd?.kind === 'bitmap' && (jd.dirty_regions ?? 0) > 0) {
      detail = `the superblock asks for no recalculation, but ${plural(jd.dirty_blocks ?? 0, 'block')} in ${plural(jd.dirty_regions ?? 0, 'dirty bitmap region')} may hold stale tags: recalculate them in the Journal panel`;
    }
  } else {
    position = p?.state === 'paused' ? p.position_sector : flagged!;
    if (v.conditions.includes('recalc-pending')) {
      state = 'not started';
      detail = 'the superblock asks for every tag to be recalculated and none has been yet: no block can be verified';
    } else {
      state = 'paused';
      detail = 'tags past this position are not yet recomputed';
    }
  }
  const running = state === 'running',
    paused = state === 'paused' || state === 'interrupted';
  return {
    state,
    detail,
    position,
    total,
    pct: total ? Math.min(100, Math.floor((position / total) * 100)) : 0,
    toggle: running
      ? { label: 'Pause recalculation', cmd: 'pauseRecalc', enabled: !elsewhere }
      : paused
        ? { label: 'Resume recalculation', cmd: 'resumeRecalc', enabled: true }
        : { label: 'Start recalculation', cmd: 'startRecalc', enabled: (state === 'not started' || state === 'failed') && !v.conditions.includes('needs-key') },
    restart: {
      enabled: !running && (paused || state === 'failed' || state === 'not started'),
      question: `Restart the recalculation from sector 0? Its position (sector ${formatCount(position)}) is lost and tags already recomputed are computed again.`,
    },
  };
}

export function scrubView(v: VolumeSnapshot): JobView {
  const p = v.jobs.scrub,
    x = v.verification;
  const total = p?.total_sectors ?? v.superblock?.provided_data_sectors ?? 0;
  let state: string,
    detail = '',
    position: number;
  let elsewhere = false;
  if (p?.state === 'running' || x.scrub === 'running') {
    state = 'running';
    position = p?.position_sector ?? x.position_sector;
    const e = x.running_elsewhere;
    if (e) {
      elsewhere = true;
      detail = `in another process (${e.by === 'cli' ? 'the command line' : 'another dashboard'}, pid ${e.pid}): pause it there (Ctrl-C); the position it last saved is shown`;
    }
  } else if (x.scrub === 'interrupted') {
    const i = x.interrupted!;
    state = 'interrupted';
    position = i.saved_sector;
    detail = `its process stopped without pausing it (killed, crashed or power lost)${i.reached_sector !== null && i.reached_sector > i.saved_sector ? `; it had reached sector ${formatCount(i.reached_sector)}` : ''}: Resume continues from sector ${formatCount(i.saved_sector)}, the last position saved`;
  } else if (p?.state === 'paused' || x.scrub === 'paused') {
    state = 'paused';
    position = p?.position_sector ?? x.position_sector;
    detail = `paused at sector ${formatCount(position)}: Resume continues from there`;
  } else if (p?.state === 'failed') {
    state = 'failed';
    position = p.position_sector;
    detail = p.error ?? '';
  } else if (x.scrub === 'finished' || p?.state === 'done') {
    state = 'finished';
    position = total;
    detail = x.finished_at ? `finished ${formatTime(x.finished_at)}` : '';
  } else {
    state = 'not started';
    position = 0;
  }
  const running = state === 'running',
    paused = state === 'paused' || state === 'interrupted';
  return {
    state,
    detail,
    position,
    total,
    pct: percent({ position_sector: position, total_sectors: total }),
    toggle: running
      ? { label: 'Pause scrub', cmd: 'pauseScrub', enabled: !elsewhere }
      : paused
        ? { label: 'Resume scrub', cmd: 'resumeScrub', enabled: !v.luks?.locked }
        : { label: 'Start scrub', cmd: 'startScrub', enabled: !!v.superblock && !v.luks?.locked && !v.conditions.includes('needs-key') },
    restart: paused
      ? {
          enabled: !v.conditions.includes('needs-key'),
          question: `Start the scrub again from sector 0? Its position (${percent({ position_sector: position, total_sectors: total })}%) is lost.`,
        }
      : null,
  };
}

export function JobPanel({ v, kind, d }: { v: VolumeSnapshot; kind: Exclude<JobKind, 'wipe'>; d: Pick<Dashboard, 'act' | 'pending' | 'rates'> }) {
  const own = kind === 'recalc' ? recalcView(v) : scrubView(v);
  // the kernel holds it: the app's engine does not open it (the host refuses), so nothing here starts
  const held = !!v.kernel && own.state !== 'running';
  const view = held ? { ...own, toggle: { ...own.toggle, enabled: false }, restart: own.restart ? { ...own.restart, enabled: false } : null } : own;
  const p: JobProgress | undefined = v.jobs[kind];
  const name = kind === 'recalc' ? 'Recalculation' : 'Scrub';
  const busy = !!d.pending[`${view.toggle.cmd}:${v.id}`];
  const running = view.state === 'running';
  const samples = d.rates[v.id]?.[kind]?.samples ?? [];
  const idle = running ? 'waiting for the first samples' : 'not running';
  return (
    <section aria-labelledby={`${kind}-h`} className="panel">
      <h3 id={`${kind}-h`} tabIndex={-1}>
        {name}
      </h3>
      <Progress label={`${name} progress`} value={view.pct} />
      <p>
        State: <strong data-testid={`${kind}-state`}>{view.state}</strong>
        {view.detail ? <span className="muted"> — {view.detail}</span> : null}
      </p>
      <p className="muted small">
        Position: <span data-testid={`${kind}-position`}>{formatCount(view.position)}</span> of {formatCount(view.total)} sectors · Rate:{' '}
        {running && p ? formatRate(p.bytes_per_second) : '—'} · ETA: {running ? formatEta(p?.eta_ms ?? null) : '—'}
        {v.speed_limit_mib_s ? (
          <>
            {' '}
            · <span data-testid={`${kind}-speed-limit`}>limited to {formatCount(v.speed_limit_mib_s)} MiB/s (Edit to change)</span>
          </>
        ) : null}
      </p>
      {held ? (
        <p className="warn small" data-testid={`${kind}-kernel-held`}>
          The kernel holds it (/dev/mapper/{v.kernel?.name}): {kind === 'recalc' ? 'its recalculation runs in the kernel' : 'scrub it while in use'} under
          Kernel devices.
        </p>
      ) : null}
      {view.state === 'not needed' ? null : (
        <>
          <div className="row">
            <button
              type="button"
              className="primary"
              aria-disabled={!view.toggle.enabled || busy}
              aria-busy={busy}
              onClick={() => {
                if (view.toggle.enabled && !busy) void d.act(view.toggle.cmd, v.id);
              }}
            >
              {view.toggle.label}
            </button>
            {view.restart ? (
              <ConfirmButton
                label={`Restart ${kind === 'recalc' ? 'recalculation' : 'scrub'} from start`}
                confirmLabel="Restart from start"
                className="secondary"
                disabled={!view.restart.enabled}
                question={view.restart.question}
                onConfirm={() => d.act(kind === 'recalc' ? 'resetRecalc' : 'startScrub', v.id)}
              />
            ) : null}
          </div>
          <RateChart samples={samples} label={`${name} rate${!running && samples.length >= 1 ? ' (last run)' : ''}`} idle={idle} />
        </>
      )}
      <h4>Last runs</h4>
      <RunsTable runs={v.runs} job={kind} />
    </section>
  );
}
