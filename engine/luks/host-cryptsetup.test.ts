// Headers the host's cryptsetup makes now, with non-default layouts (metadata size, keyslots size, data offset,
// priorities, subsystem, several keyslots): ours parse, dump identically and unlock with cryptsetup's keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readLuks2Header, unlockLuks2, NoKeyError } from './index.js';
import { luksDumpText } from './dump.js';
import { skipOption } from '../../testing/unavailable.js';
import { must } from '../../testing/must.js';

const cs = spawnSync('sh', ['-c', 'command -v cryptsetup'], { encoding: 'utf8' }).stdout.trim();
const skip = skipOption(cs ? false : 'cryptsetup is not installed (apt-get install cryptsetup-bin)');

function run(args: string[], input?: string): string {
  const r = spawnSync(cs, args, { encoding: 'utf8', input });
  assert.equal(r.status, 0, `cryptsetup ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('host cryptsetup headers with other layouts: parsed, dumped as luksDump, unlocked', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'luks-host-'));
  const img = path.join(dir, 'v.img');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, 40 << 20);
  const p1 = path.join(dir, 'p1');
  const p2 = path.join(dir, 'p2');
  const p3 = path.join(dir, 'p3');
  fs.writeFileSync(p1, 'first passphrase');
  fs.writeFileSync(p2, 'second passphrase');
  fs.writeFileSync(p3, 'third passphrase');
  run([
    'luksFormat',
    '--type',
    'luks2',
    '--batch-mode',
    '--key-file',
    p1,
    '--luks2-metadata-size',
    '64k',
    '--luks2-keyslots-size',
    '2m',
    '--offset',
    '8192',
    '--cipher',
    'aes-xts-plain64',
    '--key-size',
    '256',
    '--sector-size',
    '4096',
    '--pbkdf',
    'argon2id',
    '--pbkdf-memory',
    '8192',
    '--pbkdf-force-iterations',
    '4',
    '--pbkdf-parallel',
    '1',
    '--label',
    'host-made',
    '--subsystem',
    'studio',
    '--hash',
    'sha512',
    img,
  ]);
  run(['luksAddKey', '--batch-mode', '--key-file', p1, '--key-slot', '5', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', img, p2]);
  run([
    'luksAddKey',
    '--batch-mode',
    '--key-file',
    p1,
    '--key-slot',
    '7',
    '--pbkdf',
    'argon2i',
    '--pbkdf-memory',
    '8192',
    '--pbkdf-force-iterations',
    '4',
    img,
    p3,
  ]);
  run(['config', '--priority', 'prefer', '--key-slot', '5', img]);
  run(['config', '--priority', 'ignore', '--key-slot', '7', img]);
  const info = readLuks2Header(img);
  assert.equal(info.hdrSize, 65536);
  assert.equal(info.config.keyslotsSize, 2 << 20);
  assert.equal(info.dataSegment.offset, 8192 * 512);
  assert.equal(info.dataSegment.sectorSize, 4096);
  assert.equal(info.subsystem, 'studio');
  assert.deepEqual(
    info.keyslots.map((k) => [k.id, k.priority ?? 1]),
    [
      [0, 1],
      [5, 2],
      [7, 0],
    ],
  );
  assert.equal(luksDumpText(info), run(['luksDump', img]));
  const vk = must(
    run(['luksDump', '--dump-volume-key', '--batch-mode', '--key-file', p1, img]).split('MK dump:')[1],
    'MK dump in luksDump --dump-volume-key',
  ).replace(/[^0-9a-f]/g, '');
  const r1 = await unlockLuks2(img, { keyFile: p1 });
  assert.equal(r1.keyslot, 0);
  assert.equal(r1.volumeKey.toString('hex'), vk);
  const r2 = await unlockLuks2(img, { keyFile: p2 });
  assert.equal(r2.keyslot, 5);
  assert.equal(r2.volumeKey.toString('hex'), vk);
  // an "ignore" keyslot opens only when asked for by number, as cryptsetup
  await assert.rejects(unlockLuks2(img, { keyFile: p3 }), NoKeyError);
  const r3 = await unlockLuks2(img, { keyFile: p3 }, { keyslot: 7 });
  assert.equal(r3.volumeKey.toString('hex'), vk);
  // after cryptsetup rewrote it, a newer secondary wins over an older (but valid) primary: simulate by restoring an old primary
  const before = fs.readFileSync(img).subarray(0, 65536);
  run(['config', '--label', 'relabelled', img]);
  const fd = fs.openSync(img, 'r+');
  fs.writeSync(fd, before, 0, before.length, 0);
  fs.closeSync(fd);
  const i2 = readLuks2Header(img);
  assert.equal(i2.used, 'secondary');
  assert.equal(i2.label, 'relabelled');
  assert.ok(i2.primary.valid && i2.secondary.seqid! > i2.primary.seqid!);
});

test('config flags and requirements dump as cryptsetup luksDump prints them', { skip }, async () => {
  const { headerChecksum, OFF } = await import('./header.js');
  const { unpackLuksFixture } = await import('../../testing/luks-fixtures.js');
  const p = unpackLuksFixture('a');
  const img = fs.readFileSync(p);
  for (const off of [0, 16384]) {
    const area = img.subarray(off + 4096, off + 16384);
    const j = JSON.parse(area.subarray(0, area.indexOf(0)).toString());
    j.config.requirements = { mandatory: ['studio-unknown'] };
    j.config.flags = ['allow-discards', 'no-read-workqueue'];
    area.fill(0);
    Buffer.from(JSON.stringify(j)).copy(area);
    headerChecksum('sha256', img.subarray(off, off + 4096), area).copy(img, off + OFF.csum);
  }
  fs.writeFileSync(p, img);
  assert.equal(luksDumpText(readLuks2Header(p)), run(['luksDump', p]));
});
