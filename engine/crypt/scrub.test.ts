// Scrub of a LUKS2 authenticated volume: paused at a chunk boundary, resumed from the persisted position with the
// findings of the first run kept, 0 bytes written to the volume; the state file holds no key material.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../testing/golden.js';
import { assertNoSecret } from '../../testing/secrets.js';
import { formatCryptVolume } from './format.js';
import { scrubCrypt } from './scrub.js';
import { openCryptVolume, segmentFromLuks } from './volume.js';
import { readLuks2Header, unlockLuks2 } from '../luks/index.js';
import { dataSector } from '../layout/geometry.js';
import { SECTOR_SIZE } from '../layout/superblock.js';
import { jobStatePath } from '../jobs/state.js';

test('crypt scrub pauses, resumes where it stopped and keeps what it found', async () => {
  fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'crypt-scrub-'));
  process.env.INTEGRITY_STUDIO_STATE_DIR = path.join(dir, 'state');
  const img = path.join(dir, 'v.img');
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'scrub-pass');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, 26 << 20);
  await formatCryptVolume(img, {
    secret: { keyFile: pw },
    integrity: 'poly1305',
    cipher: 'chacha20-random',
    keySize: 256,
    pbkdf: 'pbkdf2',
    pbkdfIterations: 1000,
  });
  const info = readLuks2Header(img);
  const seg = segmentFromLuks(info);
  const { volumeKey } = await unlockLuks2(img, { keyFile: pw });
  // one bad sector in each of the first two chunks (8192 sectors each)
  const v = openCryptVolume(img, seg, volumeKey);
  const g = v.integrity.geometry;
  assert.ok(v.sectors > 8192 + 100, `the volume spans two chunks (${v.sectors} sectors)`);
  v.close();
  const fd = fs.openSync(img, 'r+');
  // flipped, not overwritten: the ciphertext is random, so writing a fixed byte left it unchanged 1 time in 256 (a
  // fresh-clone CI run found [] instead of [7])
  for (const s of [7, 8192 + 99]) {
    const at = seg.offset + dataSector(g, s) * SECTOR_SIZE + 5;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, at);
    b[0]! ^= 0xff;
    fs.writeSync(fd, b, 0, 1, at);
  }
  fs.closeSync(fd);
  const before = fs.readFileSync(img);
  let calls = 0;
  const first = await scrubCrypt(img, seg, volumeKey, { reset: true, shouldStop: () => ++calls >= 1 });
  assert.equal(first.state, 'paused');
  assert.equal(first.position_sector, 8192);
  assert.deepEqual(first.bad_sectors, [7]);
  const state = fs.readFileSync(jobStatePath(img, 'scrub'), 'utf8');
  assert.match(state, /"position_sector":8192/, 'the scrub state file, as saved at the pause');
  assertNoSecret(state, volumeKey, 'volume key', 'the scrub state file');
  const second = await scrubCrypt(img, seg, volumeKey);
  assert.equal(second.state, 'done');
  assert.equal(second.start_sector, 8192);
  assert.deepEqual(second.bad_sectors, [7, 8192 + 99]);
  assert.equal(second.checked_sectors, second.total_sectors);
  // the same run history and running marker as the dashboard's job (one implementation, cryptScrubRun)
  const st = JSON.parse(fs.readFileSync(jobStatePath(img, 'scrub'), 'utf8'));
  assert.deepEqual(
    st.runs.map((r: { result: string; by: string }) => `${r.result}/${r.by}`),
    ['paused/cli', 'done/cli'],
  );
  assert.equal(st.running, null);
  assert.ok(st.finished_at);
  assert.ok(fs.readFileSync(img).equals(before), '0 bytes written');
  volumeKey.fill(0);
  delete process.env.INTEGRITY_STUDIO_STATE_DIR;
  fs.rmSync(dir, { recursive: true });
});
