// The dashboard's state (zustand, vanilla so that node tests drive it without a DOM): volumes, job progress,
// rate history for the charts, and the current view. Events from the host are queued and applied in batches
// (at most one state update per flush), so a burst of progress never blocks rendering.
import { createStore } from 'zustand/vanilla';
import type { HostStatus, IntegrityEvent, JobKind, JobProgress, VolumeSnapshot } from '../../engine/api.js';

export const RATE_HISTORY = 120;

export interface DashboardState {
  connected: boolean;
  status: Omit<HostStatus, 'volumes'> | null;
  volumes: Record<string, VolumeSnapshot>;
  order: string[];
  /** rate samples [ms since epoch, bytes/s] per volume and job */
  rates: Record<string, Partial<Record<JobKind, Array<[number, number]>>>>;
  formatProgress: Record<string, { done: number; total: number }>;
  view: { page: 'list' } | { page: 'create' } | { page: 'add' } | { page: 'volume'; id: string };
  message: string | null;
}

export interface DashboardActions {
  setStatus(s: HostStatus): void;
  setConnected(c: boolean): void;
  applyEvents(events: IntegrityEvent[], now?: number): void;
  navigate(v: DashboardState['view']): void;
  setMessage(m: string | null): void;
}

export type Dashboard = DashboardState & DashboardActions;

function withProgress(v: VolumeSnapshot, p: JobProgress): VolumeSnapshot {
  const jobs = { ...v.jobs, [p.job]: p };
  let state = v.state;
  if (p.state === 'running') state = p.job === 'recalc' ? 'recalculating' : p.job === 'scrub' ? 'scrubbing' : state;
  else if (p.state === 'paused') state = 'paused';
  else if (p.state === 'done') state = v.error_count > 0 ? 'errors' : 'clean';
  const out = { ...v, jobs, state };
  if (p.job === 'scrub') { out.error_count = p.mismatches; out.bad_ranges = p.bad_ranges; if (p.state === 'done' && p.mismatches > 0) out.state = 'errors'; }
  if (p.journal) out.journal = p.journal;
  return out;
}

export function createDashboardStore() {
  return createStore<Dashboard>()((set) => ({
    connected: false, status: null, volumes: {}, order: [], rates: {}, formatProgress: {}, view: { page: 'list' }, message: null,
    setConnected: (connected) => set({ connected }),
    setMessage: (message) => set({ message }),
    navigate: (view) => set({ view, message: null }),
    setStatus: (s) => set(() => {
      const { volumes: list, ...status } = s;
      const volumes: Record<string, VolumeSnapshot> = {};
      for (const v of list) volumes[v.id] = v;
      return { status, volumes, order: list.map((v) => v.id) };
    }),
    applyEvents: (events, now = Date.now()) => set((st) => {
      let volumes = st.volumes, order = st.order, rates = st.rates, formatProgress = st.formatProgress, view = st.view;
      for (const e of events) {
        switch (e.type) {
          case 'volume':
            volumes = { ...volumes, [e.volume.id]: e.volume };
            if (!order.includes(e.volume.id)) order = [...order, e.volume.id];
            break;
          case 'volume-removed': {
            const { [e.id]: _gone, ...rest } = volumes;
            volumes = rest;
            order = order.filter((id) => id !== e.id);
            if (view.page === 'volume' && view.id === e.id) view = { page: 'list' };
            break;
          }
          case 'progress': {
            const v = volumes[e.id];
            if (v) volumes = { ...volumes, [e.id]: withProgress(v, e.progress) };
            if (e.progress.state === 'running' && e.progress.bytes_per_second > 0) {
              const prev = rates[e.id]?.[e.progress.job] ?? [];
              const next = [...prev, [now, e.progress.bytes_per_second] as [number, number]].slice(-RATE_HISTORY);
              rates = { ...rates, [e.id]: { ...rates[e.id], [e.progress.job]: next } };
            }
            break;
          }
          case 'errors': {
            const v = volumes[e.id];
            if (v) volumes = { ...volumes, [e.id]: { ...v, error_count: e.count, bad_ranges: e.ranges } };
            break;
          }
          case 'journal': {
            const v = volumes[e.id];
            if (v) volumes = { ...volumes, [e.id]: { ...v, journal: e.journal } };
            break;
          }
          case 'format-progress':
            formatProgress = { ...formatProgress, [e.id]: { done: e.done, total: e.total } };
            break;
        }
      }
      return { volumes, order, rates, formatProgress, view };
    }),
  }));
}

export type DashboardStore = ReturnType<typeof createDashboardStore>;

/**
 * Queues events and applies them together at most once per `intervalMs` (the renderer uses animation frames
 * through `schedule`), so the UI stays responsive whatever the event rate.
 */
export function createEventBatcher(apply: (events: IntegrityEvent[]) => void, schedule: (fn: () => void) => void) {
  let queue: IntegrityEvent[] = [];
  let scheduled = false;
  return (e: IntegrityEvent) => {
    queue.push(e);
    if (scheduled) return;
    scheduled = true;
    schedule(() => {
      scheduled = false;
      const batch = queue;
      queue = [];
      apply(batch);
    });
  };
}

export function percent(p: Pick<JobProgress, 'position_sector' | 'total_sectors'> | undefined): number {
  if (!p || p.total_sectors <= 0) return 0;
  return Math.min(100, Math.floor((p.position_sector / p.total_sectors) * 100));
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function formatEta(ms: number | null): string {
  if (ms === null) return '—';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}
