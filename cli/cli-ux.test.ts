// The CLI as people pipe and ask it: `scrub --progress-json | head -1` ends quietly (exit 0, position saved, no
// stack trace), --version, --help per command listing its options, the global help; a scrub's summary names
// the blocks it did not check.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { formatVolume } from '../engine/commands/format.js';
import { PROJECT_ROOT, tmpDir } from '../testing/golden.js';
import { jobStatePath } from '../engine/jobs/state.js';
import { mkDirtyBitmapVolume } from '../testing/mkvolume.js';
import zlib from 'node:zlib';
import { COMMANDS } from './main.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
const dir = tmpDir('cli-ux-');

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('scrub --progress-json | head -1: exit 0, no stack trace, the position saved and resumable', async () => {
  const img = path.join(dir, 'pipe.img');
  // no wipe: every tag mismatches, so the scrub takes its per-block path and is still running when head exits
  formatVolume(img, { size: 96 << 20, integrity: 'sha256', noWipe: true });
  const child = spawn(process.execPath, [BIN, 'scrub', img, '--integrity', 'sha256', '--progress-json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  let first = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      first += d.toString();
      if (first.includes('\n')) {
        child.stdout.destroy(); // what `head -1` does after its line
        resolve();
      }
    });
  });
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(JSON.parse(first.split('\n')[0]!).job, 'scrub');
  assert.equal(code, 0, err);
  assert.doesNotMatch(err, /EPIPE|Error|\n\s+at /);
  assert.match(err, /paused at sector \d+ .*the position is saved/);
  const st = JSON.parse(fs.readFileSync(jobStatePath(img, 'scrub'), 'utf8')) as {
    state: string;
    position_sector: number;
    runs: Array<{ by: string; result: string }>;
  };
  assert.equal(st.state, 'paused');
  assert.ok(st.position_sector > 0 && st.position_sector < 96 * 2048);
  assert.deepEqual(
    st.runs.map((r) => `${r.by}:${r.result}`),
    ['cli:paused'],
  );
  // through a real shell pipe too
  const sh = spawnSync(
    'sh',
    ['-c', `"${process.execPath}" "${BIN}" scrub "${img}" --integrity sha256 --progress-json | head -1 >/dev/null; echo "status=$?"`],
    { encoding: 'utf8' },
  );
  assert.match(sh.stdout, /status=0/);
  assert.doesNotMatch(sh.stderr, /EPIPE|\n\s+at /);
});

test('--version prints the package version; every command has --help listing its options; global help names them', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  const v = cli(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout, `integrity-studio ${pkg.version}\n`);
  const f = cli(['format', '--help']);
  assert.equal(f.code, 0, f.stderr);
  assert.equal(f.stderr, '');
  for (const o of [
    '--size',
    '--force',
    '--journal-crypt',
    '--journal-integrity',
    '--sector-size',
    '--tag-size',
    '--no-wipe',
    '--integrity-recalculate',
    '--batch-mode',
    '--help',
  ]) {
    assert.match(f.stdout, new RegExp(`${o}\\b`), `format --help lists ${o}`);
  }
  assert.match(f.stdout, /^usage: integrity-studio format DEVICE/);
  assert.equal(cli(['help', 'format']).stdout, f.stdout);
  const s = cli(['scrub', '-h']);
  assert.equal(s.code, 0);
  for (const o of ['--progress-json', '--reset', '--integrity-key-file', '--data-device']) assert.match(s.stdout, new RegExp(o));
  assert.doesNotMatch(s.stdout, /--size/);
  for (const c of ['dump', 'read', 'verify', 'status', 'write', 'replay', 'recalc', 'serve']) {
    const r = cli([c, '--help']);
    assert.equal(r.code, 0, `${c} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: integrity-studio ${c}`));
  }
  assert.match(cli(['read', '--help']).stdout, /--continue-on-error/);
  const g = cli(['--help']);
  assert.equal(g.code, 0);
  assert.match(g.stdout, /--version/);
  assert.match(g.stdout, /COMMAND --help/);
});

test('scrub of a volume being recalculated: the summary names the blocks not checked, not "every block verified"', () => {
  const img = path.join(dir, 'recalc.img');
  formatVolume(img, { size: 8 << 20, noWipe: true, integrityRecalculate: true });
  const r = cli(['scrub', img, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { checked_blocks: number; unchecked_blocks: number; unchecked: Array<{ reason: string; blocks: number }> };
  assert.equal(j.checked_blocks, 0);
  assert.ok(j.unchecked_blocks > 0);
  assert.deepEqual(j.unchecked, [{ reason: 'recalculating', blocks: j.unchecked_blocks }]);
  const t = cli(['scrub', img, '--reset']);
  assert.match(t.stdout, /0 blocks checked, no mismatches; \d+ block\(s\) not checked \(being recalculated: \d+\)/);
  assert.doesNotMatch(t.stdout, /every block verified/);
});

test('verify of a bitmap-mode volume left dirty: the blocks not checked are named as in dirty bitmap regions, not as being recalculated', async () => {
  const img = path.join(dir, 'dirty.img');
  mkDirtyBitmapVolume(img, 8 << 20, 2048, [0]);
  const open = ['--integrity-bitmap-mode', '--bitmap-sectors-per-bit', '2048'];
  const j = JSON.parse(cli(['verify', img, '--json', ...open]).stdout) as { unchecked_blocks: number; unchecked: Array<{ reason: string; blocks: number }> };
  assert.equal(j.unchecked_blocks, 2048);
  // the same list of reasons as scrub --json gives (one schema for verify and scrub)
  assert.deepEqual(j.unchecked, [{ reason: 'dirty-bitmap', blocks: 2048 }]);
  const t = cli(['verify', img, ...open]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /2048 blocks not checked \(in dirty bitmap regions, recalculated on the next writable open: 2048\)/);
  assert.doesNotMatch(t.stdout, /being recalculated/);
});

test('every command answers --help with its usage and exit 0 (resize --help was "Unknown option")', () => {
  for (const cmd of Object.keys(COMMANDS)) {
    const r = cli([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`usage: integrity-studio ${cmd}\\b`), `${cmd} --help names its usage`);
    assert.equal(r.stderr, '', `${cmd} --help`);
  }
});

test('a LUKS2 device whose primary header is damaged is LUKS2 to the CLI too (the secondary copy), as to the dashboard', () => {
  const testdata = path.join(PROJECT_ROOT, 'testing', 'data', 'crypt');
  const m = (JSON.parse(fs.readFileSync(path.join(testdata, 'manifest.json'), 'utf8')) as { images: Array<{ name: string; file: string }> }).images.find(
    (x) => x.name === 'gcm-512',
  )!;
  const raw = zlib.gunzipSync(fs.readFileSync(path.join(testdata, m.file)));
  raw.fill(0, 0, 6); // the primary magic gone
  const p = path.join(dir, 'primary-damaged.img');
  fs.writeFileSync(p, raw);
  const r = cli(['status', p, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { cipher: string }).cipher, 'aes-gcm-random');
});

// (from the browser suite, where it ran only to reach the CLI; its closed-pipe part is the test above)
test('--version names the package version; format --help lists its options on stdout', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  const v = cli(['--version']);
  assert.equal(v.code, 0);
  assert.ok(v.stdout.includes(pkg.version), v.stdout);
  const h = cli(['format', '--help']);
  assert.equal(h.code, 0);
  for (const o of ['--integrity', '--journal-crypt', '--sector-size', '--no-wipe']) assert.ok(h.stdout.includes(o), o);
  assert.equal(h.stderr, '');
});
