// What a volume's known damage holds (issue 20), in the host: the mapping (engine/fsmap) runs in a worker thread, one
// at a time, and is kept per volume until the known damage changes; the snapshot carries its counts (DamageMapSummary)
// and says when it may be stale; mapDamage pages its items; rewriteFreeBlocks rewrites the bad blocks the file system
// says are free with zeros and a valid tag, after asking (ECONFIRM naming what is written).
//
// Known damage = what host/damage-list.ts sourcesOf reads (the scrub's damage logs). A mapping is keyed by the
// verification's damage (its scrub's start and end, block and range counts) and dated by the volume's fingerprint
// (engine/jobs/fingerprint.ts): another damage key drops it; a changed volume keeps it, says so, and maps again when
// the volume is idle.
import { Worker } from 'node:worker_threads';
import { errnoCode, IntegrityStudioError } from '../../engine/errors.js';
import { openVolume, type Volume } from '../../engine/volume.js';
import { readLuks2Header } from '../../engine/luks/index.js';
import { segmentFromLuks } from '../../engine/crypt/volume.js';
import { changesSince, fingerprintOf, type VolumeFingerprint } from '../../engine/jobs/fingerprint.js';
import { lockHolder } from '../../engine/io/lock.js';
import type {
  DamageMapPage,
  DamageMapSummary,
  FsMapResult,
  MapDamageRequest,
  RewriteFreeRequest,
  RewriteFreeResult,
  Verification,
  VolumeSnapshot,
} from '../../engine/api.js';
import type { HostContext } from '../context.js';
import type { Jobs } from '../jobs.js';
import { missingKeys, missingWords } from '../keys.js';
import { engineOptions } from '../requests.js';
import { openLuksIntegrity } from '../luks/header-view.js';
import { sourcesOf } from '../damage-sources.js';
import type { Entry } from '../volumes.js';
import { kernelUse } from './attached.js';
import type { FsMapWorkerData, RewritePlan, Target } from './worker.js';

export { holdsOf, holdsText, type Holds } from './holds.js';

/** A mapping kept for a volume. */
export interface KeptMapping {
  key: string;
  fingerprint: VolumeFingerprint | null;
  result: FsMapResult;
  mapped_at: string;
}

/** What the host keeps per volume (Entry.fsmap). */
export interface FsMapEntry {
  kept: KeptMapping | null;
  /** the mapping running now, for this damage key */
  mapping: { key: string; promise: Promise<KeptMapping> } | null;
  /** the last mapping that failed, for this damage and this volume (not tried again on its own) */
  failed: { key: string; fp: string; reason: string } | null;
  /** what the last question (ECONFIRM) named: a confirmed rewrite writes only this */
  plan: { key: string; fp: string; plan: RewritePlan } | null;
  rewritten: { key: string; blocks: number; at: string } | null;
  rewriting: boolean;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 200;

function stateOf(e: Entry): FsMapEntry {
  e.fsmap ??= { kept: null, mapping: null, failed: null, plan: null, rewritten: null, rewriting: false };
  return e.fsmap;
}

/** the known damage a mapping describes: its scrub and its counts (a new finding or another scrub changes it) */
export function damageKey(x: Verification): string {
  return [x.started_at, x.finished_at, x.bad_blocks, x.read_errors, x.damage.bad_range_count, x.damage.read_error_range_count].join('|');
}

const hasDamage = (x: Verification) => x.bad_blocks > 0 || x.read_errors > 0;

/** the volume's fingerprint now (the dm-integrity superblock under a LUKS2 header for those), null when unreadable */
function fingerprintNow(e: Entry): VolumeFingerprint | null {
  let v: Volume;
  try {
    v = e.luks
      ? openLuksIntegrity(e.path, segmentFromLuks(readLuks2Header(e.path)))
      : openVolume(e.path, { dataDevice: e.options.data_device ?? undefined, superblockOnly: true });
  } catch {
    return null;
  }
  try {
    return fingerprintOf(v);
  } finally {
    v.close();
  }
}

const fpKey = (f: VolumeFingerprint | null) => (f ? JSON.stringify([f.files, f.superblock]) : '-');

/** why the volume cannot be mapped now (with the code a command refuses with), or null */
function unavailable(e: Entry, s: VolumeSnapshot): { why: string; code: 'EKEY' | 'EBUSY' | 'ENOENT' | 'EFORMAT' | 'EINVAL' } | null {
  if (s.conditions.includes('missing')) return { why: s.error ?? 'the image is missing', code: 'ENOENT' };
  if (s.conditions.includes('unreadable')) return { why: s.error ?? 'its superblock cannot be read', code: 'EFORMAT' };
  if (e.luks && !e.luks.volumeKey)
    return { why: 'Unlock it with its passphrase: its file system is inside the encryption, and the host does not hold the key', code: 'EKEY' };
  if (!e.luks) {
    const missing = missingKeys(e, null);
    if (missing.length) return { why: `Unlock it: ${missingWords(missing)}`, code: 'EKEY' };
  }
  if (s.verification.suspect_algorithm_or_key)
    return { why: 'every checked block failed: the algorithm or key is probably wrong, and the blocks are probably good', code: 'EINVAL' };
  if (e.formatting || e.resizing || e.replaying)
    return { why: `it is being ${e.formatting ? 'formatted' : e.resizing ? 'resized' : 'replayed'}: it is mapped when that has finished`, code: 'EBUSY' };
  if (e.handles.recalc) return { why: 'a recalculation is writing it: it is mapped when that has finished', code: 'EBUSY' };
  if (e.fsmap?.rewriting) return { why: 'free blocks are being rewritten: it is mapped again when that has finished', code: 'EBUSY' };
  const w = lockHolder(e.path);
  if (w) return { why: `another process (pid ${w.info.pid}) is writing it: it is mapped when that has finished`, code: 'EBUSY' };
  return null;
}

interface View {
  summary: DamageMapSummary;
  key: string;
  changed: boolean;
  fp: VolumeFingerprint | null;
}
const views = new WeakMap<VolumeSnapshot, View>();

function emptySummary(state: DamageMapSummary['state'], reason: string | null = null): DamageMapSummary {
  return {
    state,
    reason,
    fs: null,
    fs_description: '',
    block_size: 0,
    bad_sectors: 0,
    files_damaged: 0,
    file_items: 0,
    metadata_items: 0,
    free_sectors: 0,
    unmapped_sectors: 0,
    stale: [],
    mapped_at: null,
    rewritten: null,
  };
}

/** The snapshot's damage_map (host/snapshot.ts calls it once the verification is known). */
export function damageMapSummary(e: Entry, s: VolumeSnapshot): DamageMapSummary {
  const x = s.verification;
  const key = damageKey(x);
  if (!hasDamage(x)) {
    const v: View = { summary: emptySummary('none'), key, changed: false, fp: null };
    views.set(s, v);
    return v.summary;
  }
  const st = e.fsmap;
  const kept = st?.kept ?? null;
  let summary: DamageMapSummary;
  let changed = false;
  let fp: VolumeFingerprint | null = null;
  if (kept) {
    const r = kept.result;
    summary = {
      state: kept.key === key ? 'mapped' : 'outdated',
      reason: null,
      fs: r.fs,
      fs_description: r.fs_description,
      block_size: r.block_size,
      bad_sectors: r.bad_sectors,
      files_damaged: r.files_damaged,
      file_items: r.items.filter((i) => i.kind === 'file').length,
      metadata_items: r.metadata_items,
      free_sectors: r.free_sectors,
      unmapped_sectors: r.unmapped_sectors,
      stale: [],
      mapped_at: kept.mapped_at,
      rewritten: null,
    };
    if (r.may_be_stale) summary.stale.push(r.may_be_stale);
    fp = fingerprintNow(e);
    const since = fp && kept.fingerprint ? changesSince(kept.fingerprint, fp) : [];
    if (since.length) {
      changed = true;
      summary.stale.push(`the volume changed since it was mapped ${kept.mapped_at}: ${since.join('; ')}`);
    }
    if (kept.key !== key) summary.stale.push('the known damage changed since it was mapped: these counts describe the damage known then');
  } else summary = emptySummary('pending');
  if (x.scrub === 'running') summary.stale.push('a scrub is running: damage it finds from now on is not in this mapping yet');
  summary.stale.push(...kernelUse([e.path, e.options.data_device]));
  if (st?.rewritten && st.rewritten.key === key) summary.rewritten = { blocks: st.rewritten.blocks, at: st.rewritten.at };
  if (st?.mapping) summary.state = 'mapping';
  else if (!kept || kept.key !== key) {
    const u = unavailable(e, s);
    if (u) {
      summary.state = kept ? 'outdated' : 'unavailable';
      summary.reason = u.why;
    } else if (st?.failed && st.failed.key === key) {
      summary.state = 'failed';
      summary.reason = st.failed.reason;
    }
  }
  views.set(s, { summary, key, changed, fp });
  return summary;
}

/** the operator's words for what a rewrite writes */
function writePath(e: Entry): string {
  if (e.luks) return 'dm-crypt (plaintext zeros, each sector with a new IV and tag) and the dm-integrity journal';
  return e.options.mode === 'journal' ? 'the journal' : e.options.mode === 'bitmap' ? 'bitmap mode (in place)' : 'direct mode (in place, without a journal)';
}

const n = (x: number) => x.toLocaleString('en-US');
const rangeWords = (r: readonly [number, number]) => (r[1] - r[0] === 1 ? `sector ${n(r[0])}` : `sectors ${n(r[0])}–${n(r[1] - 1)}`);

export class DamageMaps {
  private tail: Promise<unknown> = Promise.resolve();
  /** running workers and their operation (a rewrite is let finish when the host closes) */
  private readonly workers = new Map<Worker, { op: FsMapWorkerData['op']; done: Promise<unknown> }>();
  private closed = false;

  constructor(
    private readonly ctx: HostContext,
    private readonly jobs: Jobs,
  ) {}

  /** one worker at a time, in order (two shared cores; and a rewrite must not run beside a mapping) */
  private enqueue<T>(data: FsMapWorkerData, what: string): Promise<T> {
    const run = () => this.runWorker<T>(data, what);
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  private runWorker<T>(data: FsMapWorkerData, what: string): Promise<T> {
    if (this.closed) return Promise.reject(new IntegrityStudioError('the host is closing', 'ECANCELED'));
    let w!: Worker;
    const done = new Promise<T>((resolve, reject) => {
      w = new Worker(new URL('./worker.js', import.meta.url), { workerData: data });
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        this.workers.delete(w);
        f();
      };
      w.on('message', (m: { type: 'done'; result: T } | { type: 'error'; message: string; code?: string }) => {
        if (m.type === 'done') settle(() => resolve(m.result));
        else settle(() => reject(new IntegrityStudioError(m.message, errnoCode(m, 'EIO'))));
      });
      w.on('error', (err) => settle(() => reject(new IntegrityStudioError(`${what} failed: ${err.message}`))));
      w.on('exit', (code) =>
        settle(() =>
          reject(new IntegrityStudioError(this.closed ? `${what} stopped: the host is closing` : `${what} worker exited with code ${code}`, 'ECANCELED')),
        ),
      );
    });
    this.workers.set(w, { op: data.op, done: done.catch(() => undefined) });
    return done;
  }

  /** the volume as the worker opens it (keys as copies: the worker's are its own) */
  private target(e: Entry): Target {
    if (e.luks) {
      if (!e.luks.volumeKey) throw new IntegrityStudioError(`${e.name}: Unlock it with its passphrase first`, 'EKEY');
      return { path: e.path, luks: { segment: segmentFromLuks(readLuks2Header(e.path)), volumeKey: new Uint8Array(e.luks.volumeKey) } };
    }
    return { path: e.path, options: engineOptions(e.options, e.keys) };
  }

  private spb(e: Entry): number {
    const g = this.ctx.snapshot(e).geometry;
    return g ? g.block_size / 512 : 1;
  }

  /** maps the known damage now (one run per damage key at a time); keeps and announces the result */
  private map(e: Entry, key: string): Promise<KeptMapping> {
    const st = stateOf(e);
    if (st.mapping && st.mapping.key === key) return st.mapping.promise;
    const fp = fingerprintNow(e);
    const target = this.target(e);
    const { sources } = sourcesOf(e, this.spb(e));
    const promise = this.enqueue<FsMapResult>({ op: 'map', target, sources }, 'mapping the damage')
      .then(
        (result) => {
          const kept: KeptMapping = { key, fingerprint: fp, result, mapped_at: new Date().toISOString() };
          st.kept = kept;
          st.failed = null;
          return kept;
        },
        (err: Error) => {
          st.failed = { key, fp: fpKey(fp), reason: err.message };
          throw err;
        },
      )
      .finally(() => {
        if (st.mapping?.promise === promise) st.mapping = null;
        if (target.luks) target.luks.volumeKey.fill(0);
        if (this.ctx.store.has(e)) this.ctx.emitVolume(e);
      });
    st.mapping = { key, promise };
    this.ctx.emitVolume(e);
    return promise;
  }

  /**
   * After a snapshot went out: maps the known damage in the background when it has none for this damage (or the volume
   * changed since), the volume is idle and can be read, and the last try for the same damage and volume did not fail.
   */
  consider(e: Entry, s: VolumeSnapshot): void {
    if (this.closed) return;
    const v = views.get(s);
    const st = e.fsmap;
    if (!v || v.summary.state === 'none' || st?.mapping || st?.rewriting) return;
    if (s.verification.scrub === 'running' || e.handles.scrub) return;
    const current = st?.kept?.key === v.key && !v.changed;
    if (current || unavailable(e, s)) return;
    if (st?.failed && st.failed.key === v.key && st.failed.fp === fpKey(v.fp ?? fingerprintNow(e))) return;
    this.map(e, v.key).catch(() => undefined);
  }

  async page(e: Entry, req: MapDamageRequest): Promise<DamageMapPage> {
    const limit = req.limit ?? DEFAULT_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new IntegrityStudioError(`mapDamage: limit must be 1 to ${MAX_PAGE}`);
    const offset = req.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new IntegrityStudioError('mapDamage: offset must be 0 or more');
    let s = this.ctx.snapshot(e);
    let v = views.get(s)!;
    if (v.summary.state === 'none') return { summary: v.summary, result: null, items: [], total_items: 0, next_offset: null };
    const st = stateOf(e);
    if (req.refresh || st.kept?.key !== v.key || v.changed) {
      const u = unavailable(e, s);
      if (!u) {
        await this.map(e, v.key);
        s = this.ctx.snapshot(e);
        v = views.get(s)!;
      } else if (!st.kept) throw new IntegrityStudioError(`${e.name}: ${u.why}`, u.code);
    }
    const kept = st.kept!;
    const kind = req.kind ?? 'all';
    const all = kind === 'all' ? kept.result.items : kept.result.items.filter((i) => i.kind === kind);
    const items = all.slice(offset, offset + limit);
    const { items: _items, ...header } = kept.result;
    return { summary: v.summary, result: header, items, total_items: all.length, next_offset: offset + limit < all.length ? offset + limit : null };
  }

  async rewriteFree(e: Entry, req: RewriteFreeRequest): Promise<RewriteFreeResult> {
    this.jobs.refuseWhileBusy(e, 'rewriting free blocks');
    const st = stateOf(e);
    if (st.rewriting) throw new IntegrityStudioError(`${e.name}: free blocks are already being rewritten`, 'EBUSY');
    const s = this.ctx.snapshot(e);
    const v = views.get(s)!;
    if (v.summary.state === 'none') throw new IntegrityStudioError(`${e.name}: no known damage to rewrite`);
    const u = unavailable(e, s);
    if (u) throw new IntegrityStudioError(`${e.name}: ${u.why}`, u.code);
    const fp = fpKey(fingerprintNow(e));
    const { sources } = sourcesOf(e, this.spb(e));
    const asked = st.plan && st.plan.key === v.key && st.plan.fp === fp ? st.plan.plan : null;
    if (!req.confirm || !asked) {
      const target = this.target(e);
      let plan: RewritePlan;
      try {
        plan = await this.enqueue<RewritePlan>({ op: 'plan', target, sources }, 'checking which blocks are free');
      } finally {
        if (target.luks) target.luks.volumeKey.fill(0);
      }
      if (!plan.blocks) {
        st.plan = null;
        throw new IntegrityStudioError(
          `${e.name}: none of the known bad blocks is free in the file system${plan.not_free_why ? ` (${plan.not_free_why})` : ''}${plan.skipped_sectors ? `; ${plan.skipped_sectors} free sector(s) share a block with sectors in use` : ''}: nothing to rewrite`,
        );
      }
      st.plan = { key: v.key, fp, plan };
      throw new IntegrityStudioError(this.question(e, plan, s), 'ECONFIRM', { field: 'confirm', detail: { blocks: plan.blocks } });
    }
    const target = this.target(e);
    st.rewriting = true;
    try {
      const r = await this.enqueue<RewriteFreeResult>({ op: 'rewrite', target, sources, digest: asked.digest }, 'rewriting free blocks');
      st.rewritten = { key: v.key, blocks: (st.rewritten?.key === v.key ? st.rewritten.blocks : 0) + r.blocks, at: new Date().toISOString() };
      return r;
    } finally {
      st.plan = null;
      st.rewriting = false;
      if (target.luks) target.luks.volumeKey.fill(0);
      if (this.ctx.store.has(e)) this.ctx.emitVolume(e);
    }
  }

  /** what a rewrite writes, in words, for the question */
  private question(e: Entry, p: RewritePlan, s: VolumeSnapshot): string {
    const bs = s.geometry?.block_size ?? (e.luks ? s.luks?.sector_size : 512) ?? 512;
    const shown = p.first.slice(0, 8).map(rangeWords).join(', ');
    const more = p.ranges_total > 8 ? ` and ${n(p.ranges_total - 8)} more range(s)` : '';
    const fsName = p.fs ?? 'the file system';
    return (
      `Rewrite ${n(p.blocks)} bad block(s) of ${e.name} (${n(p.blocks * bs)} bytes: ${shown}${more}) with zeros and a valid tag? ${fsName} says they are free: no file or file-system structure uses them (checked again just before writing). They are written through ${writePath(e)}, then read back verified; nothing else on the volume is written.` +
      (p.skipped_sectors ? ` ${n(p.skipped_sectors)} free sector(s) stay as they are: their block also holds sectors in use.` : '') +
      (p.not_free_sectors ? ` The other ${n(p.not_free_sectors)} known bad sector(s) are not free and are not touched.` : '') +
      ' They stay in the known damage until a scrub checks them again.'
    );
  }

  /** stops mappings and checks (the host is closing); a rewrite running is let finish (its blocks flushed) */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.workers].map(([w, x]) => (x.op === 'rewrite' ? x.done : w.terminate())));
  }
}

/** the kept mapping when it describes the known damage now (exports carry it), else null */
export function currentMapping(e: Entry, s: VolumeSnapshot): KeptMapping | null {
  const kept = e.fsmap?.kept;
  return kept && kept.key === damageKey(s.verification) ? kept : null;
}
