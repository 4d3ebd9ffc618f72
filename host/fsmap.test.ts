// The host's mapping of known damage (host/fsmap) on real file systems: an ext4 image on a dm-integrity volume and on
// a LUKS2 volume, blocks spoiled under a file, a directory, an inode-table block and free space
// (testing/fs-volume.ts), scrubbed by the real job worker. The snapshot's counts, mapDamage's pages, the
// exports and the rewrite of free blocks are checked against debugfs's answers and against the volume read back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EngineHost } from './engine-host.js';
import { dispatch } from './dispatch.js';
import { tmpDir } from '../testing/golden.js';
import { EXT4_TOOLS, ext4LuksVolume, ext4Volume, toolMissing, type FsVolume } from '../testing/fs-volume.js';
import { openVolume } from '../engine/volume.js';
import { openCryptVolume, segmentFromLuks } from '../engine/crypt/volume.js';
import { readLuks2Header, unlockLuks2 } from '../engine/luks/index.js';
import type { DamageMapSummary, VolumeSnapshot } from '../engine/api.js';

async function until(host: EngineHost, id: string, ok: (v: VolumeSnapshot) => boolean, what: string, ms = 60_000): Promise<VolumeSnapshot> {
  const t0 = Date.now();
  for (;;) {
    const v = host.listVolumes().find((x) => x.id === id)!;
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v.damage_map)} ${v.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mapped = (v: VolumeSnapshot) => v.damage_map?.state === 'mapped' && !v.damage_map.stale.some((s) => /changed since it was mapped/.test(s));

/** the error a command rejects with (message and code) */
async function refusal(p: Promise<unknown>): Promise<{ message: string; code?: string }> {
  try {
    await p;
  } catch (e) {
    return { message: (e as Error).message, code: (e as { code?: string }).code };
  }
  throw new Error('expected a refusal');
}

/** the sectors of [first, end) that fail verification on the plain volume */
function badIn(vol: string, sectors: number[]): number[] {
  const v = openVolume(vol, { readOnly: true });
  try {
    const bad: number[] = [];
    for (const s of sectors) v.target.verify(s, 1, (x) => bad.push(x));
    return bad;
  } finally {
    v.close();
  }
}

describe('host: known damage mapped to files, structures and free space (dm-integrity + ext4)', { skip: toolMissing(...EXT4_TOOLS) }, () => {
  let dir: string;
  let v: FsVolume;
  let host: EngineHost;
  let id: string;
  before(async () => {
    dir = tmpDir('host-fsmap-');
    v = ext4Volume(dir);
    host = await EngineHost.create({ dataDir: path.join(dir, 'data'), pollMs: 0 });
    id = (await host.addVolume({ path: v.vol })).id;
    assert.equal(host.listVolumes()[0]!.damage_map?.state, 'none');
    host.startScrub(id);
  });
  after(async () => {
    await host.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('after the scrub the host maps the damage by itself, in a worker; the snapshot counts files, structures, free space', async () => {
    const s = await until(host, id, mapped, 'the mapping');
    const m = s.damage_map as DamageMapSummary;
    assert.equal(s.error_count, 4);
    assert.equal(m.fs, 'ext4');
    assert.equal(m.files_damaged, 1);
    assert.equal(m.metadata_items, 2);
    assert.equal(m.free_sectors, 1);
    assert.equal(m.unmapped_sectors, 0);
    assert.deepEqual(m.stale, []);
    assert.match(m.mapped_at ?? '', /^\d{4}-/);
  });

  it('mapDamage pages one kind at a time; the file as debugfs names it, with its byte range', async () => {
    const files = await host.mapDamage(id, { kind: 'file' });
    assert.equal(files.total_items, 1);
    const f = files.items[0]!;
    assert.ok(f.kind === 'file');
    assert.equal(f.inode, v.spoiled.file.inode);
    assert.deepEqual([...f.paths].sort(), v.spoiled.file.paths);
    assert.deepEqual(f.byte_ranges, [v.spoiled.file.bytes]);
    assert.equal(files.result?.fs, 'ext4');
    assert.equal((files.result as Record<string, unknown>).items, undefined);
    const p1 = await host.mapDamage(id, { kind: 'metadata', limit: 1 });
    assert.equal(p1.total_items, 2);
    assert.equal(p1.next_offset, 1);
    const p2 = await host.mapDamage(id, { kind: 'metadata', limit: 1, offset: 1 });
    assert.equal(p2.next_offset, null);
    assert.deepEqual([p1.items[0]!, p2.items[0]!].map((i) => i.kind === 'metadata' && i.structure).sort(), ['ext4.directory', 'ext4.inode_table']);
    const free = await host.mapDamage(id, { kind: 'free' });
    assert.deepEqual(free.items[0]?.ranges, [[v.spoiled.free.sector, v.spoiled.free.sector + 1]]);
    // the contract's validation (host/protocol.ts) refuses what the schema does not allow
    await assert.rejects(dispatch(host, 'mapDamage', [id, { kind: 'files' }]), /kind/);
    await assert.rejects(host.mapDamage(id, { limit: 1000 }), /limit must be 1 to 200/);
  });

  it('a new mapping runs in a worker thread: the host answers while it runs, and says "mapping"', async () => {
    const p = host.mapDamage(id, { refresh: true });
    const during = await new Promise<string | undefined>((r) => setImmediate(() => r(host.listVolumes()[0]!.damage_map?.state)));
    assert.equal(during, 'mapping');
    await p;
    assert.equal(host.listVolumes()[0]!.damage_map?.state, 'mapped');
  });

  it('exports carry what each range holds (JSON holds, CSV holds column)', async () => {
    const json = path.join(dir, 'e.json');
    await host.exportErrors(id, { format: 'json', path: json });
    const j = JSON.parse(fs.readFileSync(json, 'utf8')) as {
      mapping: { fs: string; files_damaged: number };
      ranges: Array<{ first_sector: number; holds: Array<Record<string, unknown>> }>;
    };
    assert.equal(j.mapping.fs, 'ext4');
    assert.equal(j.mapping.files_damaged, 1);
    const row = j.ranges.find((r) => r.first_sector === v.spoiled.file.sector)!;
    assert.equal(row.holds.length, 1);
    assert.equal(row.holds[0]!.kind, 'file');
    assert.equal(row.holds[0]!.inode, v.spoiled.file.inode);
    assert.deepEqual(row.holds[0]!.bytes, [v.spoiled.file.bytes]);
    assert.equal(j.ranges.find((r) => r.first_sector === v.spoiled.dir.sector)!.holds[0]!.structure, 'ext4.directory');
    assert.equal(j.ranges.find((r) => r.first_sector === v.spoiled.free.sector)!.holds[0]!.kind, 'free');
    const csv = path.join(dir, 'e.csv');
    await host.exportErrors(id, { format: 'csv', path: csv });
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    assert.ok(lines[0]!.endsWith(',last_byte,holds'));
    const fileRow = lines.find((l) => l.startsWith(`bad,${v.spoiled.file.sector},`))!;
    assert.match(fileRow, new RegExp(`,"file /docs/(old/)?report(-link)?\\.bin \\(inode ${v.spoiled.file.inode}, 2 paths\\) bytes 5120-5631"$`));
    assert.match(lines.find((l) => l.startsWith(`bad,${v.spoiled.free.sector},`))!, /,"free space \(harmless\)"$/);
  });

  it('rewrite free blocks: asks first naming them; writes only the free block, which then verifies; the rest stays bad', async () => {
    const s = v.spoiled;
    // confirm without having been asked: asked first all the same
    const q = await refusal(host.rewriteFreeBlocks(id, { confirm: true }));
    assert.equal(q.code, 'ECONFIRM');
    assert.match(
      q.message,
      new RegExp(
        `^Rewrite 1 bad block\\(s\\) of fs-volume\\.img \\(512 bytes: sector ${s.free.sector.toLocaleString('en-US')}\\) with zeros and a valid tag\\? ext4 says they are free`,
      ),
    );
    assert.match(q.message, /through the journal/);
    assert.match(q.message, /The other 3 known bad sector\(s\) are not free and are not touched/);
    assert.deepEqual(badIn(v.vol, [s.free.sector, s.file.sector, s.dir.sector, s.itable.sector]), [
      s.free.sector,
      s.file.sector,
      s.dir.sector,
      s.itable.sector,
    ]);
    const r = await host.rewriteFreeBlocks(id, { confirm: true });
    assert.equal(r.blocks, 1);
    assert.deepEqual(r.ranges, [[s.free.sector, s.free.sector + 1]]);
    assert.equal(r.fs, 'ext4');
    assert.deepEqual(badIn(v.vol, [s.free.sector, s.file.sector, s.dir.sector, s.itable.sector]), [s.file.sector, s.dir.sector, s.itable.sector]);
    const ro = openVolume(v.vol, { readOnly: true });
    const buf = Buffer.alloc(512, 1);
    ro.target.read(s.free.sector, 1, buf, 0);
    ro.close();
    assert.ok(buf.equals(Buffer.alloc(512)));
    // the volume changed: the mapping says so until it has been made again (by itself, the volume being idle)
    const after = host.listVolumes()[0]!;
    assert.deepEqual(after.damage_map?.rewritten?.blocks, 1);
    const again = await until(host, id, mapped, 'the mapping after the rewrite');
    assert.equal(again.damage_map?.free_sectors, 1);
    // asked again after a change of the volume: the question is asked again, nothing written
    await refusal(host.rewriteFreeBlocks(id, {})).then((x) => assert.equal(x.code, 'ECONFIRM'));
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(v.vol, t, t);
    assert.equal((await refusal(host.rewriteFreeBlocks(id, { confirm: true }))).code, 'ECONFIRM');
  });

  it('the volume changed since it was mapped: the snapshot says so', async () => {
    await until(host, id, (x) => x.damage_map?.state === 'mapped', 'a mapping');
    const t = new Date(Date.now() + 10_000);
    fs.utimesSync(v.vol, t, t);
    const s = host.listVolumes()[0]!;
    assert.ok(
      s.damage_map?.stale.some((x) => /^the volume changed since it was mapped .*was modified/.test(x)),
      JSON.stringify(s.damage_map?.stale),
    );
  });
});

describe('host: a LUKS2 volume is mapped through dm-crypt with its key; locked, it is not', { skip: toolMissing(...EXT4_TOOLS) }, () => {
  let dir: string;
  let v: FsVolume & { keyFile: string };
  let host: EngineHost;
  let id: string;
  before(async () => {
    dir = tmpDir('host-fsmap-luks-');
    v = await ext4LuksVolume(dir);
    host = await EngineHost.create({ dataDir: path.join(dir, 'data'), pollMs: 0 });
    id = (await host.addVolume({ path: v.vol, luksSecret: { file: v.keyFile } })).id;
    host.startScrub(id);
  });
  after(async () => {
    await host.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('mapped after the scrub; the free sector rewritten through dm-crypt authenticates again', async () => {
    const s = await until(host, id, mapped, 'the mapping');
    assert.equal(s.error_count, 4);
    assert.equal(s.damage_map?.fs, 'ext4');
    assert.equal(s.damage_map?.free_sectors, 1);
    const q = await refusal(host.rewriteFreeBlocks(id, {}));
    assert.equal(q.code, 'ECONFIRM');
    assert.match(q.message, /through dm-crypt \(plaintext zeros, each sector with a new IV and tag\)/);
    const r = await host.rewriteFreeBlocks(id, { confirm: true });
    assert.deepEqual(r.ranges, [[v.spoiled.free.sector, v.spoiled.free.sector + 1]]);
    const seg = segmentFromLuks(readLuks2Header(v.vol));
    const { volumeKey } = await unlockLuks2(v.vol, { keyFile: v.keyFile });
    const cv = openCryptVolume(v.vol, seg, volumeKey);
    try {
      const bad: number[] = [];
      cv.read(0, cv.sectors, null, 0, (x) => bad.push(x));
      assert.deepEqual(
        bad,
        [v.spoiled.itable.sector, v.spoiled.dir.sector, v.spoiled.file.sector].sort((a, b) => a - b),
      );
    } finally {
      cv.close();
      volumeKey.fill(0);
    }
  });

  it('after a restart the volume is locked: the mapping is unavailable, and says why', async () => {
    await host.close();
    host = await EngineHost.create({ dataDir: path.join(dir, 'data'), pollMs: 0 });
    const s = host.listVolumes()[0]!;
    assert.equal(s.damage_map?.state, 'unavailable');
    assert.match(s.damage_map?.reason ?? '', /^Unlock it with its passphrase: its file system is inside the encryption/);
    const r = await refusal(host.mapDamage(id, {}));
    assert.equal(r.code, 'EKEY');
  });
});
