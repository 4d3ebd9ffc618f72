// Exclusive opens across processes: a second writer and a reader are refused while a writer holds the image;
// a SIGKILLed writer's lock is stale and taken over.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { memoryVolume } from '../../tools/torture/crash.js';
import { openWritable } from '../integrity/writable.js';
import { openVolume } from '../volume.js';
import { IntegrityStudioError } from '../errors.js';
import { PROJECT_ROOT, tmpDir } from '../../testing/golden.js';

const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');

test('a second writer and a reader are refused while another process writes; a killed writer leaves a stale lock we take over', async () => {
  const dir = tmpDir('lock-');
  const img = path.join(dir, 'vol.img');
  fs.writeFileSync(img, memoryVolume({ integrity: 'crc32c', blockSize: 512, seed: 1 }).image);
  const writable = new URL('../integrity/writable.js', import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { openWritable } from ${JSON.stringify(writable)}; const v = openWritable(${JSON.stringify(img)}); process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
    assert.equal(chunk.toString().trim(), 'ready');
    assert.ok(fs.existsSync(`${img}.lock`), 'the writer holds IMAGE.lock');
    // the holder is named: its pid and its command line
    const msg = new RegExp(`is in use by another process \\(pid ${child.pid}: \\S*node --input-type=module -e import \\{ openWritable \\}`);
    assert.throws(
      () => openWritable(img),
      (e: unknown) => e instanceof IntegrityStudioError && msg.test(e.message) && e.code === 'EBUSY',
    );
    assert.throws(
      () => openVolume(img),
      (e: unknown) => e instanceof IntegrityStudioError && msg.test(e.message),
    );
    // the CLI: one clear line, exit 1, for writers and readers alike
    for (const args of [
      ['verify', img],
      ['write', img, '--offset', '0'],
    ]) {
      const r = spawnSync(process.execPath, [BIN, ...args], { input: Buffer.alloc(512), encoding: 'utf8' });
      assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  // the holder is gone: its lock is stale
  assert.ok(fs.existsSync(`${img}.lock`), 'SIGKILL leaves the lock file');
  const v = openWritable(img);
  assert.equal(JSON.parse(fs.readFileSync(`${img}.lock`, 'utf8')).pid, process.pid);
  v.write(0, Buffer.alloc(512, 7));
  v.close();
  assert.ok(!fs.existsSync(`${img}.lock`), 'close releases the lock');
  const ro = openVolume(img);
  const b = Buffer.alloc(512);
  ro.target.read(0, 1, b);
  ro.close();
  assert.equal(b[0], 7);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a lock whose pid was reused by another process is stale', () => {
  const dir = tmpDir('lock-');
  const img = path.join(dir, 'vol.img');
  fs.writeFileSync(img, memoryVolume({ integrity: 'crc32c', blockSize: 512, seed: 2 }).image);
  // pid 1 is alive but started long before the recorded start time
  fs.writeFileSync(`${img}.lock`, JSON.stringify({ pid: 1, start: '1', host: os.hostname() }));
  const v = openWritable(img);
  v.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
