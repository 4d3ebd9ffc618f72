// verify --json and scrub --json print one schema (cli/report.ts), plain and LUKS2 volumes alike: a script
// reads `mismatches`, `bad_sectors`, `bad_ranges`, `unchecked` … whatever the volume (LUKS2 said failed_sectors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT, tmpDir } from '../testing/golden.js';
import { formatVolume } from '../engine/commands/format.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
const dir = tmpDir('cli-report-');
const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
const json = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { env, encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 4, `${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};
const REQUIRED = [
  'device',
  'type',
  'command',
  'state',
  'block_size',
  'provided_data_sectors',
  'position_sector',
  'checked_blocks',
  'checked_sectors',
  'unchecked_blocks',
  'unchecked',
  'mismatches',
  'bad_sectors',
  'bad_ranges',
  'read_errors',
  'read_error_ranges',
];

test('verify and scrub --json: the same fields for a plain and a LUKS2 volume, bad blocks named the same way', () => {
  const plain = path.join(dir, 'p.img');
  formatVolume(plain, { size: 8 << 20, force: true });
  const testdata = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
  const m = (
    JSON.parse(fs.readFileSync(path.join(testdata, 'manifest.json'), 'utf8')) as {
      images: Array<{ name: string; file: string; flip_bytes?: Array<[number, number]>; kernel_aead_error_sectors?: number[] }>;
    }
  ).images.find((x) => x.name === 'corrupt-xts-hmac256-512')!;
  const raw = zlib.gunzipSync(fs.readFileSync(path.join(testdata, m.file)));
  for (const [pos, x] of m.flip_bytes ?? []) raw[pos]! ^= x;
  const luks = path.join(dir, 'l.img');
  fs.writeFileSync(luks, raw);
  const pw = path.join(dir, 'pw');
  fs.writeFileSync(pw, 'golden-pass');
  const reports = [json(['verify', plain]), json(['scrub', plain]), json(['verify', luks, '--key-file', pw]), json(['scrub', luks, '--key-file', pw])];
  for (const r of reports) {
    for (const k of REQUIRED) assert.ok(k in r, `${r.type} ${r.command}: ${k}`);
    assert.ok(!('failed_sectors' in r), `${r.type} ${r.command} names its bad blocks "mismatches"`);
    assert.equal(r.state, 'done');
  }
  assert.deepEqual(
    reports.map((r) => `${r.type}:${r.command}`),
    ['dm-integrity:verify', 'dm-integrity:scrub', 'luks2:verify', 'luks2:scrub'],
  );
  for (const r of reports.slice(2)) {
    assert.equal(r.mismatches, m.kernel_aead_error_sectors!.length);
    assert.deepEqual(r.bad_sectors, m.kernel_aead_error_sectors);
  }
});
