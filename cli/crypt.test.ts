// The CLI on LUKS2 authenticated volumes, through bin/integrity-studio.js as a user runs it: detection by the
// magic, key file / refused prompt without a terminal, the kernel's wrong-passphrase words, verify and scrub
// naming the kernel's failing sectors (exit 4), scrub resumable and writing 0 bytes, luks-format → write → read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../testing/golden.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
const manifest: Array<{ name: string; file: string; flip_bytes?: Array<[number, number]>; kernel_aead_error_sectors?: number[] }> = JSON.parse(
  fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8'),
).images;
fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'crypt-cli-'));
const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
const run = (args: string[], input?: Buffer) => spawnSync(process.execPath, [BIN, ...args], { env, input, maxBuffer: 64 << 20 });
const pw = path.join(dir, 'pw');
fs.writeFileSync(pw, 'golden-pass');

function image(name: string): string {
  const g = manifest.find((m) => m.name === name)!;
  const raw = zlib.gunzipSync(fs.readFileSync(path.join(TESTDATA, g.file)));
  for (const [pos, x] of g.flip_bytes ?? []) raw[pos]! ^= x;
  const p = path.join(dir, `${name}.img`);
  fs.writeFileSync(p, raw);
  return p;
}

test("cli: LUKS2 detected by its magic; no key file and no terminal is refused; a wrong passphrase gets cryptsetup's words", () => {
  const p = image('gcm-512');
  let r = run(['verify', p]);
  assert.equal(r.status, 1);
  assert.match(String(r.stderr), /stdin is not a terminal: give --key-file/);
  const bad = path.join(dir, 'bad');
  fs.writeFileSync(bad, 'nope');
  r = run(['verify', p, '--key-file', bad]);
  assert.equal(r.status, 1);
  assert.equal(String(r.stderr).trim(), 'integrity-studio: No key available with this passphrase.');
  r = run(['status', p, '--json']);
  assert.equal(r.status, 0, String(r.stderr));
  // every field, against what cryptsetup and the kernel made (manifest) and the on-disk headers: LUKS2's binary
  // header holds the uuid at byte 168; dm-integrity's superblock (at the segment) tag_size at 10, journal_sections at 12
  const g = manifest.find((m) => m.name === 'gcm-512')! as (typeof manifest)[number] & {
    segment: { offset: number; encryption: string; sector_size: number; integrity: string };
    mapped_sectors: number;
    dm_table: string[];
  };
  const raw = fs.readFileSync(p);
  const sb = raw.subarray(g.segment.offset);
  assert.equal(sb.subarray(0, 8).toString('latin1'), 'integrt\0');
  assert.deepEqual(JSON.parse(String(r.stdout)), {
    device: p,
    type: 'LUKS2',
    state: 'locked (no key needed for status)',
    uuid: raw
      .subarray(168, 168 + 40)
      .toString('latin1')
      .replace(/\0+$/, ''),
    cipher: g.segment.encryption,
    integrity: g.segment.integrity,
    sector_size: g.segment.sector_size,
    segment_offset: g.segment.offset,
    tag_size: Number(/integrity:(\d+):aead/.exec(g.dm_table[0]!)![1]),
    provided_data_sectors: g.mapped_sectors,
    journal_sections: sb.readUInt32LE(12),
    journal_entries_to_replay: 0,
    scrub: null,
  });
  assert.equal(sb.readUInt16LE(10), 28, "the superblock's tag size is the dm table's");
});

test("cli: verify and scrub list exactly the kernel's failing sectors (exit 4); scrub writes nothing to the volume", () => {
  const g = manifest.find((m) => m.name === 'corrupt-xts-hmac256-512')!;
  const p = image(g.name);
  const before = fs.readFileSync(p);
  let r = run(['verify', p, '--key-file', pw, '--json']);
  assert.equal(r.status, 4, String(r.stderr));
  assert.deepEqual(JSON.parse(String(r.stdout)).bad_sectors, g.kernel_aead_error_sectors);
  r = run(['scrub', p, '--key-file', pw]);
  assert.equal(r.status, 4);
  for (const s of g.kernel_aead_error_sectors!) assert.match(String(r.stdout), new RegExp(`INTEGRITY AEAD ERROR, sector ${s}\\n`));
  assert.match(String(r.stdout), /scrub done: .*3 failed authentication; 0 bytes written/);
  assert.ok(fs.readFileSync(p).equals(before));
  r = run(['read', p, '--key-file', pw, '--offset', String(100 * 512), '--length', '512']);
  assert.equal(r.status, 4);
  assert.match(String(r.stderr), /INTEGRITY AEAD ERROR, sector 100/);
  assert.equal(r.stdout.length, 0, 'nothing of a failing sector is output');
  r = run(['status', p]);
  assert.match(String(r.stdout), /scrub: done at sector 952 of 952, 3 failing sector/);
});

test('cli: luks-format (wiped), write through the journal, read back, replay, status', () => {
  const p = path.join(dir, 'new.img');
  fs.writeFileSync(p, '');
  fs.truncateSync(p, 18 << 20);
  let r = run([
    'luks-format',
    p,
    '--integrity',
    'aead',
    '--cipher',
    'aes-gcm-random',
    '--key-size',
    '256',
    '--sector-size',
    '4096',
    '--pbkdf',
    'pbkdf2',
    '--pbkdf-force-iterations',
    '1000',
    '--key-file',
    pw,
  ]);
  assert.equal(r.status, 1, 'without --batch-mode and no terminal: refused');
  assert.ok(fs.readFileSync(p).equals(Buffer.alloc(18 << 20)), 'nothing written when refused');
  r = run([
    'luks-format',
    p,
    '--integrity',
    'aead',
    '--cipher',
    'aes-gcm-random',
    '--key-size',
    '256',
    '--sector-size',
    '4096',
    '--pbkdf',
    'pbkdf2',
    '--pbkdf-force-iterations',
    '1000',
    '--key-file',
    pw,
    '--batch-mode',
    '--json',
  ]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.equal(JSON.parse(String(r.stdout)).tag_size, 28);
  const data = crypto.randomBytes(3 * 4096);
  r = run(['write', p, '--key-file', pw, '--offset', '8192'], data);
  assert.equal(r.status, 0, String(r.stderr));
  r = run(['read', p, '--key-file', pw, '--offset', '8192', '--length', String(data.length)]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.ok(Buffer.from(r.stdout).equals(data));
  r = run(['verify', p, '--key-file', pw]);
  assert.equal(r.status, 0, String(r.stdout));
  r = run(['write', p, '--key-file', pw, '--offset', '100'], data);
  assert.equal(r.status, 1);
  assert.equal(String(r.stderr), 'integrity-studio: offset 100 is not a multiple of 512\n');
  // a whole 512-byte sector, but not a whole 4096-byte encryption sector
  r = run(['write', p, '--key-file', pw, '--offset', '512'], data);
  assert.equal(r.status, 1);
  assert.equal(String(r.stderr), `integrity-studio: write must be aligned to the 4096-byte encryption sector size (sector 1, ${data.length / 512} sectors)\n`);
  r = run(['replay', p, '--key-file', pw]);
  assert.equal(r.status, 0, String(r.stderr));
});

test('cli: usage errors of the crypt commands exit 2 like the other commands, nothing written', () => {
  const p = image('gcm-512');
  const before = fs.readFileSync(p);
  const cases: Array<[string[], RegExp]> = [
    [['luks-format', '--batch-mode', '--key-file', pw, '--integrity', 'aead'], /luks-format needs exactly one DEVICE/],
    [['luks-format', '--batch-mode', '--key-file', pw, '--integrity', 'aead', '--pbkdf', 'scrypt', p], /--pbkdf scrypt: use argon2id, argon2i or pbkdf2/],
    [['luks-format', '--batch-mode', '--key-file', pw, '--type', 'luks1', p], /only luks2/],
    [['luks-format', '--batch-mode', '--key-file', pw, '--integrity', 'aead', '--key-size', 'big', p], /--key-size big is not a non-negative integer/],
    [['write', p, '--key-file', pw], /write needs --offset BYTES/],
    [['read', p, '--key-file', pw, '--offset', '100', '--length', '512'], /multiples of the 512-byte encryption sector size/],
    [['read', p, '--key-file', pw, '--no-such-option'], /no-such-option/],
  ];
  for (const [args, msg] of cases) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, ${r.stderr}`);
    assert.match(String(r.stderr), msg);
  }
  assert.ok(fs.readFileSync(p).equals(before));
});
