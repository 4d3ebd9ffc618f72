// LUKS2 authenticated volumes (dm-crypt over dm-integrity) in the host: added locked or unlocked with a passphrase
// or key file (the KDF in progress events), unlocked again after a restart, created (KDF and wipe in a worker), and
// scrubbed as a job whose volume key goes to the worker as bytes. Passphrases are never kept: they are turned into
// bytes, used, zeroed; the volume key lives in the entry while unlocked and nowhere else.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../../engine/errors.js';
import { unlockLuks2, readLuks2Header, type UnlockProgress } from '../../engine/luks/index.js';
import { openCryptVolume, segmentFromLuks } from '../../engine/crypt/volume.js';
import type { AddVolumeRequest, CreateLuksVolumeRequest, JobKind, LuksSecretInput, VolumeSnapshot } from '../../engine/api.js';
import type { JobSpec } from '../../engine/jobs/types.js';
import type { HostContext } from '../context.js';
import { absolutePath, confirmOverwrite, DEFAULT_OPTIONS, positive } from '../requests.js';
import { newEntry, type Entry } from '../volumes.js';
import { formatLuksInWorker, LOCKED_MESSAGE, secretOf, zeroSecret } from './header-view.js';

/** The scrub job of a LUKS2 volume: its data segment and a copy of its volume key (zeroed once the worker has it). */
export function luksScrubSpec(e: Entry, kind: JobKind, reset: boolean): JobSpec {
  if (kind !== 'scrub')
    throw new IntegrityStudioError(
      `${e.name}: a LUKS2 authenticated volume has no internal hash to recalculate (its tags are dm-crypt's); only a scrub applies`,
    );
  if (!e.luks?.volumeKey) throw new IntegrityStudioError(`${e.name}: ${LOCKED_MESSAGE}`, 'EKEY');
  const segment = segmentFromLuks(readLuks2Header(e.path));
  return { kind: 'scrub', device: e.path, reset, by: 'dashboard', crypt: { segment, volumeKey: new Uint8Array(e.luks.volumeKey) } };
}

export class LuksVolumes {
  constructor(private readonly ctx: HostContext) {}

  private kdfProgress(id: string, p: UnlockProgress): void {
    if (!('kdf' in p)) return;
    this.ctx.events.throttled(
      `${id}:kdf`,
      () => ({
        type: 'kdf-progress',
        id,
        kdf: p.kdf,
        elapsed_ms: Math.round(p.elapsedMs),
        estimate_ms: Math.round(p.estimateMs),
        fraction: p.fraction,
        done: p.phase === 'kdf-end',
      }),
      p.phase !== 'kdf',
    );
  }

  /** the volume key from a passphrase or key file: LUKS2_keyslot_open; a wrong one is "No key available with this passphrase." */
  private async key(id: string, p: string, given: LuksSecretInput | undefined): Promise<Buffer> {
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
  async add(p: string, req: AddVolumeRequest): Promise<VolumeSnapshot> {
    const info = readLuks2Header(p); // a header that cannot be read refuses the add with its reason
    if (!info.dataSegment.integrity)
      throw new IntegrityStudioError(
        `${p} is a LUKS2 device without integrity (plain dm-crypt): only authenticated volumes (luksFormat --integrity) can be checked here`,
      );
    const id = crypto.randomUUID();
    const volumeKey = req.luksSecret ? await this.key(id, p, req.luksSecret) : null;
    this.ctx.store.refuseDuplicate(p);
    const e = newEntry(id, p, req.name || path.basename(p), { ...DEFAULT_OPTIONS }, {});
    e.luks = { volumeKey };
    this.ctx.store.set(e);
    this.ctx.store.save();
    return this.ctx.emitVolume(e);
  }

  async unlock(e: Entry, given: LuksSecretInput | undefined): Promise<VolumeSnapshot> {
    if (!fs.existsSync(e.path)) throw new IntegrityStudioError(`${e.path}: no such file or device`, 'ENOENT');
    const vk = await this.key(e.id, e.path, given);
    if (!e.luks || !this.ctx.store.has(e)) {
      vk.fill(0);
      throw new IntegrityStudioError(`${e.name} was removed from the list while unlocking`);
    }
    e.luks.volumeKey?.fill(0);
    e.luks.volumeKey = vk;
    e.error = null;
    return this.ctx.emitVolume(e);
  }

  /** a writable open of the dm-integrity below dm-crypt = the kernel's activation: replay_journal, then a clean close */
  replay(e: Entry): VolumeSnapshot {
    if (!e.luks?.volumeKey) throw new IntegrityStudioError(`${e.name}: ${LOCKED_MESSAGE}`, 'EKEY');
    openCryptVolume(e.path, segmentFromLuks(readLuks2Header(e.path)), e.luks.volumeKey, { readOnly: false }).close();
    e.error = null;
    return this.ctx.emitVolume(e);
  }

  /** Create form, LUKS2 authenticated encryption: format in a worker (KDF, then the wipe), then the volume is listed unlocked */
  async create(req: CreateLuksVolumeRequest): Promise<VolumeSnapshot> {
    const { store, events } = this.ctx;
    const p = absolutePath(req.path, 'Image path');
    store.refuseDuplicate(p);
    const dir = path.dirname(p);
    if (!fs.existsSync(dir)) throw new IntegrityStudioError(`folder ${dir} does not exist`, 'ENOENT');
    if (!req.integrity) throw new IntegrityStudioError('choose the Integrity (hmac-sha256, hmac-sha512, hmac-sha1, aead, poly1305)');
    if ('passphrase' in req.secret && req.secret.passphrase === '') throw new IntegrityStudioError('the passphrase is empty');
    const size = positive(req.size, 'Size');
    let created = false;
    if (size !== undefined) {
      if (fs.existsSync(p))
        throw new IntegrityStudioError(`${p} already exists: leave Size empty to format the existing file (Size only creates a new image file)`, 'EEXIST');
      if (size % 512) throw new IntegrityStudioError(`Size must be a multiple of 512 bytes (${size} was given)`);
      if (size <= 16 << 20)
        throw new IntegrityStudioError(`Size must be more than 16 MiB: a LUKS2 header and its keyslots take the first 16 MiB (${size} bytes was given)`);
    } else {
      if (!fs.existsSync(p)) throw new IntegrityStudioError(`${p} does not exist: give a Size to create a new image file there`, 'ENOENT');
      confirmOverwrite(p, req.force);
    }
    const e = newEntry(crypto.randomUUID(), p, req.name || path.basename(p), { ...DEFAULT_OPTIONS }, {});
    const luks: { volumeKey: Buffer | null } = { volumeKey: null };
    e.luks = luks;
    e.formatting = true;
    store.set(e);
    events.emit({ type: 'volume', volume: this.ctx.snapshot(e) });
    const pass = 'passphrase' in req.secret ? Buffer.from(req.secret.passphrase, 'utf8') : undefined;
    try {
      if (size !== undefined) {
        fs.writeFileSync(p, '', { flag: 'wx', mode: 0o600 });
        created = true;
        fs.truncateSync(p, size);
      }
      luks.volumeKey = await formatLuksInWorker(
        {
          path: p,
          options: {
            integrity: req.integrity,
            cipher: req.cipher,
            keySize: positive(req.keySize, 'Key size'),
            sectorSize: positive(req.sectorSize, 'Sector size'),
            pbkdf: req.pbkdf,
            pbkdfIterations: positive(req.pbkdfIterations, 'PBKDF iterations'),
            pbkdfMemory: positive(req.pbkdfMemory, 'PBKDF memory'),
            noWipe: !!req.noWipe,
          },
          ...(pass ? { passphrase: new Uint8Array(pass) } : { keyFile: path.resolve('file' in req.secret ? req.secret.file : '') }),
        },
        (m) => {
          if (m.type === 'kdf')
            events.throttled(
              `${e.id}:kdf`,
              () => ({ type: 'kdf-progress', id: e.id, kdf: m.kdf, elapsed_ms: m.elapsed_ms, estimate_ms: m.estimate_ms, fraction: m.fraction, done: m.done }),
              m.done,
            );
          else if (m.type === 'wipe')
            events.throttled(`${e.id}:format`, () => ({ type: 'format-progress', id: e.id, done: m.done, total: m.total, phase: 'wipe' }), m.done === m.total);
        },
      );
    } catch (err) {
      store.delete(e);
      events.emit({ type: 'volume-removed', id: e.id });
      if (created) fs.rmSync(p, { force: true });
      throw err;
    } finally {
      pass?.fill(0);
    }
    e.formatting = false;
    store.save();
    return this.ctx.emitVolume(e);
  }
}
