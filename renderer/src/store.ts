// The dashboard's state (zustand, vanilla so that node tests drive it without a DOM): the connection, volumes as
// the host reports them (the host is the truth: progress events only add live positions and rates, never a state
// of their own), rate history of the current run for the charts, the route, and the commands sent to the host.
// Events from the host are queued and applied in batches (one state update per flush).
import { createStore } from 'zustand/vanilla';
import type {
  CommandArgs,
  CommandName,
  CommandResult,
  HostStatus,
  IntegrityEvent,
  JobKind,
  LiveScrubView,
  LiveSnapshot,
  Transport,
  VolumeSnapshot,
} from '../../engine/api.js';
import { routeHash, type Route } from './lib/routes.js';

export const RATE_HISTORY = 120;

export type ConnectionProblem = 'none' | 'closed' | 'refused' | 'forbidden';
export interface Connection {
  state: 'connecting' | 'connected' | 'disconnected';
  problem: ConnectionProblem;
  /** one line saying why and what to do (null when connected) */
  reason: string | null;
  /** when the next reconnection attempt is due (ms since epoch) */
  retry_at: number | null;
}

/** the samples of one run ([ms since epoch, bytes/s]); a new run starts a new series */
export interface RateSeries {
  run: string;
  samples: Array<[number, number]>;
}

export interface DashboardState {
  connection: Connection;
  status: Omit<HostStatus, 'volumes'> | null;
  volumes: Record<string, VolumeSnapshot>;
  order: string[];
  rates: Record<string, Partial<Record<JobKind, RateSeries>>>;
  formatProgress: Record<string, { done: number; total: number }>;
  /** a LUKS2 keyslot KDF running for an unlock or a create, by volume id */
  kdfProgress: Record<string, { kdf: string; fraction: number; elapsed_ms: number; estimate_ms: number; done: boolean }>;
  /** Replay journal's dirty-region recalculation (bitmap mode): sectors reached of total, time since it started */
  replayProgress: Record<string, { done: number; total: number; elapsed_ms: number; finished: boolean }>;
  route: Route;
  /** bumps on every navigation: the view moves focus to its heading when it changes */
  navigations: number;
  message: string | null;
  /** commands in flight, as "cmd:id" */
  pending: Record<string, true>;
  /** kernel devices watched by a page: the latest sample of each (by dm name) and its recalculation rate history */
  liveSnapshots: Record<string, LiveSnapshot>;
  liveRates: Record<string, Array<[number, number]>>;
  /** live scrubs of kernel devices (bounded progress), by dm name */
  liveScrubs: Record<string, LiveScrubView>;
}

type Args<K extends CommandName> = CommandArgs<K>;
type Result<K extends CommandName> = CommandResult<K>;

export interface DashboardActions {
  setStatus(s: HostStatus): void;
  setConnection(c: Partial<Connection> & Pick<Connection, 'state'>): void;
  applyEvents(events: IntegrityEvent[], now?: number): void;
  /** a new view (the App mirrors it into location.hash) */
  navigate(r: Route): void;
  /** the view the address names (hashchange, first load): no history entry of our own */
  setRoute(r: Route): void;
  setMessage(m: string | null): void;
  /** sends a command to the host; a returned snapshot is applied at once; rejects with the host's one line */
  call<K extends CommandName>(cmd: K, ...args: Args<K>): Promise<Result<K>>;
  /** call, with a failure shown as the page's message instead of thrown */
  act<K extends CommandName>(cmd: K, ...args: Args<K>): Promise<Result<K> | undefined>;
}

export type Dashboard = DashboardState & DashboardActions;

const isSnapshot = (x: unknown): x is VolumeSnapshot => typeof x === 'object' && x !== null && 'id' in x && 'verification' in x && 'conditions' in x;

export function createDashboardStore(api?: Transport) {
  return createStore<Dashboard>()((set, get) => ({
    connection: { state: 'connecting', problem: 'none', reason: null, retry_at: null },
    status: null,
    volumes: {},
    order: [],
    rates: {},
    formatProgress: {},
    kdfProgress: {},
    replayProgress: {},
    route: { page: 'list' },
    navigations: 0,
    message: null,
    pending: {},
    liveSnapshots: {},
    liveRates: {},
    liveScrubs: {},
    setConnection: (c) => set({ connection: { problem: 'none', reason: null, retry_at: null, ...c } }),
    setMessage: (message) => set({ message }),
    navigate: (route) => set((st) => ({ route, message: null, navigations: st.navigations + 1 })),
    // the address changed (Back/Forward, a pasted link, or the echo of our own navigate): the same view again is
    // no navigation, so focus is not taken back to the heading while someone types in the view
    setRoute: (route) => set((st) => (routeHash(route) === routeHash(st.route) && st.navigations > 0 ? st : { route, navigations: st.navigations + 1 })),
    setStatus: (s) =>
      set(() => {
        const { volumes: list, ...status } = s;
        const volumes: Record<string, VolumeSnapshot> = {};
        for (const v of list) volumes[v.id] = v;
        return { status, volumes, order: list.map((v) => v.id) };
      }),
    applyEvents: (events, now = Date.now()) =>
      set((st) => {
        let volumes = st.volumes,
          order = st.order,
          rates = st.rates,
          formatProgress = st.formatProgress,
          kdfProgress = st.kdfProgress,
          replayProgress = st.replayProgress;
        let liveSnapshots = st.liveSnapshots,
          liveRates = st.liveRates,
          liveScrubs = st.liveScrubs;
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
              break;
            }
            case 'progress': {
              const v = volumes[e.id];
              const p = e.progress;
              if (v) {
                // known damage (error_count, bad_ranges) comes with 'errors' events and snapshots: the host adds what the
                // last finished scrub found where this one has not been yet
                const next: VolumeSnapshot = { ...v, jobs: { ...v.jobs, [p.job]: p } };
                if (p.journal) next.journal = p.journal;
                volumes = { ...volumes, [e.id]: next };
              }
              // one series per run: a new start (or a resume from another position) clears the old samples
              const run = `${p.started_at ?? ''}@${p.start_sector}`;
              const prev = rates[e.id]?.[p.job];
              if (p.state === 'running' && (!prev || prev.run !== run)) rates = { ...rates, [e.id]: { ...rates[e.id], [p.job]: { run, samples: [] } } };
              if (p.state === 'running' && p.bytes_per_second > 0) {
                const series = rates[e.id]![p.job]!;
                rates = {
                  ...rates,
                  [e.id]: {
                    ...rates[e.id],
                    [p.job]: { run, samples: [...series.samples, [now, p.bytes_per_second] as [number, number]].slice(-RATE_HISTORY) },
                  },
                };
              } else if ((p.state === 'done' || p.state === 'paused') && p.bytes_per_second > 0) {
                // a run too short for a running sample (the native hashes finish small volumes within one throttle
                // interval) still charts its measured rate, from its final event
                const series = rates[e.id]?.[p.job];
                if (!series || series.run !== run || series.samples.length === 0) {
                  rates = { ...rates, [e.id]: { ...rates[e.id], [p.job]: { run, samples: [[now, p.bytes_per_second]] } } };
                }
              }
              break;
            }
            case 'errors': {
              const v = volumes[e.id];
              if (v) {
                const x = v.verification;
                volumes = {
                  ...volumes,
                  [e.id]: {
                    ...v,
                    error_count: e.count,
                    bad_ranges: e.ranges,
                    verification: {
                      ...x,
                      bad_blocks: e.count,
                      bad_ranges: e.ranges,
                      damage: e.damage,
                      read_errors: e.damage.read_errors,
                      read_error_ranges: e.damage.read_error_ranges,
                    },
                  },
                };
              }
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
            case 'kdf-progress':
              kdfProgress = {
                ...kdfProgress,
                [e.id]: { kdf: e.kdf, fraction: e.fraction, elapsed_ms: e.elapsed_ms, estimate_ms: e.estimate_ms, done: e.done },
              };
              break;
            case 'replay-progress':
              replayProgress = { ...replayProgress, [e.id]: { done: e.done, total: e.total, elapsed_ms: e.elapsed_ms, finished: e.finished } };
              break;
            case 'live': {
              liveSnapshots = { ...liveSnapshots, [e.name]: e.snapshot };
              const bps = e.snapshot.recalc.bytes_per_second;
              // a restart of the recalculation (or the device gone) starts a new series
              const series = e.snapshot.event || e.snapshot.state === 'gone' ? [] : (liveRates[e.name] ?? []);
              liveRates = {
                ...liveRates,
                [e.name]: bps !== null && bps > 0 ? [...series, [e.snapshot.t, bps] as [number, number]].slice(-RATE_HISTORY) : series,
              };
              break;
            }
            case 'live-scrub':
              liveScrubs = { ...liveScrubs, [e.name]: e.progress };
              break;
          }
        }
        return { volumes, order, rates, formatProgress, kdfProgress, replayProgress, liveSnapshots, liveRates, liveScrubs };
      }),
    call: (cmd, ...args) => {
      if (!api) return Promise.reject(new Error('no connection to the engine host'));
      const key = `${cmd}:${typeof args[0] === 'string' ? args[0] : ''}`;
      set((st) => ({ pending: { ...st.pending, [key]: true } }));
      const done = () =>
        set((st) => {
          const { [key]: _done, ...pending } = st.pending;
          return { pending };
        });
      return api.invoke(cmd, args).then(
        (r) => {
          done();
          if (isSnapshot(r)) get().applyEvents([{ type: 'volume', volume: r }]);
          if (cmd === 'removeVolume' && typeof args[0] === 'string') get().applyEvents([{ type: 'volume-removed', id: args[0] }]);
          return r;
        },
        (e: unknown) => {
          done();
          throw e;
        },
      );
    },
    act: (cmd, ...args) =>
      get()
        .call(cmd, ...args)
        .then(
          (r) => r,
          (e: unknown) => {
            set({ message: (e as Error).message });
            return undefined;
          },
        ),
  }));
}

export type DashboardStore = ReturnType<typeof createDashboardStore>;

/**
 * Queues events and applies them together once per `schedule` tick (the renderer uses animation frames), so the
 * UI stays responsive whatever the event rate.
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

/** the volumes in list order */
export function volumeList(d: Pick<DashboardState, 'order' | 'volumes'>): VolumeSnapshot[] {
  return d.order.map((id) => d.volumes[id]).filter((v): v is VolumeSnapshot => !!v);
}

export { formatBytes, formatEta, percent } from './lib/format.js';
