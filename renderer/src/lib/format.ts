// Numbers, sizes, times and durations as the dashboard prints them. Pure: no DOM.
import type { JobProgress } from '../../../engine/api.js';

export { formatBytes, formatRate } from '../../../engine/units.js';

/** 1204232 → "1,204,232" (the same in every locale, so tests and screenshots read alike) */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

export function formatEta(ms: number | null): string {
  if (ms === null) return '—';
  return formatDuration(ms);
}

export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const pad = (n: number) => String(n).padStart(2, '0');
/** ISO → "2026-12-02 17:30:12" in local time ("—" when absent) */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function percent(p: Pick<JobProgress, 'position_sector' | 'total_sectors'> | undefined): number {
  if (!p || p.total_sectors <= 0) return 0;
  return Math.min(100, Math.floor((p.position_sector / p.total_sectors) * 100));
}
