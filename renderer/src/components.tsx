// The dashboard's views: volume list, create form, volume page (superblock, jobs, errors, sector map, journal,
// open command) and the rate chart. Components read the store through props so they render in node tests too.
import { useState, type ReactNode } from 'react';
import type { AddVolumeRequest, IntegrityApi, JobKind, JobProgress, VolumeSnapshot } from '../../engine/api.js';
import type { Dashboard } from './store.js';
import { formatBytes, formatEta, percent } from './store.js';
import { DEFAULT_FORM, formatCommand, toRequest, validateForm, type CreateForm } from './form.js';

export function StateBadge({ state }: { state: VolumeSnapshot['state'] }) {
  return <span className={`badge badge-${state}`}>{state}</span>;
}

export function VolumeList({ d, onOpen, onCreate, onAdd }: { d: Pick<Dashboard, 'volumes' | 'order'>; onOpen(id: string): void; onCreate(): void; onAdd?(): void }) {
  const vols = d.order.map((id) => d.volumes[id]).filter((v): v is VolumeSnapshot => !!v);
  return (
    <section aria-labelledby="vol-h">
      <div className="row"><h2 id="vol-h">Volumes</h2><button onClick={onCreate}>Create volume</button>{onAdd ? <button onClick={onAdd}>Add existing image</button> : null}</div>
      {vols.length === 0 ? <p>No volumes yet.</p> : (
        <table className="vols">
          <thead><tr><th>Name</th><th>Size</th><th>Algorithm</th><th>Mode</th><th>State</th><th>Errors</th></tr></thead>
          <tbody>
            {vols.map((v) => (
              <tr key={v.id}>
                <td><a href={`#volume/${v.id}`} onClick={(e) => { e.preventDefault(); onOpen(v.id); }}>{v.name}</a></td>
                <td>{formatBytes(v.size_bytes)}</td><td>{v.algorithm}</td><td>{v.mode}</td>
                <td><StateBadge state={v.state} /></td><td>{v.error_count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Field({ label, id, error, children }: { label: string; id: string; error?: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {error ? <span className="field-error" id={`${id}-err`} role="alert">{error}</span> : null}
    </div>
  );
}

export function CreateVolumeForm({ algorithms, onSubmit, progress, pickPath }: { algorithms: string[]; onSubmit(f: CreateForm): Promise<void>; progress?: { done: number; total: number } | null; pickPath?: (kind: 'open' | 'save') => Promise<string | null> }) {
  const [f, setF] = useState<CreateForm>(DEFAULT_FORM);
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);
  const errors = validateForm(f);
  const shown = tried ? errors : {};
  const set = <K extends keyof CreateForm>(k: K, v: CreateForm[K]) => setF({ ...f, [k]: v });
  const text = (k: keyof CreateForm, label: string, placeholder = '') => (
    <Field label={label} id={`f-${k}`} error={shown[k]}>
      <input id={`f-${k}`} value={f[k] as string} placeholder={placeholder} onChange={(e) => set(k, e.target.value as never)} aria-invalid={!!shown[k]} />
    </Field>
  );
  const check = (k: keyof CreateForm, label: string) => (
    <div className="field check"><input type="checkbox" id={`f-${k}`} checked={f[k] as boolean} onChange={(e) => set(k, e.target.checked as never)} /><label htmlFor={`f-${k}`}>{label}</label>
      {shown[k] ? <span className="field-error" role="alert">{shown[k]}</span> : null}</div>
  );
  return (
    <section aria-labelledby="create-h">
      <h2 id="create-h">Create volume</h2>
      <form onSubmit={(e) => {
        e.preventDefault();
        setTried(true);
        if (Object.keys(errors).length || busy) return;
        setBusy(true);
        void onSubmit(f).finally(() => setBusy(false));
      }}>
        <div className="grid">
          {text('path', 'Image path', '/path/to/volume.img')}
          {pickPath ? <button type="button" onClick={() => { void pickPath('save').then((p) => { if (p) set('path', p); }); }}>Choose image file…</button> : null}
          {text('sizeMiB', 'Size (MiB, for a new image)')}
          {text('name', 'Name')}
          <Field label="Integrity algorithm" id="f-integrity">
            <select id="f-integrity" value={f.integrity} onChange={(e) => set('integrity', e.target.value)}>
              {algorithms.map((a) => <option key={a} value={a}>{a}</option>)}
            </select>
          </Field>
          {text('integrityKeyHex', 'Integrity key (hex, HMAC only)')}
          {text('tagSize', 'Tag size (bytes)', 'algorithm default')}
          <Field label="Sector size" id="f-sectorSize" error={shown.sectorSize}>
            <select id="f-sectorSize" value={f.sectorSize} onChange={(e) => set('sectorSize', e.target.value)}>
              {['512', '1024', '2048', '4096'].map((s) => <option key={s}>{s}</option>)}
            </select>
          </Field>
          {text('journalSizeKiB', 'Journal size (KiB)', 'kernel default')}
          {text('interleaveSectors', 'Interleave sectors', '32768')}
          {text('bufferSectors', 'Buffer sectors', '128')}
          {text('dataDevice', 'Separate data device')}
          <Field label="Mode" id="f-mode">
            <select id="f-mode" value={f.mode} onChange={(e) => set('mode', e.target.value as CreateForm['mode'])}>
              <option value="journal">journal</option><option value="bitmap">bitmap</option><option value="direct">direct (no journal)</option>
            </select>
          </Field>
          <Field label="Journal integrity" id="f-journalIntegrity">
            <select id="f-journalIntegrity" value={f.journalIntegrity} onChange={(e) => set('journalIntegrity', e.target.value)}>
              <option value="">none</option><option>hmac-sha1</option><option>hmac-sha256</option><option>hmac-sha512</option>
            </select>
          </Field>
          {text('journalIntegrityKeyHex', 'Journal integrity key (hex)')}
          <Field label="Journal encryption" id="f-journalCrypt">
            <select id="f-journalCrypt" value={f.journalCrypt} onChange={(e) => set('journalCrypt', e.target.value)}>
              <option value="">none</option><option>ctr(aes)</option><option>cbc(aes)</option>
            </select>
          </Field>
          {text('journalCryptKeyHex', 'Journal encryption key (hex)')}
        </div>
        <div className="checks">
          {check('noWipe', 'No wipe (--no-wipe)')}
          {check('integrityRecalculate', 'Recalculate tags (--integrity-recalculate)')}
          {check('legacyPadding', 'Legacy padding')}
          {check('legacyHmac', 'Legacy HMAC')}
          {check('force', 'Overwrite existing signatures (force)')}
        </div>
        <p>Equivalent command:</p>
        <pre className="cmd" aria-label="Equivalent format command">{formatCommand(f)}</pre>
        <button type="submit" disabled={busy}>{busy ? 'Creating…' : 'Create'}</button>
        {progress ? <Progress label="Wipe progress" value={progress.total ? Math.floor((progress.done / progress.total) * 100) : 0} /> : null}
      </form>
    </section>
  );
}

export function Progress({ label, value }: { label: string; value: number }) {
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value}>
      <div className="bar" style={{ width: `${value}%` }} />
      <span className="pct">{value}%</span>
    </div>
  );
}

/** rate over time, as an SVG polyline */
export function RateChart({ samples, label }: { samples: Array<[number, number]>; label: string }) {
  const w = 300, h = 80;
  if (samples.length < 2) return <svg className="chart" width={w} height={h} role="img" aria-label={`${label}: waiting for samples`} />;
  const t0 = samples[0]![0], t1 = samples[samples.length - 1]![0];
  const max = Math.max(...samples.map((s) => s[1]));
  const pts = samples.map(([t, r]) => `${(((t - t0) / Math.max(1, t1 - t0)) * w).toFixed(1)},${(h - (r / max) * (h - 4)).toFixed(1)}`).join(' ');
  return (
    <svg className="chart" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${label}: up to ${formatBytes(max)}/s`}>
      <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="2" />
    </svg>
  );
}

/** sectors 0..total as cells: done (recalculated / scrubbed), pending, bad */
export function SectorMap({ total, done, bad, cells = 64 }: { total: number; done: number; bad: Array<[number, number]>; cells?: number }) {
  const out: ReactNode[] = [];
  for (let i = 0; i < cells; i++) {
    const a = Math.floor((i * total) / cells), b = Math.floor(((i + 1) * total) / cells);
    const isBad = bad.some(([s, e]) => s < b && e > a);
    const cls = isBad ? 'bad' : b <= done ? 'done' : 'pending';
    out.push(<span key={i} className={`cell ${cls}`} title={`sectors ${a}–${b - 1}: ${cls}`} />);
  }
  return <div className="sectormap" role="img" aria-label={`Sector map: ${done} of ${total} sectors recalculated, ${bad.length} bad ranges`}>{out}</div>;
}

function JobPanel({ v, kind, api, rates, onError }: { v: VolumeSnapshot; kind: JobKind; api: IntegrityApi; rates: Array<[number, number]>; onError(m: string): void }) {
  const p: JobProgress | undefined = v.jobs[kind];
  const name = kind === 'recalc' ? 'Recalculation' : 'Scrub';
  const noun = kind === 'recalc' ? 'recalculation' : 'scrub';
  const run = (f: () => Promise<unknown>) => () => { f().catch((e: Error) => onError(e.message)); };
  const running = p?.state === 'running';
  const paused = p?.state === 'paused';
  // a volume formatted with a wipe has no recalculating flag: there is nothing to recalculate
  const recalcable = kind !== 'recalc' || (v.superblock?.recalc_sector ?? null) !== null;
  return (
    <section aria-labelledby={`${kind}-h`} className="panel">
      <h3 id={`${kind}-h`}>{name}</h3>
      <Progress label={`${name} progress`} value={percent(p)} />
      <p className="muted">
        State: <span data-testid={`${kind}-state`}>{p?.state ?? 'not started'}</span> · Position: <span data-testid={`${kind}-position`}>{p?.position_sector ?? 0}</span> / {p?.total_sectors ?? v.superblock?.provided_data_sectors ?? 0} sectors ·
        Rate: {p ? `${formatBytes(p.bytes_per_second)}/s` : '—'} · ETA: {formatEta(p?.eta_ms ?? null)}
      </p>
      <div className="row">
        {kind === 'recalc' ? (
          <>
            {!recalcable ? <p className="muted">Not recalculating: this volume's tags were written by format (no --integrity-recalculate).</p> : null}
            {!running && !paused ? <button disabled={!recalcable} onClick={run(() => api.startRecalc(v.id))}>Start recalculation</button> : null}
            <button disabled={!running} onClick={run(() => api.pauseRecalc(v.id))}>Pause recalculation</button>
            <button disabled={!paused} onClick={run(() => api.resumeRecalc(v.id))}>Resume recalculation</button>
            <button disabled={running || !recalcable} onClick={run(() => api.resetRecalc(v.id))}>Restart recalculation from start</button>
          </>
        ) : (
          <>
            <button disabled={running} onClick={run(() => api.startScrub(v.id))}>Start scrub</button>
            <button disabled={!running} onClick={run(() => api.pauseScrub(v.id))}>Pause scrub</button>
            <button disabled={!paused} onClick={run(() => api.resumeScrub(v.id))}>Resume scrub</button>
          </>
        )}
      </div>
      {running ? <RateChart samples={rates} label={`${name} rate`} /> : null}
      <span className="sr-only">{noun}</span>
    </section>
  );
}

export function VolumePage({ v, api, rates, onBack, onError }: { v: VolumeSnapshot; api: IntegrityApi; rates: Dashboard['rates'][string] | undefined; onBack(): void; onError(m: string): void }) {
  const sb = v.superblock, g = v.geometry;
  const total = sb?.provided_data_sectors ?? 0;
  const done = v.jobs.recalc ? v.jobs.recalc.position_sector : sb?.recalc_sector ?? total;
  return (
    <section aria-labelledby="vp-h">
      <div className="row"><button onClick={onBack}>← Volumes</button><h2 id="vp-h">{v.name}</h2><StateBadge state={v.state} /></div>
      {v.error ? <p className="error" role="alert">{v.error}</p> : null}
      <p className="muted">{v.path}{v.data_device ? ` (data on ${v.data_device})` : ''} · {formatBytes(v.size_bytes)} · {v.algorithm} · {v.mode} mode
        {v.keys.integrity ? ' · integrity key set' : ''}{v.keys.journalIntegrity ? ' · journal MAC key set' : ''}{v.keys.journalCrypt ? ' · journal encryption key set' : ''}</p>
      <div className="cols">
        <section className="panel" aria-labelledby="sb-h">
          <h3 id="sb-h">Superblock and geometry</h3>
          {sb && g ? (
            <dl className="kv">
              <dt>Version</dt><dd>{sb.version}</dd>
              <dt>Flags</dt><dd>{sb.flags.join(', ') || 'none'}</dd>
              <dt>Tag size</dt><dd>{sb.integrity_tag_size} bytes</dd>
              <dt>Block size</dt><dd>{g.block_size} bytes</dd>
              <dt>Provided data sectors</dt><dd>{sb.provided_data_sectors}</dd>
              <dt>Interleave sectors</dt><dd>{2 ** sb.log2_interleave_sectors}</dd>
              <dt>Journal sections</dt><dd>{sb.journal_sections}</dd>
              <dt>Initial sectors</dt><dd>{g.initial_sectors}</dd>
              <dt>Metadata run</dt><dd>{g.metadata_run} sectors</dd>
              <dt>Recalc sector</dt><dd>{sb.recalc_sector ?? '— (not recalculating)'}</dd>
            </dl>
          ) : <p>Superblock unreadable.</p>}
        </section>
        <section className="panel" aria-labelledby="err-h">
          <h3 id="err-h">Integrity errors</h3>
          <p><span id="errcount-label">Integrity errors</span>: <strong aria-labelledby="errcount-label" data-testid="error-count">{v.error_count}</strong></p>
          {v.bad_ranges.length ? (
            <ul aria-label="Bad sector ranges">{v.bad_ranges.map(([a, b]) => <li key={a}>sectors {a}–{b - 1}</li>)}</ul>
          ) : <p className="muted">No bad sectors found{v.jobs.scrub ? '' : ' (run a scrub to check)'}.</p>}
          <SectorMap total={total} done={done} bad={v.bad_ranges} />
          <p className="legend"><span className="cell done" /> recalculated <span className="cell pending" /> pending <span className="cell bad" /> bad</p>
        </section>
      </div>
      <JobPanel v={v} kind="recalc" api={api} rates={rates?.recalc ?? []} onError={onError} />
      <JobPanel v={v} kind="scrub" api={api} rates={rates?.scrub ?? []} onError={onError} />
      <section className="panel" aria-labelledby="j-h">
        <h3 id="j-h">Journal</h3>
        {v.journal ? (
          <dl className="kv">
            <dt>Sections</dt><dd>{v.journal.journal_sections}</dd>
            <dt>Fill</dt><dd>{v.journal.entries_in_use} of {v.journal.journal_sections * v.journal.journal_section_entries} entries</dd>
            <dt>Commit sequence</dt><dd>{v.journal.commit_seq}</dd>
            <dt>Commits</dt><dd>{v.journal.commits}</dd>
          </dl>
        ) : <p className="muted">{v.mode === 'journal' ? `${sb?.journal_sections ?? 0} sections; no journal activity in this session.` : `No journal (${v.mode} mode).`}</p>}
      </section>
      <section className="panel" aria-labelledby="open-h">
        <h3 id="open-h">Open with the kernel</h3>
        <pre className="cmd" aria-label="Equivalent open command">{v.open_command}</pre>
        <pre className="cmd" aria-label="dm table line">{v.dm_table}</pre>
      </section>
    </section>
  );
}

/**
 * Adds an image or device that already holds a dm-integrity volume (made by integritysetup, the kernel or us).
 * The algorithm and key are not on disk: they are asked for, as integritysetup open does. The key goes to the
 * host once and is never sent back.
 */
export function AddVolumeForm({ algorithms, onSubmit }: { algorithms: string[]; onSubmit(r: AddVolumeRequest): Promise<void> }) {
  const [r, setR] = useState<AddVolumeRequest>({ path: '', integrity: 'crc32c', mode: 'journal' });
  const [busy, setBusy] = useState(false);
  const keyed = (r.integrity ?? '').startsWith('hmac-');
  const keyError = keyed && !/^([0-9a-fA-F]{2})+$/.test(r.integrityKeyHex ?? '') ? 'the key, as hex bytes' : undefined;
  const pathError = r.path.trim() ? undefined : 'the image file or block device';
  return (
    <form aria-labelledby="add-h" onSubmit={async (e) => {
      e.preventDefault();
      if (pathError || keyError) return;
      setBusy(true);
      try {
        await onSubmit({ ...r, path: r.path.trim(), ...(keyed ? {} : { integrityKeyHex: undefined }) });
      } finally {
        setBusy(false);
      }
    }}>
      <h2 id="add-h">Add existing image</h2>
      <Field label="Image or device" id="add-path" error={r.path ? pathError : undefined}>
        <input id="add-path" value={r.path} onChange={(e) => setR({ ...r, path: e.target.value })} placeholder="/path/to/volume.img" />
      </Field>
      <Field label="Separate data device (optional)" id="add-data">
        <input id="add-data" value={r.dataDevice ?? ''} onChange={(e) => setR({ ...r, dataDevice: e.target.value || undefined })} />
      </Field>
      <Field label="Integrity algorithm (not stored on disk)" id="add-alg">
        <select id="add-alg" value={r.integrity} onChange={(e) => setR({ ...r, integrity: e.target.value })}>
          {algorithms.map((a) => <option key={a} value={a}>{a}</option>)}
        </select>
      </Field>
      {keyed ? (
        <Field label="Integrity key (hex)" id="add-key" error={r.integrityKeyHex ? keyError : undefined}>
          <input id="add-key" type="password" autoComplete="off" value={r.integrityKeyHex ?? ''} onChange={(e) => setR({ ...r, integrityKeyHex: e.target.value })} />
        </Field>
      ) : null}
      <Field label="Mode" id="add-mode">
        <select id="add-mode" value={r.mode} onChange={(e) => setR({ ...r, mode: e.target.value as AddVolumeRequest['mode'] })}>
          <option value="journal">journal</option><option value="bitmap">bitmap</option><option value="direct">direct (no crash safety)</option>
        </select>
      </Field>
      <button type="submit" disabled={busy || !!pathError || !!keyError}>Add volume</button>
    </form>
  );
}
