// The last runs of a job (from the state files the CLI writes too): start, end, duration, result.
import type { JobKind, JobRun } from '../../../engine/api.js';
import { formatCount, formatDuration, formatTime } from '../lib/format.js';

const RESULT: Record<JobRun['result'], string> = {
  running: 'running',
  paused: 'paused',
  done: 'finished',
  failed: 'failed',
  interrupted: 'interrupted (its process stopped)',
};

export function RunsTable({ runs, job, max = 5 }: { runs: JobRun[]; job: JobKind; max?: number }) {
  const mine = runs
    .filter((r) => r.job === job)
    .slice(-max)
    .reverse();
  const name = job === 'recalc' ? 'recalculation' : job;
  if (!mine.length) return <p className="muted small">No {name} has run on this volume yet.</p>;
  return (
    <div className="table-wrap">
      <table className="runs" aria-label={`Last ${name} runs`}>
        <thead>
          <tr>
            <th>Started</th>
            <th>Ended</th>
            <th>Duration</th>
            <th>Result</th>
            <th>Sectors</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          {mine.map((r) => (
            <tr key={`${r.job}-${r.started_at}-${r.from_sector}`}>
              <td>{formatTime(r.started_at)}</td>
              <td>{formatTime(r.ended_at)}</td>
              <td>{formatDuration(r.duration_ms)}</td>
              <td>
                {RESULT[r.result]}
                {r.bad_blocks ? ` · ${formatCount(r.bad_blocks)} bad` : ''}
                {r.read_errors ? ` · ${formatCount(r.read_errors)} read errors` : ''}
                {r.unchecked_blocks ? ` · ${formatCount(r.unchecked_blocks)} not checked` : ''}
                {r.error ? `: ${r.error}` : ''}
              </td>
              <td>
                {formatCount(r.from_sector)}–{formatCount(r.to_sector)}
                {r.result === 'interrupted' && r.reached_sector !== undefined && r.reached_sector > r.to_sector
                  ? ` (reached ${formatCount(r.reached_sector)}; redone from ${formatCount(r.to_sector)})`
                  : ''}
              </td>
              <td>{r.by === 'cli' ? 'CLI' : 'dashboard'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
