// The host's list of volumes: one Entry each (its path, open options, held keys, this session's jobs), kept in
// DATA_DIR/volumes.json — never keys, never results (those are read from disk for every snapshot).
import fs from 'node:fs';
import path from 'node:path';
import { IntegrityStudioError } from '../engine/errors.js';
import type { JobKind, JobProgress, OpenOptionsInfo, VolumeMode } from '../engine/api.js';
import type { JobHandle } from '../engine/jobs/types.js';
import { DEFAULT_OPTIONS, type KeyName, type Keys } from './requests.js';
import type { FsMapEntry } from './fsmap/index.js';

export type { KeyName, Keys } from './requests.js';

export interface Entry {
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
  /** what the known damage holds (host/fsmap): the kept mapping, a mapping running, the last rewrite */
  fsmap?: FsMapEntry;
}

export function newEntry(id: string, p: string, name: string, options: OpenOptionsInfo, keys: Keys): Entry {
  return {
    id,
    name,
    path: p,
    options,
    bufferSectors: null,
    keys,
    jobs: {},
    handles: {},
    formatting: false,
    error: null,
    keyWarning: null,
    signature: '',
    speedLimit: null,
    luks: null,
  };
}

/** drops the keys an entry holds (zeroed first) */
export function forgetKeys(e: Entry): void {
  for (const k of Object.keys(e.keys) as KeyName[]) e.keys[k]?.fill(0);
  e.keys = {};
  e.luks?.volumeKey?.fill(0);
}

export class VolumeStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly dataDir: string | null) {}

  private get file(): string | null {
    return this.dataDir ? path.join(this.dataDir, 'volumes.json') : null;
  }

  /** reads volumes.json (older lists kept algorithm / dataDevice / mode / journal options at the top level) */
  load(): void {
    const f = this.file;
    if (!f || !fs.existsSync(f)) return;
    let list: Array<Record<string, unknown>>;
    try {
      list = JSON.parse(fs.readFileSync(f, 'utf8')) as Array<Record<string, unknown>>;
    } catch (e) {
      throw new IntegrityStudioError(`${f}: not a volume list (${(e as Error).message})`);
    }
    for (const v of list) {
      if (typeof v.id !== 'string' || typeof v.path !== 'string') continue;
      const saved = (v.options ?? {}) as Partial<OpenOptionsInfo>;
      const options: OpenOptionsInfo = {
        ...DEFAULT_OPTIONS,
        integrity: typeof v.algorithm === 'string' ? v.algorithm : DEFAULT_OPTIONS.integrity,
        mode: (v.mode as VolumeMode | undefined) ?? 'journal',
        data_device: typeof v.dataDevice === 'string' ? v.dataDevice : null,
        journal_integrity: typeof v.journalIntegrity === 'string' ? v.journalIntegrity : null,
        journal_crypt: typeof v.journalCrypt === 'string' ? v.journalCrypt : null,
        ...saved,
      };
      const e = newEntry(v.id, v.path, typeof v.name === 'string' ? v.name : path.basename(v.path), options, {});
      e.bufferSectors = typeof v.bufferSectors === 'number' ? v.bufferSectors : null;
      e.speedLimit = typeof v.speedLimitMiBs === 'number' && v.speedLimitMiBs > 0 ? v.speedLimitMiBs : null;
      // a LUKS2 volume comes back locked: its key was never saved
      if (v.luks === true) e.luks = { volumeKey: null };
      this.entries.set(e.id, e);
    }
  }

  save(): void {
    const f = this.file;
    if (!f) return;
    fs.mkdirSync(path.dirname(f), { recursive: true });
    const list = [...this.entries.values()]
      .filter((e) => !e.formatting)
      .map((e) => ({
        id: e.id,
        name: e.name,
        path: e.path,
        options: e.options,
        bufferSectors: e.bufferSectors,
        ...(e.speedLimit ? { speedLimitMiBs: e.speedLimit } : {}),
        ...(e.luks ? { luks: true } : {}),
      }));
    const tmp = `${f}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(list, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, f);
  }

  all(): Entry[] {
    return [...this.entries.values()];
  }

  has(e: Entry): boolean {
    return this.entries.get(e.id) === e;
  }

  get(id: unknown): Entry {
    if (typeof id !== 'string') throw new IntegrityStudioError('volume id must be a string');
    const e = this.entries.get(id);
    if (!e) throw new IntegrityStudioError(`no volume with id ${id}`, 'ENOENT');
    return e;
  }

  set(e: Entry): void {
    this.entries.set(e.id, e);
  }

  delete(e: Entry): void {
    this.entries.delete(e.id);
  }

  /** a path already in the list is refused, naming what to do instead */
  refuseDuplicate(p: string): void {
    for (const e of this.entries.values()) {
      if (e.path === p)
        throw new IntegrityStudioError(
          `${p} is already in the list as "${e.name}": use Unlock to give its keys, or Edit to change its name and open options`,
          'EEXIST',
        );
    }
  }
}
