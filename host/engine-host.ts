// EngineHost: owns the volumes and jobs of one dashboard session (Electron's main process or `integrity-studio
// serve`), runs the engine's jobs (engine/jobs startJob) and formats (engine/commands formatVolume), and fans the
// IntegrityApi events out to subscribers, throttled. Plain Node: no Electron import, so `serve` reuses it.
// Keys stay here: snapshots only say whether one is set, and no error carries key material.
//
// Truth first: every snapshot is read from disk — the superblock (recalc_sector), the journal area, and the job
// state files engine/jobs writes for the CLI and the dashboard alike — never from a cache of ours, so a job the
// CLI ran is seen as it is. Idle volumes are polled (every pollMs) and a 'volume' event goes out on a change.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../engine/errors.js';
import { checkSuperblockMac, openVolume, readKeyFile, type Volume, type VolumeOptions } from '../engine/volume.js';
import { decodeSuperblock, flagNames, SB_FLAG_FIXED_HMAC, SB_FLAG_HAVE_JOURNAL_MAC, SB_FLAG_RECALCULATING } from '../engine/layout/superblock.js';
import type { FormatOptions } from '../engine/commands/format.js';
import { algorithmInfo, supportedAlgorithms } from '../engine/hash/index.js';
import { journalCipher, SUPPORTED_JOURNAL_CRYPT } from '../engine/integrity/journal-keys.js';
import { journalOnDisk } from '../engine/integrity/journal-disk.js';
import { openWritable } from '../engine/integrity/writable.js';
import { DASHBOARD_ALGORITHM_REMEDY, everyBlockFailedHint } from '../engine/hints.js';
import { version } from '../engine/version.js';
import type {
  AddVolumeRequest, CreateLuksVolumeRequest, CreateVolumeRequest, HostStatus, LuksSecretInput, ResizeLimits, ResizeVolumeRequest, IntegrityEvent, JobKind, JobProgress,
  JobRun, JournalOnDisk, KeyInput,
  OpenOptionsInfo, OpenOptionsRequest, UnlockRequest, UpdateVolumeRequest, Verification, VolumeMode, VolumeSnapshot, VolumeState,
} from '../engine/api.js';
import type { JobHandle, JobSpec } from '../engine/jobs/types.js';
import { startJob as engineStartJob } from '../engine/jobs/index.js';
import { jobStatePath, readJobStateAt, readRecalcHistory, runningElsewhere, volumeIdOf, type JobStateFile } from '../engine/jobs/state.js';
import { lockHolder } from '../engine/io/lock.js';
import { dmTable, openCommand } from './open-command.js';
import { formMessage } from './form-errors.js';
import type { ReplayMessage, ReplayWorkerData } from './replay-worker.js';
import { runWorker, type WorkerError } from './worker-run.js';
import { LOCKED_MESSAGE, fillLuksSnapshot, formatLuksInWorker, isLuks2, luksScrubState, secretOf, zeroSecret } from './luks-host.js';
import { recalcView, scanView, unionRanges } from './job-views.js';
import { fingerprintOf } from '../engine/jobs/fingerprint.js';
import { unlockLuks2, readLuks2Header, type UnlockProgress } from '../engine/luks/index.js';
import { openCryptVolume, segmentFromLuks } from '../engine/crypt/volume.js';
import { existingContent } from '../engine/io/probe.js';
import { resizeFit, resizeRecalcAllowed, type ResizeOptions, type ResizeResult } from '../engine/commands/resize.js';


type StartJob = (spec: JobSpec, onProgress: (p: JobProgress) => void) => JobHandle;

export const HOST_VERSION = version();

interface Keys { integrity?: Buffer; journalIntegrity?: Buffer; journalCrypt?: Buffer }
type KeyName = keyof Keys;
interface Entry {
  id: string;
  name: string;
  path: string;
  options: OpenOptionsInfo;
  /** integritysetup --buffer-sectors given at create (for the dm table line), null for the default */
  bufferSectors: number | null;
  keys: Keys;
  /** this session's running (or last) job of each kind */
  jobs: Partial<Record<JobKind, JobProgress>>;
  handles: Partial<Record<JobKind, JobHandle>>;
  formatting: boolean;
  /** the last problem (a failed job, a failed replay) */
  error: string | null;
  /** a guess about the keys/algorithm made at add/unlock/edit (labelled a guess) */
  keyWarning: string | null;
  /** what the poller last saw of the files behind this volume */
  signature: string;
  /** recalc and scrub read at most this many MiB/s (null: no limit); kept in volumes.json */
  speedLimit: number | null;
  /** a LUKS2 authenticated volume: its volume key while unlocked (never saved, never sent) */
  luks: { volumeKey: Buffer | null } | null;
  /** a resize is running (its wipe, if any, reports as job 'wipe') */
  resizing?: boolean;
  /** Replay journal running in its worker */
  replaying?: boolean;
  /** while a scrub runs here: the last finished scrub's findings, known damage until the new one checks them again */
  carried?: { bad: Array<[number, number]>; read: Array<[number, number]> } | null;
}

/** the largest speed limit the dashboard takes (MiB/s): 1 TiB/s, beyond any device */
const MAX_SPEED_LIMIT = 1 << 20;

/** A job this host paused on close: what `serve` prints on Ctrl-C. */
export interface PausedJob { id: string; name: string; path: string; job: JobKind; position_sector: number; total_sectors: number }

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
}

const HEX = /^[0-9a-fA-F]*$/;
const KEY_WORDS: Record<KeyName, string> = { integrity: 'integrity key', journalIntegrity: 'journal integrity key', journalCrypt: 'journal crypt key' };

/** A KeyInput → bytes. Errors name the key and the file, never the key's content. */
function readKey(k: KeyInput | undefined, what: string): Buffer | undefined {
  if (k === undefined || k === null) return undefined;
  if (typeof k !== 'object') throw new IntegrityStudioError(`${what}: give hex digits or a key file`);
  if ('hex' in k) {
    const hex = k.hex;
    if (typeof hex !== 'string' || !HEX.test(hex) || hex.length % 2) throw new IntegrityStudioError(`${what} must be hex digits (an even number of them)`);
    if (hex === '') return undefined;
    return Buffer.from(hex, 'hex');
  }
  if ('file' in k && typeof k.file === 'string' && k.file) return readKeyFile(path.resolve(k.file), undefined, what);
  throw new IntegrityStudioError(`${what}: give hex digits or a key file`);
}

function positive(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new IntegrityStudioError(`${what} must be a positive whole number`);
  return v;
}

const DEFAULT_OPTIONS: OpenOptionsInfo = {
  integrity: 'crc32c', journal_integrity: null, journal_crypt: null, mode: 'journal', data_device: null,
  allow_discards: false, bitmap_sectors_per_bit: null, bitmap_flush_time_ms: null,
};

/** Open options from a request, over `base` (fields absent from the request keep base's values). */
function optionsFrom(req: OpenOptionsRequest, base: OpenOptionsInfo = DEFAULT_OPTIONS): OpenOptionsInfo {
  const o: OpenOptionsInfo = { ...base };
  const has = (k: keyof OpenOptionsRequest) => Object.hasOwn(req, k) && req[k] !== undefined;
  if (has('integrity')) o.integrity = req.integrity || 'crc32c';
  algorithmInfo(o.integrity);
  if (has('journalIntegrity')) o.journal_integrity = req.journalIntegrity || null;
  if (o.journal_integrity && !/^hmac-(sha1|sha256|sha512)$/.test(o.journal_integrity)) {
    throw new IntegrityStudioError(`unsupported journal integrity algorithm "${o.journal_integrity}" (supported: hmac-sha1, hmac-sha256, hmac-sha512)`);
  }
  if (has('journalCrypt')) o.journal_crypt = req.journalCrypt || null;
  if (o.journal_crypt && !SUPPORTED_JOURNAL_CRYPT.includes(o.journal_crypt.replace(/^(\w+)\((\w+)\)$/, '$1-$2'))) {
    throw new IntegrityStudioError(`unsupported journal encryption "${o.journal_crypt}" (supported: ${SUPPORTED_JOURNAL_CRYPT.join(', ')})`);
  }
  if (has('mode')) {
    if (!['journal', 'bitmap', 'direct'].includes(req.mode!)) throw new IntegrityStudioError('mode must be journal, bitmap or direct');
    o.mode = req.mode!;
  }
  if (has('dataDevice')) o.data_device = req.dataDevice ? path.resolve(req.dataDevice) : null;
  if (has('allowDiscards')) o.allow_discards = !!req.allowDiscards;
  if (has('bitmapSectorsPerBit')) o.bitmap_sectors_per_bit = positive(req.bitmapSectorsPerBit, 'bitmap sectors per bit') ?? null;
  if (o.bitmap_sectors_per_bit !== null && (o.bitmap_sectors_per_bit & (o.bitmap_sectors_per_bit - 1))) throw new IntegrityStudioError('bitmap sectors per bit must be a power of two');
  if (has('bitmapFlushTimeMs')) o.bitmap_flush_time_ms = positive(req.bitmapFlushTimeMs, 'bitmap flush time') ?? null;
  return o;
}

function keysFrom(req: { integrityKey?: KeyInput; journalIntegrityKey?: KeyInput; journalCryptKey?: KeyInput }): Keys {
  const k: Keys = {};
  const i = readKey(req.integrityKey, KEY_WORDS.integrity);
  const ji = readKey(req.journalIntegrityKey, KEY_WORDS.journalIntegrity);
  const jc = readKey(req.journalCryptKey, KEY_WORDS.journalCrypt);
  if (i) k.integrity = i;
  if (ji) k.journalIntegrity = ji;
  if (jc) k.journalCrypt = jc;
  return k;
}

/** The engine's open options for an entry's options and keys. */
function volumeOptions(o: OpenOptionsInfo, keys: Keys): VolumeOptions {
  return {
    dataDevice: o.data_device ?? undefined,
    integrity: o.integrity, integrityKey: keys.integrity,
    journalIntegrity: o.journal_integrity ?? undefined, journalIntegrityKey: keys.journalIntegrity,
    journalCrypt: o.journal_crypt ?? undefined, journalCryptKey: keys.journalCrypt,
    mode: o.mode, allowDiscards: o.allow_discards,
    bitmapSectorsPerBit: o.bitmap_sectors_per_bit ?? undefined, bitmapFlushTime: o.bitmap_flush_time_ms ?? undefined,
  };
}

/** Which keys the algorithms need: a keyed internal hash, a journal MAC (superblock flag or option), journal crypt. */
function keysRequired(o: OpenOptionsInfo, sbFlags: number | null): VolumeSnapshot['keys_required'] {
  return {
    integrity: algorithmInfo(o.integrity).keyed,
    journalIntegrity: !!o.journal_integrity || (sbFlags !== null && !!(sbFlags & SB_FLAG_HAVE_JOURNAL_MAC)),
    journalCrypt: !!o.journal_crypt,
  };
}

function missingKeys(e: Entry, sbFlags: number | null): KeyName[] {
  const req = keysRequired(e.options, sbFlags);
  return (Object.keys(req) as KeyName[]).filter((k) => req[k] && !e.keys[k]);
}

/** Conditions in order of importance (the first is the badge). */
const ORDER: VolumeState[] = [
  'missing', 'unreadable', 'formatting', 'locked', 'needs-key', 'checking', 'recalculating', 'errors', 'check-interrupted', 'recalc-interrupted',
  'journal-replay', 'recalc-pending', 'recalc-paused', 'check-paused', 'changed', 'partial', 'not-checked', 'clean',
];

/** bytes as the dashboard prints them (renderer/src/lib/format.ts formatBytes) */
function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

/** A path from a form: absolute only (a relative one would name a file in whatever folder the host runs in). */
function absolutePath(p: string, what: string): string {
  if (!path.isAbsolute(p)) throw new IntegrityStudioError(`${what} must be an absolute path (starting with /): "${p}" would be taken relative to the folder the host runs in (${process.cwd()})`, 'EINVAL', { field: 'path', detail: { path: p } });
  return path.normalize(p);
}

/**
 * Before a format over something that exists: it must be a file or block device, and unless the user confirmed
 * (`force`, after the form showed this question) anything holding bytes is refused with ECONFIRM, naming it, its
 * size and what it holds, as integritysetup asks before every format.
 */
function confirmOverwrite(p: string, force: boolean | undefined): void {
  const x = existingContent(p);
  if (force || x.size === 0) return;
  throw new IntegrityStudioError(`Format ${x.label}? It holds ${x.what}: everything on it is lost.`, 'ECONFIRM', { field: 'force', detail: { path: p, words: x.words } });
}

export class EngineHost {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(e: IntegrityEvent) => void>();
  private readonly lastSent = new Map<string, number>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly throttleMs: number;
  private readonly dataDir: string | null;
  private readonly startJobFn: StartJob | null;
  private poller: NodeJS.Timeout | null = null;
  readonly transport: 'electron' | 'websocket';
  readonly startedAt = new Date().toISOString();

  private constructor(o: EngineHostOptions, startJob: StartJob | null) {
    this.throttleMs = o.throttleMs ?? 100;
    this.dataDir = o.dataDir ?? null;
    this.transport = o.transport ?? 'websocket';
    this.startJobFn = startJob;
    const pollMs = o.pollMs ?? 2000;
    if (pollMs > 0) {
      this.poller = setInterval(() => this.poll(), pollMs);
      this.poller.unref();
    }
  }

  static async create(o: EngineHostOptions = {}): Promise<EngineHost> {
    const host = new EngineHost(o, o.startJob === undefined ? engineStartJob : o.startJob);
    host.load();
    return host;
  }

  // ---- persistence (volume list and open options; never keys) ----
  private listFile(): string | null {
    return this.dataDir ? path.join(this.dataDir, 'volumes.json') : null;
  }
  private load(): void {
    const f = this.listFile();
    if (!f || !fs.existsSync(f)) return;
    let list: Array<Record<string, unknown>>;
    try {
      list = JSON.parse(fs.readFileSync(f, 'utf8')) as Array<Record<string, unknown>>;
    } catch (e) {
      throw new IntegrityStudioError(`${f}: not a volume list (${(e as Error).message})`);
    }
    for (const v of list) {
      if (typeof v.id !== 'string' || typeof v.path !== 'string') continue;
      // older lists kept algorithm / dataDevice / mode / journalIntegrity / journalCrypt at the top level
      const saved = (v.options ?? {}) as Partial<OpenOptionsInfo>;
      const options: OpenOptionsInfo = {
        ...DEFAULT_OPTIONS,
        integrity: (v.algorithm as string) ?? DEFAULT_OPTIONS.integrity,
        mode: (v.mode as VolumeMode) ?? 'journal',
        data_device: (v.dataDevice as string) ?? null,
        journal_integrity: (v.journalIntegrity as string) ?? null,
        journal_crypt: (v.journalCrypt as string) ?? null,
        ...saved,
      };
      const e = this.newEntry(v.id, v.path, typeof v.name === 'string' ? v.name : path.basename(v.path), options, {});
      e.bufferSectors = typeof v.bufferSectors === 'number' ? v.bufferSectors : null;
      e.speedLimit = typeof v.speedLimitMiBs === 'number' && v.speedLimitMiBs > 0 ? v.speedLimitMiBs : null;
      // a LUKS2 volume comes back locked: its key was never saved
      if (v.luks === true) e.luks = { volumeKey: null };
      this.entries.set(e.id, e);
    }
  }
  private save(): void {
    const f = this.listFile();
    if (!f) return;
    fs.mkdirSync(path.dirname(f), { recursive: true });
    const list = [...this.entries.values()].filter((e) => !e.formatting).map((e) => ({
      id: e.id, name: e.name, path: e.path, options: e.options, bufferSectors: e.bufferSectors,
      ...(e.speedLimit ? { speedLimitMiBs: e.speedLimit } : {}), ...(e.luks ? { luks: true } : {}),
    }));
    const tmp = `${f}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(list, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, f);
  }

  private newEntry(id: string, p: string, name: string, options: OpenOptionsInfo, keys: Keys): Entry {
    return { id, name, path: p, options, bufferSectors: null, keys, jobs: {}, handles: {}, formatting: false, error: null, keyWarning: null, signature: '', speedLimit: null, luks: null };
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
  private emitVolume(e: Entry): VolumeSnapshot {
    const s = this.snapshot(e);
    e.signature = this.signatureOf(e);
    this.emit({ type: 'volume', volume: s });
    return s;
  }

  // ---- changes made by others (the CLI) ----
  /** what the files behind a volume look like now: image, data device, superblock bytes, job state files */
  private signatureOf(e: Entry): string {
    const parts: string[] = [];
    const stat = (p: string) => {
      try {
        const st = fs.statSync(p);
        parts.push(`${p}:${st.ino}:${st.size}:${st.mtimeMs}`);
      } catch {
        parts.push(`${p}:-`);
      }
    };
    stat(e.path);
    if (e.options.data_device) stat(e.options.data_device);
    for (const k of ['scrub', 'recalc'] as const) stat(jobStatePath(e.path, k));
    // block devices keep their mtime: the superblock itself (recalc_sector, flags) tells a recalculation's progress
    try {
      const fd = fs.openSync(e.path, 'r');
      try {
        const b = Buffer.alloc(512);
        fs.readSync(fd, b, 0, 512, 0);
        parts.push(crypto.createHash('sha256').update(b).digest('hex'));
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      parts.push('sb:-');
    }
    return parts.join('|');
  }
  /** re-reads idle volumes; emits a 'volume' event for each that changed */
  poll(): void {
    for (const e of this.entries.values()) {
      if (e.formatting || e.resizing || e.replaying || e.handles.recalc || e.handles.scrub) continue;
      const sig = this.signatureOf(e);
      if (sig !== e.signature) this.emitVolume(e);
    }
  }

  // ---- commands ----
  status(): HostStatus {
    return { version: HOST_VERSION, transport: this.transport, algorithms: supportedAlgorithms(), jobs_available: !!this.startJobFn, started_at: this.startedAt, volumes: this.listVolumes() };
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

  private refuseDuplicate(p: string): void {
    for (const e of this.entries.values()) {
      if (e.path === p) throw new IntegrityStudioError(`${p} is already in the list as "${e.name}": use Unlock to give its keys, or Edit to change its name and open options`);
    }
  }

  private running(e: Entry): JobKind | null {
    return e.handles.recalc ? 'recalc' : e.handles.scrub ? 'scrub' : null;
  }
  private refuseWhileRunning(e: Entry, what: string): void {
    if (e.resizing) throw new IntegrityStudioError(`${e.name}: a resize is running; wait for it before ${what}`);
    if (e.replaying) throw new IntegrityStudioError(`${e.name}: its journal is being replayed; wait for it before ${what}`);
    const r = this.running(e);
    if (r) throw new IntegrityStudioError(`${e.name}: a ${r === 'recalc' ? 'recalculation' : 'scrub'} is running; pause it before ${what}`);
  }

  /**
   * Checks what can be checked of keys and algorithms against the disk. Throws when a key is certainly wrong
   * (a journal MAC key against the superblock MAC under fix_hmac; a journal crypt key that does not decrypt the
   * journal's commit ids); returns a labelled guess when a sample of blocks all fail their tags.
   */
  private checkKeys(p: string, o: OpenOptionsInfo, keys: Keys): string | null {
    const vo = volumeOptions(o, keys);
    const sbVol = openVolume(p, { dataDevice: vo.dataDevice, superblockOnly: true });
    let flags: number;
    try {
      flags = sbVol.sb.flags;
      if (flags & SB_FLAG_HAVE_JOURNAL_MAC && !o.journal_integrity) {
        throw new IntegrityStudioError('this volume has a journal MAC (have_journal_mac): choose its Journal integrity algorithm and give its key');
      }
      if (!(flags & SB_FLAG_HAVE_JOURNAL_MAC) && o.journal_integrity) {
        throw new IntegrityStudioError('this volume has no journal MAC, but a Journal integrity algorithm was given: choose none');
      }
      if (o.journal_crypt && keys.journalCrypt) journalCipher(o.journal_crypt, keys.journalCrypt.length);
      if (flags & SB_FLAG_HAVE_JOURNAL_MAC && flags & SB_FLAG_FIXED_HMAC && keys.journalIntegrity) {
        try {
          checkSuperblockMac(sbVol.meta, sbVol.sb, vo);
        } catch {
          throw new IntegrityStudioError(`the journal integrity key does not match the superblock's MAC: the key or the journal integrity algorithm (${o.journal_integrity}) is wrong`, 'EKEY');
        }
      }
    } finally {
      sbVol.close();
    }
    const need = keysRequired(o, flags);
    if ((need.journalIntegrity && !keys.journalIntegrity) || (need.journalCrypt && !keys.journalCrypt)) return null;
    if (need.integrity && !keys.integrity) return null;
    // another process writes it: its blocks may be between their data and tag writes, so no sample now
    if (lockHolder(p)) return null;
    const vol = openVolume(p, { ...vo, superblockOnly: true, readOnly: true });
    try {
      if (o.journal_crypt) {
        const j = journalOnDisk(vol, o.mode);
        if (j.unreadable && /commit id/.test(j.unreadable)) {
          throw new IntegrityStudioError(`the journal encryption key or algorithm (${o.journal_crypt}) does not decrypt the journal (its commit ids are not valid)`, 'EKEY');
        }
      }
      return sampleCheck(vol);
    } finally {
      vol.close();
    }
  }

  /** addVolume, and a LUKS2 device (recognised by its header; async: the KDF) — what the dispatcher calls */
  addAnyVolume(req: AddVolumeRequest): VolumeSnapshot | Promise<VolumeSnapshot> {
    if (req && typeof req.path === 'string' && req.path) {
      const p = absolutePath(req.path, 'Image or device');
      if (fs.existsSync(p) && isLuks2(p)) {
        this.refuseDuplicate(p);
        return this.addLuks(p, req);
      }
    }
    return this.addVolume(req);
  }

  addVolume(req: AddVolumeRequest): VolumeSnapshot {
    if (!req || typeof req.path !== 'string' || !req.path) throw new IntegrityStudioError('addVolume: path is required');
    const p = absolutePath(req.path, 'Image or device');
    this.refuseDuplicate(p);
    if (!fs.existsSync(p)) throw new IntegrityStudioError(`${p}: no such file or device`, 'ENOENT');
    if (isLuks2(p)) throw new IntegrityStudioError(`${p} is a LUKS2 device: add it through addAnyVolume (its passphrase unlocks it)`);
    // a folder, /dev/null, an ext4 image: say what it is rather than what the superblock decoder saw
    const x = existingContent(p);
    if (!x.signatures.some((s) => s.type === 'dm-integrity')) {
      throw new IntegrityStudioError(`${x.words}: not a dm-integrity volume (no dm-integrity superblock at its start). To make it one, use Create volume (which erases it)`, 'EFORMAT');
    }
    const options = optionsFrom(req);
    if (options.data_device && !fs.existsSync(options.data_device)) throw new IntegrityStudioError(`data device ${options.data_device}: no such file or device`, 'ENOENT');
    const keys = keysFrom(req);
    const warning = this.checkKeys(p, options, keys);
    const e = this.newEntry(crypto.randomUUID(), p, req.name || path.basename(p), options, keys);
    e.keyWarning = warning;
    this.entries.set(e.id, e);
    this.save();
    return this.emitVolume(e);
  }

  async createVolume(req: CreateVolumeRequest): Promise<VolumeSnapshot> {
    if (!req || typeof req.path !== 'string' || !req.path) throw new IntegrityStudioError('createVolume: path is required');
    const p = absolutePath(req.path, 'Image path');
    this.refuseDuplicate(p);
    const dir = path.dirname(p);
    if (!fs.existsSync(dir)) throw new IntegrityStudioError(`folder ${dir} does not exist`, 'ENOENT');
    if (fs.existsSync(p) && req.size === undefined) confirmOverwrite(p, req.force);
    // a separate data device is wiped too (unless "Do not wipe"): asked about the same way
    if (req.dataDevice && !req.noWipe && fs.existsSync(req.dataDevice)) confirmOverwrite(absolutePath(req.dataDevice, 'Data device'), req.force);
    const options = optionsFrom(req);
    const keys = keysFrom(req);
    const o: FormatOptions = {
      integrity: options.integrity, integrityKey: keys.integrity,
      tagSize: positive(req.tagSize, 'Tag size'), sectorSize: positive(req.sectorSize, 'Sector size'),
      journalSize: positive(req.journalSize, 'Journal size'), interleaveSectors: positive(req.interleaveSectors, 'Interleave sectors'),
      bufferSectors: positive(req.bufferSectors, 'Buffer sectors'), dataDevice: options.data_device ?? undefined,
      noWipe: !!req.noWipe, integrityRecalculate: !!req.integrityRecalculate, legacyPadding: !!req.legacyPadding,
      legacyHmac: !!req.legacyHmac, journalIntegrity: options.journal_integrity ?? undefined, journalIntegrityKey: keys.journalIntegrity,
      journalCrypt: options.journal_crypt ?? undefined, journalCryptKey: keys.journalCrypt, mode: options.mode, force: !!req.force,
      size: positive(req.size, 'Size'),
    };
    const e = this.newEntry(crypto.randomUUID(), p, req.name || path.basename(p), options, keys);
    e.bufferSectors = o.bufferSectors ?? null;
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
    // "Recalculate tags in the background": what the first integritysetup open --integrity-recalculate starts
    if (o.integrityRecalculate && o.noWipe && this.startJobFn) this.runJob(e.id, 'recalc', false);
    return this.emitVolume(e);
  }

  /** formatVolume in a worker thread: the host keeps serving events and commands during a long wipe */
  private async formatInWorker(p: string, o: FormatOptions, onProgress: (done: number, total: number) => void): Promise<void> {
    type Progress = { type: 'progress'; done: number; total: number };
    type FormatError = WorkerError & { field?: string; detail?: Record<string, string | number> };
    await runWorker<{ type: 'done' }, Progress, FormatError>(new URL('./format-worker.js', import.meta.url), { path: p, options: o }, 'format',
      (m) => { if (m.type === 'progress') onProgress(m.done, m.total); },
      // the engine words its errors for the CLI (--size, --force): the form has controls instead
      (m) => new IntegrityStudioError(formMessage({ message: m.message, code: m.code, field: m.field, detail: m.detail }), m.code ?? 'EINVAL'));
  }

  /** takes the volume off the list; the image and its state files stay */
  removeVolume(id: string): void {
    const e = this.get(id);
    if (e.formatting) throw new IntegrityStudioError(`${e.name}: still formatting`);
    this.refuseWhileRunning(e, 'removing it from the list');
    this.entries.delete(e.id);
    for (const k of Object.keys(e.keys) as KeyName[]) e.keys[k]?.fill(0);
    e.luks?.volumeKey?.fill(0);
    this.save();
    this.emit({ type: 'volume-removed', id: e.id });
  }

  /** a new name and/or open options; keys given replace the held ones, absent keys are kept */
  updateVolume(id: string, req: UpdateVolumeRequest): VolumeSnapshot {
    const e = this.get(id);
    if (!req || typeof req !== 'object') throw new IntegrityStudioError('updateVolume: expected an object');
    if (e.formatting) throw new IntegrityStudioError(`${e.name}: still formatting`);
    this.refuseWhileRunning(e, 'editing it');
    if (req.name !== undefined && (typeof req.name !== 'string' || !req.name.trim() || req.name.length > 200)) throw new IntegrityStudioError('name must be 1 to 200 characters');
    const limit = req.speedLimitMiBs;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_SPEED_LIMIT)) throw new IntegrityStudioError(`Speed limit must be a whole number of MiB/s from 1 to ${MAX_SPEED_LIMIT}, or empty for no limit`);
    if (e.luks) {
      // a LUKS2 volume has no open options of ours (its header holds them): only its name and speed limit change here
      const other = Object.keys(req).filter((k) => k !== 'name' && k !== 'speedLimitMiBs' && (req as Record<string, unknown>)[k] !== undefined);
      if (other.length) throw new IntegrityStudioError(`${e.name} is a LUKS2 volume: its header holds its cipher and integrity; only the name and speed limit can be changed (not ${other.join(', ')})`);
      if (req.name !== undefined) e.name = req.name.trim();
      if (limit !== undefined) e.speedLimit = limit > 0 ? limit : null;
      this.save();
      return this.emitVolume(e);
    }
    const options = optionsFrom(req, e.options);
    if (options.data_device && !fs.existsSync(options.data_device)) throw new IntegrityStudioError(`data device ${options.data_device}: no such file or device`, 'ENOENT');
    const keys: Keys = { ...e.keys, ...keysFrom(req) };
    const warning = fs.existsSync(e.path) ? this.checkKeys(e.path, options, keys) : null;
    if (req.name !== undefined) e.name = req.name.trim();
    if (limit !== undefined) e.speedLimit = limit > 0 ? limit : null;
    e.options = options;
    e.keys = keys;
    e.keyWarning = warning;
    this.save();
    return this.emitVolume(e);
  }

  /** the keys a volume needs (after a host restart they are forgotten) */
  /** unlockVolume, and a LUKS2 volume's passphrase or key file (async: the KDF) — what the dispatcher calls */
  unlockAnyVolume(id: string, req: UnlockRequest): VolumeSnapshot | Promise<VolumeSnapshot> {
    const e = this.get(id);
    if (e.luks) {
      if (!req || typeof req !== 'object') throw new IntegrityStudioError('unlockVolume: expected an object');
      return this.unlockLuks(e, req.luksSecret);
    }
    return this.unlockVolume(id, req);
  }

  unlockVolume(id: string, req: UnlockRequest): VolumeSnapshot {
    const e = this.get(id);
    if (!req || typeof req !== 'object') throw new IntegrityStudioError('unlockVolume: expected an object');
    if (e.luks) throw new IntegrityStudioError(`${e.name} is a LUKS2 volume: unlock it through unlockAnyVolume (its passphrase)`);
    const given = keysFrom(req);
    if (!Object.keys(given).length) throw new IntegrityStudioError(`${e.name}: give at least one key (as hex digits or a key file on the host)`);
    if (!fs.existsSync(e.path)) throw new IntegrityStudioError(`${e.path}: no such file or device`, 'ENOENT');
    const keys: Keys = { ...e.keys, ...given };
    e.keyWarning = this.checkKeys(e.path, e.options, keys);
    e.keys = keys;
    e.error = null;
    return this.emitVolume(e);
  }

  /**
   * replays the journal on disk as the kernel does on activation (a writable open), under the volume's lock; for a
   * bitmap-mode volume left dirty, that open recalculates the dirty regions. It runs in a worker thread (the
   * recalculation reads every block of those regions), reporting replay-progress; other actions wait for it.
   */
  async replayJournal(id: string): Promise<VolumeSnapshot> {
    const e = this.get(id);
    if (e.formatting) throw new IntegrityStudioError(`${e.name}: still formatting`);
    if (e.replaying) throw new IntegrityStudioError(`${e.name}: its journal is already being replayed`);
    this.refuseWhileRunning(e, 'replaying its journal');
    if (e.luks) {
      if (!e.luks.volumeKey) throw new IntegrityStudioError(`${e.name}: ${LOCKED_MESSAGE}`);
      // a writable open of the dm-integrity below dm-crypt = the kernel's activation: replay_journal, then a clean close
      openCryptVolume(e.path, segmentFromLuks(readLuks2Header(e.path)), e.luks.volumeKey, { readOnly: false }).close();
      e.error = null;
      return this.emitVolume(e);
    }
    const missing = missingKeys(e, null);
    if (missing.length) throw new IntegrityStudioError(`${e.name}: Unlock it first (the ${missing.map((k) => KEY_WORDS[k]).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not held)`);
    // openWritable = dm_integrity_resume: replay_journal (or the dirty-bitmap recalculation), then a clean close
    e.replaying = true;
    const started = Date.now();
    try {
      await this.replayInWorker(e.path, volumeOptions(e.options, e.keys), (done, total) =>
        this.emitThrottled(`${e.id}:replay`, () => ({ type: 'replay-progress', id: e.id, done, total, elapsed_ms: Date.now() - started, finished: done === total }), done === total));
    } finally {
      e.replaying = false;
    }
    e.error = null;
    return this.emitVolume(e);
  }

  private async replayInWorker(p: string, options: VolumeOptions, onProgress: (done: number, total: number) => void): Promise<void> {
    const data: ReplayWorkerData = { path: p, options };
    await runWorker<Extract<ReplayMessage, { type: 'done' }>, Extract<ReplayMessage, { type: 'progress' }>>(new URL('./replay-worker.js', import.meta.url), data, 'replay',
      (m) => onProgress(m.done, m.total));
  }

  // ---- LUKS2 authenticated volumes (host/luks-host.ts) ----
  private kdfProgress(id: string, p: UnlockProgress): void {
    if (!('kdf' in p)) return;
    this.emitThrottled(`${id}:kdf`, () => ({ type: 'kdf-progress', id, kdf: p.kdf, elapsed_ms: Math.round(p.elapsedMs), estimate_ms: Math.round(p.estimateMs), fraction: p.fraction, done: p.phase === 'kdf-end' }), p.phase !== 'kdf');
  }

  /** the volume key from a passphrase or key file: LUKS2_keyslot_open; a wrong one is "No key available with this passphrase." */
  private async luksKey(id: string, p: string, given: LuksSecretInput | undefined): Promise<Buffer> {
    const secret = secretOf(given);
    if (!secret) throw new IntegrityStudioError('give the passphrase of this LUKS2 volume (or a key file on the host)');
    try {
      const { volumeKey } = await unlockLuks2(p, secret, { onProgress: (x) => this.kdfProgress(id, x) });
      return volumeKey;
    } finally {
      zeroSecret(secret);
    }
  }

  /** Add existing image, a LUKS2 device: added locked, or unlocked when its passphrase is given (a wrong one adds nothing) */
  private async addLuks(p: string, req: AddVolumeRequest): Promise<VolumeSnapshot> {
    const info = readLuks2Header(p); // a header that cannot be read refuses the add with its reason
    if (!info.dataSegment.integrity) throw new IntegrityStudioError(`${p} is a LUKS2 device without integrity (plain dm-crypt): only authenticated volumes (luksFormat --integrity) can be checked here`);
    const id = crypto.randomUUID();
    const volumeKey = req.luksSecret ? await this.luksKey(id, p, req.luksSecret) : null;
    this.refuseDuplicate(p);
    const e = this.newEntry(id, p, req.name || path.basename(p), { ...DEFAULT_OPTIONS }, {});
    e.luks = { volumeKey };
    this.entries.set(e.id, e);
    this.save();
    return this.emitVolume(e);
  }

  private async unlockLuks(e: Entry, given: LuksSecretInput | undefined): Promise<VolumeSnapshot> {
    if (!fs.existsSync(e.path)) throw new IntegrityStudioError(`${e.path}: no such file or device`, 'ENOENT');
    const vk = await this.luksKey(e.id, e.path, given);
    if (!e.luks || this.entries.get(e.id) !== e) { vk.fill(0); throw new IntegrityStudioError(`${e.name} was removed from the list while unlocking`); }
    e.luks.volumeKey?.fill(0);
    e.luks.volumeKey = vk;
    e.error = null;
    return this.emitVolume(e);
  }

  /** the crypt scrub as a job in a worker thread; the volume key goes to it as bytes (a copy, zeroed here at once) */
  private runLuksScrub(e: Entry, kind: JobKind, reset: boolean): void {
    if (kind !== 'scrub') throw new IntegrityStudioError(`${e.name}: a LUKS2 authenticated volume has no internal hash to recalculate (its tags are dm-crypt's); only a scrub applies`);
    if (!e.luks?.volumeKey) throw new IntegrityStudioError(`${e.name}: ${LOCKED_MESSAGE}`);
    const startJob = this.requireJobs();
    const st = luksScrubState(e.path);
    if (runningElsewhere(st)) throw new IntegrityStudioError(`${e.name}: a scrub is running in another process (the CLI?); wait for it or pause it there`);
    if (!reset && st?.state === 'done') throw new IntegrityStudioError(`${e.name}: the last scrub finished; use Start scrub to run a new one`);
    const segment = segmentFromLuks(readLuks2Header(e.path));
    const key = new Uint8Array(e.luks.volumeKey);
    let h: JobHandle;
    try {
      h = startJob({ kind: 'scrub', device: e.path, reset, by: 'dashboard', crypt: { segment, volumeKey: key }, ...(e.speedLimit ? { maxBytesPerSecond: e.speedLimit * 1048576 } : {}) }, (p) => this.onProgress(e, p));
    } finally {
      key.fill(0); // the worker has its own copy (workerData is cloned when the worker is made)
    }
    e.error = null;
    e.handles.scrub = h;
    void h.finished.then((p) => {
      if (e.handles.scrub === h) delete e.handles.scrub;
      this.onProgress(e, p, true);
      if (this.entries.get(e.id) === e) this.emitVolume(e);
    });
    this.emitVolume(e);
  }

  /** Create form, LUKS2 authenticated encryption: format in a worker (KDF, then the wipe), then the volume is listed unlocked */
  async createLuksVolume(req: CreateLuksVolumeRequest): Promise<VolumeSnapshot> {
    if (!req || typeof req.path !== 'string' || !req.path) throw new IntegrityStudioError('createLuksVolume: path is required');
    const p = absolutePath(req.path, 'Image path');
    this.refuseDuplicate(p);
    const dir = path.dirname(p);
    if (!fs.existsSync(dir)) throw new IntegrityStudioError(`folder ${dir} does not exist`, 'ENOENT');
    if (!req.integrity) throw new IntegrityStudioError('choose the Integrity (hmac-sha256, hmac-sha512, hmac-sha1, aead, poly1305)');
    if (!req.secret) throw new IntegrityStudioError('give a passphrase (or a key file on the host)');
    if ('passphrase' in req.secret && req.secret.passphrase === '') throw new IntegrityStudioError('the passphrase is empty');
    const size = positive(req.size, 'Size');
    let created = false;
    if (size !== undefined) {
      if (fs.existsSync(p)) throw new IntegrityStudioError(`${p} already exists: leave Size empty to format the existing file (Size only creates a new image file)`, 'EEXIST');
      if (size % 512) throw new IntegrityStudioError(`Size must be a multiple of 512 bytes (${size} was given)`);
      if (size <= 16 << 20) throw new IntegrityStudioError(`Size must be more than 16 MiB: a LUKS2 header and its keyslots take the first 16 MiB (${size} bytes was given)`);
    } else {
      if (!fs.existsSync(p)) throw new IntegrityStudioError(`${p} does not exist: give a Size to create a new image file there`, 'ENOENT');
      confirmOverwrite(p, req.force);
    }
    const e = this.newEntry(crypto.randomUUID(), p, req.name || path.basename(p), { ...DEFAULT_OPTIONS }, {});
    e.luks = { volumeKey: null };
    e.formatting = true;
    this.entries.set(e.id, e);
    this.emit({ type: 'volume', volume: this.snapshot(e) });
    const pass = 'passphrase' in req.secret ? Buffer.from(req.secret.passphrase, 'utf8') : undefined;
    try {
      if (size !== undefined) {
        fs.writeFileSync(p, '', { flag: 'wx', mode: 0o600 });
        created = true;
        fs.truncateSync(p, size);
      }
      const vk = await formatLuksInWorker({
        path: p,
        options: {
          integrity: req.integrity, cipher: req.cipher, keySize: positive(req.keySize, 'Key size'), sectorSize: positive(req.sectorSize, 'Sector size'),
          pbkdf: req.pbkdf, pbkdfIterations: positive(req.pbkdfIterations, 'PBKDF iterations'), pbkdfMemory: positive(req.pbkdfMemory, 'PBKDF memory'), noWipe: !!req.noWipe,
        },
        ...(pass ? { passphrase: new Uint8Array(pass) } : { keyFile: path.resolve((req.secret as { file: string }).file) }),
      }, (m) => {
        if (m.type === 'kdf') this.emitThrottled(`${e.id}:kdf`, () => ({ type: 'kdf-progress', id: e.id, kdf: m.kdf, elapsed_ms: m.elapsed_ms, estimate_ms: m.estimate_ms, fraction: m.fraction, done: m.done }), m.done);
        else if (m.type === 'wipe') this.emitThrottled(`${e.id}:format`, () => ({ type: 'format-progress', id: e.id, done: m.done, total: m.total, phase: 'wipe' }), m.done === m.total);
      });
      e.luks.volumeKey = vk;
    } catch (err) {
      this.entries.delete(e.id);
      this.emit({ type: 'volume-removed', id: e.id });
      if (created) fs.rmSync(p, { force: true });
      throw err;
    } finally {
      pass?.fill(0);
    }
    e.formatting = false;
    this.save();
    return this.emitVolume(e);
  }

  private requireJobs(): StartJob {
    if (!this.startJobFn) throw new IntegrityStudioError('recalculation and scrub are not available: this build has no engine/jobs');
    return this.startJobFn;
  }

  private runJob(id: string, kind: JobKind, reset: boolean): void {
    const e = this.get(id);
    if (e.formatting) throw new IntegrityStudioError(`${e.name}: still formatting`);
    if (e.resizing) throw new IntegrityStudioError(`${e.name}: a resize is running; wait for it to finish`);
    if (e.replaying) throw new IntegrityStudioError(`${e.name}: its journal is being replayed; wait for it to finish`);
    const r = this.running(e);
    if (r) throw new IntegrityStudioError(`${e.name}: a ${r === 'recalc' ? 'recalculation' : 'scrub'} is already running`);
    if (!fs.existsSync(e.path)) throw new IntegrityStudioError(`${e.path} is missing`, 'ENOENT');
    if (e.luks) return this.runLuksScrub(e, kind, reset);
    const missing = missingKeys(e, null);
    if (missing.length) throw new IntegrityStudioError(`${e.name}: Unlock it first (the ${missing.map((k) => KEY_WORDS[k]).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not held)`);
    const startJob = this.requireJobs();
    if (kind === 'scrub' && runningElsewhere(this.scrubState(e))) throw new IntegrityStudioError(`${e.name}: a scrub is running in another process (the CLI?); wait for it or pause it there`);
    if (kind === 'scrub' && !reset) {
      const st = this.scrubState(e);
      if (st?.state === 'done') throw new IntegrityStudioError(`${e.name}: the last scrub finished; use Start scrub to run a new one`);
    }
    const o = e.options;
    const spec: JobSpec = {
      kind, device: e.path, volume: volumeOptions(o, e.keys), reset, by: 'dashboard',
      ...(e.speedLimit ? { maxBytesPerSecond: e.speedLimit * 1048576 } : {}),
    };
    e.error = null;
    if (kind === 'scrub') {
      const st = this.scrubState(e);
      const prev = st?.state === 'done' && reset ? st : st?.last_finished;
      e.carried = prev ? { bad: prev.bad_ranges, read: prev.read_error_ranges ?? [] } : null;
    }
    const h = startJob(spec, (p) => this.onProgress(e, p));
    e.handles[kind] = h;
    void h.finished.then((p) => {
      if (e.handles[kind] === h) delete e.handles[kind];
      this.onProgress(e, p, true);
      if (this.entries.get(e.id) === e) this.emitVolume(e);
    });
    this.emitVolume(e);
  }

  private onProgress(e: Entry, p: JobProgress, final = false): void {
    e.jobs[p.job] = p;
    if (p.state === 'failed' && p.error) e.error = p.error;
    const fin = final || p.state !== 'running';
    this.emitThrottled(`${e.id}:${p.job}`, () => ({ type: 'progress', id: e.id, progress: p }), fin);
    if (p.job === 'scrub') {
      // known damage: what this scrub found, and what the last finished one found where this one has not been yet
      const c = e.carried;
      const ranges = c ? unionRanges(p.bad_ranges, c.bad.filter(([, b]) => b > p.position_sector).map(([a, b]): [number, number] => [Math.max(a, p.position_sector), b])) : p.bad_ranges;
      const spb = p.sectors_per_block ?? 1;
      this.emitThrottled(`${e.id}:errors`, () => ({ type: 'errors', id: e.id, count: ranges.reduce((n, [a, b]) => n + Math.ceil((b - a) / spb), 0), ranges }), fin);
    }
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

  // ---- resize (integritysetup resize; engine/commands/resize.ts) ----
  /** why a resize is refused now (named for the form), or null */
  private resizeRefusal(e: Entry): string | null {
    if (e.formatting) return `${e.name} is still formatting`;
    if (e.resizing) return `a resize of ${e.name} is already running`;
    if (e.replaying) return `the journal of ${e.name} is being replayed`;
    // dm-crypt over dm-integrity grows with the LUKS2 segment (cryptsetup resize): not offered here
    if (e.luks) return `${e.name} is a LUKS2 volume: resizing it (cryptsetup resize, with its header's segment) is not offered here`;
    const r = this.running(e);
    if (r) return `a ${r === 'recalc' ? 'recalculation' : 'scrub'} of ${e.name} is running in this dashboard: pause it, then resize`;
    for (const p of [e.path, e.options.data_device].filter((x): x is string => !!x)) {
      if (!fs.existsSync(p)) return `${p} is missing`;
      const h = lockHolder(p);
      if (h) return `${p} is open for writing by another process (pid ${h.info.pid}${h.info.cmd ? `: ${h.info.cmd}` : ''}): wait for it to finish`;
    }
    const st = this.scrubState(e);
    if (runningElsewhere(st)) return `a scrub of ${e.name} is running in another process${st?.running ? ` (pid ${st.running.pid}, ${st.running.by})` : ''}: wait for it or pause it there`;
    const missing = missingKeys(e, null);
    if (missing.length) return `the ${missing.map((k) => KEY_WORDS[k]).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not held: Unlock ${e.name} first`;
    return null;
  }

  resizeLimits(id: string): ResizeLimits {
    const e = this.get(id);
    const o = e.options;
    const refused = this.resizeRefusal(e);
    let vol: Volume;
    try {
      vol = openVolume(e.path, { dataDevice: o.data_device ?? undefined, superblockOnly: true });
    } catch (err) {
      if (!refused) throw err;
      // another process writes it (our opens refuse to read it then): the superblock's size, and who holds it
      const fd = fs.openSync(e.path, 'r');
      const b = Buffer.alloc(4096);
      try { fs.readSync(fd, b, 0, b.length, 0); } finally { fs.closeSync(fd); }
      const sb = decodeSuperblock(b);
      const bs = 512 << sb.log2_sectors_per_block;
      const cur = sb.provided_data_sectors * 512;
      return {
        current_bytes: cur, whole_device_bytes: cur, max_bytes: cur, min_bytes: bs, block_size: bs, device: o.data_device ?? e.path,
        device_kind: fs.statSync(o.data_device ?? e.path).isFile() ? 'file' : 'block', free_bytes: null, recalc_allowed: false, refused,
      };
    }
    try {
      const sb = vol.sb, g = vol.geometry;
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
  async resizeVolume(id: string, req: ResizeVolumeRequest): Promise<VolumeSnapshot> {
    const e = this.get(id);
    if (!req || typeof req !== 'object') throw new IntegrityStudioError('resizeVolume: expected an object');
    const refused = this.resizeRefusal(e);
    if (refused) throw new IntegrityStudioError(`Not resized: ${refused}`, 'EBUSY');
    const lim = this.resizeLimits(id);
    let size: number | undefined;
    if (req.size !== undefined) {
      size = req.size;
      if (!Number.isSafeInteger(size) || size < lim.block_size || size % lim.block_size) {
        throw new IntegrityStudioError(`New size must be a whole number of ${lim.block_size}-byte blocks, at least one (${size} bytes given)`);
      }
      if (size > lim.max_bytes) {
        throw new IntegrityStudioError(lim.device_kind === 'block'
          ? `New size ${formatBytes(size)} is larger than the device allows (${formatBytes(lim.max_bytes)}): grow the device itself (lvextend, …), then resize to the whole device`
          : `New size ${formatBytes(size)} is larger than the largest possible, ${formatBytes(lim.max_bytes)} (the file system holding ${lim.device} has ${formatBytes(lim.free_bytes ?? 0)} free)`);
      }
      if (lim.device_kind === 'block' && size !== lim.whole_device_bytes) {
        throw new IntegrityStudioError(`${lim.device} is a block device: its size is fixed here; choose "Whole device", or resize the device itself (lvresize, …) first`);
      }
    }
    const target = size ?? lim.whole_device_bytes;
    if (target < lim.current_bytes && !req.confirmShrink) {
      throw new IntegrityStudioError(`Shrinking to ${formatBytes(target)} loses the last ${formatBytes(lim.current_bytes - target)} of data: confirm the shrink`);
    }
    if (target > lim.current_bytes && !req.wipe && !lim.recalc_allowed) {
      throw new IntegrityStudioError('The new area cannot be marked for recalculation: the kernel refuses to recalculate a keyed hash without a journal MAC; choose "Wipe the new area"');
    }
    const o = e.options;
    const ro: ResizeOptions = { ...volumeOptions(o, e.keys), sizeSectors: size === undefined ? undefined : size / 512, wipe: !!req.wipe };
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
        job: 'wipe', state, position_sector: from + done, total_sectors: from + total, start_sector: from, sectors_per_block: spb,
        bytes_per_second: rate, eta_ms: state === 'done' ? 0 : rate > 0 ? ((total - done) * 512 * 1000) / rate : null,
        mismatches: 0, bad_ranges: [], journal: null, started_at: startedAt, ...(err ? { error: err } : {}),
      };
    };
    let result: ResizeResult;
    try {
      result = await this.resizeInWorker(e.path, ro, (done, total) => this.onProgress(e, progress('running', done, total)));
    } catch (err) {
      e.resizing = false;
      const msg = (err as Error).message;
      if (e.jobs.wipe) this.onProgress(e, progress('failed', e.jobs.wipe.position_sector - from, e.jobs.wipe.total_sectors - from, msg), true);
      this.emitVolume(e);
      throw new IntegrityStudioError(`Not resized: ${msg.replace(/--size/g, 'New size').replace(/--wipe/g, '"Wipe the new area"')}`);
    }
    e.resizing = false;
    if (result.new_area?.how === 'wiped') {
      const n = result.new_area.to - result.new_area.from;
      this.onProgress(e, progress('done', n, n), true);
    } else delete e.jobs.wipe;
    // a grown area marked for recalculation: recalculate it now (integritysetup reloads with "recalculate")
    if (result.new_area?.how === 'recalculate' && this.startJobFn) this.runJob(e.id, 'recalc', false);
    return this.emitVolume(e);
  }

  private async resizeInWorker(p: string, o: ResizeOptions, onProgress: (done: number, total: number) => void): Promise<ResizeResult> {
    const m = await runWorker<{ type: 'done'; result: ResizeResult }, { type: 'progress'; done: number; total: number }>(
      new URL('./resize-worker.js', import.meta.url), { path: p, options: o }, 'resize', (x) => { if (x.type === 'progress') onProgress(x.done, x.total); });
    return m.result;
  }

  /** pauses every running job (persisting positions), stops sending events; resolves with what it paused */
  async close(): Promise<PausedJob[]> {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    const all: Array<Promise<PausedJob | null>> = [];
    for (const e of this.entries.values()) {
      for (const [kind, h] of Object.entries(e.handles) as Array<[JobKind, JobHandle]>) {
        all.push(h.pause().then(
          (p) => (p.state === 'paused' ? { id: e.id, name: e.name, path: e.path, job: kind, position_sector: p.position_sector, total_sectors: p.total_sectors } : null),
          () => null,
        ));
      }
    }
    const paused = (await Promise.all(all)).filter((p): p is PausedJob => !!p);
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
    this.listeners.clear();
    for (const e of this.entries.values()) for (const k of Object.keys(e.keys) as KeyName[]) e.keys[k]?.fill(0);
    for (const e of this.entries.values()) e.luks?.volumeKey?.fill(0);
    return paused;
  }

  // ---- snapshots ----
  private scrubState(e: Entry, vol?: Volume): JobStateFile | null {
    try {
      if (vol) return readJobStateAt(jobStatePath(e.path, 'scrub'), volumeIdOf(vol.sb));
      const v = openVolume(e.path, { dataDevice: e.options.data_device ?? undefined, superblockOnly: true });
      try {
        return readJobStateAt(jobStatePath(e.path, 'scrub'), volumeIdOf(v.sb));
      } finally {
        v.close();
      }
    } catch {
      return null;
    }
  }

  snapshot(e: Entry): VolumeSnapshot {
    const o = e.options;
    const s: VolumeSnapshot = {
      id: e.id, name: e.name, path: e.path, data_device: o.data_device, size_bytes: 0, algorithm: o.integrity, mode: o.mode,
      state: 'not-checked', conditions: [], error_count: 0, bad_ranges: [],
      verification: emptyVerification(0), superblock: null, geometry: null,
      journal: e.jobs.recalc?.journal ?? e.jobs.scrub?.journal ?? null, journal_disk: null, jobs: { ...e.jobs }, runs: [],
      options: { ...o },
      keys: { integrity: !!e.keys.integrity, journalIntegrity: !!e.keys.journalIntegrity, journalCrypt: !!e.keys.journalCrypt },
      keys_required: keysRequired(o, null),
      open_command: '', dm_table: '', error: e.error ?? e.keyWarning, speed_limit_mib_s: e.speedLimit,
    };
    const finish = (conds: VolumeState[]): VolumeSnapshot => {
      s.conditions = ORDER.filter((c) => conds.includes(c));
      s.state = s.conditions[0] ?? 'not-checked';
      return s;
    };
    if (e.formatting) return finish(['formatting']);
    const gone = [e.path, o.data_device].filter((p): p is string => !!p && !fs.existsSync(p));
    if (gone.length) {
      s.error = `${gone.join(' and ')} ${gone.length > 1 ? 'are' : 'is'} missing (moved, deleted or detached); the volume stays in the list until removed`;
      return finish(['missing']);
    }
    if (e.luks) {
      s.keys_required = { integrity: false, journalIntegrity: false, journalCrypt: false };
      return finish(fillLuksSnapshot(s, { path: e.path, name: e.name, handles: e.handles, jobs: e.jobs, error: e.error, locked: !e.luks.volumeKey }, this.startedAt));
    }
    let sbVol: Volume;
    try {
      sbVol = openVolume(e.path, { dataDevice: o.data_device ?? undefined, superblockOnly: true });
    } catch (err) {
      s.error = (err as Error).message;
      return finish(['unreadable']);
    }
    const conds: VolumeState[] = [];
    try {
      const sb = sbVol.sb, g = sbVol.geometry;
      const spb = g.sectors_per_block;
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
      s.keys_required = keysRequired(o, sb.flags);
      const missing = missingKeys(e, sb.flags);
      if (missing.length) {
        conds.push('needs-key');
        s.error = s.error ?? `the ${missing.map((k) => KEY_WORDS[k]).join(', ')} ${missing.length > 1 ? 'are' : 'is'} not held (keys are forgotten when the host restarts): use Unlock`;
      }
      const idHex = volumeIdOf(sb);

      // recalculation: the position is the superblock's (the kernel's); runs and a run going on elsewhere from the
      // recalc history file; a recalculation another process runs also holds the volume's write lock
      const rv = recalcView({
        recalculating, recalcSector: sb.recalc_sector, providedSectors: sb.provided_data_sectors, spb, hist: readRecalcHistory(e.path, idHex),
        live: e.jobs.recalc ?? null, liveRunning: !!e.handles.recalc, lockedElsewhere: !e.handles.recalc && lockHolder(e.path) !== null, last: e.jobs.recalc ?? null,
      });
      if (rv.job) s.jobs.recalc = rv.job;
      else delete s.jobs.recalc;
      conds.push(...rv.conditions);

      // scrub: the state file engine/jobs writes (the CLI's and ours), or this session's running job
      const sv = scanView({
        st: readJobStateAt(jobStatePath(e.path, 'scrub'), idHex), live: e.jobs.scrub ?? null, liveRunning: !!e.handles.scrub,
        totalSectors: sb.provided_data_sectors, spb, now: fingerprintOf(sbVol), hostStartedAt: this.startedAt,
      });
      const v = sv.verification;
      s.verification = v;
      s.error_count = v.bad_blocks;
      s.bad_ranges = v.bad_ranges;
      if (sv.job && !(sv.job.state !== 'running' && e.jobs.scrub?.state === 'failed')) s.jobs.scrub = sv.job;
      else if (e.jobs.scrub?.state !== 'failed') delete s.jobs.scrub;
      conds.push(...sv.conditions);
      if (v.suspect_algorithm_or_key && !e.error) {
        s.error = `${everyBlockFailedHint(o.integrity, algorithmInfo(o.integrity).keyed, DASHBOARD_ALGORITHM_REMEDY)} (a guess)`;
      }

      // history: both files, newest last, with what runs now (here or elsewhere) and what was interrupted
      s.runs = [...rv.runs, ...sv.runs].sort((a, b) => a.started_at.localeCompare(b.started_at));

      // the journal as it is on disk (needs the journal keys when it has a MAC or is encrypted)
      s.journal_disk = this.journalDisk(e, sbVol, missing);
      if (s.journal_disk && s.journal_disk.committed_entries > 0) conds.push('journal-replay');

      const input = { path: e.path, name: e.name, options: o, bufferSectors: e.bufferSectors, keySizes: { integrity: e.keys.integrity?.length, journalIntegrity: e.keys.journalIntegrity?.length, journalCrypt: e.keys.journalCrypt?.length } };
      s.open_command = openCommand(input, sb);
      s.dm_table = dmTable(input, sb, g);
    } catch (err) {
      s.error = (err as Error).message;
      conds.push('unreadable');
    } finally {
      sbVol.close();
    }
    return finish(conds);
  }

  private journalDisk(e: Entry, sbVol: Volume, missing: KeyName[]): JournalOnDisk {
    const g = sbVol.geometry;
    const journalKeysMissing = missing.filter((k) => k !== 'integrity');
    if (journalKeysMissing.length) {
      return {
        kind: e.options.mode === 'bitmap' ? 'bitmap' : 'journal', sections: g.journal_sections, section_entries: g.journal_section_entries,
        committed_entries: 0, committed_sections: 0, commit_seq: null, fill: 0, torn_entries: 0,
        unreadable: `the ${journalKeysMissing.map((k) => KEY_WORDS[k]).join(' and ')} ${journalKeysMissing.length > 1 ? 'are' : 'is'} not held: Unlock to read the journal`,
      };
    }
    // another process writes it (a recalculation, a write): its journal is read once it has finished
    const writer = lockHolder(e.path);
    if (writer) {
      return {
        kind: e.options.mode === 'bitmap' ? 'bitmap' : 'journal', sections: g.journal_sections, section_entries: g.journal_section_entries,
        committed_entries: 0, committed_sections: 0, commit_seq: null, fill: 0, torn_entries: 0,
        unreadable: `another process (pid ${writer.info.pid}) is writing the volume: the journal is read again when it has finished`,
      };
    }
    // without the integrity key the tags of replayed entries cannot be checked, but the journal can be read
    const keys = missing.includes('integrity') ? { ...e.keys } : e.keys;
    const o = missing.includes('integrity') ? { ...e.options, integrity: 'crc32c' } : e.options;
    let vol: Volume;
    try {
      vol = openVolume(e.path, { ...volumeOptions(o, keys), superblockOnly: true, readOnly: true });
    } catch (err) {
      return {
        kind: 'journal', sections: g.journal_sections, section_entries: g.journal_section_entries, committed_entries: 0, committed_sections: 0,
        commit_seq: null, fill: 0, torn_entries: 0, unreadable: (err as Error).message,
      };
    }
    try {
      const j = journalOnDisk(vol, e.options.mode);
      if (missing.includes('integrity') && j.unreadable && /tag/.test(j.unreadable)) delete j.unreadable;
      return j;
    } finally {
      vol.close();
    }
  }
}

function emptyVerification(totalBlocks: number): Verification {
  return {
    scrub: 'none', started_at: null, finished_at: null, duration_ms: null, position_sector: 0, running_elsewhere: null, interrupted: null,
    total_blocks: totalBlocks, checked_blocks: 0, bad_blocks: 0, bad_ranges: [], carried_over: null, changed_since: [], changed_during: [],
    change_detection: 'image', read_errors: 0, read_error_ranges: [], unchecked_blocks: totalBlocks,
    unchecked: totalBlocks ? [{ reason: 'not-reached', blocks: totalBlocks }] : [], suspect_algorithm_or_key: false,
  };
}

/** Blocks checked by the key/algorithm sample at add/unlock/edit: 16 places × up to 64 blocks. */
const SAMPLE_PLACES = 16;
const SAMPLE_BLOCKS = 64;

/**
 * A guess about a wrong integrity algorithm or key: verifies a small sample of blocks spread over the volume
 * (a wiped volume's unwritten blocks carry tags too). When every checked one fails, the algorithm or key is
 * probably wrong; a real scrub tells for sure.
 */
export function sampleCheck(vol: Volume): string | null {
  const g = vol.geometry;
  const t = vol.target;
  const spb = g.sectors_per_block;
  const blocks = Math.floor(g.provided_data_sectors / spb);
  const before = { ...t.stats };
  for (let i = 0; i < SAMPLE_PLACES; i++) {
    const first = Math.floor((blocks * i) / SAMPLE_PLACES);
    const s = first * spb;
    if (s >= g.provided_data_sectors) break;
    const n = t.contiguousRun(s, Math.min(SAMPLE_BLOCKS * spb, g.provided_data_sectors - s));
    t.verify(s, n, () => undefined);
  }
  const checked = t.stats.checked_blocks - before.checked_blocks;
  const bad = t.stats.mismatched_blocks - before.mismatched_blocks;
  if (checked > 0 && bad === checked) {
    return `probably wrong (a guess): all ${checked} sampled blocks fail their tags with ${vol.hasher.algorithm}${vol.hasher.keyed ? ' and the key given' : ''} — check the integrity algorithm${vol.hasher.keyed ? ' and key' : ''}, or run a scrub to know for sure`;
  }
  return null;
}
