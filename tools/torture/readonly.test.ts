// Read-only guarantee: every read-only CLI command changes 0 bytes of the image files and leaves their mtime
// alone (and creates no lock file), on kernel-made images including an unreplayed journal, a dirty bitmap, a
// recalculation midway and corrupted blocks, and on truncated copies (which must fail with one clear line).
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { goldenCopy, goldenManifest, sha256File, tmpDir, PROJECT_ROOT, type GoldenImage } from '../../testing/golden.js';
import { COMMANDS } from '../../cli/main.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
/** the read-only commands run on plain dm-integrity images (luks-dump and verify-inline need other images) */
const READ_ONLY = ['dump', 'read', 'verify', 'status', 'scrub'];

test('the read-only commands checked here are all commands of the CLI', () => {
  assert.deepEqual(
    READ_ONLY.filter((c) => !(c in COMMANDS)),
    [],
    'a read-only command that is no longer a command',
  );
});

/** integritysetup open options of a golden image as our CLI's, key files written to dir, data device = files[1] */
function openArgs(im: GoldenImage, dir: string, files: string[]): string[] {
  const words = im.open_command.split(/\s+/).slice(2);
  const args: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith('/dev/') || w === 'golden') continue;
    if (w === '--data-device') {
      args.push(w, files[1]!);
      i++;
    } else if (w.endsWith('-key-file')) {
      const which = w === '--integrity-key-file' ? 'integrity_key' : w === '--journal-integrity-key-file' ? 'journal_integrity_key' : 'journal_crypt_key';
      const kf = path.join(dir, `${which}.bin`);
      fs.writeFileSync(kf, Buffer.from(im.keys_hex![which]!, 'hex'));
      args.push(w, kf);
      i++;
    } else args.push(w);
  }
  return args;
}

function snapshot(files: string[]) {
  return files.map((f) => ({ f, sha: sha256File(f), mtime: fs.statSync(f).mtimeMs, size: fs.statSync(f).size }));
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'buffer', maxBuffer: 64 << 20 });
}

for (const name of ['d-hmac-sha256', 'e-bitmap', 'f-separate-metadata', 'i-corrupted', 'j-journal-unreplayed', 'k-recalc-midway']) {
  test(`read-only commands change 0 bytes of ${name} (sha256 and mtime)`, (t) => {
    const im = goldenManifest().find((i) => i.name === name)!;
    const dir = tmpDir('ro-');
    const files = im.files.map((f) => goldenCopy(f, dir));
    // make the mtimes old, so a write would be visible even within the clock's granularity
    for (const f of files) fs.utimesSync(f, new Date(2020, 0, 1), new Date(2020, 0, 1));
    const args = openArgs(im, dir, files);
    const before = snapshot(files);
    const ran: string[] = [];
    for (const cmd of READ_ONLY) {
      ran.push(cmd);
      const r = cli([
        cmd,
        files[0]!,
        ...(cmd === 'dump' ? args.filter((_, i) => args[i - 1] === '--data-device' || args[i] === '--data-device') : args),
        ...(cmd === 'read' ? ['--output', path.join(dir, 'out.bin'), '--continue-on-error'] : []),
      ]);
      assert.ok([0, 4].includes(r.status!), `${cmd} ${name}: exit ${r.status}: ${r.stderr}`);
      assert.deepEqual(snapshot(files), before, `${cmd} changed ${name}`);
      assert.ok(!fs.existsSync(`${files[0]}.lock`), `${cmd} left a lock file`);
    }
    assert.deepEqual(ran, READ_ONLY);
    t.diagnostic(`checked ${name}: ${ran.join(', ')}`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}

test('read-only commands on truncated images: one clear error line, 0 bytes changed', (t) => {
  const im = goldenManifest().find((i) => i.name === 'j-journal-unreplayed')!;
  const dir = tmpDir('ro-');
  const img = goldenCopy(im.files[0]!, dir);
  const ran: string[] = [];
  for (const len of [0, 100, 4096, 65536, im.files[0]!.raw_size / 2]) {
    fs.truncateSync(img, len);
    const before = snapshot([img]);
    for (const cmd of READ_ONLY) {
      ran.push(`${cmd}@${len}`);
      const r = cli([cmd, img]);
      const err = r.stderr.toString();
      assert.ok(r.status === 1 || r.status === 4, `${cmd} on ${len} bytes: exit ${r.status} ${err}`);
      if (r.status === 1) {
        assert.equal(err.trim().split('\n').length, 1, `${cmd} on ${len} bytes: ${err}`);
        assert.doesNotMatch(err, /\n\s+at /);
      }
      assert.deepEqual(snapshot([img]), before);
    }
  }
  assert.equal(ran.length, 5 * READ_ONLY.length);
  t.diagnostic(`checked: ${ran.join(', ')}`);
  fs.rmSync(dir, { recursive: true, force: true });
});
