// ENOSPC during `integrity-studio write` on a real full file system (a small tmpfs holding a sparse image, filled
// up): the write is refused before any of it is made — the image's bytes are the same before and after, the data
// written earlier still reads back, no lock file is left — and the message says the file system is full. Three
// paths: an input file of known length (reserved up front), stdin in journal mode (each journal commit reserves its
// blocks before the commit point) and stdin in direct mode (each in-place write reserves its blocks first). Needs
// root for the mount; skipped with the reason otherwise.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { skipUnless } from '../testing/unavailable.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/integrity-studio.js');

function smallTmpfs(t: TestContext, size: string): string | null {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'is-enospc-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', d], { encoding: 'utf8' });
  if (skipUnless(t, r.status !== 0 ? `cannot mount a small tmpfs here (${(r.stderr ?? '').trim() || `exit ${r.status}`}): the ENOSPC case needs root` : null))
    return null;
  return d;
}
const cli = (args: string[], input?: Buffer) => spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8' });
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
/** fills the small tmpfs: the 64 MiB write must end in ENOSPC (anything else is this test's own failure) */
const fill = (d: string) => assert.throws(() => fs.writeFileSync(path.join(d, 'fill'), Buffer.alloc(64 << 20)), { code: 'ENOSPC' });

for (const c of [
  {
    name: 'an input file (reserved up front)',
    stdin: false,
    mode: [] as string[],
    msg: /v\.img: no space left on device \(the file system holding it is full\): nothing of the 1048576 bytes at offset 4194304 was written; the volume is as it was/,
  },
  {
    name: 'stdin, journal mode (reserved before each journal commit)',
    stdin: true,
    mode: [] as string[],
    msg: /v\.img: no space left on device \(the file system holding it is full\): the \d+ block\(s\) waiting in the journal were not written, nothing of them reached the volume, and the volume is as it was; free some space and write again/,
  },
  {
    name: 'stdin, direct mode (reserved before each in-place write)',
    stdin: true,
    mode: ['--integrity-no-journal'],
    msg: /v\.img: no space left on device \(the file system holding it is full\): the \d+ block\(s\) at sector 8192 were not written; the volume is as it was/,
  },
]) {
  test(`ENOSPC during write, ${c.name} (a real full 8 MiB tmpfs): the volume is as it was and the message says the file system is full`, (t) => {
    const d = smallTmpfs(t, '8m');
    if (!d) return;
    try {
      const img = path.join(d, 'v.img');
      const f = cli(['format', img, '--size', '32M', '--no-wipe', '--batch-mode', ...c.mode]);
      assert.equal(f.status, 0, f.stderr);
      const first = crypto.randomBytes(256 << 10);
      const w0 = cli(['write', img, '--offset', '0', ...c.mode], first);
      assert.equal(w0.status, 0, w0.stderr);
      fill(d);
      assert.ok(fs.statfsSync(d).bavail === 0, 'the file system is full');
      const before = sha(img);
      const data = crypto.randomBytes(1 << 20);
      const inFile = path.join(os.tmpdir(), `is-enospc-in-${process.pid}.bin`);
      fs.writeFileSync(inFile, data);
      const w = c.stdin
        ? cli(['write', img, '--offset', String(4 << 20), ...c.mode], data)
        : cli(['write', img, '--offset', String(4 << 20), '--input', inFile, ...c.mode]);
      fs.rmSync(inFile, { force: true });
      assert.equal(w.status, 1, w.stderr);
      assert.match(w.stderr, c.msg);
      assert.doesNotMatch(w.stderr, /internal error/);
      assert.equal(sha(img), before, 'not one byte of the image changed');
      assert.deepEqual(fs.readdirSync(d).sort(), ['fill', 'v.img'], 'no lock file or temporary left beside it');
      // still a volume holding what was written before, and it reads back verified
      const out = path.join(os.tmpdir(), `is-enospc-out-${process.pid}.bin`);
      const r = cli(['read', img, '--offset', '0', '--length', String(first.length), '--output', out, ...c.mode]);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(fs.readFileSync(out).equals(first), 'the earlier write reads back');
      fs.rmSync(out, { force: true });
      // room again: the same write succeeds and reads back
      fs.rmSync(path.join(d, 'fill'));
      const again = cli(['write', img, '--offset', String(4 << 20), ...c.mode], data);
      assert.equal(again.status, 0, again.stderr);
      const r2 = cli(['read', img, '--offset', String(4 << 20), '--length', String(data.length), '--output', out, ...c.mode]);
      assert.equal(r2.status, 0, r2.stderr);
      assert.ok(fs.readFileSync(out).equals(data));
      fs.rmSync(out, { force: true });
    } finally {
      spawnSync('umount', [d]);
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
}
