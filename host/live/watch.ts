// Watches of kernel devices as leases: watchLive(name) starts (or renews) sampling that device about once a second
// for `leaseMs` after the last call, each sample fed to a LiveSampler (rate, ETA, our own mismatch history) and sent
// as a 'live' event. A page renews its watch while it is open; a tab that goes away simply stops renewing, and the
// sampling stops when the lease runs out: nothing to clean up, nothing leaks.
import type { IntegrityEvent, LiveSnapshot, LiveWatch } from '../../engine/api.js';
import { LiveSampler } from '../../engine/live/sampler.js';
import type { LiveBackend } from '../../engine/live/service.js';

export const LIVE_LEASE_MS = 15_000;
export const LIVE_PERIOD_MS = 1_000;

interface Watch {
  sampler: LiveSampler;
  until: number;
  timer: NodeJS.Timeout;
  latest: LiveSnapshot | null;
  error: string | null;
  busy: boolean;
}

export interface LiveWatchOptions {
  leaseMs?: number;
  periodMs?: number;
  now?: () => number;
}

export class LiveWatches {
  private readonly watches = new Map<string, Watch>();
  private readonly leaseMs: number;
  private readonly periodMs: number;
  private readonly now: () => number;

  constructor(
    private readonly backend: () => LiveBackend,
    private readonly emit: (e: IntegrityEvent) => void,
    o: LiveWatchOptions = {},
  ) {
    this.leaseMs = o.leaseMs ?? LIVE_LEASE_MS;
    this.periodMs = o.periodMs ?? LIVE_PERIOD_MS;
    this.now = o.now ?? Date.now;
  }

  /** starts or renews the lease; a new watch takes its first sample before answering */
  async watch(name: string): Promise<LiveWatch> {
    let w = this.watches.get(name);
    if (w) {
      w.until = this.now() + this.leaseMs;
    } else {
      const timer = setInterval(() => void this.tick(name), this.periodMs);
      timer.unref();
      w = { sampler: new LiveSampler(name), until: this.now() + this.leaseMs, timer, latest: null, error: null, busy: false };
      this.watches.set(name, w);
      await this.tick(name);
    }
    return { name, lease_ms: this.leaseMs, snapshot: w.latest, error: w.error };
  }

  /** the names sampled now */
  active(): string[] {
    return [...this.watches.keys()];
  }

  /** our own control reloaded the table: the sampler starts a new kernel counter at the next sample */
  markReload(name: string): void {
    this.watches.get(name)?.sampler.markReload();
  }

  /** samples at once (after a control) when the device is watched */
  async refresh(name: string): Promise<void> {
    if (this.watches.has(name)) await this.tick(name, true);
  }

  private async tick(name: string, force = false): Promise<void> {
    const w = this.watches.get(name);
    if (!w) return;
    if (this.now() > w.until) {
      this.stop(name);
      return;
    }
    if (w.busy && !force) return; // a slow status (a reload holds dmsetup) does not pile samples up
    w.busy = true;
    try {
      const sample = await this.backend().status(name);
      if (this.watches.get(name) !== w) return;
      w.latest = w.sampler.add(sample);
      w.error = null;
      this.emit({ type: 'live', name, snapshot: w.latest });
    } catch (e) {
      w.error = (e as Error).message;
    } finally {
      w.busy = false;
    }
  }

  private stop(name: string): void {
    const w = this.watches.get(name);
    if (!w) return;
    clearInterval(w.timer);
    this.watches.delete(name);
  }

  close(): void {
    for (const name of [...this.watches.keys()]) this.stop(name);
  }
}
