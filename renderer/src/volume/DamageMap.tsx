// What the bad blocks hold (issue 20), in the Errors panels: grouped by damaged file, file-system structure, free space
// and what could not be mapped, each group a page at a time from the host's kept mapping (mapDamage), so a volume with
// thousands of damaged files shows a page, never thousands. Files with every path (hard links), the inode and the
// damaged bytes inside the file; structures with what they mean in one line; free space offers "Rewrite with
// zeros…", which the host asks about first (ECONFIRM naming the blocks).
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { DamageMapPage, DamageMapSummary, FsMapItem, VolumeSnapshot } from '../../../engine/api.js';
import { formatBytes, formatCount, formatTime, plural } from '../lib/format.js';
import { alsoWords, byteWords, fsWords, itemLabel, mapCounts, sectorWords } from '../lib/fsmap-words.js';
import { needsConfirmation, OverwriteQuestion } from '../lib/OverwriteQuestion.js';
import type { Dashboard } from '../store.js';

/** items per page of a group */
export const GROUP_PAGE = 20;
/** byte ranges, sector ranges and names shown per item (the exports have every one the mapping keeps) */
const SHOWN = 8;

type Kind = FsMapItem['kind'];

function more(shown: number, total: number, what: string): string {
  return total > shown ? ` … and ${plural(total - shown, what)} more` : '';
}

function Ranges({ i }: { i: FsMapItem }) {
  return (
    <span className="muted small">
      {i.ranges.slice(0, SHOWN).map(sectorWords).join(', ')}
      {more(Math.min(SHOWN, i.ranges.length), i.ranges_total, 'range')}
    </span>
  );
}

export function FileItem({ i }: { i: Extract<FsMapItem, { kind: 'file' }> }) {
  const also = alsoWords(i.paths, i.paths_total);
  return (
    <li data-testid="damaged-file">
      <strong className="path">{itemLabel(i)}</strong>
      <span className="muted small">
        {' '}
        · inode {i.inode} · {i.file_type} · {formatBytes(i.size)}
      </span>
      {also ? <div className="small">{also}</div> : null}
      {i.byte_ranges.length ? (
        <div data-testid="file-bytes">
          Damaged: {i.byte_ranges.slice(0, SHOWN).map(byteWords).join(', ')}
          {more(Math.min(SHOWN, i.byte_ranges.length), i.byte_ranges_total, 'range')} of the file
        </div>
      ) : null}
      <div className="small">{i.meaning}</div>
      <div>
        <Ranges i={i} />
      </div>
      {i.uncertain ? <div className="warn small">Uncertain: {i.uncertain}</div> : null}
    </li>
  );
}

export function MetaItem({ i }: { i: Extract<FsMapItem, { kind: 'metadata' }> }) {
  return (
    <li data-testid="damaged-structure">
      <strong>{i.description}</strong> <code className="small">{i.structure}</code>
      <div>{i.meaning}</div>
      {i.owner?.paths.length ? (
        <div className="small">
          of {i.owner.paths[0]} (inode {i.owner.inode})
        </div>
      ) : null}
      {i.names?.length ? (
        <div className="small">
          Names it holds: {i.names.slice(0, SHOWN).join(', ')}
          {more(Math.min(SHOWN, i.names.length), i.names_total ?? i.names.length, 'name')}
        </div>
      ) : null}
      {i.inodes?.length ? (
        <div className="small">
          Inodes it holds:{' '}
          {i.inodes
            .slice(0, SHOWN)
            .map((x) => `${x.inode}${x.paths[0] ? ` ${x.paths[0]}` : ''}`)
            .join(', ')}
          {more(Math.min(SHOWN, i.inodes.length), i.inodes_total ?? i.inodes.length, 'inode')}
        </div>
      ) : null}
      <div>
        <Ranges i={i} />
      </div>
      {i.uncertain ? <div className="warn small">Uncertain: {i.uncertain}</div> : null}
    </li>
  );
}

export function OtherItem({ i }: { i: Extract<FsMapItem, { kind: 'free' | 'unmapped' }> }) {
  return (
    <li data-testid={i.kind === 'free' ? 'free-space' : 'unmapped'}>
      {i.kind === 'unmapped' ? <div>{i.reason}</div> : null}
      <div>
        <Ranges i={i} /> <span className="muted small">({plural(i.sectors, 'sector')})</span>
      </div>
    </li>
  );
}

const TITLES: Record<Kind, string> = { file: 'Damaged files', metadata: 'File-system structures', free: 'Free space', unmapped: 'Could not map' };

/** one group: its items a page at a time (read from the host), Previous / Next moving focus to the list */
function Group({
  v,
  d,
  kind,
  count,
  version,
  children,
}: {
  v: VolumeSnapshot;
  d: Pick<Dashboard, 'call'>;
  kind: Kind;
  count: string;
  version: string;
  children?: ReactNode;
}) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<DamageMapPage | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const list = useRef<HTMLUListElement>(null);
  const id = useId();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the trigger (a new mapping reads the page again)
  useEffect(() => {
    let live = true;
    d.call('mapDamage', v.id, { kind, offset, limit: GROUP_PAGE }).then(
      (p) => {
        if (!live) return;
        setPage(p);
        setProblem(null);
      },
      (e: Error) => {
        if (live) setProblem(e.message);
      },
    );
    return () => {
      live = false;
    };
  }, [v.id, kind, offset, version, d.call]);
  const go = (to: number) => {
    setOffset(to);
    list.current?.focus();
  };
  const total = page?.total_items ?? 0;
  return (
    <section className="fsmap-group" aria-labelledby={`${id}-h`} data-testid={`group-${kind}`}>
      <h5 id={`${id}-h`}>
        {TITLES[kind]} <span className="muted">({count})</span>
      </h5>
      {children}
      {problem ? (
        <p className="error" role="alert">
          Could not read them: {problem}
        </p>
      ) : null}
      <ul ref={list} tabIndex={-1} className="fsmap-items" aria-label={`${TITLES[kind]}, from item ${offset + 1}`} aria-busy={page === null}>
        {(page?.items ?? []).map((i, k) =>
          // biome-ignore lint/suspicious/noArrayIndexKey: a page is replaced whole; items have no id of their own
          i.kind === 'file' ? <FileItem key={k} i={i} /> : i.kind === 'metadata' ? <MetaItem key={k} i={i} /> : <OtherItem key={k} i={i} />,
        )}
      </ul>
      {total > GROUP_PAGE ? (
        <nav className="row" aria-label={`Pages of ${TITLES[kind].toLowerCase()}`}>
          <button type="button" className="secondary" disabled={offset === 0} onClick={() => go(Math.max(0, offset - GROUP_PAGE))}>
            Previous {GROUP_PAGE}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={page?.next_offset == null}
            onClick={() => {
              if (page?.next_offset != null) go(page.next_offset);
            }}
          >
            Next {GROUP_PAGE}
          </button>
          <span className="muted small">
            {formatCount(offset + 1)}–{formatCount(Math.min(total, offset + GROUP_PAGE))} of {formatCount(total)}
          </span>
        </nav>
      ) : null}
    </section>
  );
}

/** "Rewrite with zeros…": the host's question (ECONFIRM) first, then the rewrite; what happened said in a status line */
function RewriteFree({ v, d }: { v: VolumeSnapshot; d: Pick<Dashboard, 'call'> }) {
  const [question, setQuestion] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const status = useRef<HTMLParagraphElement>(null);
  const ask = async () => {
    setSaid(null);
    setBusy(true);
    try {
      await d.call('rewriteFreeBlocks', v.id, {});
    } catch (e) {
      if (needsConfirmation(e)) setQuestion(e.message);
      else setSaid({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
    }
  };
  const confirm = async () => {
    setQuestion(null);
    setBusy(true);
    try {
      const r = await d.call('rewriteFreeBlocks', v.id, { confirm: true });
      setSaid({
        ok: true,
        text: `Rewrote ${plural(r.blocks, 'block')} with zeros through ${r.written_through}, read back verified. They stay in the known damage until the next scrub checks them.`,
      });
    } catch (e) {
      if (needsConfirmation(e)) setQuestion(e.message);
      else setSaid({ ok: false, text: (e as Error).message });
    } finally {
      setBusy(false);
      status.current?.focus();
    }
  };
  return (
    <div className="row">
      <span className="confirm-wrap">
        <button
          ref={button}
          type="button"
          className="secondary"
          aria-busy={busy}
          disabled={busy}
          onClick={() => {
            void ask();
          }}
        >
          Rewrite with zeros…
        </button>
        {question ? (
          <OverwriteQuestion
            question={question}
            confirmLabel="Rewrite with zeros"
            onConfirm={() => {
              void confirm();
            }}
            onCancel={() => {
              setQuestion(null);
              button.current?.focus();
            }}
          />
        ) : null}
      </span>
      <p ref={status} tabIndex={-1} role="status" className={said ? (said.ok ? 'ok small' : 'error small') : 'sr-only'} data-testid="rewrite-status">
        {said?.text ?? ''}
      </p>
    </div>
  );
}

function stateLine(m: DamageMapSummary): string | null {
  switch (m.state) {
    case 'mapping':
      return 'Finding which files and structures hold these blocks…';
    case 'pending':
      return 'Not mapped to files yet.';
    case 'unavailable':
      return `Not mapped to files: ${m.reason}`;
    case 'failed':
      return `Could not map them to files: ${m.reason}`;
    case 'outdated':
      return `The known damage changed since this mapping: ${m.reason ? `it cannot be mapped again now (${m.reason})` : 'it is being mapped again'}.`;
    default:
      return null;
  }
}

/** The section of an Errors panel saying what the bad blocks hold (nothing when there is no known damage). */
export function DamageMap({ v, d, noun }: { v: VolumeSnapshot; d: Pick<Dashboard, 'call'>; noun: string }) {
  const m = v.damage_map;
  if (!m || m.state === 'none') return null;
  const shown = m.state === 'mapped' || m.state === 'outdated' || (m.state === 'mapping' && m.mapped_at);
  const version = `${m.mapped_at}:${m.state}:${m.rewritten?.at ?? ''}`;
  const line = stateLine(m);
  return (
    <section className="fsmap" aria-labelledby={`fsmap-h-${v.id}`}>
      <h4 id={`fsmap-h-${v.id}`}>What the {noun}s hold</h4>
      {line ? (
        <p className={m.state === 'failed' || m.state === 'unavailable' ? 'warn' : 'muted'} role="status" data-testid="map-state">
          {line}
        </p>
      ) : null}
      {shown ? (
        <>
          {m.fs ? (
            <p data-testid="map-summary">
              <strong>{mapCounts(m)}</strong>
              <span className="muted small">
                {' '}
                · {fsWords(m)} · mapped {formatTime(m.mapped_at)}
              </span>
            </p>
          ) : (
            // no file system found: said once (the ranges are listed below, under Ranges)
            <p data-testid="map-summary">
              <strong>Not mapped to files</strong>: {m.fs_description}
              <span className="muted small"> · looked {formatTime(m.mapped_at)}</span>
            </p>
          )}
          {m.stale.length ? (
            <ul className="warn small plain" aria-label="Why the mapping may be out of date" data-testid="map-stale">
              {m.stale.map((s) => (
                <li key={s}>May be out of date: {s}</li>
              ))}
            </ul>
          ) : null}
          {m.file_items ? (
            <Group
              v={v}
              d={d}
              kind="file"
              version={version}
              count={
                m.files_damaged === m.file_items
                  ? plural(m.files_damaged, 'file')
                  : `${plural(m.files_damaged, 'file')} damaged, ${formatCount(m.file_items - m.files_damaged)} harmless`
              }
            />
          ) : null}
          {m.metadata_items ? <Group v={v} d={d} kind="metadata" version={version} count={plural(m.metadata_items, 'structure')} /> : null}
          {m.free_sectors ? (
            <Group v={v} d={d} kind="free" version={version} count={plural(m.free_sectors, 'sector')}>
              <p>
                <strong>Harmless</strong>: no file or file-system structure uses these blocks. Rewriting them with zeros and a valid tag clears them; the host
                asks first, naming them, and checks again just before writing that they are still free.
              </p>
              {m.rewritten ? (
                <p className="ok small" data-testid="rewritten">
                  {plural(m.rewritten.blocks, 'block')} rewritten with zeros {formatTime(m.rewritten.at)} and read back verified; a scrub takes them off this
                  list.
                </p>
              ) : null}
              <RewriteFree v={v} d={d} />
            </Group>
          ) : null}
          {m.unmapped_sectors && m.fs ? <Group v={v} d={d} kind="unmapped" version={version} count={plural(m.unmapped_sectors, 'sector')} /> : null}
        </>
      ) : null}
      {m.state === 'pending' || m.state === 'failed' ? <MapNow v={v} d={d} /> : null}
    </section>
  );
}

/** asks the host to map now (it maps known damage by itself once the volume is idle; this does it at once) */
function MapNow({ v, d }: { v: VolumeSnapshot; d: Pick<Dashboard, 'call'> }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <div className="row">
      <button
        type="button"
        className="secondary"
        aria-busy={busy}
        disabled={busy}
        onClick={() => {
          setBusy(true);
          d.call('mapDamage', v.id, { limit: 1, refresh: true })
            .then(
              () => setProblem(null),
              (e: Error) => setProblem(e.message),
            )
            .finally(() => setBusy(false));
        }}
      >
        Map to files now
      </button>
      {problem ? (
        <span className="error small" role="alert">
          {problem}
        </span>
      ) : null}
    </div>
  );
}
