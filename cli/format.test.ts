// format: the plan reproduces every kernel-made golden superblock and geometry from its format command and
// device sizes; formatting + the golden image's own direct writes gives the golden image byte for byte;
// refusals and invalid options write nothing; the wipe leaves every block verifying as zeroes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { goldenManifest, goldenPath, patternSector, sha256File, tmpDir, type GoldenImage } from '../testing/golden.js';
import { planFormat, formatVolume, parseSize, KERNEL_MAX_TAG_SIZE, type FormatOptions } from '../engine/commands/format.js';
import { openVolume, superblockBytes } from '../engine/volume.js';
import { openWritable } from '../engine/integrity/writable.js';
import { SB_FLAG_RECALCULATING, SECTOR_SIZE, decodeSuperblock } from '../engine/layout/superblock.js';
import { cmdFormat, progressBar } from './format.js';
import { main } from './main.js';
import { spawnSync } from 'node:child_process';
import { skipUnless } from '../testing/unavailable.js';

const dir = tmpDir('format-');

/** integritysetup format options of a golden image as FormatOptions (keys from keys_hex, the image's salt) */
function goldenFormatOptions(im: GoldenImage): FormatOptions {
  const w = im.format_command.split(/\s+/).slice(2);
  const keys = im.keys_hex ?? {};
  const o: FormatOptions = { salt: Buffer.from(im.superblock.salt, 'hex') };
  for (let i = 0; i < w.length; i++) {
    const a = w[i]!;
    const next = () => w[++i]!;
    switch (a) {
      case '--batch-mode':
        break;
      case '--sector-size':
        o.sectorSize = Number(next());
        break;
      case '--integrity':
        o.integrity = next();
        break;
      case '--integrity-key-file':
        next();
        o.integrityKey = Buffer.from(keys.integrity_key!, 'hex');
        break;
      case '--journal-integrity':
        o.journalIntegrity = next();
        break;
      case '--journal-integrity-key-file':
        next();
        o.journalIntegrityKey = Buffer.from(keys.journal_integrity_key!, 'hex');
        break;
      case '--journal-crypt':
        o.journalCrypt = next();
        break;
      case '--journal-crypt-key-file':
        next();
        o.journalCryptKey = Buffer.from(keys.journal_crypt_key!, 'hex');
        break;
      case '--integrity-key-size':
      case '--journal-integrity-key-size':
      case '--journal-crypt-key-size':
        next();
        break;
      case '--journal-size':
        o.journalSize = Number(next());
        break;
      case '--interleave-sectors':
        o.interleaveSectors = Number(next());
        break;
      case '--no-wipe':
        o.noWipe = true;
        break;
      case '--data-device':
        o.dataDevice = next();
        break;
      default:
        if (!a.startsWith('/dev/')) throw new Error(`unhandled golden format option ${a}`);
    }
  }
  return o;
}

for (const im of goldenManifest()) {
  test(`plan reproduces golden ${im.name}: superblock, geometry and the superblock bytes the kernel wrote`, () => {
    const o = goldenFormatOptions(im);
    const metaSectors = im.files[0]!.raw_size / SECTOR_SIZE;
    const dataSectors = o.dataDevice ? im.files[1]!.raw_size / SECTOR_SIZE : undefined;
    const plan = planFormat(o, metaSectors, dataSectors);
    const want = { ...im.superblock } as Record<string, unknown>;
    delete want.flag_names;
    if (im.name === 'k-recalc-midway') {
      // the kernel set recalculating at the later `open --integrity-recalculate`, not at format
      want.flags = (want.flags as number) & ~SB_FLAG_RECALCULATING;
      want.recalc_sector = 0;
    }
    const got = { ...plan.superblock, salt: plan.superblock.salt.toString('hex') };
    assert.deepEqual(got, want);
    for (const [k, v] of Object.entries(im.geometry)) {
      if (v === null) assert.equal(plan.geometry.meta_dev, true, k);
      else assert.equal((plan.geometry as unknown as Record<string, number>)[k], v, `geometry ${k}`);
    }
    if (im.name !== 'k-recalc-midway') {
      const disk = Buffer.alloc(4096);
      const fd = fs.openSync(goldenPath(im.files[0]!), 'r');
      fs.readSync(fd, disk, 0, 4096, 0);
      fs.closeSync(fd);
      assert.ok(superblockBytes(plan.superblock, o).equals(disk), 'the 8-sector superblock area is byte-identical (sb MAC included)');
    }
  });
}

for (const name of ['g-direct', 'e-bitmap']) {
  test(`format + the same direct writes as golden ${name} gives the kernel's image byte for byte (journal, tags of the wipe)`, () => {
    const im = goldenManifest().find((i) => i.name === name)!;
    const img = path.join(dir, `${name}.img`);
    fs.rmSync(img, { force: true });
    formatVolume(img, { ...goldenFormatOptions(im), size: im.files[0]!.raw_size });
    const w = openWritable(img, { mode: 'direct' });
    for (const wr of im.writes as { start_sector: number; sectors: number }[]) {
      const buf = Buffer.concat(Array.from({ length: wr.sectors }, (_, i) => patternSector((im.data_rule as { tag: string }).tag, wr.start_sector + i)));
      w.write(wr.start_sector * SECTOR_SIZE, buf);
    }
    w.close();
    assert.equal(sha256File(img), im.files[0]!.raw_sha256);
  });
}

test('the wipe leaves every block verifying and reading as zeroes (512- and 4096-byte sectors, data device)', () => {
  for (const [name, o] of [
    ['w512', { size: 1 << 20 }],
    ['w4096', { size: 2 << 20, sectorSize: 4096, integrity: 'sha256' }],
    ['wlegacy', { size: 1 << 20, legacyPadding: true, legacyHmac: true, interleaveSectors: 64 }],
  ] as [string, FormatOptions][]) {
    const img = path.join(dir, `${name}.img`);
    fs.rmSync(img, { force: true });
    const r = formatVolume(img, o);
    assert.equal(r.wiped_sectors, r.plan.superblock.provided_data_sectors);
    const vol = openVolume(img, { integrity: o.integrity, readOnly: true });
    const buf = Buffer.alloc(vol.geometry.provided_data_sectors * SECTOR_SIZE, 0xaa);
    assert.equal(
      vol.target.read(0, vol.geometry.provided_data_sectors, buf, 0, () => {}),
      0,
      `${name}: no mismatch`,
    );
    assert.ok(
      buf.every((b) => b === 0),
      `${name}: zeroes`,
    );
    vol.close();
  }
  const meta = path.join(dir, 'dd-meta.img');
  const data = path.join(dir, 'dd-data.img');
  fs.rmSync(meta, { force: true });
  fs.writeFileSync(data, Buffer.alloc(2 << 20, 0x55));
  const r = formatVolume(meta, { size: 256 << 10, dataDevice: data, force: true });
  assert.equal(r.plan.superblock.log2_interleave_sectors, 0);
  assert.equal(r.plan.superblock.flags & 0x8, 0, 'no fix_padding with a data device');
  const vol = openVolume(meta, { dataDevice: data, readOnly: true });
  const st = vol.target.verify(0, vol.geometry.provided_data_sectors, () => assert.fail('mismatch'));
  assert.equal(st, 0);
  assert.ok(fs.readFileSync(data).every((b) => b === 0));
  vol.close();
});

test('--no-wipe --integrity-recalculate: data kept, recalculating from sector 0, unverified reads', () => {
  const img = path.join(dir, 'recalc.img');
  const content = Buffer.concat(Array.from({ length: 2048 }, (_, i) => patternSector('r', i)));
  fs.writeFileSync(img, content);
  const before = Buffer.from(content);
  const r = formatVolume(img, { noWipe: true, integrityRecalculate: true, interleaveSectors: 256 });
  assert.equal(r.wiped, false);
  const sb = decodeSuperblock(fs.readFileSync(img).subarray(0, 512));
  assert.equal(sb.flags, 0x1a);
  assert.equal(sb.recalc_sector, 0);
  const after = fs.readFileSync(img);
  const vol = openVolume(img, { readOnly: true });
  const g = vol.geometry;
  // the first data run is untouched
  const d0 = (g.initial_sectors + g.metadata_run) * SECTOR_SIZE;
  assert.ok(after.subarray(d0, d0 + 256 * SECTOR_SIZE).equals(before.subarray(d0, d0 + 256 * SECTOR_SIZE)));
  assert.equal(vol.target.uncheckedReason(0), 'recalculating');
  vol.close();
});

test('refusals and invalid options write nothing (hash before/after) and say what is wrong in one line', () => {
  const img = path.join(dir, 'ext4.img');
  const buf = Buffer.alloc(1 << 20);
  buf.writeUInt16LE(0xef53, 1080);
  buf.writeUInt32LE(0x2c0, 1024 + 96);
  fs.writeFileSync(img, buf);
  const sha = sha256File(img);
  const cases: [FormatOptions, RegExp][] = [
    [{}, /ext4\.img holds an ext4 filesystem; use --force to overwrite it/],
    [{ force: true, confirm: () => false }, /Operation aborted/],
    [{ force: true, tagSize: 0 }, /invalid --tag-size 0/],
    [{ force: true, tagSize: KERNEL_MAX_TAG_SIZE + 1 }, /invalid --tag-size 256/],
    [{ force: true, sectorSize: 1000 }, /invalid --sector-size 1000/],
    [{ force: true, sectorSize: 8192 }, /invalid --sector-size 8192/],
    [{ force: true, interleaveSectors: 1000 }, /invalid --interleave-sectors 1000/],
    [{ force: true, integrity: 'md4' }, /unsupported integrity algorithm "md4"/],
    [{ force: true, integrity: 'hmac-sha256' }, /needs a key/],
    [{ force: true, integrity: 'crc32c', integrityKey: Buffer.alloc(4) }, /takes no key/],
    [{ force: true, journalSize: 2 << 20 }, /too small .*try a smaller --journal-size/],
    [{ force: true, integrity: 'sha256', tagSize: 64 }, /first interleave area's tags \(2097152 bytes .*try a smaller --interleave-sectors/],
    [{ force: true, integrity: 'hmac-sha256', integrityKey: Buffer.alloc(32), integrityRecalculate: true }, /needs --journal-integrity/],
    [{ force: true, size: 1 << 20 }, /already exists/],
    [{ force: true, dataDevice: path.join(dir, 'nope') }, /no such file/],
    [{ force: true, dataDevice: img }, /is the device itself/],
  ];
  for (const [o, re] of cases) {
    assert.throws(
      () => formatVolume(img, o),
      (e: Error) => re.test(e.message) && !e.message.includes('\n'),
      `${JSON.stringify(o)}`,
    );
    assert.equal(sha256File(img), sha, `nothing written for ${JSON.stringify(o)}`);
  }
  // a device too small, and --size for a path that does not exist leaves no file behind on failure
  const small = path.join(dir, 'small.img');
  fs.writeFileSync(small, Buffer.alloc(8192));
  assert.throws(() => formatVolume(small, {}), /too small/);
  assert.ok(fs.readFileSync(small).every((b) => b === 0));
  const none = path.join(dir, 'none.img');
  assert.throws(() => formatVolume(none, {}), /give --size/);
  assert.throws(() => formatVolume(none, { size: 16384 }), /too small/);
  assert.equal(fs.existsSync(none), false);
  assert.throws(() => formatVolume('/dev/integrity-studio-no-such-disk', { size: 1 << 20 }), /no such device \(--size creates image files, not device nodes\)/);
  // with --force the magic is erased
  const r = formatVolume(img, { force: true, confirm: () => true });
  assert.deepEqual(
    r.signatures_overwritten.map((s) => s.type),
    ['ext4'],
  );
  assert.equal(fs.readFileSync(img).readUInt16LE(1080) === 0xef53, false);
});

test('a data device with content is refused unless --force, and kept (not probed) with --no-wipe', () => {
  const meta = path.join(dir, 'xfs-meta.img');
  const data = path.join(dir, 'xfs-data.img');
  fs.writeFileSync(meta, Buffer.alloc(256 << 10));
  const d = Buffer.alloc(1 << 20, 0x11);
  d.write('XFSB', 0);
  fs.writeFileSync(data, d);
  const shaM = sha256File(meta);
  const shaD = sha256File(data);
  assert.throws(() => formatVolume(meta, { dataDevice: data }), /xfs-data\.img holds an xfs filesystem; use --force/);
  assert.equal(sha256File(meta), shaM);
  assert.equal(sha256File(data), shaD);
  const r = formatVolume(meta, { dataDevice: data, noWipe: true, integrityRecalculate: true });
  assert.equal(r.wiped, false);
  assert.equal(sha256File(data), shaD, '--no-wipe leaves the data device as it was');
});

test('journal MAC + encryption: the formatted journal opens with the keys (sb MAC, section MACs) and not without them', () => {
  const img = path.join(dir, 'jmac.img');
  fs.rmSync(img, { force: true });
  const keys = { journalIntegrity: 'hmac-sha256', journalIntegrityKey: Buffer.alloc(32, 7), journalCrypt: 'ctr-aes', journalCryptKey: Buffer.alloc(32, 9) };
  const r = formatVolume(img, { size: 1 << 20, ...keys });
  assert.equal(r.plan.superblock.flags, 0x19);
  const vol = openVolume(img, { ...keys, readOnly: true });
  assert.equal(vol.replay?.writes.length, 0, 'an empty journal');
  assert.equal(vol.replay?.clear_reason, null, 'consistent commit ids after decryption');
  assert.equal(
    vol.target.verify(0, vol.geometry.provided_data_sectors, () => {}),
    0,
  );
  vol.close();
  assert.throws(() => openVolume(img, { ...keys, journalIntegrityKey: Buffer.alloc(32, 8), readOnly: true }), /superblock MAC mismatch/);
  assert.throws(() => openVolume(img, { readOnly: true }), /journal MAC/);
});

test('parseSize', () => {
  assert.equal(parseSize('64M'), 64 << 20);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('1GiB'), 1 << 30);
  assert.throws(() => parseSize('12Q'), /invalid size/);
});

test('CLI format: confirmation, non-terminal refusal, --json, progress bar on a terminal', async () => {
  const img = path.join(dir, 'cli.img');
  fs.rmSync(img, { force: true });
  const io = () => {
    const r = { out: '', err: '' };
    return { r, io: { out: (s: string) => (r.out += s), err: (s: string) => (r.err += s) } };
  };
  // not a terminal, no --batch-mode: refused before anything
  {
    const x = io();
    const code = await main(['format', img, '--size', '1M'], { ...x.io, stdout: process.stdout });
    assert.equal(code, 1);
    assert.match(x.r.err, /stdin is not a terminal \(add --batch-mode to confirm\)/);
    assert.equal(fs.existsSync(img), false);
  }
  // answer "yes" in small letters: aborted
  {
    const x = io();
    await assert.rejects(cmdFormat([img, '--size', '1M'], x.io, { stdinIsTTY: true, stderrIsTTY: false, ask: () => 'yes' }), /Operation aborted/);
    assert.match(x.r.err, /This will overwrite data on .*cli\.img irrevocably\./);
    assert.equal(fs.existsSync(img), false);
  }
  // YES: formatted, with a progress bar on a "terminal"
  {
    const x = io();
    const code = await cmdFormat([img, '--size', '1M'], x.io, { stdinIsTTY: true, stderrIsTTY: true, ask: () => 'YES' });
    assert.equal(code, 0);
    assert.match(x.r.err, /Wiping \[#+\] 100\.0%/);
    assert.match(x.r.out, /^Formatted with tag size 4, internal integrity crc32c\.\nWiping device to initialize integrity checksum/);
  }
  // --force on a device with content: the question names what will be erased
  {
    const x = io();
    const code = await cmdFormat([img, '--force', '--no-wipe'], x.io, { stdinIsTTY: true, stderrIsTTY: false, ask: () => 'YES' });
    assert.equal(code, 0);
    assert.match(x.r.err, /cli\.img holds a dm-integrity volume: its signature will be erased \(--force\)/);
  }
  // --json, usage errors
  {
    const x = io();
    const code = await main(['format', img, '--batch-mode', '--force', '--json', '--tag-size', '8', '--no-wipe'], { ...x.io, stdout: process.stdout });
    assert.equal(code, 0, x.r.err);
    const j = JSON.parse(x.r.out);
    assert.equal(j.superblock.integrity_tag_size, 8);
    assert.equal(j.wiped, false);
    assert.match(x.r.err, /requested tag size 8 bytes differs from crc32c size output \(4 bytes\)/);
    const y = io();
    assert.equal(await main(['format'], { ...y.io, stdout: process.stdout }), 2);
    assert.equal(await main(['format', img, '--bogus'], { ...y.io, stdout: process.stdout }), 2);
  }
});

test('progress bar shows rate and ETA', () => {
  let s = '';
  let t = 0;
  const bar = progressBar(
    (x) => (s += x),
    'Wiping',
    () => t,
  );
  t = 1000;
  bar.update(2048, 8192);
  bar.end();
  assert.match(s, /25\.0%  1\.0 MiB\/s  ETA 0:03/);
});

test("the host's integritysetup dump reads our formats as ours does (skipped without integritysetup)", async (t) => {
  if (
    skipUnless(
      t,
      spawnSync('sh', ['-c', 'command -v integritysetup || test -x /usr/sbin/integritysetup || test -x /sbin/integritysetup']).status !== 0
        ? 'integritysetup is not installed on this host (apt-get install cryptsetup-bin)'
        : null,
    )
  )
    return;
  const data = path.join(dir, 'hostdump-data.img');
  fs.rmSync(data, { force: true });
  fs.writeFileSync(data, Buffer.alloc(1 << 20));
  const variants: [string, FormatOptions][] = [
    ['default', {}],
    ['s4096-sha256', { sectorSize: 4096, integrity: 'sha256' }],
    ['legacy-hmac', { legacyHmac: true, interleaveSectors: 1024, journalSize: 64 << 10 }],
    ['legacy-both', { legacyHmac: true, legacyPadding: true, tagSize: 7 }],
    ['recalc', { noWipe: true, integrityRecalculate: true }],
    ['jmac', { journalIntegrity: 'hmac-sha256', journalIntegrityKey: Buffer.alloc(32, 7) }],
    ['datadev', { dataDevice: data, sectorSize: 2048 }],
  ];
  for (const [name, o] of variants) {
    const img = path.join(dir, `hostdump-${name}.img`);
    fs.rmSync(img, { force: true });
    formatVolume(img, { ...o, size: name === 'datadev' ? 256 << 10 : 2 << 20, noWipe: true, force: true });
    const h = spawnSync('integritysetup', ['dump', img], { encoding: 'utf8' });
    assert.equal(h.status, 0, `${name}: integritysetup dump: ${h.stderr}`);
    let ours = '';
    let err = '';
    const args = ['dump', img, ...(o.dataDevice ? ['--data-device', o.dataDevice] : [])];
    assert.equal(await main(args, { out: (s) => (ours += s), err: (s) => (err += s), stdout: process.stdout }), 0, `${name}: our dump: ${err}`);
    const body = (s: string) =>
      s
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim());
    assert.deepEqual(body(h.stdout), body(ours), `${name}: integritysetup dump vs ours`);
    assert.ok(body(ours).length >= 8, `${name}: a full dump`);
  }
});
