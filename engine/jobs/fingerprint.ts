// What a result was measured on: the volume's files as they were (size, modification time) and its superblock's
// bytes, so a result can say when the volume changed after it was measured (as `zpool status` dates its scrub).
// An image file's mtime moves with every write; a block device's node does not, so for a block device only the
// superblock and the size can be compared: `detection` says which, and the words say so.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { SECTOR_SIZE } from '../layout/superblock.js';
import type { Volume } from '../volume.js';
import { blockDeviceSize } from '../io/device.js';

export interface FileFacts {
  path: string;
  kind: 'file' | 'block' | 'other';
  size: number;
  /** null for a block device (its node's mtime does not move with writes) */
  mtime_ms: number | null;
}

export interface VolumeFingerprint {
  /** the image or device holding the superblock, and the data device when there is one */
  files: FileFacts[];
  /** sha256 of the superblock sector (recalc_sector, flags, size: a recalculation or resize changes it) */
  superblock: string;
  /** image: writes to the data are seen (mtime); superblock-only: a block device, only its superblock and size */
  detection: 'image' | 'superblock-only';
  at: string;
}

function factsOf(p: string): FileFacts {
  try {
    const st = fs.statSync(p);
    if (st.isFile()) return { path: p, kind: 'file', size: st.size, mtime_ms: st.mtimeMs };
    if (st.isBlockDevice()) return { path: p, kind: 'block', size: blockDeviceSize(st), mtime_ms: null };
    return { path: p, kind: 'other', size: st.size, mtime_ms: st.mtimeMs };
  } catch {
    return { path: p, kind: 'other', size: -1, mtime_ms: null };
  }
}

/** The fingerprint of an open volume (its superblock read through the volume's own metadata device). */
export function fingerprintOf(vol: Pick<Volume, 'path' | 'dataPath' | 'meta'>): VolumeFingerprint {
  const files = [factsOf(vol.path)];
  if (vol.dataPath) files.push(factsOf(vol.dataPath));
  const b = Buffer.alloc(SECTOR_SIZE);
  let superblock = '-';
  try {
    vol.meta.read(b, 0);
    superblock = crypto.createHash('sha256').update(b).digest('hex');
  } catch {
    /* unreadable now: differs from any readable one */
  }
  return { files, superblock, detection: files.every((f) => f.kind === 'file') ? 'image' : 'superblock-only', at: new Date().toISOString() };
}

function bytes(n: number): string {
  return n < 0 ? 'gone' : `${n} bytes`;
}

/**
 * What changed between `then` (when a result was measured) and `now`, in words; empty when nothing that can be
 * seen changed. A block device's writes cannot be seen: the caller says so with `detection`.
 */
export function changesSince(then: VolumeFingerprint | null | undefined, now: VolumeFingerprint): string[] {
  if (!then) return [];
  const out: string[] = [];
  for (const f of now.files) {
    const old = then.files.find((x) => x.path === f.path);
    if (!old) {
      out.push(`${f.path} was not part of the volume then`);
      continue;
    }
    if (old.size !== f.size) out.push(`${f.path} changed size (${bytes(old.size)} then, ${bytes(f.size)} now)`);
    else if (old.mtime_ms !== null && f.mtime_ms !== null && old.mtime_ms !== f.mtime_ms) {
      out.push(`${f.path} was modified ${new Date(f.mtime_ms).toISOString()}`);
    }
  }
  if (then.superblock !== now.superblock) out.push('its superblock changed (a recalculation, resize, replay or format since)');
  return out;
}
