// Plain dm-integrity volumes in the list: added (what a path holds named when it is not a volume), created (asked
// first over anything that exists; formatted in a worker with progress; a background recalculation started when
// asked), edited, unlocked with their keys, removed (the image stays), and their journal replayed in a worker as
// the kernel's activation would.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { errnoCode, IntegrityStudioError } from '../engine/errors.js';
import { existingContent } from '../engine/io/probe.js';
import type { FormatOptions } from '../engine/commands/format.js';
import type { VolumeOptions } from '../engine/volume.js';
import type { AddVolumeRequest, CreateVolumeRequest, UnlockRequest, UpdateVolumeRequest, VolumeSnapshot } from '../engine/api.js';
import type { HostContext } from './context.js';
import type { Jobs } from './jobs.js';
import { checkKeys, requireKeys } from './keys.js';
import { absolutePath, confirmOverwrite, engineOptions, keysFrom, MAX_SPEED_LIMIT, optionsFrom, positive, requireExisting, type Keys } from './requests.js';
import { formMessage } from './form-errors.js';
import { runWorker, type WorkerError } from './workers/run.js';
import type { ReplayMessage, ReplayWorkerData } from './workers/replay-worker.js';
import { forgetKeys, newEntry, type Entry } from './volumes.js';

export class PlainVolumes {
  constructor(
    private readonly ctx: HostContext,
    private readonly jobs: Jobs,
  ) {}

  add(p: string, req: AddVolumeRequest): VolumeSnapshot {
    const { store } = this.ctx;
    store.refuseDuplicate(p);
    // a folder, /dev/null, an ext4 image: say what it is rather than what the superblock decoder saw
    const x = existingContent(p);
    if (!x.signatures.some((s) => s.type === 'dm-integrity')) {
      throw new IntegrityStudioError(
        `${x.words}: not a dm-integrity volume (no dm-integrity superblock at its start). To make it one, use Create volume (which erases it)`,
        'EFORMAT',
      );
    }
    const options = optionsFrom(req);
    requireExisting(p, options.data_device);
    const keys = keysFrom(req);
    const warning = checkKeys(p, options, keys);
    const e = newEntry(crypto.randomUUID(), p, req.name || path.basename(p), options, keys);
    e.keyWarning = warning;
    store.set(e);
    store.save();
    return this.ctx.emitVolume(e);
  }

  async create(req: CreateVolumeRequest): Promise<VolumeSnapshot> {
    const { store, events } = this.ctx;
    const p = absolutePath(req.path, 'Image path');
    store.refuseDuplicate(p);
    const dir = path.dirname(p);
    if (!fs.existsSync(dir)) throw new IntegrityStudioError(`folder ${dir} does not exist`, 'ENOENT');
    if (fs.existsSync(p) && req.size === undefined) confirmOverwrite(p, req.force);
    // a separate data device is wiped too (unless "Do not wipe"): asked about the same way
    if (req.dataDevice && !req.noWipe && fs.existsSync(req.dataDevice)) confirmOverwrite(absolutePath(req.dataDevice, 'Data device'), req.force);
    const options = optionsFrom(req);
    const keys = keysFrom(req);
    const o: FormatOptions = {
      integrity: options.integrity,
      integrityKey: keys.integrity,
      tagSize: positive(req.tagSize, 'Tag size'),
      sectorSize: positive(req.sectorSize, 'Sector size'),
      journalSize: positive(req.journalSize, 'Journal size'),
      interleaveSectors: positive(req.interleaveSectors, 'Interleave sectors'),
      bufferSectors: positive(req.bufferSectors, 'Buffer sectors'),
      dataDevice: options.data_device ?? undefined,
      noWipe: !!req.noWipe,
      integrityRecalculate: !!req.integrityRecalculate,
      legacyPadding: !!req.legacyPadding,
      legacyHmac: !!req.legacyHmac,
      journalIntegrity: options.journal_integrity ?? undefined,
      journalIntegrityKey: keys.journalIntegrity,
      journalCrypt: options.journal_crypt ?? undefined,
      journalCryptKey: keys.journalCrypt,
      mode: options.mode,
      force: !!req.force,
      size: positive(req.size, 'Size'),
    };
    const e = newEntry(crypto.randomUUID(), p, req.name || path.basename(p), options, keys);
    e.bufferSectors = o.bufferSectors ?? null;
    e.formatting = true;
    store.set(e);
    events.emit({ type: 'volume', volume: this.ctx.snapshot(e) });
    try {
      await formatInWorker(p, o, (done, total) =>
        events.throttled(`${e.id}:format`, () => ({ type: 'format-progress', id: e.id, done, total }), done === total),
      );
    } catch (err) {
      store.delete(e);
      events.emit({ type: 'volume-removed', id: e.id });
      throw err;
    }
    e.formatting = false;
    store.save();
    // "Recalculate tags in the background": what the first integritysetup open --integrity-recalculate starts
    if (o.integrityRecalculate && o.noWipe && this.ctx.startJob) this.jobs.start(e, 'recalc', false);
    return this.ctx.emitVolume(e);
  }

  /** takes the volume off the list; the image and its state files stay */
  remove(e: Entry): void {
    this.jobs.refuseWhileBusy(e, 'removing it from the list');
    this.ctx.store.delete(e);
    forgetKeys(e);
    this.ctx.store.save();
    this.ctx.events.emit({ type: 'volume-removed', id: e.id });
  }

  /** a new name, speed limit and/or open options; keys given replace the held ones, absent keys are kept */
  update(e: Entry, req: UpdateVolumeRequest): VolumeSnapshot {
    this.jobs.refuseWhileBusy(e, 'editing it');
    if (req.name !== undefined && (!req.name.trim() || req.name.length > 200)) throw new IntegrityStudioError('name must be 1 to 200 characters');
    const limit = req.speedLimitMiBs;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_SPEED_LIMIT))
      throw new IntegrityStudioError(`Speed limit must be a whole number of MiB/s from 1 to ${MAX_SPEED_LIMIT}, or empty for no limit`);
    if (e.luks) {
      // a LUKS2 volume has no open options of ours (its header holds them): only its name and speed limit change here
      const other = (Object.keys(req) as Array<keyof UpdateVolumeRequest>).filter((k) => k !== 'name' && k !== 'speedLimitMiBs' && req[k] !== undefined);
      if (other.length)
        throw new IntegrityStudioError(
          `${e.name} is a LUKS2 volume: its header holds its cipher and integrity; only the name and speed limit can be changed (not ${other.join(', ')})`,
        );
    } else {
      const options = optionsFrom(req, e.options);
      if (options.data_device && !fs.existsSync(options.data_device))
        throw new IntegrityStudioError(`data device ${options.data_device}: no such file or device`, 'ENOENT');
      const keys: Keys = { ...e.keys, ...keysFrom(req) };
      e.keyWarning = fs.existsSync(e.path) ? checkKeys(e.path, options, keys) : null;
      e.options = options;
      e.keys = keys;
    }
    if (req.name !== undefined) e.name = req.name.trim();
    if (limit !== undefined) e.speedLimit = limit > 0 ? limit : null;
    this.ctx.store.save();
    return this.ctx.emitVolume(e);
  }

  /** the keys a volume needs (after a host restart they are forgotten) */
  unlock(e: Entry, req: UnlockRequest): VolumeSnapshot {
    const given = keysFrom(req);
    if (!Object.keys(given).length) throw new IntegrityStudioError(`${e.name}: give at least one key (as hex digits or a key file on the host)`);
    requireExisting(e.path);
    const keys: Keys = { ...e.keys, ...given };
    e.keyWarning = checkKeys(e.path, e.options, keys);
    e.keys = keys;
    e.error = null;
    return this.ctx.emitVolume(e);
  }

  /**
   * replays the journal on disk as the kernel does on activation (a writable open), under the volume's lock; for a
   * bitmap-mode volume left dirty, that open recalculates the dirty regions. It runs in a worker thread (the
   * recalculation reads every block of those regions), reporting replay-progress; other actions wait for it.
   */
  async replay(e: Entry): Promise<VolumeSnapshot> {
    requireKeys(e);
    e.replaying = true;
    const started = Date.now();
    try {
      await replayInWorker(e.path, engineOptions(e.options, e.keys), (done, total) =>
        this.ctx.events.throttled(
          `${e.id}:replay`,
          () => ({ type: 'replay-progress', id: e.id, done, total, elapsed_ms: Date.now() - started, finished: done === total }),
          done === total,
        ),
      );
    } finally {
      e.replaying = false;
    }
    e.error = null;
    return this.ctx.emitVolume(e);
  }
}

/** formatVolume in a worker thread: the host keeps serving events and commands during a long wipe */
async function formatInWorker(p: string, o: FormatOptions, onProgress: (done: number, total: number) => void): Promise<void> {
  type Progress = { type: 'progress'; done: number; total: number };
  type FormatError = WorkerError & { field?: string; detail?: Record<string, string | number> };
  await runWorker<{ type: 'done' }, Progress, FormatError>(
    new URL('./workers/format-worker.js', import.meta.url),
    { path: p, options: o },
    'format',
    (m) => {
      if (m.type === 'progress') onProgress(m.done, m.total);
    },
    // the engine words its errors for the CLI (--size, --force): the form has controls instead
    (m) => new IntegrityStudioError(formMessage({ message: m.message, code: m.code, field: m.field, detail: m.detail }), errnoCode(m, 'EINVAL')),
  );
}

async function replayInWorker(p: string, options: VolumeOptions, onProgress: (done: number, total: number) => void): Promise<void> {
  const data: ReplayWorkerData = { path: p, options };
  await runWorker<Extract<ReplayMessage, { type: 'done' }>, Extract<ReplayMessage, { type: 'progress' }>>(
    new URL('./workers/replay-worker.js', import.meta.url),
    data,
    'replay',
    (m) => onProgress(m.done, m.total),
  );
}
