// The journal as it is on disk (not this session's activity): sections, committed entries awaiting replay (what a
// read-only open overlays), commit sequence, fill; and "Replay journal", which asks first.
import { useRef, useState } from 'react';
import type { VolumeSnapshot } from '../../../engine/api.js';
import { ConfirmButton } from '../lib/ConfirmButton.js';
import { Progress } from '../lib/Progress.js';
import { formatCount, formatDuration, formatEta, percent, plural } from '../lib/format.js';
import type { Dashboard } from '../store.js';

type ReplayProgress = Dashboard['replayProgress'][string];

/** the dirty-region recalculation of Replay journal: position, time, and an ETA said to be an estimate */
function ReplayProgressView({ p }: { p: ReplayProgress | undefined }) {
  const pct = p ? percent({ position_sector: p.done, total_sectors: p.total }) : 0;
  // clean regions are passed over at once, so a time left from the position so far is only an estimate
  const eta = p && p.done > 0 && p.done < p.total ? (p.elapsed_ms / p.done) * (p.total - p.done) : null;
  return (
    // biome-ignore lint/a11y/useSemanticElements: a progress bar and its figures, not form controls (no fieldset)
    <div role="group" aria-label="Recalculation of the dirty regions" data-testid="replay-progress">
      <Progress label="Recalculating the dirty regions" value={pct} />
      <p className="muted small">
        {p
          ? `${formatCount(p.done)} of ${formatCount(p.total)} sectors reached · ${formatDuration(p.elapsed_ms)}${eta !== null ? ` · about ${formatEta(eta)} left (an estimate: clean regions are passed over at once)` : ''}`
          : 'starting…'}
      </p>
    </div>
  );
}

export function JournalPanel({ v, d }: { v: VolumeSnapshot; d: Pick<Dashboard, 'act' | 'pending'> & Partial<Pick<Dashboard, 'replayProgress'>> }) {
  const j = v.journal_disk;
  const replaying = !!d.pending[`replayJournal:${v.id}`];
  // what the last replay did, said where the button was (it is disabled once nothing awaits replay, so focus goes to
  // this panel's heading rather than to the page's body)
  const [outcome, setOutcome] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const replay = async (what: string) => {
    setOutcome(null);
    const r = await d.act('replayJournal', v.id);
    if (r)
      setOutcome(
        `${what} at ${new Date().toLocaleTimeString('en-GB')}: ${r.journal_disk?.kind === 'bitmap' ? `${plural(r.journal_disk.dirty_regions ?? 0, 'dirty region')} left` : `${plural(r.journal_disk?.committed_entries ?? 0, 'entry', 'entries')} left to replay`}.`,
      );
    heading.current?.focus();
  };
  return (
    <section className="panel" aria-labelledby="journal-h">
      <h3 id="journal-h" tabIndex={-1} ref={heading}>
        Journal
      </h3>
      {!j ? (
        <p className="muted">{v.mode === 'direct' ? 'No journal: direct mode.' : 'The journal area could not be read.'}</p>
      ) : j.unreadable ? (
        <p className="warn">Not readable: {j.unreadable}</p>
      ) : j.kind === 'bitmap' ? (
        <>
          <dl className="kv">
            <dt>Area</dt>
            <dd>dirty bitmap (bitmap mode)</dd>
            <dt>Dirty regions</dt>
            <dd data-testid="dirty-regions">{formatCount(j.dirty_regions ?? 0)}</dd>
            <dt>Dirty blocks</dt>
            <dd>
              {formatCount(j.dirty_blocks ?? 0)}
              {j.dirty_blocks ? ' (not verified until recalculated)' : ''}
            </dd>
          </dl>
          <p className="muted small">
            {j.dirty_regions
              ? 'The volume was not closed cleanly: blocks in these regions may have been written without their tags. The kernel recalculates them when it next activates the volume; "Recalculate dirty regions" does the same here (a writable open).'
              : 'No dirty region: every region was closed cleanly.'}
          </p>
          {replaying ? <ReplayProgressView p={d.replayProgress?.[v.id]} /> : null}
          <ConfirmButton
            label={replaying ? 'Recalculating…' : 'Recalculate dirty regions'}
            confirmLabel="Recalculate now"
            disabled={!j.dirty_regions || replaying || !!v.kernel}
            question={`Recalculate the tags of ${plural(j.dirty_blocks ?? 0, 'block')} in ${plural(j.dirty_regions ?? 0, 'dirty region')}, as the kernel does on activation? This writes to the image, and the data of those blocks is taken as it is.`}
            onConfirm={() => replay('Dirty regions recalculated')}
          />
        </>
      ) : (
        <>
          <dl className="kv">
            <dt>Sections</dt>
            <dd>
              {formatCount(j.sections)} × {formatCount(j.section_entries)} entries
            </dd>
            <dt>Committed, awaiting replay</dt>
            <dd data-testid="journal-committed">
              {plural(j.committed_entries, 'entry', 'entries')} in {plural(j.committed_sections, 'section')}
            </dd>
            <dt>Commit sequence</dt>
            <dd>{j.commit_seq === null ? '— (empty)' : j.commit_seq}</dd>
            <dt>Fill</dt>
            <dd>{(j.fill * 100).toFixed(1)}%</dd>
            {j.torn_entries ? (
              <>
                <dt>Torn tail</dt>
                <dd>{plural(j.torn_entries, 'entry', 'entries')} after the last commit (ignored by replay, as by the kernel)</dd>
              </>
            ) : null}
          </dl>
          <p className="muted small">
            {j.committed_entries
              ? 'These writes were committed but not yet copied to the data and tag areas. A read-only open shows them (overlaid); a writable open — by the kernel or here — replays them first.'
              : 'Nothing awaits replay: the data and tag areas hold every committed write.'}
          </p>
          <ConfirmButton
            label={replaying ? 'Replaying…' : 'Replay journal'}
            confirmLabel="Replay now"
            disabled={!j.committed_entries || replaying || !!v.kernel}
            question={`Replay ${plural(j.committed_entries, 'committed entry', 'committed entries')} into the data and tag areas, as the kernel does on activation? This writes to the image.`}
            onConfirm={() => replay('Journal replayed')}
          />
        </>
      )}
      {outcome ? (
        <p className="ok" role="status" data-testid="replay-outcome">
          {outcome}
        </p>
      ) : null}
      {v.journal ? (
        <p className="muted small">
          This session: {plural(v.journal.commits, 'commit')}, {plural(v.journal.entries_in_use, 'entry', 'entries')} written and not yet committed.
        </p>
      ) : null}
    </section>
  );
}
