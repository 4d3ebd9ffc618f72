// luks-format with --integrity: what `cryptsetup luksFormat --type luks2 --integrity …` and the kernel's first
// activation leave. The LUKS2 header (engine/luks formatLuks2Header), then at the data segment the dm-integrity
// superblock cryptsetup's table makes the kernel write (initialize_superblock: tag size = auth tag + IV, block size
// = the encryption sector size, fix_padding, no fix_hmac and no salt — cryptsetup's integrity table for dm-crypt
// has no fix_hmac), the journal as init_journal(0, N, 0) leaves it, then (unless --integrity-no-wipe) every sector
// written with zeros through the AEAD in direct mode, as cryptsetup's wipe does, so every sector authenticates.
import { IntegrityStudioError } from '../errors.js';
import { FileDevice } from '../io/device.js';
import { SliceDevice } from '../io/slice.js';
import { encodeSuperblock, SECTOR_SIZE } from '../layout/superblock.js';
import { planFormat } from '../commands/format.js';
import { openVolumeOn } from '../volume.js';
import { initJournal } from '../integrity/replay.js';
import { defaultKeyBits, formatLuks2Header, integrityKeySize, type Luks2FormatOptions, type Luks2Info } from '../luks/index.js';
import { aeadSpec, formatRefusal } from './aead.js';
import { openCryptVolume, segmentFromLuks } from './volume.js';

export interface CryptFormatOptions extends Luks2FormatOptions {
  /** --integrity-no-wipe */
  noWipe?: boolean;
  /** called during the wipe with bytes done / total */
  onWipe?: (done: number, total: number) => void;
}

export interface CryptFormatResult {
  info: Luks2Info;
  provided_data_sectors: number;
  tag_size: number;
  wiped_bytes: number;
}

const WIPE_CHUNK = 4 << 20;

export async function formatCryptVolume(path: string, o: CryptFormatOptions): Promise<CryptFormatResult> {
  if (!o.integrity) throw new IntegrityStudioError('luks-format here makes authenticated volumes: give --integrity hmac-sha256|hmac-sha512|aead|poly1305');
  const cipher = o.cipher ?? 'aes-xts-random';
  const integ = /^hmac-/.test(o.integrity) ? `hmac(${o.integrity.slice(5)})` : o.integrity;
  // refuse what cannot be read back, or should not be made, before anything is written
  const sectorSize = o.sectorSize ?? 512;
  const spec = aeadSpec(cipher, integ, undefined, sectorSize);
  const why = formatRefusal(spec);
  if (why)
    throw new IntegrityStudioError(
      `luks-format makes no new ${cipher} + ${o.integrity} volume: ${why}. Volumes cryptsetup made this way are read, verified and written.`,
      'EUNSUPPORTED',
    );
  const vkLen = (o.keySize ?? defaultKeyBits(cipher)) / 8 + integrityKeySize(integ);
  if (!spec.keySizes.includes(vkLen)) {
    throw new IntegrityStudioError(
      `${cipher} + ${o.integrity}: a ${o.keySize ?? defaultKeyBits(cipher)}-bit key is not valid (--key-size: ${spec.keySizes.map((k) => (k - integrityKeySize(integ)) * 8).join(', ')})`,
      'EKEY',
    );
  }
  const tagSize = spec.authSize + spec.storedIvSize;
  // plan the dm-integrity part first (the device must hold it), then write the header
  const devSize = FileDevice.open(path, { readOnly: true });
  const size = devSize.size;
  devSize.close();
  const { info, volumeKey } = await formatLuks2Header(path, { ...o, cipher });
  try {
    const seg = segmentFromLuks(info);
    const sectors = Math.floor((size - seg.offset) / SECTOR_SIZE);
    const plan = planFormat({ integrity: 'crc32c', tagSize, sectorSize, legacyHmac: true }, sectors);
    const dev = FileDevice.open(path, { readOnly: false });
    const slice = new SliceDevice(dev, seg.offset, sectors * SECTOR_SIZE);
    try {
      slice.write(encodeSuperblock(plan.superblock), 0);
      const vol = openVolumeOn(slice, null, path, { externalTags: true, superblockOnly: true, readOnly: false });
      initJournal(vol, 0, plan.geometry.journal_sections, 0);
      slice.flush();
    } finally {
      slice.close();
    }
    let wiped = 0;
    if (!o.noWipe) {
      const v = openCryptVolume(path, seg, volumeKey, { readOnly: false, mode: 'direct' });
      try {
        const zeros = Buffer.alloc(WIPE_CHUNK);
        for (let off = 0; off < v.size; off += WIPE_CHUNK) {
          const n = Math.min(WIPE_CHUNK, v.size - off);
          v.write(off, zeros.subarray(0, n));
          wiped += n;
          o.onWipe?.(wiped, v.size);
          await new Promise((r) => setImmediate(r));
        }
        v.flush();
      } finally {
        v.close();
      }
    }
    return { info, provided_data_sectors: plan.superblock.provided_data_sectors, tag_size: tagSize, wiped_bytes: wiped };
  } finally {
    volumeKey.fill(0);
  }
}
