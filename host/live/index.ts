// The live part of the host (issue 18): the kernel's own dm-integrity devices through a LiveBackend — the list,
// watches as leases (watch.ts), plans and controls with their confirmation and refusals, activation of a volume of
// the app's list (activate.ts), the live scrub with bounded events (bounded.ts) and the kernel's log. EngineHost
// composes it; keys never leave the host (plans show placeholders, events and answers carry none).
import { IntegrityStudioError } from '../../engine/errors.js';
import type {
  ControlPlan,
  ControlResult,
  IntegrityEvent,
  LiveControlRequest,
  LiveDamageMapPage,
  LiveKernelLog,
  LiveOverview,
  LiveScrubRequest,
  LiveScrubView,
  LiveWatch,
  MapLiveDamageRequest,
} from '../../engine/api.js';
import type { LiveDamageMap } from '../../engine/live/map-damage.js';
import type { PlanRequest } from '../../engine/live/service.js';
import type { LiveVolume } from '../../engine/live/types.js';
import { validDmName } from '../../engine/live/controls.js';
import type { EventHub } from '../events.js';
import type { Entry } from '../volumes.js';
import { activateSpecOf, wipeSpec } from './activate.js';
import { LiveBackendChoice, type LiveBackendOptions } from './backend.js';
import { boundLog, boundScrub } from '../../engine/live/bound.js';
import { LiveWatches, type LiveWatchOptions } from './watch.js';

export { LIVE_LEASE_MS, LIVE_PERIOD_MS } from './watch.js';
export type { LiveBackendOptions } from './backend.js';

export interface LiveHostOptions extends LiveBackendOptions, LiveWatchOptions {}

function deviceName(name: string | undefined, what: string): string {
  if (!name) throw new IntegrityStudioError(`${what}: the device's name is missing`, 'EINVAL');
  if (!validDmName(name))
    throw new IntegrityStudioError(`"${name.slice(0, 130)}" is not a device-mapper name (letters, digits and #+-.:=@_ only, at most 127)`, 'EINVAL');
  return name;
}

export class LiveHost {
  private readonly choice: LiveBackendChoice;
  private readonly watches: LiveWatches;
  private unsubscribe: (() => void) | null = null;
  /** paths of the kernel's integrity devices (images, loop files, data and metadata devices) → dm name, from the
   *  last listing: our engine must never open what the kernel holds */
  private held = new Map<string, string>();
  private listedAt: string | null = null;
  /** the last mapping of each device's live scrub findings (what its bad blocks hold), with what it mapped */
  private readonly maps = new Map<string, { key: string; map: LiveDamageMap; mapped_at: string }>();

  constructor(
    private readonly events: EventHub,
    private readonly entry: (id: string) => Entry,
    o: LiveHostOptions = {},
  ) {
    this.choice = new LiveBackendChoice(o);
    this.watches = new LiveWatches(
      () => {
        const b = this.choice.current();
        if (!b) throw new IntegrityStudioError('no live backend', 'EUNSUPPORTED');
        return b;
      },
      (e) => this.events.emit(e),
      o,
    );
  }

  private async backend() {
    const b = await this.choice.backend();
    // scrub progress from the backend, bounded, one event stream per device (≤ 4/s from the engine; the final at once)
    this.unsubscribe ??= b.onScrubProgress((p) => {
      const view = boundScrub(p);
      this.events.throttled(`live-scrub:${p.name}`, (): IntegrityEvent => ({ type: 'live-scrub', name: p.name, progress: view }), p.state !== 'running');
    });
    return b;
  }

  private note(volumes: readonly LiveVolume[]): void {
    const held = new Map<string, string>();
    for (const v of volumes) {
      for (const p of [v.superblock_device, v.data_device.path, v.data_device.loop_file, v.meta_device?.path, v.meta_device?.loop_file])
        if (p) held.set(p, v.name);
    }
    const changed = held.size !== this.held.size || [...held].some(([p, n]) => this.held.get(p) !== n);
    this.held = held;
    this.listedAt = new Date().toISOString();
    if (changed) this.onHeldChange?.();
  }

  /** called when a listing changes which images and devices the kernel holds (the host sends those volumes again) */
  onHeldChange: (() => void) | null = null;

  /** the kernel device holding an image or device, as last listed, with when that listing was made */
  kernelOf(paths: ReadonlyArray<string | null | undefined>): { name: string; listed_at: string } | null {
    for (const p of paths) {
      const name = p ? this.held.get(p) : undefined;
      if (name && this.listedAt) return { name, listed_at: this.listedAt };
    }
    return null;
  }

  /** lists in the background when that asks nothing of the user (root, or a backend already started) */
  prime(): void {
    void this.choice
      .availability()
      .then(async (a) => {
        if (a.available && (a.via === 'root' || this.choice.current())) this.note(await (await this.backend()).list());
      })
      .catch(() => undefined);
  }

  async overview(): Promise<LiveOverview> {
    const availability = await this.choice.availability();
    const listed_at = new Date().toISOString();
    if (!availability.available) return { availability, volumes: [], listed_at, error: null };
    try {
      const volumes = await (await this.backend()).list();
      this.note(volumes);
      return { availability, volumes, listed_at, error: null };
    } catch (e) {
      return { availability, volumes: [], listed_at, error: (e as Error).message };
    }
  }

  async watch(name: string): Promise<LiveWatch> {
    await this.backend();
    return this.watches.watch(deviceName(name, 'watchLive'));
  }

  /** the names sampled now (tests) */
  watched(): string[] {
    return this.watches.active();
  }

  /** a request of the contract as the engine's; activation builds its spec from the entry (key copies inside) */
  private request(req: LiveControlRequest): PlanRequest {
    if (req.action === 'activate') {
      if (!req.volumeId) throw new IntegrityStudioError('activate: choose a volume of the list (volumeId)', 'EINVAL');
      if (req.name !== undefined) deviceName(req.name, 'activate');
      return { action: 'activate', spec: activateSpecOf(this.entry(req.volumeId), req) };
    }
    return { action: req.action, name: deviceName(req.name, req.action) };
  }

  private done(r: PlanRequest): void {
    if (r.action === 'activate') wipeSpec(r.spec);
  }

  async plan(req: LiveControlRequest): Promise<ControlPlan> {
    const b = await this.backend();
    const r = this.request(req);
    try {
      return await b.plan(r);
    } finally {
      this.done(r);
    }
  }

  /** runs a control: refused (EREFUSED, the owner's words) or asked first (ECONFIRM, the plan's question) by the
   *  engine's runControl, which checks the plan again just before it runs */
  async control(req: LiveControlRequest): Promise<ControlResult> {
    const b = await this.backend();
    const r = this.request(req);
    try {
      const result = await b.control(r, req.confirm === true);
      const name = r.action === 'activate' ? r.spec.name : r.name;
      if (result.reloaded) this.watches.markReload(name);
      await this.watches.refresh(name);
      if (r.action === 'activate' || r.action === 'deactivate') {
        try {
          this.note(await b.list());
        } catch {
          /* the last listing stays */
        }
      }
      return result;
    } finally {
      this.done(r);
    }
  }

  async scrubStart(name: string, req: LiveScrubRequest): Promise<LiveScrubView> {
    const b = await this.backend();
    const max = req.maxMiBs && req.maxMiBs > 0 ? req.maxMiBs * 1024 * 1024 : undefined;
    return boundScrub(
      await b.scrubStart(deviceName(name, 'startLiveScrub'), { ...(max ? { maxBytesPerSecond: max } : {}), ...(req.reset ? { reset: true } : {}) }),
    );
  }

  async scrubPause(name: string): Promise<LiveScrubView> {
    return boundScrub(await (await this.backend()).scrubPause(deviceName(name, 'pauseLiveScrub')));
  }

  async scrubProgress(name: string): Promise<LiveScrubView | null> {
    const p = await (await this.backend()).scrubProgress(deviceName(name, 'liveScrubProgress'));
    return p ? boundScrub(p) : null;
  }

  async kernelLog(name: string): Promise<LiveKernelLog> {
    const n = deviceName(name, 'liveKernelLog');
    return boundLog(n, await (await this.backend()).kernelLog(n));
  }

  /** what a live scrub's bad blocks hold, a page at a time: mapped once per saved findings (the backend reads the
   *  device, as root), kept for the pages after it */
  async mapDamage(name: string, req: MapLiveDamageRequest): Promise<LiveDamageMapPage> {
    const n = deviceName(name, 'mapLiveDamage');
    const limit = req.limit ?? 50;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 200) throw new IntegrityStudioError('mapLiveDamage: limit must be 1 to 200', 'EINVAL');
    const offset = req.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new IntegrityStudioError('mapLiveDamage: offset must be 0 or more', 'EINVAL');
    const b = await this.backend();
    let kept = this.maps.get(n);
    if (!kept || req.refresh || offset === 0) {
      // a first page asks again whether the scrub has saved newer findings (cheap: its state file); a mapping of the
      // same findings is kept
      const p = await b.scrubProgress(n);
      if (!p) throw new IntegrityStudioError(`no live scrub of ${n} has run here, so no damage is known: start one first`, 'ENOENT');
      if (p.bad_blocks + p.read_errors === 0)
        throw new IntegrityStudioError(`the live scrub of ${n} has found no bad blocks: there is nothing to map`, 'ENOENT');
      const key = `${p.started_at}|${p.position_sector}|${p.bad_blocks}|${p.read_errors}`;
      if (!kept || req.refresh || kept.key !== key) {
        kept = { key, map: await b.mapDamage(n), mapped_at: new Date().toISOString() };
        this.maps.set(n, kept);
      }
    }
    const { items: every, ...result } = kept.map.result;
    const all = req.kind && req.kind !== 'all' ? every.filter((i) => i.kind === req.kind) : every;
    return {
      name: n,
      device: kept.map.device,
      mapped_at: kept.mapped_at,
      scrub_updated: kept.map.scrub_updated,
      result,
      items: all.slice(offset, offset + limit),
      total_items: all.length,
      next_offset: offset + limit < all.length ? offset + limit : null,
    };
  }

  /** stops sampling and pauses live scrubs this host started (their positions saved) */
  async close(): Promise<void> {
    this.watches.close();
    this.unsubscribe?.();
    await this.choice.close();
  }
}
