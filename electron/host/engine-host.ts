// EngineHost: owns the volumes and jobs of one dashboard session (Electron's main process or `integrity-studio
// serve`), runs the engine's jobs (engine/jobs startJob) and formats (engine/commands formatVolume), and fans the
// IntegrityApi events out to subscribers, throttled. Plain Node: no Electron import, so `serve` reuses it.
// Keys stay here: snapshots only say whether one is set.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../../engine/errors.js';
import { openVolume } from '../../engine/volume.js';
import { flagNames, SB_FLAG_RECALCULATING } from '../../engine/layout/superblock.js';
import { Worker } from 'node:worker_threads';
import type { FormatOptions } from '../../engine/commands/format.js';
import { algorithmInfo, supportedAlgorithms } from '../../engine/hash/index.js';
import type {
  AddVolumeRequest, CreateVolumeRequest, HostStatus, IntegrityEvent, JobKind, JobProgress, VolumeMode, VolumeSnapshot,
} from '../../engine/api.js';
import type { JobHandle, JobSpec } from '../../engine/jobs/types.js';
import { startJob as engineStartJob } from '../../engine/jobs/index.js';
import { readJobState } from '../../engine/jobs/state.js';

type StartJob = (spec: JobSpec, onProgress: (p: JobProgress) => void) => JobHandle;

interface Keys { integrity?: Buffer; journalIntegrity?: Buffer; journalCrypt?: Buffer }
interface Entry {
  id: string;
  name: string;
  path: string;
  dataDevice: string | null;
  algorithm: string;
  journalIntegrity: string | null;
  journalCrypt: string | null;
  mode: VolumeMode;
  keys: Keys;
  jobs: Partial<Record<JobKind, JobProgress>>;
  handles: Partial<Record<JobKind, JobHandle>>;
  errorCount: number;
  badRanges: Array<[number, number]>;
  formatting: boolean;
  error: string | null;
}

export interface EngineHostOptions {
  /** folder holding volumes.json (the list of volumes, never keys) */
  dataDir?: string;
  /** minimum ms between two progress events of one job sent to subscribers (the final one always goes) */
  throttleMs?: number;
  transport?: 'electron' | 'websocket';
  /** injected for tests; default: engine/jobs startJob (worker threads); null disables recalc/scrub */
  startJob?: StartJob | null;
}

const HEX = /^[0-9a-fA-F]*$/;
function keyFromHex(hex: string | undefined, what: string): Buffer | undefined {
  if (hex === undefined || hex === '') return undefined;
  if (typeof hex !== 'string' || !HEX.test(hex) || hex.length % 2) throw new IntegrityStudioError(`${what} must be hex digits (an even number of them)`);
  return Buffer.from(hex, 'hex');
}

function quote(s: string): string {
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}


export class EngineHost {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(e: IntegrityEvent) => void>();
  private readonly lastSent = new Map<string, number>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly throttleMs: number;
  private readonly dataDir: string | null;
  private readonly startJobFn: StartJob | null;
  readonly transport: 'electron' | 'websocket';

  private constructor(o: EngineHostOptions, startJob: StartJob | null) {
    this.throttleMs = o.throttleMs ?? 100;
    this.dataDir = o.dataDir ?? null;
    this.transport = o.transport ?? 'websocket';
    this.startJobFn = startJob;
  }

  static async create(o: EngineHostOptions = {}): Promise<EngineHost> {
    const host = new EngineHost(o, o.startJob === undefined ? engineStartJob : o.startJob);
    host.load();
    return host;
  }

  // ---- persistence (volume list only; never keys) ----
  private listFile(): string | null {
    return this.dataDir ? path.join(this.dataDir, 'volumes.json') : null;
  }
  private load(): void {
    const f = this.listFile();
    if (!f || !fs.existsSync(f)) return;
    let list: Array<Partial<Entry>>;
    try {
      list = JSON.parse(fs.readFileSync(f, 'utf8')) as Array<Partial<Entry>>;
    } catch (e) {
      throw new IntegrityStudioError(`${f}: not a volume list (${(e as Error).message})`);
    }
    for (const v of list) {
      if (typeof v.id !== 'string' || typeof v.path !== 'string') continue;
      this.entries.set(v.id, this.newEntry(v.id, v.path, v.name ?? path.basename(v.path), v.dataDevice ?? null, v.algorithm ?? 'crc32c', (v.mode as VolumeMode) ?? 'journal', {}, v.journalIntegrity ?? null, v.journalCrypt ?? null));
    }
  }
  private save(): void {
    const f = this.listFile();
    if (!f) return;
    fs.mkdirSync(path.dirname(f), { recursive: true });
    const list = [...this.entries.values()].map((e) => ({ id: e.id, name: e.name, path: e.path, dataDevice: e.dataDevice, algorithm: e.algorithm, mode: e.mode, journalIntegrity: e.journalIntegrity, journalCrypt: e.journalCrypt }));
    const tmp = `${f}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(list, null, 2));
    fs.renameSync(tmp, f);
  }

  private newEntry(id: string, p: string, name: string, dataDevice: string | null, algorithm: string, mode: VolumeMode, keys: Keys, ji: string | null, jc: string | null): Entry {
    return { id, name, path: p, dataDevice, algorithm, mode, keys, jobs: {}, handles: {}, errorCount: 0, badRanges: [], formatting: false, error: null, journalIntegrity: ji, journalCrypt: jc };
  }

  // ---- events ----
  onEvent(listener: (e: IntegrityEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private emit(e: IntegrityEvent): void {
    for (const l of this.listeners) {
      try { l(e); } catch { /* a broken subscriber must not stop the others */ }
    }
  }
  /** at most one event per key per throttleMs; the latest one wins, a final one is sent at once */
  private emitThrottled(key: string, make: () => IntegrityEvent, final = false): void {
    const now = Date.now();
    const last = this.lastSent.get(key) ?? 0;
    const t = this.pending.get(key);
    if (final || now - last >= this.throttleMs) {
      if (t) { clearTimeout(t); this.pending.delete(key); }
      this.lastSent.set(key, now);
      this.emit(make());
      return;
    }
    if (t) clearTimeout(t);
    this.pending.set(key, setTimeout(() => {
      this.pending.delete(key);
      this.lastSent.set(key, Date.now());
      this.emit(make());
    }, this.throttleMs - (now - last)));
  }

  // ---- commands ----
  status(): HostStatus {
    return { version: '0.1.0', transport: this.transport, algorithms: supportedAlgorithms(), jobs_available: !!this.startJobFn, volumes: this.listVolumes() };
  }
  listVolumes(): VolumeSnapshot[] {
    return [...this.entries.values()].map((e) => this.snapshot(e));
  }

  private get(id: unknown): Entry {
    if (typeof id !== 'string') throw new IntegrityStudioError('volume id must be a string');
    const e = this.entries.get(id);
    if (!e) throw new IntegrityStudioError(`no volume with id ${id}`);
    return e;
  }

  addVolume(req: AddVolumeRequest): VolumeSnapshot {
    if (!req || typeof req.path !== 'string' || !req.path) throw new IntegrityStudioError('addVolume: path is required');
    const p = path.resolve(req.path);
    for (const e of this.entries.values()) if (e.path === p) throw new IntegrityStudioError(`${p} is already in the list`);
    const keys: Keys = { integrity: keyFromHex(req.integrityKeyHex, 'integrity key') };
    // refuse what is not a dm-integrity device, with the engine's own message
    const v = openVolume(p, { dataDevice: req.dataDevice, superblockOnly: true });
    v.close();
    const e = this.newEntry(crypto.randomUUID(), p, req.name || path.basename(p), req.dataDevice ? path.resolve(req.dataDevice) : null, req.integrity ?? 'crc32c', req.mode ?? 'journal', keys, null, null);
    this.entries.set(e.id, e);
    this.save();
    const s = this.snapshot(e);
    this.emit({ type: 'volume', volume: s });
    return s;
  }

  async createVolume(req: CreateVolumeRequest): Promise<VolumeSnapshot> {
    if (!req || typeof req.path !== 'string' || !req.path) throw new IntegrityStudioError('createVolume: path is required');
    const p = path.resolve(req.path);
    for (const e of this.entries.values()) if (e.path === p) throw new IntegrityStudioError(`${p} is already in the list`);
    const num = (v: unknown, what: string): number | undefined => {
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new IntegrityStudioError(`${what} must be a positive whole number`);
      return v;
    };
    const keys: Keys = {
      integrity: keyFromHex(req.integrityKeyHex, 'integrity key'),
      journalIntegrity: keyFromHex(req.journalIntegrityKeyHex, 'journal integrity key'),
      journalCrypt: keyFromHex(req.journalCryptKeyHex, 'journal crypt key'),
    };
    const o: FormatOptions = {
      integrity: req.integrity || undefined, integrityKey: keys.integrity,
      tagSize: num(req.tagSize, 'tag size'), sectorSize: num(req.sectorSize, 'sector size'),
      journalSize: num(req.journalSize, 'journal size'), interleaveSectors: num(req.interleaveSectors, 'interleave sectors'),
      bufferSectors: num(req.bufferSectors, 'buffer sectors'), dataDevice: req.dataDevice || undefined,
      noWipe: !!req.noWipe, integrityRecalculate: !!req.integrityRecalculate, legacyPadding: !!req.legacyPadding,
      legacyHmac: !!req.legacyHmac, journalIntegrity: req.journalIntegrity || undefined, journalIntegrityKey: keys.journalIntegrity,
      journalCrypt: req.journalCrypt || undefined, journalCryptKey: keys.journalCrypt, mode: req.mode, force: !!req.force,
      size: num(req.size, 'size'),
    };
    const e = this.newEntry(crypto.randomUUID(), p, req.name || path.basename(p), o.dataDevice ? path.resolve(o.dataDevice) : null, req.integrity || 'crc32c', req.mode ?? 'journal', keys, req.journalIntegrity || null, req.journalCrypt || null);
    e.formatting = true;
    this.entries.set(e.id, e);
    this.emit({ type: 'volume', volume: this.snapshot(e) });
    try {
      await this.formatInWorker(p, o, (done, total) => this.emitThrottled(`${e.id}:format`, () => ({ type: 'format-progress', id: e.id, done, total }), done === total));
    } catch (err) {
      this.entries.delete(e.id);
      this.emit({ type: 'volume-removed', id: e.id });
      throw err;
    }
    e.formatting = false;
    this.save();
    const s = this.snapshot(e);
    this.emit({ type: 'volume', volume: s });
    return s;
  }

  /** formatVolume in a worker thread: the host keeps serving events and commands during a long wipe */
  private formatInWorker(p: string, o: FormatOptions, onProgress: (done: number, total: number) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const w = new Worker(new URL('./format-worker.js', import.meta.url), { workerData: { path: p, options: o } });
      let settled = false;
      w.on('message', (m: { type: string; done?: number; total?: number; message?: string }) => {
        if (m.type === 'progress') onProgress(m.done!, m.total!);
        else if (m.type === 'done') { settled = true; resolve(); }
        else if (m.type === 'error') { settled = true; reject(new IntegrityStudioError(m.message!)); }
      });
      w.on('error', (e) => { if (!settled) { settled = true; reject(new IntegrityStudioError(`format failed: ${e.message}`)); } });
      w.on('exit', (code) => { if (!settled) { settled = true; reject(new IntegrityStudioError(`format worker exited with code ${code}`)); } });
    });
  }

  removeVolume(id: string): void {
    const e = this.get(id);
    if (e.handles.recalc || e.handles.scrub) throw new IntegrityStudioError(`${e.name}: pause its running job before removing it`);
    this.entries.delete(e.id);
    this.save();
    this.emit({ type: 'volume-removed', id: e.id });
  }

  private requireJobs(): StartJob {
    if (!this.startJobFn) throw new IntegrityStudioError('recalculation and scrub are not available: this build has no engine/jobs');
    return this.startJobFn;
  }

  private runJob(id: string, kind: JobKind, reset: boolean): void {
    const e = this.get(id);
    const startJob = this.requireJobs();
    if (e.formatting) throw new IntegrityStudioError(`${e.name}: still formatting`);
    if (e.handles.recalc || e.handles.scrub) throw new IntegrityStudioError(`${e.name}: a ${e.handles.recalc ? 'recalculation' : 'scrub'} is already running`);
    const spec: JobSpec = {
      kind, device: e.path, dataDevice: e.dataDevice ?? undefined, integrity: e.algorithm, integrityKey: e.keys.integrity,
      journalIntegrity: e.journalIntegrity ?? undefined, journalIntegrityKey: e.keys.journalIntegrity,
      journalCrypt: e.journalCrypt ?? undefined, journalCryptKey: e.keys.journalCrypt, reset,
    };
    e.error = null;
    if (kind === 'scrub' && reset) { e.errorCount = 0; e.badRanges = []; }
    const h = startJob(spec, (p) => this.onProgress(e, p));
    e.handles[kind] = h;
    void h.finished.then((p) => {
      if (e.handles[kind] === h) delete e.handles[kind];
      this.onProgress(e, p, true);
      this.emit({ type: 'volume', volume: this.snapshot(e) });
    });
    this.emit({ type: 'volume', volume: this.snapshot(e) });
  }

  private onProgress(e: Entry, p: JobProgress, final = false): void {
    e.jobs[p.job] = p;
    if (p.state === 'failed' && p.error) e.error = p.error;
    if (p.job === 'scrub') {
      e.errorCount = p.mismatches;
      e.badRanges = p.bad_ranges;
    }
    const fin = final || p.state !== 'running';
    this.emitThrottled(`${e.id}:${p.job}`, () => ({ type: 'progress', id: e.id, progress: p }), fin);
    if (p.job === 'scrub') this.emitThrottled(`${e.id}:errors`, () => ({ type: 'errors', id: e.id, count: e.errorCount, ranges: e.badRanges }), fin);
    if (p.journal) this.emitThrottled(`${e.id}:journal`, () => ({ type: 'journal', id: e.id, journal: p.journal }), fin);
  }

  async pauseJob(id: string, kind: JobKind): Promise<void> {
    const e = this.get(id);
    const h = e.handles[kind];
    if (!h) throw new IntegrityStudioError(`${e.name}: no ${kind === 'recalc' ? 'recalculation' : 'scrub'} is running`);
    const p = await h.pause();
    this.onProgress(e, p, true);
  }

  startRecalc(id: string): void { this.runJob(id, 'recalc', false); }
  resumeRecalc(id: string): void { this.runJob(id, 'recalc', false); }
  resetRecalc(id: string): void { this.runJob(id, 'recalc', true); }
  pauseRecalc(id: string): Promise<void> { return this.pauseJob(id, 'recalc'); }
  startScrub(id: string): void { this.runJob(id, 'scrub', true); }
  resumeScrub(id: string): void { this.runJob(id, 'scrub', false); }
  pauseScrub(id: string): Promise<void> { return this.pauseJob(id, 'scrub'); }

  /** pauses every running job (persisting positions) and stops sending events */
  async close(): Promise<void> {
    const all: Promise<unknown>[] = [];
    for (const e of this.entries.values()) for (const h of Object.values(e.handles)) if (h) all.push(h.pause().catch(() => undefined));
    await Promise.all(all);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.listeners.clear();
  }

  // ---- snapshots ----
  snapshot(e: Entry): VolumeSnapshot {
    const s: VolumeSnapshot = {
      id: e.id, name: e.name, path: e.path, data_device: e.dataDevice, size_bytes: 0, algorithm: e.algorithm, mode: e.mode,
      state: 'clean', error_count: e.errorCount, bad_ranges: e.badRanges, superblock: null, geometry: null,
      journal: e.jobs.recalc?.journal ?? e.jobs.scrub?.journal ?? null, jobs: { ...e.jobs },
      keys: { integrity: !!e.keys.integrity, journalIntegrity: !!e.keys.journalIntegrity, journalCrypt: !!e.keys.journalCrypt },
      open_command: '', dm_table: '', error: e.error,
    };
    if (e.formatting) { s.state = 'formatting'; return s; }
    try {
      const v = openVolume(e.path, { dataDevice: e.dataDevice ?? undefined, superblockOnly: true });
      try {
        const sb = v.sb, g = v.geometry;
        s.size_bytes = sb.provided_data_sectors * 512;
        const recalculating = !!(sb.flags & SB_FLAG_RECALCULATING);
        s.superblock = {
          version: sb.version, flags: flagNames(sb.flags), integrity_tag_size: sb.integrity_tag_size, journal_sections: sb.journal_sections,
          provided_data_sectors: sb.provided_data_sectors, log2_interleave_sectors: sb.log2_interleave_sectors,
          log2_sectors_per_block: sb.log2_sectors_per_block, log2_blocks_per_bitmap_bit: sb.log2_blocks_per_bitmap_bit,
          recalc_sector: recalculating ? sb.recalc_sector : null,
        };
        s.geometry = {
          block_size: g.block_size, tag_size: g.tag_size, initial_sectors: g.initial_sectors, metadata_run: g.metadata_run,
          journal_section_sectors: g.journal_section_sectors, journal_entries: g.journal_entries, meta_dev: g.meta_dev,
        };
        if (!e.jobs.recalc && recalculating && sb.recalc_sector < sb.provided_data_sectors) {
          // the persisted position, as a paused job (it survives restarts of the host)
          s.jobs.recalc = { job: 'recalc', state: 'paused', position_sector: sb.recalc_sector, total_sectors: sb.provided_data_sectors, start_sector: sb.recalc_sector, sectors_per_block: g.sectors_per_block, bytes_per_second: 0, eta_ms: null, mismatches: 0, bad_ranges: [], journal: null };
        }
        // the last scrub's persisted result (engine/jobs keeps it beside the image): it survives restarts
        const st = e.jobs.scrub ? null : readJobState(v, 'scrub');
        if (st) {
          s.jobs.scrub = { job: 'scrub', state: st.state, position_sector: st.position_sector, total_sectors: st.total_sectors, start_sector: st.position_sector, sectors_per_block: g.sectors_per_block, bytes_per_second: 0, eta_ms: null, mismatches: st.mismatches, bad_ranges: st.bad_ranges, journal: null };
          s.error_count = st.mismatches;
          s.bad_ranges = st.bad_ranges;
        }
        s.state = e.handles.recalc ? 'recalculating' : e.handles.scrub ? 'scrubbing'
          : s.error_count > 0 ? 'errors'
          : s.jobs.recalc?.state === 'paused' || s.jobs.scrub?.state === 'paused' ? 'paused' : 'clean';
        const mode = e.mode === 'bitmap' ? ' --integrity-bitmap-mode' : e.mode === 'direct' ? ' --integrity-no-journal' : '';
        const keyOpt = e.keys.integrity ? ` --integrity-key-file KEYFILE --integrity-key-size ${e.keys.integrity.length}` : '';
        const dataOpt = e.dataDevice ? ` --data-device ${quote(e.dataDevice)}` : '';
        s.open_command = `integritysetup open ${quote(e.path)} ${quote(e.name)} --integrity ${e.algorithm}${keyOpt}${dataOpt}${mode}`;
        // the kernel's crypto API name (hmac-sha256 → hmac(sha256)); the key itself never leaves the host
        const args = [`internal_hash:${algorithmInfo(e.algorithm).kernelName}${e.keys.integrity ? ':<key>' : ''}`];
        if (g.block_size !== 512) args.push(`block_size:${g.block_size}`);
        if (sb.flags & 0x8) args.push('fix_padding');
        if (sb.flags & 0x10) args.push('fix_hmac');
        if (recalculating) args.push('recalculate');
        if (e.dataDevice) args.push(`meta_device:${e.path}`);
        const modeChar = e.mode === 'bitmap' ? 'B' : e.mode === 'direct' ? 'D' : 'J';
        s.dm_table = `0 ${sb.provided_data_sectors} integrity ${e.dataDevice ?? e.path} 0 ${sb.integrity_tag_size} ${modeChar} ${args.length} ${args.join(' ')}`;
      } finally {
        v.close();
      }
    } catch (err) {
      s.state = 'unreadable';
      s.error = (err as Error).message;
    }
    return s;
  }
}
