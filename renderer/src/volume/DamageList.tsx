// Known damage, a page at a time (listErrors): a volume with a million bad blocks shows PAGE rows, never a million,
// so the page stays as quick as a clean volume's. First / Previous / Next, a sector to jump to, a filter by kind,
// and the exports (JSON, CSV) streamed by the host — a download from `serve`, or a file chosen in Electron's dialog.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { ErrorRangeRow, VolumeSnapshot } from '../../../engine/api.js';
import { formatCount, plural } from '../lib/format.js';
import type { Dashboard } from '../store.js';

export const PAGE = 100;

/** a download streamed by the host (its name comes with it) */
function downloadFrom(href: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = '';
  document.body.append(a);
  a.click();
  a.remove();
}

/** How exports reach the user: a link to the host's stream (serve), or a save dialog then a file the host writes. */
export type Exporter =
  | { kind: 'link'; href(id: string, format: 'json' | 'csv'): string }
  | { kind: 'save'; save(id: string, format: 'json' | 'csv'): Promise<string | null> };

type Kind = 'all' | 'bad' | 'read-error';

/** the ranges a snapshot carries (the first of each kind), as the first page shows them */
function firstRows(v: VolumeSnapshot): ErrorRangeRow[] {
  const d = v.verification.damage;
  const rows: ErrorRangeRow[] = [
    ...d.bad_ranges.map(([a, b]): ErrorRangeRow => ({ kind: 'bad', first_sector: a, end_sector: b })),
    ...d.read_error_ranges.map(([a, b]): ErrorRangeRow => ({ kind: 'read-error', first_sector: a, end_sector: b })),
  ];
  return rows.sort((p, q) => p.first_sector - q.first_sector).slice(0, PAGE);
}

export function DamageList({
  v,
  d,
  exporter,
  renderRow,
  head,
  noun,
}: {
  v: VolumeSnapshot;
  d: Pick<Dashboard, 'call'>;
  exporter?: Exporter;
  /** the table's header cells and one row's cells */
  head: ReactNode;
  renderRow(r: ErrorRangeRow): ReactNode;
  /** "bad block" / "failing sector" */
  noun: string;
}) {
  const [kind, setKind] = useState<Kind>('all');
  // the first sectors of the pages before this one (Previous pops it)
  const [stack, setStack] = useState<number[]>([]);
  const [from, setFrom] = useState(0);
  // the first page is drawn at once from the snapshot's first ranges (bounded), then read from the host
  const [rows, setRows] = useState<ErrorRangeRow[] | null>(() => firstRows(v));
  const [next, setNext] = useState<number | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [jump, setJump] = useState('');
  const [exported, setExported] = useState<string | null>(null);
  const tableRef = useRef<HTMLTableElement>(null);
  const x = v.verification;
  // a new finding or another scrub: the page is read again
  const version = `${x.bad_blocks}:${x.read_errors}:${x.finished_at}:${x.started_at}`;
  // the store's call is stable; the store object itself changes with every answer (a dependency on it loops)
  const call = d.call;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` is the trigger (a new finding reads the page again)
  useEffect(() => {
    let live = true;
    call('listErrors', v.id, { fromSector: from, limit: PAGE, kind }).then(
      (p) => {
        if (!live) return;
        setRows(p.rows);
        setNext(p.next_sector);
        setTotal(p.total_ranges);
        setProblem(null);
      },
      (e: Error) => {
        if (live) setProblem(e.message);
      },
    );
    return () => {
      live = false;
    };
  }, [v.id, from, kind, version, call]);

  const go = (to: number, push: boolean) => {
    if (push) setStack([...stack, from]);
    setFrom(to);
    tableRef.current?.focus();
  };
  const counts = `${plural(x.bad_blocks, noun)}${x.read_errors ? `, ${plural(x.read_errors, 'unreadable block')}` : ''} in ${plural((x.damage.bad_range_count ?? 0) + (x.damage.read_error_range_count ?? 0), 'range')}`;
  return (
    <div className="damage-list">
      <div className="row">
        <label htmlFor={`dl-kind-${v.id}`}>Show</label>
        <select
          id={`dl-kind-${v.id}`}
          value={kind}
          onChange={(e) => {
            setKind(e.target.value as Kind);
            setStack([]);
            setFrom(0);
          }}
        >
          <option value="all">every range</option>
          <option value="bad">{noun}s only</option>
          <option value="read-error">unreadable blocks only</option>
        </select>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            const n = /^\d+$/.test(jump.trim()) ? Number(jump.trim()) : NaN;
            if (Number.isSafeInteger(n)) go(n, true);
          }}
        >
          <label htmlFor={`dl-jump-${v.id}`}>From sector</label>
          <input id={`dl-jump-${v.id}`} inputMode="numeric" value={jump} onChange={(e) => setJump(e.target.value)} placeholder="0" size={12} />
          <button type="submit" className="secondary">
            Go
          </button>
        </form>
      </div>
      <p className="muted small" data-testid="damage-counts">
        {counts}
        {total !== null && total >= 0 ? ` · ${plural(total, 'range')} listed${kind === 'all' ? '' : ' of this kind'}` : ''} · {PAGE} per page
      </p>
      {problem ? (
        <p className="error" role="alert">
          Could not read the list: {problem}
        </p>
      ) : null}
      <div className="table-wrap">
        <table ref={tableRef} tabIndex={-1} className="ranges" aria-label={`Known damage from sector ${formatCount(from)}`} aria-busy={rows === null}>
          <thead>{head}</thead>
          <tbody>
            {(rows ?? []).map((r) => (
              <tr key={`${r.kind}-${r.first_sector}`}>{renderRow(r)}</tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="row" aria-label="Pages">
        <button
          type="button"
          className="secondary"
          disabled={!stack.length && from === 0}
          onClick={() => {
            setStack([]);
            go(0, false);
          }}
        >
          First page
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!stack.length}
          onClick={() => {
            const prev = stack[stack.length - 1] ?? 0;
            setStack(stack.slice(0, -1));
            go(prev, false);
          }}
        >
          Previous page
        </button>
        <button
          type="button"
          className="secondary"
          disabled={next === null}
          onClick={() => {
            if (next !== null) go(next, true);
          }}
        >
          Next page
        </button>
        <span className="muted small" data-testid="page-where">
          {rows?.length ? `sectors ${formatCount(rows[0]!.first_sector)}–${formatCount(rows[rows.length - 1]!.end_sector - 1)}` : 'no ranges here'}
        </span>
      </nav>
      {exporter ? (
        <div className="row">
          {(['json', 'csv'] as const).map((f) =>
            exporter.kind === 'link' ? (
              <button key={f} type="button" className="secondary" onClick={() => downloadFrom(exporter.href(v.id, f))}>{`Export ${f.toUpperCase()}`}</button>
            ) : (
              <button
                key={f}
                type="button"
                className="secondary"
                onClick={() => {
                  void exporter.save(v.id, f).then((p) => {
                    if (p) setExported(p);
                  });
                }}
              >{`Export ${f.toUpperCase()}…`}</button>
            ),
          )}
          {exported ? (
            <span className="ok" role="status">
              Saved {exported}
            </span>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
