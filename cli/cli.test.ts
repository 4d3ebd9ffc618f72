import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { main, type Io } from './main.js';
import { goldenManifest, goldenPath, sha256File, tmpDir, PROJECT_ROOT, GOLDEN_SETS, type GoldenImage } from '../testing/golden.js';

interface Run {
  code: number;
  out: string;
  err: string;
}
export async function run(argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), stdout: process.stdout };
  const code = await main(argv, io);
  return { code, out, err };
}

/** integritysetup open options of a golden image, translated to our CLI, with key files written to dir */
export function openArgs(im: GoldenImage, dir: string): string[] {
  const words = im.open_command.split(/\s+/).slice(2);
  const args: string[] = [];
  const keys = im.keys_hex ?? {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('/dev/') || w === 'golden') continue;
    if (w === '--data-device') {
      args.push(w, goldenPath(im.files[1]!));
      i++;
    } else if (w.endsWith('-key-file')) {
      const which = w === '--integrity-key-file' ? 'integrity_key' : w === '--journal-integrity-key-file' ? 'journal_integrity_key' : 'journal_crypt_key';
      const kf = path.join(dir, `${which}.bin`);
      fs.writeFileSync(kf, Buffer.from(keys[which]!, 'hex'));
      args.push(w, kf);
      i++;
    } else args.push(w);
  }
  return args;
}

function device(im: GoldenImage): string {
  return goldenPath(im.files[0]!);
}

const dir = tmpDir('cli-');
const images = goldenManifest();

// every golden set (6.1, 6.12, 7.2: each made by its kernel), each case named with the kernel that made it
for (const set of GOLDEN_SETS)
  for (const im of goldenManifest(set.id)) {
    const k = `golden ${set.id} ${im.name} (${String(im.kernel ?? 'Linux ' + set.id).split(' ')[0]})`;
    test(`${k}: read gives the kernel's provided data, verify agrees, nothing in the image changes`, async (_t) => {
      const before = im.files.map((f) => sha256File(goldenPath(f)));
      const args = openArgs(im, dir);
      const out = path.join(dir, `${im.name}.data`);
      const r = await run(['read', device(im), ...args, '--output', out, ...(im.name === 'i-corrupted' ? ['--continue-on-error'] : [])]);
      if (im.name === 'j-journal-unreplayed') {
        // presented as the kernel shows it after replay
        assert.equal(r.code, 0, r.err);
        assert.equal(sha256File(out), im.after_replay!.provided_data_sha256);
      } else if (im.name === 'i-corrupted') {
        assert.equal(r.code, 4, 'read with bad blocks reports them');
        assert.match(r.err, /7 bad block/);
      } else {
        assert.equal(r.code, 0, r.err);
        assert.equal(fs.statSync(out).size, im.provided_data_sectors * 512);
        assert.equal(sha256File(out), im.provided_data_sha256);
      }
      const v = await run(['verify', device(im), ...args, '--json']);
      const res = JSON.parse(v.out);
      assert.equal(res.provided_data_sectors, im.provided_data_sectors);
      if (im.name === 'i-corrupted') {
        assert.equal(v.code, 4);
        assert.deepEqual(res.bad_sectors, im.read_scan!.eio_sectors);
        assert.equal(res.mismatches, 7);
      } else {
        assert.equal(v.code, 0, v.err + v.out);
        assert.equal(res.mismatches, 0);
        assert.deepEqual(res.bad_sectors, []);
        if (im.name === 'k-recalc-midway') assert.equal(res.checked_sectors, im.superblock.recalc_sector);
        else assert.equal(res.checked_sectors, im.provided_data_sectors);
      }
      fs.rmSync(out);
      assert.deepEqual(
        im.files.map((f) => sha256File(goldenPath(f))),
        before,
        'read-only commands changed the image',
      );
    });

    test(`${k}: dump matches the kernel's superblock and integritysetup ${set.integritysetup} dump`, async () => {
      const extra = im.files.length > 1 ? ['--data-device', goldenPath(im.files[1]!)] : [];
      const j = await run(['dump', device(im), ...extra, '--json']);
      assert.equal(j.code, 0, j.err);
      const d = JSON.parse(j.out);
      for (const k of [
        'version',
        'log2_interleave_sectors',
        'integrity_tag_size',
        'journal_sections',
        'provided_data_sectors',
        'flags',
        'log2_sectors_per_block',
        'log2_blocks_per_bitmap_bit',
        'recalc_sector',
      ]) {
        assert.equal(d[k], im.superblock[k], k);
      }
      for (const [k, v] of Object.entries(im.geometry)) assert.equal(d.geometry[k], v, k);
      // the host's integritysetup 2.6.1 dump (every set) and the guest's own where it is another (6.12's and 7.2's
      // guests; 6.1's guest ran the host's 2.6.1)
      const dumps: Array<[string, string | undefined]> = [['2.6', im.integritysetup_dump]];
      if (set.id !== '6.1') dumps.push([set.integritysetup, im.integritysetup_dump_guest]);
      for (const [ver, expected] of dumps) {
        assert.ok(expected, `the manifest holds integritysetup ${ver}'s dump of ${im.name}`);
        const txt = await run(['dump', device(im), ...extra, '--format-version', ver]);
        assert.equal(txt.code, 0, txt.err);
        // the first line names the device path; compare the rest
        assert.deepEqual(txt.out.trim().split('\n').slice(1), expected!.trim().split('\n').slice(1), `integritysetup ${ver} dump`);
      }
    });
  }

test('verify of a sha256 volume without --integrity: every block fails and the hint names the algorithm', async () => {
  const im = images.find((i) => i.name === 'c-sha256')!;
  const v = await run(['verify', device(im), '--json']);
  assert.equal(v.code, 4);
  const res = JSON.parse(v.out);
  assert.equal(res.mismatches, im.provided_data_sectors);
  assert.match(res.hint, /algorithm .*probably wrong/);
});

test('hmac-sha256 volume with the wrong key: every block fails, hint mentions the key', async () => {
  const im = images.find((i) => i.name === 'd-hmac-sha256')!;
  const kf = path.join(dir, 'wrong.key');
  fs.writeFileSync(kf, crypto.randomBytes(32));
  const v = await run(['verify', device(im), '--integrity', 'hmac-sha256', '--integrity-key-file', kf, '--json']);
  assert.equal(v.code, 4);
  assert.match(JSON.parse(v.out).hint, /key/);
});

test('bad input: one clear error line, non-zero exit, no stack trace', async () => {
  const im = images.find((i) => i.name === 'a-default')!;
  const trunc = path.join(dir, 'trunc.img');
  fs.writeFileSync(trunc, fs.readFileSync(device(im)).subarray(0, 4 * 1024 * 1024));
  const zero = path.join(dir, 'zero.img');
  fs.writeFileSync(zero, Buffer.alloc(1 << 20));
  const absurd = path.join(dir, 'absurd.img');
  const a = Buffer.from(fs.readFileSync(device(im)).subarray(0, 1 << 20));
  a.writeUInt16LE(0, 10); // tag size 0
  fs.writeFileSync(absurd, a);
  const meta = images.find((i) => i.name === 'f-separate-metadata')!;
  const cases: Array<[string[], RegExp]> = [
    [['verify', trunc], /truncated/],
    [['verify', zero], /wrong magic/],
    [['verify', absurd], /tag_size 0/],
    [['verify', path.join(dir, 'missing.img')], /no such file/],
    [['verify', device(meta)], /data-device/],
    [['verify', device(meta), '--data-device', path.join(dir, 'nope.img')], /no such file/],
    [['verify', device(im), '--integrity', 'md5x'], /unsupported integrity algorithm "md5x"/],
    [['verify', device(im), '--bogus'], /bogus/],
    [['verify'], /missing DEVICE/],
  ];
  for (const [argv, re] of cases) {
    const r = await run(argv);
    assert.notEqual(r.code, 0, argv.join(' '));
    assert.match(r.err, re, argv.join(' '));
    assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
});

test('the installed bin runs as a process: exit codes and stdout', () => {
  const im = images.find((i) => i.name === 'i-corrupted')!;
  const bin = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
  const r = spawnSync(process.execPath, [bin, 'verify', device(im), '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 4);
  assert.deepEqual(JSON.parse(r.stdout).bad_sectors, [10, 2047, 3000, 4000, 4001, 20000, 32327]);
  const a = images.find((i) => i.name === 'a-default')!;
  const data = execFileSync(process.execPath, [bin, 'read', device(a), '--offset', '512', '--length', '1024'], { maxBuffer: 1 << 20 });
  assert.equal(data.length, 1024);
  assert.equal(data.subarray(0, 16).toString('latin1'), 'a  :00000000001\n');
});
