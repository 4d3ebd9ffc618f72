import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { decodeSuperblock, encodeSuperblock, flagNames } from './superblock.js';
import { geometryOf, checkDeviceLimits, providedDataSectors } from './geometry.js';
import { goldenManifest, goldenPath, GOLDEN_SETS } from '../../testing/golden.js';

for (const set of GOLDEN_SETS)
  for (const im of goldenManifest(set.id)) {
    test(`superblock + geometry of golden ${set.id} ${im.name} match the kernel (${String(im.kernel ?? set.id).split(' ')[0]})`, () => {
      const meta = im.files[0]!;
      const p = goldenPath(meta);
      const buf = Buffer.alloc(4096);
      const fd = fs.openSync(p, 'r');
      fs.readSync(fd, buf, 0, 4096, 0);
      fs.closeSync(fd);
      const sb = decodeSuperblock(buf);
      const exp = im.superblock as Record<string, unknown>;
      for (const k of [
        'version',
        'log2_interleave_sectors',
        'integrity_tag_size',
        'journal_sections',
        'provided_data_sectors',
        'flags',
        'log2_sectors_per_block',
        'log2_blocks_per_bitmap_bit',
        'recalc_sector',
      ]) {
        assert.equal((sb as unknown as Record<string, unknown>)[k], exp[k], k);
      }
      assert.equal(sb.salt.toString('hex'), exp.salt);
      assert.equal(flagNames(sb.flags).length, (exp.flag_names as string[]).length);
      const metaDev = im.files.length > 1;
      const g = geometryOf(sb, metaDev);
      for (const [k, v] of Object.entries(im.geometry)) {
        if (v === null) continue;
        assert.equal((g as unknown as Record<string, number>)[k], v, k);
      }
      const dataSize = (im.files[1] ?? meta).raw_size / 512;
      checkDeviceLimits(g, meta.raw_size / 512, dataSize);
      // the kernel's greedy provided_data_sectors (format time) gives back what is on disk
      if (!metaDev) {
        const pds = providedDataSectors(
          {
            tag_size: sb.integrity_tag_size,
            log2_sectors_per_block: sb.log2_sectors_per_block,
            log2_interleave_sectors: sb.log2_interleave_sectors,
            journal_sections: sb.journal_sections,
            flags: sb.flags,
            meta_dev: false,
          },
          meta.raw_size / 512,
        );
        assert.equal(pds, sb.provided_data_sectors);
      }
      // encode is the inverse of decode on the struct bytes
      assert.deepEqual(encodeSuperblock(sb).subarray(0, 64), buf.subarray(0, 64));
    });
  }

test("a superblock whose tag size is over the kernel's 255 bytes is refused as the kernel would, a typed error (fuzz: one bit flipped in integrity_tag_size)", () => {
  const im = goldenManifest(GOLDEN_SETS[0]!.id).find((x) => x.name.startsWith('i-'))!;
  const buf = Buffer.alloc(4096);
  const fd = fs.openSync(goldenPath(im.files[0]!), 'r');
  fs.readSync(fd, buf, 0, 4096, 0);
  fs.closeSync(fd);
  buf.writeUInt16LE(4 + 256, 10);
  assert.throws(
    () => decodeSuperblock(buf),
    (e: Error) => e.name === 'FormatError' && /integrity_tag_size 260: the kernel refuses tags over 255 bytes/.test(e.message),
  );
  buf.writeUInt16LE(255, 10);
  assert.equal(decodeSuperblock(buf).integrity_tag_size, 255);
});
