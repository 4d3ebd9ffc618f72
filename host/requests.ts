// Requests from the contract (engine/api.ts) turned into what the host and the engine hold: open options (the
// contract's OpenOptionsInfo, saved in volumes.json), keys as bytes (from hex or a key file on the host), the
// engine's VolumeOptions for an open, and the checks on paths a form gave. One mapping each way, here.
import fs from 'node:fs';
import path from 'node:path';
import { IntegrityStudioError } from '../engine/errors.js';
import { readKeyFile, type VolumeOptions } from '../engine/volume.js';
import { algorithmInfo } from '../engine/hash/index.js';
import { SUPPORTED_JOURNAL_CRYPT } from '../engine/integrity/journal-keys.js';
import { existingContent } from '../engine/io/probe.js';
import type { KeyInput, OpenOptionsInfo, OpenOptionsRequest } from '../engine/api.js';

/** Keys the host holds for a volume, as bytes (never saved, never sent; zeroed when dropped). */
export interface Keys {
  integrity?: Buffer;
  journalIntegrity?: Buffer;
  journalCrypt?: Buffer;
}
export type KeyName = keyof Keys;

/** the largest speed limit the dashboard takes (MiB/s): 1 TiB/s, beyond any device */
export const MAX_SPEED_LIMIT = 1 << 20;

export const KEY_WORDS: Record<keyof Keys, string> = {
  integrity: 'integrity key',
  journalIntegrity: 'journal integrity key',
  journalCrypt: 'journal crypt key',
};

const HEX = /^[0-9a-fA-F]*$/;

/** A KeyInput → bytes. Errors name the key and the file, never the key's content. */
export function readKey(k: KeyInput | undefined, what: string): Buffer | undefined {
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

export function positive(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new IntegrityStudioError(`${what} must be a positive whole number`);
  return v;
}

export const DEFAULT_OPTIONS: OpenOptionsInfo = {
  integrity: 'crc32c',
  journal_integrity: null,
  journal_crypt: null,
  mode: 'journal',
  data_device: null,
  allow_discards: false,
  bitmap_sectors_per_bit: null,
  bitmap_flush_time_ms: null,
};

/** Open options from a request, over `base` (fields absent from the request keep base's values). */
export function optionsFrom(req: OpenOptionsRequest, base: OpenOptionsInfo = DEFAULT_OPTIONS): OpenOptionsInfo {
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
  if (req.mode !== undefined) {
    if (!['journal', 'bitmap', 'direct'].includes(req.mode)) throw new IntegrityStudioError('mode must be journal, bitmap or direct');
    o.mode = req.mode;
  }
  if (has('dataDevice')) o.data_device = req.dataDevice ? path.resolve(req.dataDevice) : null;
  if (has('allowDiscards')) o.allow_discards = !!req.allowDiscards;
  if (has('bitmapSectorsPerBit')) o.bitmap_sectors_per_bit = positive(req.bitmapSectorsPerBit, 'bitmap sectors per bit') ?? null;
  if (o.bitmap_sectors_per_bit !== null && o.bitmap_sectors_per_bit & (o.bitmap_sectors_per_bit - 1))
    throw new IntegrityStudioError('bitmap sectors per bit must be a power of two');
  if (has('bitmapFlushTimeMs')) o.bitmap_flush_time_ms = positive(req.bitmapFlushTimeMs, 'bitmap flush time') ?? null;
  return o;
}

export function keysFrom(req: { integrityKey?: KeyInput; journalIntegrityKey?: KeyInput; journalCryptKey?: KeyInput }): Keys {
  const k: Keys = {};
  const i = readKey(req.integrityKey, KEY_WORDS.integrity);
  const ji = readKey(req.journalIntegrityKey, KEY_WORDS.journalIntegrity);
  const jc = readKey(req.journalCryptKey, KEY_WORDS.journalCrypt);
  if (i) k.integrity = i;
  if (ji) k.journalIntegrity = ji;
  if (jc) k.journalCrypt = jc;
  return k;
}

/** The engine's open options (one VolumeOptions, engine/volume.ts) for the host's options and keys. */
export function engineOptions(o: OpenOptionsInfo, keys: Keys): VolumeOptions {
  return {
    dataDevice: o.data_device ?? undefined,
    integrity: o.integrity,
    integrityKey: keys.integrity,
    journalIntegrity: o.journal_integrity ?? undefined,
    journalIntegrityKey: keys.journalIntegrity,
    journalCrypt: o.journal_crypt ?? undefined,
    journalCryptKey: keys.journalCrypt,
    mode: o.mode,
    allowDiscards: o.allow_discards,
    bitmapSectorsPerBit: o.bitmap_sectors_per_bit ?? undefined,
    bitmapFlushTime: o.bitmap_flush_time_ms ?? undefined,
  };
}

/** A path from a form: absolute only (a relative one would name a file in whatever folder the host runs in). */
export function absolutePath(p: string, what: string): string {
  if (!path.isAbsolute(p))
    throw new IntegrityStudioError(
      `${what} must be an absolute path (starting with /): "${p}" would be taken relative to the folder the host runs in (${process.cwd()})`,
      'EINVAL',
      { field: 'path', detail: { path: p } },
    );
  return path.normalize(p);
}

/**
 * Before a format over something that exists: it must be a file or block device, and unless the user confirmed
 * (`force`, after the form showed this question) anything holding bytes is refused with ECONFIRM, naming it, its
 * size and what it holds, as integritysetup asks before every format.
 */
export function confirmOverwrite(p: string, force: boolean | undefined): void {
  const x = existingContent(p);
  if (force || x.size === 0) return;
  throw new IntegrityStudioError(`Format ${x.label}? It holds ${x.what}: everything on it is lost.`, 'ECONFIRM', {
    field: 'force',
    detail: { path: p, words: x.words },
  });
}

/** `p` and, when given, the data device exist (a missing one named) */
export function requireExisting(p: string, dataDevice?: string | null): void {
  if (!fs.existsSync(p)) throw new IntegrityStudioError(`${p}: no such file or device`, 'ENOENT');
  if (dataDevice && !fs.existsSync(dataDevice)) throw new IntegrityStudioError(`data device ${dataDevice}: no such file or device`, 'ENOENT');
}
