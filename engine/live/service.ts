// LiveBackend: everything the host asks of the kernel's integrity devices, as one interface with two
// implementations — LiveService here (in this process: `serve` run as root, and the privileged helper itself) and
// PrivilegedClient (engine/live/privileged-client.ts: the same calls sent to the helper started through pkexec).
import { errnoCode, IntegrityStudioError } from '../errors.js';
import type { LiveVolume } from './types.js';
import { liveAvailability, type LiveAvailability } from './availability.js';
import { findLiveVolume, listLiveVolumes } from './discover.js';
import { readLiveSample, type LiveSample } from './sample.js';
import { readSuperblockDirect, type LiveSuperblock } from './superblock.js';
import { KmsgReader, messagesFor, type IntegrityMessage } from './kmsg.js';
import { planActivate, planControl, runControl, type ActivateSpec, type ControlAction, type ControlPlan, type ControlResult } from './controls.js';
import { savedLiveScrub, startLiveScrub, type LiveScrubHandle, type LiveScrubProgress } from './scrub.js';
import { mapLiveDamage, type LiveDamageMap } from './map-damage.js';
import { systemRunner, SYSTEM_FILES, type SystemFiles, type ToolRunner } from './system.js';

export type PlanRequest = { action: 'activate'; spec: ActivateSpec } | { action: Exclude<ControlAction, 'activate'>; name: string };

export interface ScrubStartOptions {
  maxBytesPerSecond?: number;
  reset?: boolean;
}

export interface LiveBackend {
  availability(): Promise<LiveAvailability>;
  /** every active integrity device, keyless */
  list(): Promise<LiveVolume[]>;
  /** one sample for LiveSampler (about once a second while a page watches) */
  status(name: string): Promise<LiveSample>;
  readSuperblock(name: string): Promise<LiveSuperblock>;
  /** integrity failures the kernel logged for this device (and the dm-crypt device above it) since `sinceSeq` */
  kernelLog(name: string, sinceSeq?: number): Promise<IntegrityMessage[]>;
  /** the commands, cost and confirmation question of a control, or why it is refused; runs nothing */
  plan(req: PlanRequest): Promise<ControlPlan>;
  /** runs a control; a plan that asks for confirmation is refused (ECONFIRM) unless confirm is true */
  control(req: PlanRequest, confirm: boolean): Promise<ControlResult>;
  scrubStart(name: string, opts?: ScrubStartOptions): Promise<LiveScrubProgress>;
  scrubPause(name: string): Promise<LiveScrubProgress>;
  /** the running scrub's latest event, else the saved one (paused/done), else null */
  scrubProgress(name: string): Promise<LiveScrubProgress | null>;
  onScrubProgress(listener: (p: LiveScrubProgress) => void): () => void;
  /** what the bad blocks the last live scrub found hold, read through the device it read (engine/live/map-damage.ts) */
  mapDamage(name: string): Promise<LiveDamageMap>;
  close(): Promise<void>;
}

export interface LiveServiceOptions {
  runner?: ToolRunner;
  files?: SystemFiles;
  by?: 'cli' | 'dashboard';
}

/** Runs everything in this process (which must be root for anything but availability()). */
export class LiveService implements LiveBackend {
  private readonly runner: ToolRunner;
  private readonly files: SystemFiles;
  private readonly scrubs = new Map<string, { handle: LiveScrubHandle | null; latest: LiveScrubProgress | null }>();
  private readonly listeners = new Set<(p: LiveScrubProgress) => void>();
  private controlChain: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: LiveServiceOptions = {}) {
    this.runner = opts.runner ?? systemRunner;
    this.files = opts.files ?? SYSTEM_FILES;
  }

  async availability(): Promise<LiveAvailability> {
    return liveAvailability();
  }

  list(): Promise<LiveVolume[]> {
    return listLiveVolumes({ runner: this.runner, files: this.files });
  }

  status(name: string): Promise<LiveSample> {
    return readLiveSample(name, { runner: this.runner, files: this.files });
  }

  private async volume(name: string): Promise<LiveVolume> {
    const v = await findLiveVolume(name, { runner: this.runner, files: this.files });
    if (!v) throw new IntegrityStudioError(`no active integrity device is named ${name}`, 'ENOENT');
    return v;
  }

  async readSuperblock(name: string): Promise<LiveSuperblock> {
    const v = await this.volume(name);
    if (!v.superblock_device) throw new IntegrityStudioError(`the device under ${name} (${v.table.device}) has no node to read`, 'ENOENT');
    return readSuperblockDirect(v.superblock_device, v.table.offset);
  }

  async kernelLog(name: string, sinceSeq = -1): Promise<IntegrityMessage[]> {
    const v = await this.volume(name);
    const names = [v.kernel_name, ...v.holders.filter((h) => h.kind === 'crypt').map((h) => h.kernel_name)];
    let r: KmsgReader;
    try {
      r = new KmsgReader().open({ fromStart: true });
    } catch (e) {
      throw new IntegrityStudioError(`cannot read the kernel log (/dev/kmsg): ${(e as Error).message}`, errnoCode(e, 'EACCES'));
    }
    try {
      return messagesFor(r.poll(), names).filter((m) => m.seq > sinceSeq);
    } finally {
      r.close();
    }
  }

  async plan(req: PlanRequest): Promise<ControlPlan> {
    if (req.action === 'activate') return planActivate(req.spec, await this.list());
    const v = await findLiveVolume(req.name, { runner: this.runner, files: this.files });
    return planControl(req.action, v, req.name);
  }

  control(req: PlanRequest, confirm: boolean): Promise<ControlResult> {
    if (req.action !== 'activate' && (req.action === 'deactivate' || req.action === 'suspend') && this.scrubs.get(req.name)?.handle) {
      // our own reads would block (suspend) or lose their device (deactivate): pause the scrub first
      return Promise.reject(new IntegrityStudioError(`a live scrub of ${req.name} is running here: pause it first (its position is saved)`, 'EBUSY'));
    }
    // one control at a time: two reloads of one table must not interleave
    const run = this.controlChain.then(() => runControl(req, { runner: this.runner, files: this.files, confirm }));
    this.controlChain = run.catch(() => undefined);
    return run;
  }

  async scrubStart(name: string, opts: ScrubStartOptions = {}): Promise<LiveScrubProgress> {
    if (this.scrubs.get(name)?.handle) throw new IntegrityStudioError(`a live scrub of ${name} is already running`, 'EBUSY');
    const entry: { handle: LiveScrubHandle | null; latest: LiveScrubProgress | null } = { handle: null, latest: null };
    this.scrubs.set(name, entry);
    let first: LiveScrubProgress | null = null;
    try {
      entry.handle = await startLiveScrub(
        name,
        (p) => {
          entry.latest = p;
          first ??= p;
          for (const l of this.listeners) l(p);
        },
        { runner: this.runner, files: this.files, by: this.opts.by ?? 'dashboard', ...opts },
      );
    } catch (e) {
      this.scrubs.delete(name);
      throw e;
    }
    void entry.handle.finished.then(() => {
      entry.handle = null;
    });
    return first!;
  }

  async scrubPause(name: string): Promise<LiveScrubProgress> {
    const e = this.scrubs.get(name);
    if (!e?.handle) throw new IntegrityStudioError(`no live scrub of ${name} is running`, 'ENOENT');
    return e.handle.pause();
  }

  async mapDamage(name: string): Promise<LiveDamageMap> {
    // a device that is still active is in use as far as we can tell (mounted or not, the kernel may be writing)
    const v = await findLiveVolume(name, { runner: this.runner, files: this.files });
    return mapLiveDamage(name, { mounted: v !== null });
  }

  async scrubProgress(name: string): Promise<LiveScrubProgress | null> {
    const e = this.scrubs.get(name);
    if (e?.latest) return e.latest;
    return savedLiveScrub(name);
  }

  onScrubProgress(listener: (p: LiveScrubProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Pauses running scrubs (their positions are saved). */
  async close(): Promise<void> {
    await Promise.all([...this.scrubs.values()].map((e) => e.handle?.pause()));
  }
}
