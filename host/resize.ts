// Resize (integritysetup resize; engine/commands/resize.ts) from the dashboard: what a resize can do now (the
// limits the form shows, and why it is refused), and the resize itself in a worker thread — a grown area wiped
// (progress as job 'wipe') or marked for recalculation, which then starts; a shrink only when confirmed.
import fs from 'node:fs';
import path from 'node:path';
import { IntegrityStudioError } from '../engine/errors.js';
import { openVolume, type Volume } from '../engine/volume.js';
import { decodeSuperblock } from '../engine/layout/superblock.js';
import { lockHolder } from '../engine/io/lock.js';
import { runningElsewhere } from '../engine/jobs/state.js';
import { resizeFit, resizeRecalcAllowed, type ResizeOptions, type ResizeResult } from '../engine/commands/resize.js';
import { formatBytes } from '../engine/units.js';
import type { JobProgress, ResizeLimits, ResizeVolumeRequest, VolumeSnapshot } from '../engine/api.js';
import type { HostContext } from './context.js';
import type { Jobs } from './jobs.js';
import { missingKeys, missingWords } from './keys.js';
import { engineOptions } from './requests.js';
import { scrubStateOf } from './damage-sources.js';
import { runWorker } from './workers/run.js';
import type { Entry } from './volumes.js';

export class Resizer {
  constructor(
    private readonly ctx: HostContext,
    private readonly jobs: Jobs,
  ) {}

  /** why a resize is refused now (named for the form), or null */
  refusal(e: Entry): string | null {
    if (e.formatting) return `${e.name} is still formatting`;
    if (e.resizing) return `a resize of ${e.name} is already running`;
    if (e.replaying) return `the journal of ${e.name} is being replayed`;
    // dm-crypt over dm-integrity grows with the LUKS2 segment (cryptsetup resize): not offered here
    if (e.luks) return `${e.name} is a LUKS2 volume: resizing it (cryptsetup resize, with its header's segment) is not offered here`;
    const r = this.jobs.running(e);
    if (r) return `a ${r === 'recalc' ? 'recalculation' : 'scrub'} of ${e.name} is running in this dashboard: pause it, then resize`;
    for (const p of [e.path, e.options.data_device].filter((x): x is string => !!x)) {
      if (!fs.existsSync(p)) return `${p} is missing`;
      const h = lockHolder(p);
      if (h) return `${p} is open for writing by another process (pid ${h.info.pid}${h.info.cmd ? `: ${h.info.cmd}` : ''}): wait for it to finish`;
    }
    const { st } = scrubStateOf(e);
    if (runningElsewhere(st))
      return `a scrub of ${e.name} is running in another process${st?.running ? ` (pid ${st.running.pid}, ${st.running.by})` : ''}: wait for it or pause it there`;
    const missing = missingKeys(e, null);
    if (missing.length) return `${missingWords(missing)}: Unlock ${e.name} first`;
    return null;
  }

  limits(e: Entry): ResizeLimits {
    const o = e.options;
    const refused = this.refusal(e);
    let vol: Volume;
    try {
      vol = openVolume(e.path, { dataDevice: o.data_device ?? undefined, superblockOnly: true });
    } catch (err) {
      if (!refused) throw err;
      // another process writes it (our opens refuse to read it then): the superblock's size, and who holds it
      const fd = fs.openSync(e.path, 'r');
      const b = Buffer.alloc(4096);
      try {
        fs.readSync(fd, b, 0, b.length, 0);
      } finally {
        fs.closeSync(fd);
      }
      const sb = decodeSuperblock(b);
      const bs = 512 << sb.log2_sectors_per_block;
      const cur = sb.provided_data_sectors * 512;
      return {
        current_bytes: cur,
        whole_device_bytes: cur,
        max_bytes: cur,
        min_bytes: bs,
        block_size: bs,
        device: o.data_device ?? e.path,
        device_kind: fs.statSync(o.data_device ?? e.path).isFile() ? 'file' : 'block',
        free_bytes: null,
        recalc_allowed: false,
        refused,
      };
    }
    try {
      const sb = vol.sb,
        g = vol.geometry;
      const device = o.data_device ?? e.path;
      const isFile = fs.statSync(device).isFile();
      const devBytes = vol.data.size;
      let free: number | null = null;
      let maxDevBytes = devBytes;
      if (isFile) {
        const fsStat = fs.statfsSync(path.dirname(device));
        free = fsStat.bavail * fsStat.bsize;
        maxDevBytes = devBytes + free;
      }
      const bs = g.block_size;
      const fit = (bytes: number) => Math.floor((resizeFit(sb, !!o.data_device, bytes) * 512) / bs) * bs;
      return {
        current_bytes: sb.provided_data_sectors * 512,
        whole_device_bytes: fit(devBytes),
        max_bytes: Math.max(fit(maxDevBytes), sb.provided_data_sectors * 512),
        min_bytes: bs,
        block_size: bs,
        device,
        device_kind: isFile ? 'file' : 'block',
        free_bytes: free,
        recalc_allowed: resizeRecalcAllowed(sb, o.integrity),
        refused,
      };
    } finally {
      vol.close();
    }
  }

  /** integritysetup resize: the new size on disk, then (a grow without wipe) the recalculation of the new area */
  async resize(e: Entry, req: ResizeVolumeRequest): Promise<VolumeSnapshot> {
    const refused = this.refusal(e);
    if (refused) throw new IntegrityStudioError(`Not resized: ${refused}`, 'EBUSY');
    const lim = this.limits(e);
    let size: number | undefined;
    if (req.size !== undefined) {
      size = req.size;
      if (!Number.isSafeInteger(size) || size < lim.block_size || size % lim.block_size) {
        throw new IntegrityStudioError(`New size must be a whole number of ${lim.block_size}-byte blocks, at least one (${size} bytes given)`);
      }
      if (size > lim.max_bytes) {
        throw new IntegrityStudioError(
          lim.device_kind === 'block'
            ? `New size ${formatBytes(size)} is larger than the device allows (${formatBytes(lim.max_bytes)}): grow the device itself (lvextend, …), then resize to the whole device`
            : `New size ${formatBytes(size)} is larger than the largest possible, ${formatBytes(lim.max_bytes)} (the file system holding ${lim.device} has ${formatBytes(lim.free_bytes ?? 0)} free)`,
        );
      }
      if (lim.device_kind === 'block' && size !== lim.whole_device_bytes) {
        throw new IntegrityStudioError(
          `${lim.device} is a block device: its size is fixed here; choose "Whole device", or resize the device itself (lvresize, …) first`,
        );
      }
    }
    const target = size ?? lim.whole_device_bytes;
    if (target < lim.current_bytes && !req.confirmShrink) {
      throw new IntegrityStudioError(
        `Shrinking to ${formatBytes(target)} loses the last ${formatBytes(lim.current_bytes - target)} of data: confirm the shrink`,
      );
    }
    if (target > lim.current_bytes && !req.wipe && !lim.recalc_allowed) {
      throw new IntegrityStudioError(
        'The new area cannot be marked for recalculation: the kernel refuses to recalculate a keyed hash without a journal MAC; choose "Wipe the new area"',
      );
    }
    const o = e.options;
    const ro: ResizeOptions = { ...engineOptions(o, e.keys), sizeSectors: size === undefined ? undefined : size / 512, wipe: !!req.wipe };
    e.resizing = true;
    e.error = null;
    const spb = lim.block_size / 512;
    const started = Date.now();
    const startedAt = new Date(started).toISOString();
    const from = lim.current_bytes / 512;
    const progress = (state: JobProgress['state'], done: number, total: number, err?: string): JobProgress => {
      const secs = (Date.now() - started) / 1000;
      const rate = secs > 0 ? (done * 512) / secs : 0;
      return {
        job: 'wipe',
        state,
        position_sector: from + done,
        total_sectors: from + total,
        start_sector: from,
        sectors_per_block: spb,
        bytes_per_second: rate,
        eta_ms: state === 'done' ? 0 : rate > 0 ? ((total - done) * 512 * 1000) / rate : null,
        mismatches: 0,
        bad_ranges: [],
        journal: null,
        started_at: startedAt,
        ...(err ? { error: err } : {}),
      };
    };
    let result: ResizeResult;
    try {
      result = await this.inWorker(e.path, ro, (done, total) => this.jobs.progress(e, progress('running', done, total)));
    } catch (err) {
      e.resizing = false;
      const msg = (err as Error).message;
      if (e.jobs.wipe) this.jobs.progress(e, progress('failed', e.jobs.wipe.position_sector - from, e.jobs.wipe.total_sectors - from, msg), true);
      this.ctx.emitVolume(e);
      throw new IntegrityStudioError(`Not resized: ${msg.replace(/--size/g, 'New size').replace(/--wipe/g, '"Wipe the new area"')}`);
    }
    e.resizing = false;
    if (result.new_area?.how === 'wiped') {
      const n = result.new_area.to - result.new_area.from;
      this.jobs.progress(e, progress('done', n, n), true);
    } else delete e.jobs.wipe;
    // a grown area marked for recalculation: recalculate it now (integritysetup reloads with "recalculate")
    if (result.new_area?.how === 'recalculate' && this.ctx.startJob) this.jobs.start(e, 'recalc', false);
    return this.ctx.emitVolume(e);
  }

  private async inWorker(p: string, o: ResizeOptions, onProgress: (done: number, total: number) => void): Promise<ResizeResult> {
    const m = await runWorker<{ type: 'done'; result: ResizeResult }, { type: 'progress'; done: number; total: number }>(
      new URL('./workers/resize-worker.js', import.meta.url),
      { path: p, options: o },
      'resize',
      (x) => {
        if (x.type === 'progress') onProgress(x.done, x.total);
      },
    );
    return m.result;
  }
}
