// Test helper only: the data segment of a LUKS2 header read straight from the primary header's JSON area (no
// checksum check, no keyslot, no unlock). Tests give the volume key they made the volume with
// (cryptsetup luksFormat --volume-key-file). The product reads headers through engine/luks.
import fs from 'node:fs';
import type { CryptSegment } from '../engine/crypt/volume.js';

export function segmentOf(path: string): CryptSegment {
  const fd = fs.openSync(path, 'r');
  try {
    const hdr = Buffer.alloc(4096);
    fs.readSync(fd, hdr, 0, 4096, 0);
    if (hdr.subarray(0, 6).toString('latin1') !== 'LUKS\xba\xbe') throw new Error(`${path}: no LUKS2 magic`);
    const hdrSize = Number(hdr.readBigUInt64BE(8));
    const json = Buffer.alloc(hdrSize - 4096);
    fs.readSync(fd, json, 0, json.length, 4096);
    const end = json.indexOf(0);
    const j = JSON.parse(json.subarray(0, end < 0 ? json.length : end).toString('utf8'));
    const s = j.segments['0'];
    return {
      offset: Number(s.offset),
      size: s.size === 'dynamic' ? 'dynamic' : Number(s.size),
      iv_tweak: Number(s.iv_tweak),
      encryption: s.encryption,
      sector_size: s.sector_size,
      integrity: s.integrity?.type ?? null,
    };
  } finally {
    fs.closeSync(fd);
  }
}
