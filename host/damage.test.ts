// Issue 19: a failing disk through the host. A volume with tens of thousands of scattered bad blocks (every other
// block): every event and snapshot stays under 64 KiB with counts, the first ranges and a coarse map; listErrors
// pages through every range in order; the exports hold every range; the state file and damage log stay small. The
// same for a LUKS2 authenticated volume's failing sectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DAMAGE_FIRST_RANGES, DAMAGE_MAP_CELLS, type IntegrityEvent, type VolumeSnapshot } from '../engine/api.js';
import { jobStatePath, damagePath } from '../engine/jobs/state.js';
import { dataSector } from '../engine/layout/geometry.js';
import { openCryptVolume, segmentFromLuks } from '../engine/crypt/volume.js';
import { readLuks2Header, unlockLuks2 } from '../engine/luks/index.js';
import { tmpDir } from '../testing/golden.js';
import { makeFailingVolume } from '../testing/failing-volume.js';
import { exportChunks } from './damage-list.js';
import { dispatch } from './dispatch.js';
import { EngineHost } from './engine-host.js';

const BOUND = 64 << 10;

async function until(host: EngineHost, id: string, ok: (v: VolumeSnapshot) => boolean, ms = 120_000): Promise<VolumeSnapshot> {
  const t0 = Date.now();
  for (;;) {
    const v = host.listVolumes().find((x) => x.id === id)!;
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out; state ${v.state} ${JSON.stringify(v.verification.damage.bad_blocks)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** every range listErrors gives, page after page (the largest page), checking each page starts where the last ended */
function everyRange(host: EngineHost, id: string, kind: 'all' | 'bad' | 'read-error' = 'all'): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let from = 0;
  for (;;) {
    const p = host.listErrors(id, { fromSector: from, limit: 2000, kind });
    assert.ok(p.rows.length <= 2000, 'a page holds at most its limit');
    for (const r of p.rows) {
      assert.ok(r.first_sector >= from, `page from ${from} starts at ${r.first_sector}`);
      out.push([r.first_sector, r.end_sector]);
    }
    if (p.next_sector === null) return out;
    assert.ok(p.next_sector > from, 'pages move forward');
    from = p.next_sector;
  }
}

function checkBounded(events: IntegrityEvent[], host: EngineHost): void {
  const largest = Math.max(...events.map((e) => JSON.stringify(e).length));
  assert.ok(events.length >= 3, `events were sent while the scrub ran (${events.length})`);
  assert.ok(largest < BOUND, `the largest event is ${largest} bytes`);
  assert.ok(JSON.stringify(host.listVolumes()).length < BOUND, 'the snapshot');
  assert.ok(JSON.stringify(host.status()).length < BOUND, 'the status a dashboard gets first');
}

test('50,000 scattered bad blocks: bounded events and snapshots, every range paged in order, exported whole', async () => {
  const dir = tmpDir('damage-host-');
  process.env.INTEGRITY_STUDIO_STATE_DIR = path.join(dir, 'state');
  const n = 50_000;
  const img = path.join(dir, 'failing.img');
  makeFailingVolume(img, n, 1 << 20);
  const host = await EngineHost.create({ dataDir: path.join(dir, 'data'), pollMs: 0, throttleMs: 0 });
  const events: IntegrityEvent[] = [];
  host.onEvent((e) => events.push(e));
  try {
    const v = (await dispatch(host, 'addVolume', [{ path: img }])) as VolumeSnapshot;
    await dispatch(host, 'startScrub', [v.id]);
    const s = await until(host, v.id, (x) => x.verification.scrub === 'finished');
    const d = s.verification.damage;
    assert.equal(s.state, 'errors');
    assert.equal(d.bad_blocks, n);
    assert.equal(d.bad_range_count, n, 'scattered: one range per bad block, none merged');
    assert.equal(d.read_errors, 0);
    assert.equal(d.bad_ranges.length, DAMAGE_FIRST_RANGES);
    assert.deepEqual(d.bad_ranges.slice(0, 3), [
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
    assert.ok(s.verification.bad_ranges.length <= DAMAGE_FIRST_RANGES);
    // the coarse map: its cells hold every bad block, and only the cells over the first 2n sectors hold any
    assert.equal(d.map.cells, DAMAGE_MAP_CELLS);
    assert.equal(
      d.map.bad.reduce((a, b) => a + b, 0),
      n,
    );
    d.map.bad.forEach((c, i) => {
      if (i * d.map.sectors_per_cell >= 2 * n) assert.equal(c, 0, `cell ${i} is past the damage`);
    });
    checkBounded(events, host);
    assert.ok(
      events.some((e) => e.type === 'errors'),
      'the errors event went out while the scrub found them',
    );

    // every range, in pages, is what was made: the even sectors below 2n
    const all = everyRange(host, v.id);
    assert.equal(all.length, n);
    all.forEach(([a, b], i) => {
      assert.deepEqual([a, b], [2 * i, 2 * i + 1]);
    });
    assert.equal(everyRange(host, v.id, 'read-error').length, 0);
    assert.equal(host.listErrors(v.id, { fromSector: 2 * n - 3, limit: 10 }).rows.length, 1, 'a jump lands on the first range ending after it');
    assert.equal(host.listErrors(v.id, { limit: 10 }).total_ranges, n);

    // the exports: every range, row by row
    const csv = path.join(dir, 'out.csv');
    const r = await host.exportErrors(v.id, { format: 'csv', path: csv });
    const lines = fs.readFileSync(csv, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, n + 1);
    assert.match(lines[n]!, new RegExp(`^bad,${2 * n - 2},${2 * n - 2},1,`));
    assert.equal(r.ranges, n);
    const json = path.join(dir, 'out.json');
    await host.exportErrors(v.id, { format: 'json', path: json });
    const j = JSON.parse(fs.readFileSync(json, 'utf8')) as { bad_blocks: number; ranges: Array<{ first_sector: number }> };
    assert.equal(j.bad_blocks, n);
    assert.equal(j.ranges.length, n);
    assert.equal(j.ranges[n - 1]!.first_sector, 2 * n - 2);
    // streamed in chunks of rows, not a write per row (serve's HTTP export and the CLI go through the same chunks)
    const chunks = [...exportChunks(host.entry(v.id), 'csv', null, 65536)];
    assert.equal(chunks.join(''), fs.readFileSync(csv, 'utf8'), 'the chunks are the export');
    assert.ok(chunks.length < n / 100, `${chunks.length} chunks for ${n} rows`);
    assert.ok(
      chunks.slice(0, -1).every((c) => c.length >= 65536 && c.length < 65536 + 256),
      'each chunk about 64 KiB',
    );

    // on disk: the state file is small whatever the count, the damage log a couple of bytes per range
    const st = jobStatePath(img, 'scrub');
    assert.ok(fs.statSync(st).size < BOUND, `state file ${fs.statSync(st).size} bytes`);
    const logBytes = fs.statSync(damagePath(st)).size;
    assert.ok(logBytes <= 4 * n, `damage log ${logBytes} bytes for ${n} ranges`);
  } finally {
    await host.close();
  }
});

test('LUKS2: 10,000 scattered failing sectors, bounded the same way and listed whole', async () => {
  const dir = tmpDir('damage-luks-');
  process.env.INTEGRITY_STUDIO_STATE_DIR = path.join(dir, 'state');
  const n = 10_000;
  const img = path.join(dir, 'failing.luks');
  const pass = 'failing disk pass';
  const host = await EngineHost.create({ dataDir: path.join(dir, 'data'), pollMs: 0, throttleMs: 0 });
  const events: IntegrityEvent[] = [];
  try {
    const made = (await dispatch(host, 'createLuksVolume', [
      {
        path: img,
        size: 28 << 20,
        integrity: 'aead',
        cipher: 'aes-gcm-random',
        keySize: 256,
        sectorSize: 512,
        secret: { passphrase: pass },
        pbkdf: 'pbkdf2',
        pbkdfIterations: 1000,
      },
    ])) as VolumeSnapshot;
    // one byte of every other sector of the first 2n flipped: each fails authentication
    const seg = segmentFromLuks(readLuks2Header(img));
    const { volumeKey } = await unlockLuks2(img, { passphrase: Buffer.from(pass) });
    const cv = openCryptVolume(img, seg, volumeKey);
    const g = cv.integrity.geometry;
    assert.ok(cv.sectors > 2 * n);
    cv.close();
    const fd = fs.openSync(img, 'r+');
    const b = Buffer.alloc(1);
    for (let s = 0; s < 2 * n; s += 2) {
      const at = seg.offset + dataSector(g, s) * 512 + 9;
      fs.readSync(fd, b, 0, 1, at);
      b[0]! ^= 0xff;
      fs.writeSync(fd, b, 0, 1, at);
    }
    fs.closeSync(fd);
    host.onEvent((e) => events.push(e));
    await dispatch(host, 'startScrub', [made.id]);
    const s = await until(host, made.id, (x) => x.verification.scrub === 'finished');
    assert.equal(s.verification.damage.bad_blocks, n);
    assert.equal(s.verification.damage.bad_range_count, n);
    assert.equal(s.verification.damage.bad_ranges.length, DAMAGE_FIRST_RANGES);
    checkBounded(events, host);
    const all = everyRange(host, made.id);
    assert.equal(all.length, n);
    all.forEach(([a, e], i) => {
      assert.deepEqual([a, e], [2 * i, 2 * i + 1]);
    });
    // no passphrase or key in anything the host sent
    const sent = JSON.stringify(events) + JSON.stringify(host.listVolumes());
    assert.ok(!sent.includes(pass) && !sent.includes(volumeKey.toString('hex')));
  } finally {
    await host.close();
  }
});
