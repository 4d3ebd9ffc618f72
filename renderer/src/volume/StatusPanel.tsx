// What is known about the volume, in zpool status order: state, scan, result, what was not checked and why, a
// labelled guess when every checked block failed, and what to do; then the sector map.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { SectorMap } from '../charts/SectorMap.js';
import { sectorsPerBlock } from '../lib/ranges.js';
import { summarize, SUSPECT_GUESS } from '../lib/states.js';
import { StateBadges } from '../volume-list/StateBadges.js';
import { errorsLine } from '../lib/fsmap-words.js';

export function scrubbedTo(v: VolumeSnapshot): number {
  const total = v.superblock?.provided_data_sectors ?? 0;
  const p = v.jobs.scrub;
  if (p && (p.state === 'running' || p.state === 'paused')) return p.position_sector;
  if (v.verification.scrub === 'finished') return total;
  if (v.verification.scrub === 'paused' || v.verification.scrub === 'running') return p?.position_sector ?? 0;
  return 0;
}

/** where recalculation stands: null when the superblock has no recalculating flag and no run is going on */
export function recalcAt(v: VolumeSnapshot): number | null {
  const p = v.jobs.recalc;
  if (p && (p.state === 'running' || p.state === 'paused')) return p.position_sector;
  return v.superblock?.recalc_sector ?? null;
}

export function StatusPanel({ v }: { v: VolumeSnapshot }) {
  const s = summarize(v);
  const errors = errorsLine(v.damage_map);
  return (
    <section className="panel" aria-labelledby="status-h">
      <h3 id="status-h" tabIndex={-1}>
        Status
      </h3>
      <dl className="kv status">
        <dt>State</dt>
        <dd>
          <StateBadges state={v.state} conditions={v.conditions} />
        </dd>
        <dt>Scan</dt>
        <dd data-testid="scan">{s.scan}</dd>
        <dt>Result</dt>
        <dd data-testid="result">{s.result}</dd>
        {errors ? (
          <>
            <dt>Errors</dt>
            <dd data-testid="errors-line">{errors}</dd>
          </>
        ) : null}
        {s.unchecked.length ? (
          <>
            <dt>Not checked</dt>
            <dd>
              <ul className="plain" aria-label="Blocks not checked">
                {s.unchecked.map((u) => (
                  <li key={u}>{u}</li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        {s.changed.length ? (
          <>
            <dt>Changed</dt>
            <dd>
              <ul className="plain" aria-label="Changes since the scrub" data-testid="changed">
                {s.changed.map((c) => (
                  <li key={c}>{c}</li>
                ))}
              </ul>
            </dd>
          </>
        ) : null}
        {s.suspect ? (
          <>
            <dt>Guess</dt>
            <dd className="warn" data-testid="suspect">
              Every checked block failed: {SUSPECT_GUESS} (a guess — the algorithm and key are not stored on disk, so a wrong one makes every tag mismatch).
            </dd>
          </>
        ) : null}
        {v.error && !(s.suspect && /probably/.test(v.error)) ? (
          <>
            <dt>Problem</dt>
            <dd className="error">{v.error}</dd>
          </>
        ) : null}
        {s.action ? (
          <>
            <dt>Action</dt>
            <dd data-testid="action">{s.action}</dd>
          </>
        ) : null}
      </dl>
      {v.superblock ? (
        <>
          <h4>Sector map</h4>
          <SectorMap
            total={v.superblock.provided_data_sectors}
            sectorsPerBlock={sectorsPerBlock(v)}
            recalcAt={recalcAt(v)}
            scrubbedTo={scrubbedTo(v)}
            bad={v.bad_ranges}
            readErrors={v.verification.read_error_ranges}
            damage={v.verification.damage}
            dirty={v.journal_disk?.kind === 'bitmap' ? v.journal_disk.dirty_ranges : undefined}
          />
        </>
      ) : null}
    </section>
  );
}
