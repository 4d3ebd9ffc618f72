// What the bad blocks of a live scrub hold (issue 20 for the kernel's devices): the host maps them through the device
// the scrub read, as the mounted file system sees it. A block the kernel refuses cannot be read, so a structure
// stored there is named unreadable, never guessed; a mounted file system may be writing, which the answer says.
import { useState } from 'react';
import type { LiveDamageMapPage } from '../../../engine/api.js';
import { formatCount, formatTime, plural } from '../lib/format.js';
import type { DashboardStore } from '../store.js';
import { FileItem, MetaItem, OtherItem } from '../volume/DamageMap.js';

const PAGE = 20;

export function LiveDamageMap({ store, name, findings }: { store: DashboardStore; name: string; findings: string }) {
  const [page, setPage] = useState<LiveDamageMapPage | null>(null);
  const [mappedFor, setMappedFor] = useState<string | null>(null);
  const [offset, setOffset] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = (offset: number, refresh = false) => {
    setBusy(true);
    store
      .getState()
      .call('mapLiveDamage', name, { offset, limit: PAGE, ...(refresh ? { refresh: true } : {}) })
      .then(
        (p) => {
          setPage(p);
          setOffset(offset);
          setMappedFor(findings);
          setError(null);
        },
        (e: Error) => setError(e.message),
      )
      .finally(() => setBusy(false));
  };
  const outdated = page !== null && mappedFor !== findings;
  const r = page?.result;
  return (
    <section aria-labelledby="live-map-h" data-testid="live-damage-map">
      <h4 id="live-map-h">What the bad blocks hold</h4>
      <p className="small muted">
        Read through {page?.device ?? 'the device the scrub read'}, as the file system on it sees it (root reads it). A block the kernel refuses cannot be read:
        what it held is named as unreadable, not guessed.
      </p>
      <div className="row">
        <button type="button" onClick={() => load(0, page !== null)} aria-busy={busy}>
          {page ? 'Map again' : 'Find the damaged files'}
        </button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {page && r ? (
        <>
          <p data-testid="live-map-summary">
            {r.fs ? `${r.fs_description}: ` : `${r.fs_description}. `}
            {plural(r.files_damaged, 'damaged file')}, {plural(r.metadata_items, 'structure')}, {plural(r.free_sectors, 'free sector')},{' '}
            {plural(r.unmapped_sectors, 'sector')} not mapped
            <span className="muted small"> — mapped {formatTime(page.mapped_at)}</span>
          </p>
          {r.may_be_stale ? (
            <p className="warn small" data-testid="live-map-stale">
              May be stale: {r.may_be_stale}
            </p>
          ) : null}
          {outdated ? <p className="warn small">The scrub has found more since this was mapped: map again.</p> : null}
          <ul className="items">
            {page.items.map((i) => {
              // an item is one file, one structure or one reason, at its first range
              const key = `${i.kind}:${i.kind === 'file' ? i.inode : i.kind === 'metadata' ? i.description : i.kind === 'unmapped' ? i.reason : ''}:${i.ranges[0]?.[0] ?? ''}`;
              return i.kind === 'file' ? <FileItem key={key} i={i} /> : i.kind === 'metadata' ? <MetaItem key={key} i={i} /> : <OtherItem key={key} i={i} />;
            })}
          </ul>
          {page.total_items > PAGE ? (
            <nav className="row small" aria-label="Pages of what the bad blocks hold">
              <button type="button" className="secondary" disabled={busy || offset === 0} onClick={() => load(Math.max(0, offset - PAGE))}>
                Previous
              </button>
              <span>
                {formatCount(offset + 1)}–{formatCount(offset + page.items.length)} of {formatCount(page.total_items)} items
              </span>
              <button type="button" className="secondary" disabled={busy || page.next_offset === null} onClick={() => load(page.next_offset ?? 0)}>
                Next
              </button>
            </nav>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
