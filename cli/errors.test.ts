// A failing disk on the command line (issue 19): the scrub's and verify's lines name the first ranges and count the
// rest; `errors` streams every range (CSV or JSON) through a pipe, stops quietly when the reader has enough, writes
// nothing, and says plainly when no scrub has run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT, tmpDir } from '../testing/golden.js';
import { makeFailingVolume } from '../testing/failing-volume.js';
import { SHOWN_RANGES } from './report.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
const dir = tmpDir('cli-errors-');
const env = { ...process.env, INTEGRITY_STUDIO_STATE_DIR: path.join(dir, 'state') };
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const N = 30_000;
const img = path.join(dir, 'failing.img');
makeFailingVolume(img, N, 1 << 20);

test('scrub and verify name the first ranges and count the rest', () => {
  const s = run(['scrub', img]);
  assert.equal(s.status, 4, s.stderr);
  const line = s.stdout.trim().split('\n').at(-1)!;
  assert.ok(line.startsWith(`${N} bad block(s) in sectors 0, 2, 4,`), line);
  assert.ok(line.endsWith(`… and ${N - SHOWN_RANGES} more range(s) (\`integrity-studio errors ${img}\` lists every one)`), line);
  assert.ok(line.length < 400, `one readable line (${line.length} characters)`);
  const v = run(['verify', img]);
  assert.equal(v.status, 4);
  assert.match(v.stdout, new RegExp(`^bad sectors: 0, 2, 4, .* 38 … and ${N - SHOWN_RANGES} more range\\(s\\) \\(--json lists every one\\)$`, 'm'));
  // --json still lists every one
  const j = JSON.parse(run(['verify', img, '--json']).stdout) as { bad_ranges: unknown[] };
  assert.equal(j.bad_ranges.length, N);
});

test('errors: every range as CSV and JSON, in order; 0 bytes written', () => {
  const before = sha(img);
  const files = fs.readdirSync(dir).sort();
  const c = run(['errors', img]);
  assert.equal(c.status, 0, c.stderr);
  const lines = c.stdout.trimEnd().split('\n');
  assert.equal(lines[0], 'kind,first_sector,last_sector,sectors,first_block,last_block,blocks,block_size,on,first_byte,last_byte,holds');
  assert.equal(lines.length, N + 1);
  lines.slice(1).forEach((l, i) => {
    assert.ok(l.startsWith(`bad,${2 * i},${2 * i},1,${2 * i},${2 * i},1,512,image,`), l);
  });
  const j = JSON.parse(run(['errors', img, '--json']).stdout) as { bad_blocks: number; ranges_total: number; ranges: Array<{ first_sector: number }> };
  assert.equal(j.bad_blocks, N);
  assert.equal(j.ranges_total, N);
  assert.equal(j.ranges[N - 1]!.first_sector, 2 * N - 2);
  assert.equal(sha(img), before);
  assert.deepEqual(fs.readdirSync(dir).sort(), files);
});

test('errors | head: the first lines, then a quiet stop (no EPIPE error), exit 0', () => {
  const r = spawnSync('sh', ['-c', `'${process.execPath}' '${BIN}' errors '${img}' 2>"${dir}/err" | head -3; echo "\${PIPESTATUS:-}"`], {
    env,
    encoding: 'utf8',
  });
  const out = r.stdout.trim().split('\n');
  assert.equal(out.length, 3);
  assert.match(out[2]!, /^bad,2,2,1,/);
  assert.equal(fs.readFileSync(path.join(dir, 'err'), 'utf8'), '');
});

test('errors before any scrub, and on a missing file: one clear line each', () => {
  const fresh = path.join(dir, 'fresh.img');
  makeFailingVolume(fresh, 10, 1 << 20);
  const r = run(['errors', fresh]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `integrity-studio: ${fresh}: no scrub has run on it, so no damage is known; run \`integrity-studio scrub ${fresh}\` first\n`);
  const m = run(['errors', path.join(dir, 'nope.img')]);
  assert.equal(m.status, 1);
  assert.match(m.stderr, /nope\.img: no such file or device\n$/);
  assert.equal(run(['errors', fresh, '--json', '--csv']).status, 2);
});
