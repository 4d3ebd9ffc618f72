// The volume's data sectors as cells: recalculated, pending recalculation, scrubbed, not yet scrubbed, bad, read
// error — with a legend, and each cell's sector (and block) range in its tooltip.
import type { ReactNode } from 'react';
import type { DamageSummary } from '../../../engine/api.js';
import { formatCount } from '../lib/format.js';

export type CellState = 'bad' | 'read-error' | 'pending' | 'dirty' | 'scrubbed' | 'recalculated' | 'unscrubbed';
export const CELL_LABEL: Record<CellState, string> = {
  bad: 'bad',
  'read-error': 'read error',
  pending: 'pending recalculation',
  dirty: 'dirty bitmap region (not verified)',
  scrubbed: 'scrubbed',
  recalculated: 'recalculated, not yet scrubbed',
  unscrubbed: 'not yet scrubbed',
};
const LEGEND: CellState[] = ['scrubbed', 'unscrubbed', 'recalculated', 'pending', 'dirty', 'bad', 'read-error'];

export interface SectorMapProps {
  total: number;
  sectorsPerBlock: number;
  /** recalculation position (sectors before it have their tags recomputed); null when no recalculation applies */
  recalcAt: number | null;
  /** sectors [0, scrubbedTo) have been checked by the last scrub */
  scrubbedTo: number;
  bad: Array<[number, number]>;
  readErrors?: Array<[number, number]>;
  /** dirty bitmap regions (bitmap mode after an unclean close): not verified until recalculated */
  dirty?: Array<[number, number]>;
  /** the coarse map of known damage (its counts per part of the volume): the ranges above are only the first */
  damage?: DamageSummary;
  cells?: number;
}

export function cellStates(p: SectorMapProps): Array<{ first: number; end: number; state: CellState }> {
  const n = Math.max(1, Math.min(p.cells ?? 128, p.total || 1));
  const out: Array<{ first: number; end: number; state: CellState }> = [];
  const hits = (rs: Array<[number, number]> | undefined, a: number, b: number) => (rs ?? []).some(([s, e]) => s < b && e > a);
  // the damage map's cells overlapping [a, b) hold any block of that kind
  const inMap = (cells: number[] | undefined, a: number, b: number) => {
    const m = p.damage?.map;
    if (!m || !cells) return false;
    for (let c = Math.floor(a / m.sectors_per_cell); c * m.sectors_per_cell < b && c < cells.length; c++) if (cells[c]! > 0) return true;
    return false;
  };
  for (let i = 0; i < n; i++) {
    const first = Math.floor((i * p.total) / n),
      end = Math.floor(((i + 1) * p.total) / n);
    let state: CellState;
    if (hits(p.bad, first, end) || inMap(p.damage?.map.bad, first, end)) state = 'bad';
    else if (hits(p.readErrors, first, end) || inMap(p.damage?.map.read_errors, first, end)) state = 'read-error';
    else if (p.recalcAt !== null && end > p.recalcAt) state = 'pending';
    else if (hits(p.dirty, first, end)) state = 'dirty';
    else if (end <= p.scrubbedTo) state = 'scrubbed';
    else if (p.recalcAt !== null) state = 'recalculated';
    else state = 'unscrubbed';
    out.push({ first, end, state });
  }
  return out;
}

export function SectorMap(p: SectorMapProps) {
  const cells = cellStates(p);
  const spb = p.sectorsPerBlock;
  const range = (a: number, b: number) => {
    const s = `sectors ${formatCount(a)}–${formatCount(b - 1)}`;
    return spb > 1 ? `${s} (blocks ${formatCount(Math.floor(a / spb))}–${formatCount(Math.floor((b - 1) / spb))})` : s;
  };
  const out: ReactNode[] = cells.map((c) => <span key={c.first} className={`cell ${c.state}`} title={`${range(c.first, c.end)}: ${CELL_LABEL[c.state]}`} />);
  const count = (s: CellState) => cells.filter((c) => c.state === s).length;
  return (
    <div>
      <div
        className="sectormap"
        role="img"
        aria-label={`Sector map of ${formatCount(p.total)} sectors: ${LEGEND.filter((s) => count(s))
          .map((s) => `${count(s)} cells ${CELL_LABEL[s]}`)
          .join(', ')}`}
      >
        {out}
      </div>
      <ul className="legend" aria-label="Sector map legend">
        {LEGEND.map((s) => (
          <li key={s}>
            <span className={`cell ${s}`} aria-hidden="true" /> {CELL_LABEL[s]}
          </li>
        ))}
      </ul>
      <p className="muted small">Each cell is about {formatCount(Math.ceil(p.total / cells.length))} sectors; hover a cell for its range.</p>
    </div>
  );
}
