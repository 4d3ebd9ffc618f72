// The journal as it is on disk (not this session's activity): sections, committed entries awaiting replay (what a
// read-only open overlays), commit sequence, fill; and "Replay journal", which asks first.
import type { VolumeSnapshot } from '../../../engine/api.js';
import { ConfirmButton } from '../lib/ConfirmButton.js';
import { formatCount, plural } from '../lib/format.js';
import type { Dashboard } from '../store.js';

export function JournalPanel({ v, d }: { v: VolumeSnapshot; d: Pick<Dashboard, 'act' | 'pending'> }) {
  const j = v.journal_disk;
  return (
    <section className="panel" aria-labelledby="journal-h">
      <h3 id="journal-h" tabIndex={-1}>Journal</h3>
      {!j ? <p className="muted">{v.mode === 'direct' ? 'No journal: direct mode.' : 'The journal area could not be read.'}</p>
        : j.unreadable ? <p className="warn">Not readable: {j.unreadable}</p>
        : j.kind === 'bitmap' ? (
          <dl className="kv">
            <dt>Area</dt><dd>dirty bitmap (bitmap mode)</dd>
            <dt>Dirty regions</dt><dd>{formatCount(j.dirty_regions ?? 0)}</dd>
            <dt>Dirty blocks</dt><dd>{formatCount(j.dirty_blocks ?? 0)} (not verified until recalculated on the next writable open)</dd>
          </dl>
        ) : (
          <>
            <dl className="kv">
              <dt>Sections</dt><dd>{formatCount(j.sections)} × {formatCount(j.section_entries)} entries</dd>
              <dt>Committed, awaiting replay</dt><dd data-testid="journal-committed">{plural(j.committed_entries, 'entry', 'entries')} in {plural(j.committed_sections, 'section')}</dd>
              <dt>Commit sequence</dt><dd>{j.commit_seq === null ? '— (empty)' : j.commit_seq}</dd>
              <dt>Fill</dt><dd>{(j.fill * 100).toFixed(1)}%</dd>
              {j.torn_entries ? <><dt>Torn tail</dt><dd>{plural(j.torn_entries, 'entry', 'entries')} after the last commit (ignored by replay, as by the kernel)</dd></> : null}
            </dl>
            <p className="muted small">
              {j.committed_entries
                ? 'These writes were committed but not yet copied to the data and tag areas. A read-only open shows them (overlaid); a writable open — by the kernel or here — replays them first.'
                : 'Nothing awaits replay: the data and tag areas hold every committed write.'}
            </p>
            <ConfirmButton label="Replay journal" confirmLabel="Replay now" disabled={!j.committed_entries || !!d.pending[`replayJournal:${v.id}`]}
              question={`Replay ${plural(j.committed_entries, 'committed entry', 'committed entries')} into the data and tag areas, as the kernel does on activation? This writes to the image.`}
              onConfirm={() => d.act('replayJournal', v.id)} />
          </>
        )}
      {v.journal ? <p className="muted small">This session: {plural(v.journal.commits, 'commit')}, {plural(v.journal.entries_in_use, 'entry', 'entries')} written and not yet committed.</p> : null}
    </section>
  );
}
