// A failing disk, made fast: a 512-byte-block volume whose first 2n blocks have every other tag flipped, so a scrub
// finds n scattered bad blocks (n ranges of one block) — a dying disk or a bad cable. For the damage bench and e2e.
import fs from 'node:fs';
import { formatVolume } from '../engine/commands/format.js';
import { tagOffset } from '../engine/layout/geometry.js';
import { openVolume } from '../engine/volume.js';

/** formats `img` (2n blocks + `spareBytes`) and flips the first byte of the tag of blocks 0, 2, 4, … 2n − 2 */
export function makeFailingVolume(img: string, n: number, spareBytes = 64 << 20): void {
  formatVolume(img, { size: Math.ceil((2 * n * 512 + (1 << 20)) / 4096) * 4096 + spareBytes, force: true });
  const vol = openVolume(img, { readOnly: true, superblockOnly: true });
  const g = vol.geometry;
  vol.close();
  const fd = fs.openSync(img, 'r+');
  try {
    // the tags of one interleave area are contiguous: read each area's run once, flip, write it back
    const il = 2 ** g.log2_interleave_sectors;
    for (let area = 0; area * il < 2 * n; area++) {
      const first = area * il;
      const last = Math.min(2 * n, (area + 1) * il);
      const at = tagOffset(g, first);
      const buf = Buffer.alloc(((last - first) / g.sectors_per_block) * g.tag_size);
      fs.readSync(fd, buf, 0, buf.length, at);
      for (let s = first; s < last; s += 2) buf[((s - first) / g.sectors_per_block) * g.tag_size]! ^= 0xff;
      fs.writeSync(fd, buf, 0, buf.length, at);
    }
  } finally {
    fs.closeSync(fd);
  }
}
