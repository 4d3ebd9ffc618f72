// dm-integrity without internal hash under the crypt layer: the kernel's refusals (dm_integrity_ctr's words),
// tags carried by the journal and copied by replay unchecked, and a crash between journal commit and write-back
// recovered by the next open. The internal-hash path keeps its own tests (engine/integrity, engine/jobs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { PROJECT_ROOT } from '../../testing/golden.js';
import { segmentOf } from '../../testing/luks-segment.js';
import { openCryptVolume } from './volume.js';
import { FileDevice } from '../io/device.js';
import { SliceDevice } from '../io/slice.js';
import { openWritableOn } from '../integrity/writable.js';
import { JournalWriter } from '../integrity/journal-writer.js';
import { sectionSealer } from '../integrity/replay.js';

const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
const g = (
  JSON.parse(fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8')).images as Array<{ name: string; file: string; volume_key_hex: string }>
).find((i) => i.name === 'xts-hmac256-512')!;
fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });

function copy(): string {
  const p = path.join(fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'xt-')), 'v.img');
  fs.writeFileSync(p, zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, g.file))));
  return p;
}

test('without internal hash: bitmap mode, discards and tag computation are refused as the kernel refuses them', () => {
  const p = copy();
  const seg = segmentOf(p);
  const slice = () => new SliceDevice(FileDevice.open(p, { readOnly: false }), seg.offset, fs.statSync(p).size - seg.offset);
  assert.throws(() => openWritableOn(slice(), null, p, { externalTags: true, mode: 'bitmap' }), /Bitmap mode can be only used with internal hash/);
  assert.throws(() => openWritableOn(slice(), null, p, { externalTags: true, allowDiscards: true }), /Discard can be only used with internal hash/);
  const w = openWritableOn(slice(), null, p, { externalTags: true });
  try {
    assert.throws(() => w.write(0, Buffer.alloc(512)), /writes need their tags/);
    assert.throws(() => w.discard(0, 512), /discards need --allow-discards/);
    assert.throws(() => w.target.read(0, 1, Buffer.alloc(512)), /no internal hash/);
  } finally {
    w.close();
  }
});

test('journal entries carry the supplied tags; a crash after commit and before write-back is replayed on the next open', () => {
  const p = copy();
  const seg = segmentOf(p);
  const key = Buffer.from(g.volume_key_hex, 'hex');
  const plain = crypto.randomBytes(16 * 512);
  const v = openCryptVolume(p, seg, key, { readOnly: false });
  const c = Buffer.alloc(plain.length);
  const tuples = Buffer.alloc(16 * v.cipher.tupleSize);
  for (let b = 0; b < 16; b++) v.cipher.encrypt(64 + b, plain.subarray(b * 512, (b + 1) * 512), c, b * 512, tuples, b * v.cipher.tupleSize);
  v.close();
  // commit to the journal only, as a crash right after the commit would leave it
  const w = openWritableOn(new SliceDevice(FileDevice.open(p, { readOnly: false }), seg.offset, fs.statSync(p).size - seg.offset), null, p, {
    externalTags: true,
  });
  const pos = w.journalState()!;
  const writer = new JournalWriter(w.target, { free_section: pos.free_section, commit_seq: pos.commit_seq }, sectionSealer(w));
  writer.write(64, c, tuples);
  writer.commit({ writeback: false });
  w.meta.close();
  // read-only: the entries are in the journal only, presented as the kernel would after replay
  const r = openCryptVolume(p, seg, key);
  try {
    assert.ok(
      r.integrity.replay!.writes.some((x) => x.sector === 64 && x.tag.equals(tuples.subarray(0, r.cipher.tupleSize))),
      'the journal entry holds our tuple',
    );
    const out = Buffer.alloc(plain.length);
    r.read(64, 16, out);
    assert.ok(out.equals(plain));
    r.integrity.target.overlay.clear();
    r.read(64, 16, out);
    assert.ok(!out.equals(plain), 'not yet at its final place: there the sectors still hold what the kernel wrote');
  } finally {
    r.close();
  }
  // a writable open replays it on disk (the tags copied unchecked)
  openCryptVolume(p, seg, key, { readOnly: false }).close();
  const f = openCryptVolume(p, seg, key);
  try {
    f.integrity.target.overlay.clear();
    const out = Buffer.alloc(plain.length);
    f.read(64, 16, out);
    assert.ok(out.equals(plain));
  } finally {
    f.close();
  }
});
