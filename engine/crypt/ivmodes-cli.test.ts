// Issue 17 item 12 as a user meets it: a volume `cryptsetup luksFormat --type luks2 --cipher aes-xts-plain64
// --integrity hmac-sha256` made (a kernel-made golden) is verified, read and dumped by bin/integrity-studio.js
// (it was refused: "unsupported authenticated encryption"), its corrupted copy fails exactly the kernel's sectors,
// and luks-format refuses to make an aes-gcm-plain64 volume, saying why, without writing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../testing/golden.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
interface Golden {
  name: string;
  file: string;
  kernel_read_sha256?: string;
  flip_bytes?: Array<[number, number]>;
  kernel_aead_error_sectors?: number[];
}
const manifest: Golden[] = JSON.parse(fs.readFileSync(path.join(TESTDATA, 'manifest.json'), 'utf8')).images;
fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
const dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', 'ivmodes-cli-'));
const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, maxBuffer: 64 << 20 });
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

test('cli: an aes-xts-plain64 + hmac-sha256 volume cryptsetup made verifies, reads what the kernel read, dumps its cipher', () => {
  for (const name of ['xts-plain64-hmac256-512', 'xts-essiv-hmac256-4096', 'gcm-plain64-4096']) {
    const g = manifest.find((m) => m.name === name)!;
    const p = image(name);
    let r = run(['verify', p, '--key-file', pw]);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    // to a file: the read into a pipe is issue 17 item 11's
    const out = path.join(dir, `${name}.out`);
    r = run(['read', p, '--key-file', pw, '--output', out]);
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(crypto.createHash('sha256').update(fs.readFileSync(out)).digest('hex'), g.kernel_read_sha256, name);
    r = run(['luks-dump', p]);
    assert.equal(r.status, 0);
    assert.match(
      String(r.stdout),
      new RegExp(`cipher: ${name.startsWith('gcm') ? 'aes-gcm-plain64' : name.startsWith('xts-essiv') ? 'aes-xts-essiv:sha256' : 'aes-xts-plain64'}\\n`),
    );
  }
});

test("cli: a corrupted aes-xts-plain64 volume fails exactly the kernel's sectors (exit 4)", () => {
  const g = manifest.find((m) => m.name === 'corrupt-xts-plain64-hmac256-512')!;
  const p = image(g.name);
  const r = run(['verify', p, '--key-file', pw, '--json']);
  assert.equal(r.status, 4, String(r.stderr));
  assert.deepEqual(JSON.parse(String(r.stdout)).bad_sectors, g.kernel_aead_error_sectors);
});

test('cli: luks-format refuses aes-gcm-plain64 with the reason and writes nothing', () => {
  const p = path.join(dir, 'new.img');
  fs.writeFileSync(p, '');
  fs.truncateSync(p, 18 << 20);
  const r = run([
    'luks-format',
    p,
    '--batch-mode',
    '--key-file',
    pw,
    '--integrity',
    'aead',
    '--cipher',
    'aes-gcm-plain64',
    '--pbkdf',
    'pbkdf2',
    '--pbkdf-force-iterations',
    '1000',
  ]);
  assert.equal(r.status, 1, String(r.stderr));
  assert.match(String(r.stderr), /luks-format makes no new aes-gcm-plain64 \+ aead volume: .*nonce and keystream repeat/);
  assert.ok(
    fs.readFileSync(p).every((b) => b === 0),
    'nothing written',
  );
});
