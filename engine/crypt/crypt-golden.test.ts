// The LUKS2 authenticated golden images (testing/data/crypt/manifest.json, made by cryptsetup 2.6.1 and kernel 6.1 in the
// oracle; random and computed IVs): each reads here exactly what the kernel read through /dev/mapper, corrupted
// copies fail exactly the sectors the kernel logged as "INTEGRITY AEAD ERROR", and an unreplayed journal is
// replayed as the kernel does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { PROJECT_ROOT } from '../../testing/golden.js';
import { segmentOf } from '../../testing/luks-segment.js';
import { AeadError, openCryptVolume, type CryptVolume } from './volume.js';
import { scrubCrypt } from './scrub.js';
import { SECTOR_SIZE } from '../layout/superblock.js';

const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
interface Golden {
  name: string;
  file: string;
  volume_key_hex: string;
  mapped_sectors: number;
  format_command: string;
  segment: { offset: number; sector_size: number };
  dm_table: string[];
  kernel_read_sha256?: string;
  kernel_aead_error_sectors?: number[];
  flip_bytes?: Array<[number, number]>;
  corrupted_from?: string;
}
const manifest: Golden[] = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8')).images;

function unpack(g: Golden): string {
  const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'crypt-'));
  const p = path.join(dir, `${g.name}.img`);
  const raw = zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, g.file)));
  for (const [pos, x] of g.flip_bytes ?? []) raw[pos]! ^= x;
  fs.writeFileSync(p, raw);
  return p;
}

function readAll(v: CryptVolume): Buffer {
  const out = Buffer.alloc(v.size);
  v.read(0, v.sectors, out);
  return out;
}

fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });

test('golden manifest: every image is read-compared (kernel-made) or error-compared (corrupted), none left out', () => {
  const read = manifest.filter((g) => g.kernel_read_sha256);
  const failing = manifest.filter((g) => g.kernel_aead_error_sectors);
  assert.ok(read.length > 0 && failing.length > 0, `${read.length} read, ${failing.length} corrupted`);
  assert.deepEqual(
    manifest.filter((g) => !g.kernel_read_sha256 && !g.kernel_aead_error_sectors).map((g) => g.name),
    [],
  );
  assert.deepEqual(
    failing.map((g) => g.name),
    manifest.filter((g) => g.corrupted_from).map((g) => g.name),
    "the corrupted images are those with the kernel's AEAD errors",
  );
});

for (const g of manifest.filter((g) => g.kernel_read_sha256)) {
  test(`golden ${g.name}: reads what the kernel read through /dev/mapper`, () => {
    const p = unpack(g);
    const before = fs.readFileSync(p);
    const v = openCryptVolume(p, segmentOf(p), Buffer.from(g.volume_key_hex, 'hex'));
    try {
      assert.equal(v.sectors, g.mapped_sectors);
      const sha = crypto.createHash('sha256').update(readAll(v)).digest('hex');
      assert.equal(sha, g.kernel_read_sha256);
      assert.equal(v.stats.failed_sectors, 0);
      assert.equal(v.stats.checked_sectors, g.mapped_sectors / v.spb);
    } finally {
      v.close();
    }
    assert.ok(fs.readFileSync(p).equals(before), 'a read-only open wrote nothing');
    fs.rmSync(path.dirname(p), { recursive: true });
  });
}

test('golden: a wrong volume key fails every sector and returns no plaintext', () => {
  const g = manifest.find((g) => g.name === 'gcm-512')!;
  const p = unpack(g);
  const key = Buffer.from(g.volume_key_hex, 'hex');
  key[0]! ^= 1;
  const v = openCryptVolume(p, segmentOf(p), key);
  try {
    const out = Buffer.alloc(8 * SECTOR_SIZE, 0xaa);
    const bad: number[] = [];
    v.read(0, 8, out, 0, (s) => bad.push(s));
    assert.deepEqual(bad, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.ok(out.equals(Buffer.alloc(out.length)), 'failed sectors read as zeros, never as (wrong) plaintext');
  } finally {
    v.close();
  }
});

for (const g of manifest.filter((g) => g.kernel_aead_error_sectors)) {
  test(`golden ${g.name}: scrub names exactly the sectors the kernel reported`, async () => {
    const p = unpack(g);
    const before = fs.readFileSync(p);
    const key = Buffer.from(g.volume_key_hex, 'hex');
    const v = openCryptVolume(p, segmentOf(p), key);
    try {
      const first = g.kernel_aead_error_sectors![0]!;
      assert.throws(
        () => v.read(first, v.spb, Buffer.alloc(v.spb * SECTOR_SIZE)),
        (e: unknown) => e instanceof AeadError && e.sector === first && /INTEGRITY AEAD ERROR, sector \d+$/.test(e.message),
      );
    } finally {
      v.close();
    }
    process.env.INTEGRITY_STUDIO_STATE_DIR = path.join(path.dirname(p), 'state');
    const r = await scrubCrypt(p, segmentOf(p), key, { reset: true });
    assert.equal(r.state, 'done');
    assert.deepEqual(r.bad_sectors, g.kernel_aead_error_sectors);
    assert.equal(r.checked_sectors, g.mapped_sectors / r.sectors_per_block);
    assert.ok(fs.readFileSync(p).equals(before), 'scrub wrote 0 bytes to the volume');
    delete process.env.INTEGRITY_STUDIO_STATE_DIR;
    fs.rmSync(path.dirname(p), { recursive: true });
  });
}

test('golden journal: entries left in the journal by the crash are replayed in memory (read-only, as the kernel reads it), then on disk', () => {
  const g = manifest.find((g) => g.name === 'journal')!;
  const p = unpack(g);
  const key = Buffer.from(g.volume_key_hex, 'hex');
  const before = fs.readFileSync(p);
  const v = openCryptVolume(p, segmentOf(p), key);
  let inMemory: Buffer;
  try {
    assert.ok(v.integrity.replay && v.integrity.replay.writes.length > 0, 'the journal holds committed entries');
    inMemory = readAll(v);
    assert.equal(crypto.createHash('sha256').update(inMemory).digest('hex'), g.kernel_read_sha256);
  } finally {
    v.close();
  }
  assert.ok(fs.readFileSync(p).equals(before));
  // without the journal the committed data is not there (the kernel had not written it back)
  const w = openCryptVolume(p, segmentOf(p), key, { readOnly: false });
  w.close();
  const r = openCryptVolume(p, segmentOf(p), key);
  try {
    // the kernel leaves a consistent journal as it is after replaying it; read the data and tag areas alone
    r.integrity.target.overlay.clear();
    assert.ok(readAll(r).equals(inMemory!), 'after the replay on disk the data and tag areas hold the committed writes');
  } finally {
    r.close();
  }
  fs.rmSync(path.dirname(p), { recursive: true });
});

test('golden: the dm-integrity superblock luks-format plans (engine/crypt/format.ts) is the one the kernel wrote under cryptsetup, for every kernel-made image', async () => {
  const { planFormat } = await import('../commands/format.js');
  const { encodeSuperblock, SB_SECTORS } = await import('../layout/superblock.js');
  const { aeadSpec } = await import('./aead.js');
  const made = manifest.filter((m) => !m.corrupted_from && !m.flip_bytes);
  assert.ok(made.length >= 7, `${made.length} kernel-made images`);
  for (const g of made) {
    const raw = zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, g.file)));
    // the kernel's own numbers: the segment cryptsetup made, the tag size in its dm table, the sectors it mapped
    const tag = Number(/ integrity:(\d+):aead( |$)/.exec(g.dm_table[0]!)![1]);
    const cs = g.format_command.split(/\s+/);
    const cipher = cs[cs.indexOf('--cipher') + 1]!;
    const integrity = cs[cs.indexOf('--integrity') + 1]!;
    // luks-format's tag size (engine/crypt/format.ts: the AEAD's auth tag + its stored IV) is the kernel's
    const spec = aeadSpec(cipher, /^hmac-/.test(integrity) ? `hmac(${integrity.slice(5)})` : integrity, undefined, g.segment.sector_size);
    assert.equal(spec.authSize + spec.storedIvSize, tag, `${g.name}: tag size (auth tag + IV)`);
    const plan = planFormat(
      { integrity: 'crc32c', tagSize: tag, sectorSize: g.segment.sector_size, legacyHmac: true },
      (raw.length - g.segment.offset) / SECTOR_SIZE,
    );
    assert.equal(plan.superblock.provided_data_sectors, g.mapped_sectors, `${g.name}: the sectors the kernel mapped`);
    // the whole superblock area, byte for byte (later kernel writes touch only the journal, tags and data)
    const ours = encodeSuperblock(plan.superblock);
    assert.equal(ours.length, SB_SECTORS * SECTOR_SIZE);
    const theirs = raw.subarray(g.segment.offset, g.segment.offset + ours.length);
    assert.ok(ours.equals(theirs), `${g.name}: superblock as the kernel wrote it (first difference at byte ${ours.findIndex((x, i) => x !== theirs[i])})`);
  }
});
