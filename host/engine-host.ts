// EngineHost: the IntegrityApi of one dashboard session (Electron's main process or `integrity-studio serve`).
// A thin composition: each concern lives in its own file — the volume list (volumes.ts), request mapping
// (requests.ts), keys (keys.ts), snapshots and states (snapshot.ts, job-views.ts), jobs (jobs.ts), plain volumes'
// lifecycle (lifecycle.ts), LUKS2 volumes (luks/), resize (resize.ts), known damage lists and exports
// (damage-list.ts), events (events.ts) and changes made by others (changes.ts). Plain Node: no Electron import.
// Keys stay here: snapshots only say whether one is set, and no error carries key material.
import fs from 'node:fs';
import { heldByKernel } from './fsmap/attached.js';
import { IntegrityStudioError } from '../engine/errors.js';
import { supportedAlgorithms } from '../engine/hash/index.js';
import { isLuks2 } from '../engine/luks/header.js';
import { startJob as engineStartJob } from '../engine/jobs/index.js';
import { version } from '../engine/version.js';
import type {
  AddVolumeRequest,
  CreateLuksVolumeRequest,
  CreateVolumeRequest,
  ErrorPage,
  ExportErrorsRequest,
  ExportResult,
  HostStatus,
  IntegrityCommands,
  IntegrityEvent,
  ListErrorsRequest,
  ResizeLimits,
  ResizeVolumeRequest,
  UnlockRequest,
  UpdateVolumeRequest,
  VolumeSnapshot,
  DamageMapPage,
  MapDamageRequest,
  RewriteFreeRequest,
  RewriteFreeResult,
  ControlPlan,
  ControlResult,
  LiveControlRequest,
  LiveKernelLog,
  LiveDamageMapPage,
  MapLiveDamageRequest,
  LiveOverview,
  LiveScrubRequest,
  LiveScrubView,
  LiveWatch,
} from '../engine/api.js';
import type { LiveBackend } from '../engine/live/service.js';
import { signatureOf, Poller } from './changes.js';
import type { HostContext, StartJob } from './context.js';
import { exportErrors, listErrors } from './damage-list.js';
import { EventHub } from './events.js';
import { Jobs, type PausedJob } from './jobs.js';
import { PlainVolumes } from './lifecycle.js';
import { LuksVolumes } from './luks/lifecycle.js';
import { absolutePath } from './requests.js';
import { Resizer } from './resize.js';
import { snapshotOf } from './snapshot.js';
import { forgetKeys, VolumeStore, type Entry } from './volumes.js';
import { currentMapping, DamageMaps, type KeptMapping } from './fsmap/index.js';
import { LiveHost, type LiveHostOptions } from './live/index.js';

export type { PausedJob } from './jobs.js';
export type { StartJob } from './context.js';

export const HOST_VERSION = version();

export interface EngineHostOptions {
  /** folder holding volumes.json (the list of volumes and their open options, never keys) */
  dataDir?: string;
  /** minimum ms between two progress events of one job sent to subscribers (the final one always goes) */
  throttleMs?: number;
  transport?: 'electron' | 'websocket';
  /** injected for tests; default: engine/jobs startJob (worker threads); null disables recalc/scrub */
  startJob?: StartJob | null;
  /** how often idle volumes are re-read for changes made by others (the CLI); 0 disables; default 2000 */
  pollMs?: number;
  /** map known damage in the background when a volume is idle (host/fsmap); default true */
  autoMapDamage?: boolean;
  /** the kernel's devices through this backend (tests: a fake); default: chosen from liveAvailability() */
  liveBackend?: LiveBackend;
  /** lease, sampling period and availability probe of the live part (tests) */
  live?: Omit<LiveHostOptions, 'backend'>;
}

export class EngineHost implements IntegrityCommands {
  readonly transport: 'electron' | 'websocket';
  readonly startedAt = new Date().toISOString();
  private readonly store: VolumeStore;
  private readonly events: EventHub;
  private readonly jobs: Jobs;
  private readonly plain: PlainVolumes;
  private readonly luks: LuksVolumes;
  private readonly resizer: Resizer;
  private readonly poller: Poller;
  private readonly startJobFn: StartJob | null;
  private readonly fsmap: DamageMaps;
  private readonly autoMap: boolean;
  private readonly live: LiveHost;

  private constructor(o: EngineHostOptions) {
    this.transport = o.transport ?? 'websocket';
    this.startJobFn = o.startJob === undefined ? engineStartJob : o.startJob;
    this.store = new VolumeStore(o.dataDir ?? null);
    this.events = new EventHub(o.throttleMs ?? 100);
    const ctx: HostContext = {
      store: this.store,
      events: this.events,
      startedAt: this.startedAt,
      startJob: this.startJobFn,
      snapshot: (e) => this.snap(e),
      emitVolume: (e) => this.emitVolume(e),
    };
    this.jobs = new Jobs(ctx);
    this.plain = new PlainVolumes(ctx, this.jobs);
    this.luks = new LuksVolumes(ctx);
    this.resizer = new Resizer(ctx, this.jobs);
    this.poller = new Poller(o.pollMs ?? 2000, () => this.poll());
    this.fsmap = new DamageMaps(ctx, this.jobs);
    this.autoMap = o.autoMapDamage ?? true;
    this.live = new LiveHost(this.events, (id) => this.store.get(id), { ...o.live, ...(o.liveBackend ? { backend: o.liveBackend } : {}) });
    // a listing that shows a volume of ours active in the kernel (or no longer) changes what its snapshot says
    this.live.onHeldChange = () => {
      for (const e of this.store.all()) this.emitVolume(e);
    };
  }

  static async create(o: EngineHostOptions = {}): Promise<EngineHost> {
    const host = new EngineHost(o);
    host.store.load();
    host.live.prime();
    // known damage from before this host started is mapped in the background, one volume at a time
    if (host.autoMap) for (const e of host.store.all()) host.fsmap.consider(e, host.snap(e));
    return host;
  }

  // ---- events ----
  onEvent(listener: (e: IntegrityEvent) => void): () => void {
    return this.events.on(listener);
  }

  /** a volume as the contract shows it, with the kernel device holding it (as last listed) */
  private snap(e: Entry): VolumeSnapshot {
    return snapshotOf(e, this.startedAt, this.live.kernelOf([e.path, e.options.data_device]));
  }

  private emitVolume(e: Entry): VolumeSnapshot {
    const s = this.snap(e);
    e.signature = signatureOf(e);
    this.events.emit({ type: 'volume', volume: s });
    if (this.autoMap) this.fsmap.consider(e, s);
    return s;
  }

  /** re-reads idle volumes; emits a 'volume' event for each that changed (made by others: the CLI, a user) */
  poll(): void {
    for (const e of this.store.all()) {
      if (e.formatting || e.resizing || e.replaying || e.handles.recalc || e.handles.scrub) continue;
      if (signatureOf(e) !== e.signature) this.emitVolume(e);
    }
  }

  // ---- the contract (engine/api.ts IntegrityCommands) ----
  status(): HostStatus {
    return {
      version: HOST_VERSION,
      transport: this.transport,
      algorithms: supportedAlgorithms(),
      jobs_available: !!this.startJobFn,
      started_at: this.startedAt,
      volumes: this.listVolumes(),
    };
  }

  listVolumes(): VolumeSnapshot[] {
    return this.store.all().map((e) => this.snap(e));
  }

  /** an existing volume; a LUKS2 device (recognised by a header copy) is added locked, or unlocked with its secret */
  addVolume(req: AddVolumeRequest): VolumeSnapshot | Promise<VolumeSnapshot> {
    const p = absolutePath(req.path, 'Image or device');
    this.store.refuseDuplicate(p);
    if (!fs.existsSync(p)) throw new IntegrityStudioError(`${p}: no such file or device`, 'ENOENT');
    if (isLuks2(p)) return this.luks.add(p, req);
    return this.plain.add(p, req);
  }

  createVolume(req: CreateVolumeRequest): Promise<VolumeSnapshot> {
    return this.plain.create(req);
  }

  createLuksVolume(req: CreateLuksVolumeRequest): Promise<VolumeSnapshot> {
    return this.luks.create(req);
  }

  removeVolume(id: string): void {
    this.plain.remove(this.store.get(id));
  }

  updateVolume(id: string, req: UpdateVolumeRequest): VolumeSnapshot {
    return this.plain.update(this.store.get(id), req);
  }

  unlockVolume(id: string, req: UnlockRequest): VolumeSnapshot | Promise<VolumeSnapshot> {
    const e = this.store.get(id);
    return e.luks ? this.luks.unlock(e, req.luksSecret) : this.plain.unlock(e, req);
  }

  async replayJournal(id: string): Promise<VolumeSnapshot> {
    const e = this.free(id);
    if (e.replaying) throw new IntegrityStudioError(`${e.name}: its journal is already being replayed`, 'EBUSY');
    this.jobs.refuseWhileBusy(e, 'replaying its journal');
    return e.luks ? this.luks.replay(e) : this.plain.replay(e);
  }

  /** our engine never opens a volume the kernel holds (activated from this list, or by integritysetup elsewhere) */
  private free(id: string): Entry {
    const e = this.store.get(id);
    // the last listing of the kernel's devices (root), else sysfs, which anyone can read (a holder of the device, or of
    // the loop device the image is attached to)
    const listed = this.live.kernelOf([e.path, e.options.data_device])?.name;
    const where = listed ? `/dev/mapper/${listed}` : heldByKernel([e.path, e.options.data_device]);
    if (where)
      throw new IntegrityStudioError(
        `${e.name} is active in the kernel as ${where}: the app's engine does not open it while the kernel holds it. Watch, recalculate and scrub it under Kernel devices, or deactivate it there first.`,
        'EBUSY',
      );
    return e;
  }

  startRecalc(id: string): void {
    this.jobs.start(this.free(id), 'recalc', false);
  }
  resumeRecalc(id: string): void {
    this.jobs.start(this.free(id), 'recalc', false);
  }
  resetRecalc(id: string): void {
    this.jobs.start(this.free(id), 'recalc', true);
  }
  pauseRecalc(id: string): Promise<void> {
    return this.jobs.pause(this.store.get(id), 'recalc');
  }
  startScrub(id: string): void {
    this.jobs.start(this.free(id), 'scrub', true);
  }
  resumeScrub(id: string): void {
    this.jobs.start(this.free(id), 'scrub', false);
  }
  pauseScrub(id: string): Promise<void> {
    return this.jobs.pause(this.store.get(id), 'scrub');
  }

  resizeLimits(id: string): ResizeLimits {
    return this.resizer.limits(this.store.get(id));
  }

  resizeVolume(id: string, req: ResizeVolumeRequest): Promise<VolumeSnapshot> {
    return this.resizer.resize(this.free(id), req);
  }

  listErrors(id: string, req: ListErrorsRequest): ErrorPage {
    return listErrors(this.store.get(id), req);
  }

  exportErrors(id: string, req: ExportErrorsRequest): Promise<ExportResult> {
    const e = this.store.get(id);
    return exportErrors(e, { ...req, path: absolutePath(req.path, 'Export file') }, this.mappingOf(e));
  }

  mapDamage(id: string, req: MapDamageRequest): Promise<DamageMapPage> {
    return this.fsmap.page(this.store.get(id), req);
  }

  rewriteFreeBlocks(id: string, req: RewriteFreeRequest): Promise<RewriteFreeResult> {
    return this.fsmap.rewriteFree(this.free(id), req);
  }

  // ---- the kernel's own devices (host/live) ----
  liveVolumes(): Promise<LiveOverview> {
    return this.live.overview();
  }
  watchLive(name: string): Promise<LiveWatch> {
    return this.live.watch(name);
  }
  planLive(req: LiveControlRequest): Promise<ControlPlan> {
    return this.live.plan(req);
  }
  controlLive(req: LiveControlRequest): Promise<ControlResult> {
    return this.live.control(req);
  }
  startLiveScrub(name: string, req: LiveScrubRequest): Promise<LiveScrubView> {
    return this.live.scrubStart(name, req);
  }
  pauseLiveScrub(name: string): Promise<LiveScrubView> {
    return this.live.scrubPause(name);
  }
  liveScrubProgress(name: string): Promise<LiveScrubView | null> {
    return this.live.scrubProgress(name);
  }
  liveKernelLog(name: string): Promise<LiveKernelLog> {
    return this.live.kernelLog(name);
  }
  mapLiveDamage(name: string, req: MapLiveDamageRequest): Promise<LiveDamageMapPage> {
    return this.live.mapDamage(name, req);
  }
  /** the kernel devices sampled now (tests) */
  liveWatched(): string[] {
    return this.live.watched();
  }

  /** the kept mapping of a volume's known damage when it describes the damage known now (exports carry it) */
  mappingOf(e: Entry): KeptMapping | null {
    return currentMapping(e, this.snap(e));
  }

  /** the volume behind an id (serve streams its export over HTTP) */
  entry(id: string): Entry {
    return this.store.get(id);
  }

  /** pauses every running job (persisting positions), stops sending events, forgets keys; resolves with what it paused */
  async close(): Promise<PausedJob[]> {
    this.poller.stop();
    const paused = await this.jobs.pauseAll();
    await this.fsmap.close();
    await this.live.close();
    this.events.close();
    for (const e of this.store.all()) forgetKeys(e);
    return paused;
  }
}
