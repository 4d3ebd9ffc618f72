// One kernel device: its table decoded (keyless), its status sampled live (recalculation position, rate, ETA, the
// persisted position beside it, the mismatch counter with our own history), the controls with their commands, the
// scrub while in use, and for a LUKS2 `_dif` what dm-crypt logged.
import { Fragment, useEffect, useState } from 'react';
import { useStore } from 'zustand';
import type { IntegrityTableOptions, LiveKernelLog, LiveVolume } from '../../../engine/api.js';
import { Progress } from '../lib/Progress.js';
import { formatBytes, formatCount, formatTime } from '../lib/format.js';
import type { Route } from '../lib/routes.js';
import { routeLink } from '../lib/route-link.js';
import type { DashboardStore } from '../store.js';
import { UnavailablePanel } from './UnavailablePanel.js';
import { LiveControls } from './LiveControls.js';
import { LiveScrubPanel } from './LiveScrubPanel.js';
import { useOverview, useWatch } from './useLive.js';
import { deviceStateWords, etaWords, MODE_WORDS, ownerWords, rateWords, recalcStateWords, sectors, SECTOR, usedByWords } from './live-words.js';

export function LiveDevicePage({ store, name, onNavigate }: { store: DashboardStore; name: string; onNavigate(r: Route): void }) {
  const connected = useStore(store, (s) => s.connection.state === 'connected');
  const { overview, error, refresh } = useOverview(store, connected);
  const available = !!overview?.availability.available;
  const watchError = useWatch(store, name, connected, available);
  const snap = useStore(store, (s) => s.liveSnapshots[name]);
  const v = overview?.volumes.find((x) => x.name === name) ?? null;
  const link = routeLink(onNavigate);
  // the controls' plans are asked again when the device's state changes (suspended, gone, reloaded)
  const stateKey = `${snap?.state ?? ''}:${snap?.recalc.state ?? ''}:${snap?.mismatches.table_loads_seen ?? 0}:${v?.suspended ?? ''}:${v ? 1 : 0}`;
  return (
    <section aria-labelledby="view-h">
      <p className="crumbs">{link({ page: 'live' }, '← Kernel devices')}</p>
      <div className="row heading-row">
        <h2 id="view-h" tabIndex={-1}>
          /dev/mapper/{name}
        </h2>
        {v ? (
          <span className="badge" data-testid="live-state">
            {deviceStateWords(v)}
          </span>
        ) : null}
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {!overview ? (
        <p>Loading…</p>
      ) : !overview.availability.available ? (
        <UnavailablePanel a={overview.availability} />
      ) : (
        <>
          {v ? (
            <p className="muted">
              {formatBytes(v.size_sectors * SECTOR)} · owner: {ownerWords(v)} · {MODE_WORDS[v.table.mode]} mode · {usedByWords(v)} · verified by {v.verified_by}
            </p>
          ) : null}
          {!v && snap?.state !== 'gone' && !overview.error ? (
            <p className="warn" role="status">
              No active integrity device is named {name} (it was deactivated, or the link is from another machine).
            </p>
          ) : null}
          <StatusPanel store={store} name={name} watchError={watchError} />
          {v?.verified_by === 'dm-crypt' ? <CryptLog store={store} v={v} /> : null}
          {v ? <LiveControls store={store} name={name} stateKey={stateKey} onDone={refresh} /> : null}
          {v && snap?.state !== 'gone' ? <LiveScrubPanel store={store} name={name} verifiedBy={v.verified_by} /> : null}
          {v ? <TablePanel v={v} /> : null}
        </>
      )}
    </section>
  );
}

function StatusPanel({ store, name, watchError }: { store: DashboardStore; name: string; watchError: string | null }) {
  const s = useStore(store, (st) => st.liveSnapshots[name]);
  const rates = useStore(store, (st) => st.liveRates[name]);
  return (
    <section className="panel" aria-labelledby="live-status-h" data-testid="live-status">
      <h3 id="live-status-h">Status, sampled live</h3>
      {watchError ? (
        <p className="warn" role="status">
          The last sample failed: {watchError}
        </p>
      ) : null}
      {!s ? (
        <p>Sampling…</p>
      ) : s.state === 'gone' ? (
        <p className="warn" role="status" data-testid="live-gone">
          The device is gone: no integrity device of this name is active now (it was deactivated or removed), so no figures of it are shown. A recalculation's
          position stays persisted in its superblock: activating it again continues from there. Seen while this page watched it: {plural2(s.mismatches.total)}.
        </p>
      ) : (
        <>
          {s.recalc.percent !== null ? <Progress label="Kernel recalculation" value={Math.floor(s.recalc.percent)} /> : null}
          <dl className="facts">
            <dt>Recalculation</dt>
            <dd data-testid="live-recalc-state">
              {recalcStateWords(s.recalc.state)}
              {s.state === 'suspended' ? ' (the device is suspended: all I/O blocks until resumed)' : ''}
            </dd>
            <dt>Position</dt>
            <dd data-testid="live-position">
              {s.recalc.position === null
                ? '— (never recalculated)'
                : `sector ${sectors(s.recalc.position)} of ${sectors(s.recalc.total)}${s.recalc.percent !== null ? ` — ${s.recalc.percent.toFixed(1)}%` : ''}`}
            </dd>
            <dt>Persisted position</dt>
            <dd>
              {s.recalc.persisted_sector === null
                ? '—'
                : `sector ${formatCount(s.recalc.persisted_sector)} (the superblock's recalc_sector: what a crash or a close keeps)`}
            </dd>
            <dt>Rate</dt>
            <dd data-testid="live-rate">{rateWords(s)}</dd>
            <dt>ETA</dt>
            <dd data-testid="live-eta">{etaWords(s)}</dd>
            {s.recalc.restarted_at ? (
              <>
                <dt>Restarted</dt>
                <dd>{formatTime(new Date(s.recalc.restarted_at).toISOString())}</dd>
              </>
            ) : null}
            <dt>Mismatches (kernel)</dt>
            <dd data-testid="live-mismatches">
              {s.mismatches.kernel === null ? '—' : formatCount(s.mismatches.kernel)}{' '}
              <span className="small muted">(since this table was loaded: the kernel's counter restarts at 0 on every load)</span>
            </dd>
            <dt>Mismatches (our total)</dt>
            <dd>
              {formatCount(s.mismatches.total)} since {formatTime(new Date(s.mismatches.since).toISOString())} ({formatCount(s.mismatches.at_first_sample)}{' '}
              already counted then; {s.mismatches.table_loads_seen} table load{s.mismatches.table_loads_seen === 1 ? '' : 's'} seen)
            </dd>
            <dt>Last grew at</dt>
            <dd>{s.mismatches.last_grew_at === null ? 'not since watching began' : formatTime(new Date(s.mismatches.last_grew_at).toISOString())}</dd>
            <dt>Sampled</dt>
            <dd className="small">
              {formatTime(new Date(s.t).toISOString())}
              {rates?.length ? ` · ${rates.length} rate samples` : ''}
            </dd>
          </dl>
        </>
      )}
    </section>
  );
}

const plural2 = (n: number) => `${formatCount(n)} failed read${n === 1 ? '' : 's'}`;

function CryptLog({ store, v }: { store: DashboardStore; v: LiveVolume }) {
  const [log, setLog] = useState<LiveKernelLog | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const get = () =>
      store
        .getState()
        .call('liveKernelLog', v.name)
        .then(
          (l) => {
            setLog(l);
            setError(null);
          },
          (e: Error) => setError(e.message),
        );
    void get();
    const t = setInterval(get, 10_000);
    return () => clearInterval(t);
  }, [store, v.name]);
  const crypt = v.holders.find((h) => h.kind === 'crypt');
  return (
    <section className="panel" aria-labelledby="crypt-log-h" data-testid="crypt-log">
      <h3 id="crypt-log-h">Failures come from dm-crypt</h3>
      <p>
        This device holds the tags of the LUKS2 volume {crypt?.dm_name ?? ''} above it: dm-crypt verifies them ({crypt?.crypt?.integrity ?? 'aead'}), so this
        device's own mismatch counter stays 0. What the kernel logged for it:
      </p>
      {error ? <p className="error">{error}</p> : null}
      {log ? (
        log.messages.length ? (
          <pre className="cmd">{log.messages.map((m) => m.text).join('\n')}</pre>
        ) : (
          <p className="muted">Nothing logged.</p>
        )
      ) : (
        <p>Reading the kernel log…</p>
      )}
      {log && log.total > log.messages.length ? (
        <p className="small muted">
          The last {log.messages.length} of {formatCount(log.total)} lines.
        </p>
      ) : null}
    </section>
  );
}

const OPTION_ORDER: Array<keyof IntegrityTableOptions> = [
  'meta_device',
  'block_size',
  'recalculate',
  'reset_recalculate',
  'allow_discards',
  'journal_sectors',
  'interleave_sectors',
  'buffer_sectors',
  'journal_watermark',
  'commit_time',
  'sectors_per_bit',
  'bitmap_flush_interval',
  'fix_padding',
  'fix_hmac',
  'legacy_recalculate',
  'internal_hash',
  'journal_crypt',
  'journal_mac',
];

function optionValue(v: IntegrityTableOptions[keyof IntegrityTableOptions]): string | null {
  if (v === undefined || v === false) return null;
  if (v === true) return 'yes';
  if (typeof v === 'object') return `${v.name}${v.keyed ? ` (keyed${v.keyBytes ? `, ${v.keyBytes} bytes` : ''}: the key is not shown)` : ''}`;
  return String(v);
}

function TablePanel({ v }: { v: LiveVolume }) {
  const t = v.table;
  return (
    <section className="panel" aria-labelledby="table-h" data-testid="live-table">
      <h3 id="table-h">Table</h3>
      <dl className="facts">
        <dt>Data device</dt>
        <dd>
          {v.data_device.path ?? t.device} ({t.device}){v.data_device.loop_file ? `, loop file ${v.data_device.loop_file}` : ''}
        </dd>
        {v.meta_device ? (
          <>
            <dt>Metadata device</dt>
            <dd>{v.meta_device.path ?? v.meta_device.devno}</dd>
          </>
        ) : null}
        <dt>Offset</dt>
        <dd>{formatCount(t.offset)} sectors</dd>
        <dt>Tag size</dt>
        <dd>{t.tag_size} bytes</dd>
        <dt>Mode</dt>
        <dd>
          {t.mode} — {MODE_WORDS[t.mode]}
        </dd>
        {OPTION_ORDER.map((k) => {
          const val = optionValue(t.options[k]);
          return val === null ? null : (
            <Fragment key={k}>
              <dt>{k}</dt>
              <dd>{val}</dd>
            </Fragment>
          );
        })}
        {t.unknown.length ? (
          <>
            <dt>Other options</dt>
            <dd>{t.unknown.join(' ')}</dd>
          </>
        ) : null}
        <dt>Target</dt>
        <dd>{v.target ? `dm-integrity ${v.target.text}${v.target.features.reset_recalculate ? '' : ' (no reset_recalculate: before 1.8)'}` : 'unknown'}</dd>
        <dt>UUID</dt>
        <dd className="small">{v.uuid || '—'}</dd>
      </dl>
      <figure className="cmd-box" aria-label="dm table line (keys not shown)">
        <pre className="cmd">{t.line}</pre>
      </figure>
    </section>
  );
}
