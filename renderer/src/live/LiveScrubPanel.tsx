// Our own scrub of a live (possibly mounted) device: aligned O_DIRECT reads the kernel verifies, resumable, with a
// speed limit so the file system stays usable; progress, rate, ETA, bad blocks, and what the kernel did not verify.
import { useEffect, useState } from 'react';
import { useStore } from 'zustand';
import { Progress } from '../lib/Progress.js';
import { formatCount, formatDuration, formatRate, plural } from '../lib/format.js';
import type { DashboardStore } from '../store.js';
import { uncheckedWords } from './live-words.js';
import { LiveDamageMap } from './LiveDamageMap.js';

export function LiveScrubPanel({ store, name, verifiedBy }: { store: DashboardStore; name: string; verifiedBy: string }) {
  const p = useStore(store, (s) => s.liveScrubs[name]);
  const [limit, setLimit] = useState('');
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    store
      .getState()
      .call('liveScrubProgress', name)
      .then(
        (v) => {
          if (v && !store.getState().liveScrubs[name]) store.getState().applyEvents([{ type: 'live-scrub', name, progress: v }]);
        },
        () => undefined,
      );
  }, [store, name]);
  const running = p?.state === 'running';
  const start = (reset: boolean) => {
    const max = Number(limit);
    store
      .getState()
      .call('startLiveScrub', name, { ...(limit && max > 0 ? { maxMiBs: Math.round(max) } : {}), ...(reset ? { reset: true } : {}) })
      .then(
        (v) => {
          store.getState().applyEvents([{ type: 'live-scrub', name, progress: v }]);
          setError(null);
        },
        (e: Error) => setError(e.message),
      );
  };
  const pct = p ? Math.min(100, Math.floor((p.position_sector / Math.max(1, p.total_sectors)) * 100)) : 0;
  return (
    <section className="panel" aria-labelledby="live-scrub-h" data-testid="live-scrub">
      <h3 id="live-scrub-h">Scrub while in use</h3>
      <p className="small muted">
        Reads every block of the device with direct I/O, so {verifiedBy === 'dm-crypt' ? 'dm-crypt' : 'the kernel'} verifies each one from the disk; a failing
        read is narrowed down to its blocks. The position is saved: a paused scrub continues where it stopped.
      </p>
      <div className="row">
        <label className="field">
          Speed limit, MiB/s (empty: none)
          <input inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value.replace(/[^0-9]/g, ''))} disabled={running} />
        </label>
        {running ? (
          <button
            type="button"
            onClick={() =>
              store
                .getState()
                .call('pauseLiveScrub', name)
                .then(
                  (v) => store.getState().applyEvents([{ type: 'live-scrub', name, progress: v }]),
                  (e: Error) => setError(e.message),
                )
            }
          >
            Pause scrub
          </button>
        ) : (
          <button type="button" onClick={() => start(false)}>
            {p?.state === 'paused' ? 'Resume scrub' : 'Start scrub'}
          </button>
        )}
        {!running && p && p.state !== 'running' ? (
          <button type="button" className="secondary" onClick={() => start(true)}>
            Scrub again from the start
          </button>
        ) : null}
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {p ? (
        <>
          <Progress label="Live scrub" value={pct} />
          <dl className="facts">
            <dt>State</dt>
            <dd data-testid="live-scrub-state">
              {p.state}
              {p.error ? `: ${p.error}` : ''}
            </dd>
            <dt>Reached</dt>
            <dd>
              sector {formatCount(p.position_sector)} of {formatCount(p.total_sectors)} ({p.device})
            </dd>
            <dt>Rate</dt>
            <dd>{p.state === 'running' ? formatRate(p.bytes_per_second) : '—'}</dd>
            <dt>ETA</dt>
            <dd>{p.state === 'running' ? formatDuration(p.eta_ms) : p.state === 'done' ? 'done' : '—'}</dd>
            <dt>Checked</dt>
            <dd>{plural(p.checked_blocks, 'block')}</dd>
            <dt>Bad blocks</dt>
            <dd data-testid="live-scrub-bad" className={p.bad_blocks ? 'error' : undefined}>
              {formatCount(p.bad_blocks)}
              {p.bad_ranges.length
                ? ` — sectors ${p.bad_ranges.map(([a, b]) => `${a}–${b - 1}`).join(', ')}${p.bad_range_count > p.bad_ranges.length ? ` and ${plural(p.bad_range_count - p.bad_ranges.length, 'more range')}` : ''}`
                : ''}
            </dd>
            <dt>Read errors</dt>
            <dd>{formatCount(p.read_errors)}</dd>
            <dt>Not verified</dt>
            <dd data-testid="live-scrub-unchecked">{uncheckedWords(p)}</dd>
            <dt>Kernel's counter</dt>
            <dd>
              {p.verified_by === 'dm-crypt'
                ? 'stays 0 here: dm-crypt reports the failures (kernel log below)'
                : `+${formatCount(p.kernel_mismatches.increase)} over the scrub, for ${plural(p.failed_reads, 'failing read')} of ours (narrowing re-reads a bad block, so it rises by more than the bad blocks)`}
            </dd>
          </dl>
          {p.bad_blocks + p.read_errors > 0 && p.state !== 'running' ? (
            <LiveDamageMap store={store} name={name} findings={`${p.started_at}|${p.position_sector}|${p.bad_blocks}|${p.read_errors}`} />
          ) : null}
          {p.kernel_messages.length ? (
            <>
              <h4>
                What the kernel logged ({formatCount(p.kernel_message_count)}
                {p.kernel_message_count > p.kernel_messages.length ? `, the last ${p.kernel_messages.length}` : ''}
                {p.kernel_messages_lost ? '; some were lost' : ''})
              </h4>
              <pre className="cmd">{p.kernel_messages.map((m) => m.text).join('\n')}</pre>
            </>
          ) : null}
        </>
      ) : (
        <p className="muted">Not scrubbed here yet.</p>
      )}
    </section>
  );
}
