// The superblock as the kernel writes and checks it (sync_rw_sb, sb_mac): its bytes, with a MAC over sector 0
// under fix_hmac with a journal MAC; the check of that MAC; and the write of the in-memory superblock.
import crypto from 'node:crypto';
import { IntegrityStudioError } from '../errors.js';
import { encodeSuperblock, SB_FLAG_FIXED_HMAC, SB_FLAG_HAVE_JOURNAL_MAC, SECTOR_SIZE, type Superblock } from '../layout/superblock.js';
import type { BlockDevice } from '../io/device.js';
import type { Volume, VolumeOptions } from '../volume.js';

function macDigest(alg: string): string {
  if (!alg.startsWith('hmac-'))
    throw new IntegrityStudioError(`unsupported journal integrity algorithm "${alg}" (supported: hmac-sha1, hmac-sha256, hmac-sha512)`);
  return alg.slice(5);
}

/**
 * The 8-sector superblock area as the kernel writes it (sync_rw_sb): under fix_hmac with a journal MAC,
 * sector 0 ends in a MAC over the bytes before it (sb_mac).
 */
export function superblockBytes(sb: Superblock, o: Pick<VolumeOptions, 'journalIntegrity' | 'journalIntegrityKey'>): Buffer {
  const buf = encodeSuperblock(sb);
  if (sb.flags & SB_FLAG_HAVE_JOURNAL_MAC && sb.flags & SB_FLAG_FIXED_HMAC) {
    if (!o.journalIntegrity || !o.journalIntegrityKey) throw new IntegrityStudioError('writing this superblock needs the journal integrity key');
    const h = crypto.createHmac(macDigest(o.journalIntegrity), o.journalIntegrityKey);
    const size = h.update(Buffer.alloc(0)).digest().length;
    const mac = crypto
      .createHmac(macDigest(o.journalIntegrity), o.journalIntegrityKey)
      .update(buf.subarray(0, SECTOR_SIZE - size))
      .digest();
    mac.copy(buf, SECTOR_SIZE - size);
  }
  return buf;
}

/** Checks the superblock MAC (sb_mac with wr=false); throws when it does not match. */
export function checkSuperblockMac(dev: BlockDevice, sb: Superblock, o: VolumeOptions): void {
  if (!(sb.flags & SB_FLAG_HAVE_JOURNAL_MAC && sb.flags & SB_FLAG_FIXED_HMAC) || !o.journalIntegrityKey) return;
  const onDisk = Buffer.alloc(SECTOR_SIZE);
  dev.read(onDisk, 0);
  const want = superblockBytes(sb, o).subarray(0, SECTOR_SIZE);
  if (!want.equals(onDisk)) {
    throw new IntegrityStudioError('superblock MAC mismatch: the journal integrity key or algorithm is wrong, or the superblock is damaged', 'EKEY');
  }
}

/** Persists the in-memory superblock (recalc_sector, flags) and flushes. */
export function writeSuperblock(vol: Pick<Volume, 'meta' | 'sb' | 'options'>): void {
  vol.meta.write(superblockBytes(vol.sb, vol.options), 0);
  vol.meta.flush();
}
