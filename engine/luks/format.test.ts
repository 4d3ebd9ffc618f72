import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { formatLuks2Header, readLuks2Header, unlockLuks2, NoKeyError } from './index.js';
import { skipOption } from '../../testing/unavailable.js';
import { must } from '../../testing/must.js';

const cryptsetup = spawnSync('sh', ['-c', 'command -v cryptsetup'], { encoding: 'utf8' }).stdout.trim();
const skip = skipOption(cryptsetup ? false : 'cryptsetup is not installed (apt-get install cryptsetup-bin)');

function image(size = 20 << 20): { dir: string; img: string; pw: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'luks-fmt-'));
  const img = path.join(dir, 'v.img');
  fs.writeFileSync(img, '');
  fs.truncateSync(img, size);
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'our secret');
  return { dir, img, pw };
}

const cases = [
  {
    name: 'hmac-sha256 + aes-xts-random, pbkdf2',
    o: { integrity: 'hmac-sha256', pbkdf: 'pbkdf2' as const, pbkdfIterations: 1000 },
    dump: ['cipher: aes-xts-random', 'integrity: hmac(sha256)', 'Key:        768 bits', 'PBKDF:      pbkdf2'],
  },
  {
    name: 'hmac-sha256 + aes-xts-plain64 (a computed IV), pbkdf2',
    o: { integrity: 'hmac-sha256', cipher: 'aes-xts-plain64', pbkdf: 'pbkdf2' as const, pbkdfIterations: 1000 },
    dump: ['cipher: aes-xts-plain64', 'integrity: hmac(sha256)', 'Key:        768 bits'],
  },
  {
    name: 'aead + aes-gcm-random, 4096-byte sectors, argon2id',
    o: { integrity: 'aead', cipher: 'aes-gcm-random', sectorSize: 4096, pbkdf: 'argon2id' as const, pbkdfIterations: 4, pbkdfMemory: 16384, pbkdfParallel: 2 },
    dump: ['cipher: aes-gcm-random', 'integrity: aead', 'sector: 4096 [bytes]', 'PBKDF:      argon2id', 'Memory:     16384', 'Threads:    2'],
  },
  {
    name: 'poly1305 + chacha20-random, argon2i',
    o: { integrity: 'poly1305', cipher: 'chacha20-random', pbkdf: 'argon2i' as const, pbkdfIterations: 4, pbkdfMemory: 8192, pbkdfParallel: 1 },
    dump: ['cipher: chacha20-random', 'integrity: poly1305', 'PBKDF:      argon2i'],
  },
  {
    name: 'aegis128-random aead, 128-bit key, label',
    o: { integrity: 'aead', cipher: 'aegis128-random', keySize: 128, pbkdf: 'pbkdf2' as const, pbkdfIterations: 1000, label: 'our-label' },
    dump: ['cipher: aegis128-random', 'Key:        128 bits', 'Label:         \tour-label'],
  },
  {
    name: 'plain aes-xts-plain64 (no integrity)',
    o: { pbkdf: 'pbkdf2' as const, pbkdfIterations: 1000 },
    dump: ['cipher: aes-xts-plain64', 'Key:        512 bits'],
  },
];

for (const c of cases) {
  test(`formatLuks2Header (${c.name}): cryptsetup luksDump reads it, open --test-passphrase accepts it, volume key matches`, { skip }, async () => {
    const { img, pw } = image();
    const { info, volumeKey } = await formatLuks2Header(img, { secret: { keyFile: pw }, ...c.o });
    assert.equal(info.dataSegment.offset, 16 << 20);
    const dump = spawnSync(cryptsetup, ['luksDump', img], { encoding: 'utf8' });
    assert.equal(dump.status, 0, dump.stderr);
    for (const line of c.dump) assert.ok(dump.stdout.includes(line), `luksDump lacks "${line}":\n${dump.stdout}`);
    const open = spawnSync(cryptsetup, ['open', '--test-passphrase', '--key-file', pw, img], { encoding: 'utf8' });
    assert.equal(open.status, 0, open.stderr);
    const wrong = spawnSync(cryptsetup, ['open', '--test-passphrase', '--key-file', '-', img], { input: 'nope', encoding: 'utf8' });
    assert.notEqual(wrong.status, 0);
    const vk = spawnSync(cryptsetup, ['luksDump', '--dump-volume-key', '--batch-mode', '--key-file', pw, img], { encoding: 'utf8' });
    assert.equal(vk.status, 0, vk.stderr);
    const hex = must(vk.stdout.split('MK dump:')[1], 'MK dump in luksDump --dump-volume-key').replace(/[^0-9a-f]/g, '');
    assert.equal(hex, volumeKey.toString('hex'));
    const r = await unlockLuks2(img, { passphrase: Buffer.from('our secret') });
    assert.ok(r.volumeKey.equals(volumeKey));
    await assert.rejects(unlockLuks2(img, { passphrase: Buffer.from('nope') }), NoKeyError);
  });
}

test('formatLuks2Header refuses before writing: too small, bad integrity, weak pbkdf2', async () => {
  const small = image(16 << 20);
  await assert.rejects(formatLuks2Header(small.img, { secret: { keyFile: small.pw }, pbkdf: 'pbkdf2', pbkdfIterations: 1000 }), /too small/);
  assert.ok(
    fs.readFileSync(small.img).every((b) => b === 0),
    'nothing written',
  );
  const { img, pw } = image();
  await assert.rejects(formatLuks2Header(img, { secret: { keyFile: pw }, integrity: 'crc32c' }), /not one LUKS2 supports/);
  await assert.rejects(formatLuks2Header(img, { secret: { keyFile: pw }, pbkdf: 'pbkdf2', pbkdfIterations: 10 }), /too low/);
  const head = Buffer.alloc(1 << 20);
  fs.readSync(fs.openSync(img, 'r'), head, 0, head.length, 0);
  assert.ok(
    head.every((b) => b === 0),
    'nothing written',
  );
  assert.throws(() => readLuks2Header(img), /not a valid LUKS device/);
});

test('our JSON has the shape cryptsetup 2.6.1 wrote for luksFormat --integrity hmac-sha256 (fixture a): same keys, same order, same layout', async () => {
  const { unpackLuksFixture } = await import('../../testing/luks-fixtures.js');
  const jsonOf = (p: string) => {
    const b = fs.readFileSync(p).subarray(4096, 16384);
    return JSON.parse(b.subarray(0, b.indexOf(0)).toString());
  };
  const shape = (v: unknown): unknown =>
    v && typeof v === 'object' ? (Array.isArray(v) ? v.map(shape) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))) : typeof v;
  const theirs = jsonOf(unpackLuksFixture('a'));
  delete theirs.keyslots['1'];
  theirs.digests['0'].keyslots = ['0'];
  const { img, pw } = image();
  await formatLuks2Header(img, { secret: { keyFile: pw }, integrity: 'hmac-sha256', pbkdf: 'pbkdf2', pbkdfIterations: 1000 });
  const ours = jsonOf(img);
  assert.deepEqual(JSON.stringify(shape(ours)), JSON.stringify(shape(theirs)));
  assert.deepEqual(ours.segments, theirs.segments);
  assert.deepEqual(ours.config, theirs.config);
  assert.deepEqual(ours.keyslots['0'].area, theirs.keyslots['0'].area);
  assert.deepEqual(ours.keyslots['0'].af, theirs.keyslots['0'].af);
  assert.equal(ours.keyslots['0'].key_size, theirs.keyslots['0'].key_size);
});
