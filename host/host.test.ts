// EngineHost over kernel-made golden images and real jobs (worker threads): true states and conditions, the
// journal on disk and its replay, keys after a restart (needs-key → Unlock), remove/edit, a scrub the CLI
// finished seen by the host, Resume from the persisted position, the dm table and open command of every
// golden image against `dmsetup table` in its manifest, and the open command's quoting run through sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { EngineHost } from './engine-host.js';
import { shellQuote } from './open-command.js';
import type { IntegrityEvent, VolumeSnapshot } from '../engine/api.js';
import { PROJECT_ROOT, golden, goldenCopy, goldenManifest, sha256File, tmpDir, type GoldenImage } from '../testing/golden.js';
import { assertNoSecret } from '../testing/secrets.js';
import { mkDirtyBitmapVolume } from '../testing/mkvolume.js';
import { startJob } from '../engine/jobs/index.js';
import { formatVolume } from '../engine/commands/format.js';
import { jobStatePath } from '../engine/jobs/state.js';
import type { JobSpec } from '../engine/jobs/types.js';

/** the real command line, as a script would run it, beside the host in this process */
const BIN = path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js');
function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...argv], { maxBuffer: 64 << 20 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out, err });
    });
  });
}

function copy(im: GoldenImage, dir: string): { img: string; data?: string } {
  const img = goldenCopy(im.files[0]!, dir);
  return im.files[1] ? { img, data: goldenCopy(im.files[1], dir) } : { img };
}

async function until(host: EngineHost, id: string, ok: (v: VolumeSnapshot) => boolean, what: string, ms = 60_000): Promise<VolumeSnapshot> {
  const t0 = Date.now();
  for (;;) {
    const v = host.listVolumes().find((x) => x.id === id)!;
    if (ok(v)) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}: state ${v.state} ${JSON.stringify(v.verification)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const KEYS = (im: GoldenImage) => (im.keys_hex ?? {}) as Record<string, string>;

test('dm table and open command of every golden image: every option `dmsetup table` printed (devices and keys aside)', async () => {
  const dir = tmpDir('host-dm-');
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    for (const im of goldenManifest()) {
      const { img, data } = copy(im, dir);
      const words = im.open_command.split(/\s+/);
      const opt = (f: string) => (words.includes(f) ? words[words.indexOf(f) + 1] : undefined);
      const k = KEYS(im);
      const v = await host.addVolume({
        path: img,
        name: 'golden',
        dataDevice: data,
        integrity: opt('--integrity'),
        integrityKey: k.integrity_key ? { hex: k.integrity_key } : undefined,
        journalIntegrity: opt('--journal-integrity'),
        journalIntegrityKey: k.journal_integrity_key ? { hex: k.journal_integrity_key } : undefined,
        journalCrypt: opt('--journal-crypt'),
        journalCryptKey: k.journal_crypt_key ? { hex: k.journal_crypt_key } : undefined,
        mode: words.includes('--integrity-bitmap-mode') ? 'bitmap' : words.includes('--integrity-no-journal') ? 'direct' : 'journal',
      });
      // the kernel prints devices as major:minor and keys as zeros; the commit time of j was an open option
      const want = String(im.dm_table)
        .replace(/meta_device:\S+/, `meta_device:${img}`)
        .replace(/^(0 \d+ integrity )\S+/, `$1${data ?? img}`)
        .replace(/:0{16,}/g, ':<key>')
        .replace('commit_time:60000', 'commit_time:10000');
      assert.equal(v.dm_table, want, im.name);
      // the open command names every option of the manifest's (integritysetup's names, device and name aside)
      const ours = execFileSync('sh', ['-c', `set -- ${v.open_command}; printf '%s\\n' "$@"`], { encoding: 'utf8' })
        .trim()
        .split('\n');
      for (const w of words.slice(2)) {
        if (w.startsWith('/') || w === 'golden' || /^\d+$/.test(w) || w === '--journal-commit-time' || w === '60000') continue;
        assert.ok(ours.includes(w), `${im.name}: ${w} in ${v.open_command}`);
      }
      assert.doesNotMatch(v.open_command + v.dm_table, /[0-9a-f]{32}/, 'no key material');
      host.removeVolume(v.id);
    }
  } finally {
    await host.close();
  }
});

test('open command is quoted for a POSIX shell: names with spaces and quotes, ctr(aes), paths with $', async () => {
  for (const w of ['plain', "it's", 'a b', 'ctr(aes)', '$HOME/x', '', 'semi;colon', 'back\\slash', '*']) {
    const out = execFileSync('sh', ['-c', `printf '%s' ${shellQuote(w)}`], { encoding: 'utf8' });
    assert.equal(out, w, `${JSON.stringify(w)} as ${shellQuote(w)}`);
  }
  const dir = tmpDir('host-quote-');
  const img = path.join(dir, "my vol's $x.img");
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    const v = await host.createVolume({
      path: img,
      size: 4 << 20,
      name: 'a name (1)',
      journalIntegrity: 'hmac-sha256',
      journalIntegrityKey: { hex: '11'.repeat(32) },
      journalCrypt: 'ctr(aes)',
      journalCryptKey: { hex: '22'.repeat(32) },
      noWipe: true,
    });
    const words = execFileSync('sh', ['-c', `set -- ${v.open_command}; printf '%s\\n' "$@"`], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.deepEqual(words.slice(0, 4), ['integritysetup', 'open', img, 'a name (1)']);
    assert.deepEqual(words.slice(words.indexOf('--journal-crypt'), words.indexOf('--journal-crypt') + 2), ['--journal-crypt', 'ctr(aes)']);
    assert.ok(words.includes('--journal-integrity-key-size') && words.includes('32'));
    assert.match(v.dm_table, / internal_hash:crc32c journal_crypt:ctr\(aes\):<key> journal_mac:hmac\(sha256\):<key>$/);
    assert.match(v.dm_table, / J 10 /);
  } finally {
    await host.close();
  }
});

test('golden k (recalculated midway): recalc-paused; a finished scrub is "partial", not clean, with the unchecked blocks counted as verify does', async () => {
  const dir = tmpDir('host-k-');
  const im = golden('k-recalc-midway');
  const { img } = copy(im, dir);
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    let v = await host.addVolume({ path: img });
    assert.equal(v.state, 'recalc-paused');
    assert.deepEqual(v.conditions, ['recalc-paused', 'not-checked']);
    assert.equal(v.verification.scrub, 'none');
    assert.equal(v.jobs.recalc?.position_sector, 10240);
    host.startScrub(v.id);
    v = await until(host, v.id, (x) => x.verification.scrub === 'finished', 'scrub');
    const verify = JSON.parse((await cli(['verify', img, '--json'])).out) as { unchecked_blocks: number; checked_blocks: number };
    assert.equal(v.state, 'recalc-paused');
    assert.deepEqual(v.conditions, ['recalc-paused', 'partial']);
    assert.equal(v.verification.unchecked_blocks, verify.unchecked_blocks);
    assert.equal(v.verification.unchecked_blocks, 32328 - 10240);
    assert.equal(v.verification.checked_blocks, verify.checked_blocks);
    assert.deepEqual(v.verification.unchecked, [{ reason: 'recalculating', blocks: 32328 - 10240 }]);
    assert.equal(v.verification.bad_blocks, 0);
    assert.ok(v.verification.finished_at && v.verification.started_at && v.verification.duration_ms !== null);
    assert.equal(v.runs.at(-1)!.by, 'dashboard');
    assert.equal(v.runs.at(-1)!.result, 'done');
    // finish the recalculation, scrub again: now every block is checked and the volume is clean
    host.resumeRecalc(v.id);
    v = await until(host, v.id, (x) => !x.conditions.includes('recalculating'), 'recalc');
    assert.equal(v.jobs.recalc?.state, 'done', 'a finished recalculation says done, not "not started"');
    host.startScrub(v.id);
    v = await until(host, v.id, (x) => x.verification.scrub === 'finished' && x.verification.unchecked_blocks === 0, 'second scrub');
    assert.equal(v.state, 'clean');
    assert.deepEqual(
      v.runs.map((r) => `${r.job}:${r.result}`),
      ['scrub:done', 'recalc:done', 'scrub:done'],
    );
    // a restarted host reads the same from the files
    await host.close();
    const h2 = await EngineHost.create({ pollMs: 0, startJob: null });
    const again = await h2.addVolume({ path: img });
    assert.equal(again.state, 'clean');
    assert.equal(again.jobs.recalc?.state, 'done');
    await h2.close();
  } finally {
    await host.close();
  }
});

test('golden j: the journal on disk (320 committed entries), state journal-replay; replayJournal replays as the kernel does', async () => {
  const dir = tmpDir('host-j-');
  const im = golden('j-journal-unreplayed') as GoldenImage & { after_replay: { provided_data_sha256: string } };
  const { img } = copy(im, dir);
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    let v = await host.addVolume({ path: img });
    assert.equal(v.state, 'journal-replay');
    const j = v.journal_disk!;
    assert.equal(j.kind, 'journal');
    assert.equal(j.sections, 46);
    assert.equal(j.section_entries, 168);
    assert.equal(j.committed_entries, 320);
    assert.ok(j.committed_sections >= 2, `${j.committed_sections} sections`);
    assert.notEqual(j.commit_seq, null);
    assert.ok(Math.abs(j.fill - 320 / (46 * 168)) < 1e-9);
    assert.equal(j.unreadable, undefined);
    const before = sha256File(img);
    v = await host.replayJournal(v.id);
    assert.notEqual(sha256File(img), before, 'replayed on disk');
    assert.equal(v.journal_disk!.committed_entries, 0);
    assert.ok(!v.conditions.includes('journal-replay'));
    assert.equal(v.state, 'not-checked');
    const out = path.join(dir, 'j.data');
    assert.equal((await cli(['read', img, '--output', out])).code, 0);
    assert.equal(sha256File(out), im.after_replay.provided_data_sha256, "the kernel's data after its replay");
    // the kernel leaves replayed entries in the journal: they are now applied, not awaiting
    assert.equal(v.journal_disk!.applied_entries, 320);
  } finally {
    await host.close();
  }
});

test('golden d (hmac-sha256): needs-key after a host restart; Unlock with a wrong key is a labelled guess, with the key file it is not; no key in any message', async () => {
  const dir = tmpDir('host-d-');
  const im = golden('d-hmac-sha256');
  const { img } = copy(im, dir);
  const key = KEYS(im).integrity_key!;
  const data = path.join(dir, 'data');
  let host = await EngineHost.create({ dataDir: data, pollMs: 0, startJob: null });
  const v0 = await host.addVolume({ path: img, integrity: 'hmac-sha256', integrityKey: { hex: key } });
  assert.equal(v0.state, 'not-checked');
  assert.equal(v0.error, null);
  assert.throws(() => host.addVolume({ path: img }), /already in the list as "d-hmac-sha256\.img": use Unlock to give its keys, or Edit/);
  await host.close();
  host = await EngineHost.create({ dataDir: data, pollMs: 0, startJob: null });
  try {
    let v = host.listVolumes()[0]!;
    assert.equal(v.state, 'needs-key');
    assert.deepEqual(v.keys_required, { integrity: true, journalIntegrity: false, journalCrypt: false });
    assert.equal(v.keys.integrity, false);
    assert.match(v.error!, /integrity key is not held.*Unlock/);
    assert.throws(() => host.startScrub(v.id), /Unlock it first/);
    const wrong = 'ff'.repeat(32);
    v = await host.unlockVolume(v.id, { integrityKey: { hex: wrong } });
    assert.equal(v.keys.integrity, true);
    assert.match(v.error!, /probably wrong \(a guess\)/);
    for (const [what, k] of [
      ['wrong key', wrong],
      ['key', key],
    ] as [string, string][])
      assertNoSecret(JSON.stringify(v), Buffer.from(k, 'hex'), what, 'the snapshot');
    assert.throws(
      () => host.unlockVolume(v.id, { integrityKey: { hex: 'abc' } }),
      (e: Error) => /hex digits/.test(e.message) && !e.message.includes('abc'),
    );
    const kf = path.join(dir, 'hmac.key');
    fs.writeFileSync(kf, Buffer.from(key, 'hex'));
    v = await host.unlockVolume(v.id, { integrityKey: { file: kf } });
    assert.equal(v.error, null);
    assert.equal(v.state, 'not-checked');
    assertNoSecret(fs.readFileSync(path.join(data, 'volumes.json')), Buffer.from(key, 'hex'), 'integrity key', 'volumes.json');
    assertNoSecret(JSON.stringify(v), Buffer.from(key, 'hex'), 'integrity key', 'the snapshot after Unlock with the key file');
  } finally {
    await host.close();
  }
});

test('golden h (journal MAC + crypt): a wrong journal MAC key is refused (superblock MAC), a wrong crypt key too; right keys read the journal', async () => {
  const dir = tmpDir('host-h-');
  const im = golden('h-journal-mac-crypt');
  const { img } = copy(im, dir);
  const k = KEYS(im);
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    assert.throws(() => host.addVolume({ path: img }), /journal MAC.*Journal integrity algorithm/);
    const base = { path: img, journalIntegrity: 'hmac-sha256', journalCrypt: 'ctr-aes' };
    assert.throws(
      () => host.addVolume({ ...base, journalIntegrityKey: { hex: '00'.repeat(32) }, journalCryptKey: { hex: k.journal_crypt_key! } }),
      /superblock's MAC/,
    );
    assert.throws(
      () => host.addVolume({ ...base, journalIntegrityKey: { hex: k.journal_integrity_key! }, journalCryptKey: { hex: '00'.repeat(32) } }),
      /does not decrypt the journal/,
    );
    // without keys it is added, and says which keys it needs
    let v = await host.addVolume(base);
    assert.equal(v.state, 'needs-key');
    assert.deepEqual(v.keys_required, { integrity: false, journalIntegrity: true, journalCrypt: true });
    assert.match(v.journal_disk!.unreadable!, /not held/);
    v = await host.unlockVolume(v.id, { journalIntegrityKey: { hex: k.journal_integrity_key! }, journalCryptKey: { hex: k.journal_crypt_key! } });
    assert.equal(v.state, 'not-checked');
    assert.equal(v.journal_disk!.unreadable, undefined);
    assert.equal(v.journal_disk!.committed_entries, 0);
    // the held keys reach the replay's worker thread (its writable open checks the superblock MAC and decrypts
    // the journal: without them it fails)
    v = await host.replayJournal(v.id);
    assert.equal(v.error, null);
    assert.equal(v.state, 'not-checked');
  } finally {
    await host.close();
  }
});

test('a wrong algorithm (golden c, sha256, added as crc32c): a guess at add, and after a scrub "every checked block failed"', async () => {
  const dir = tmpDir('host-c-');
  const { img } = copy(golden('c-sha256'), dir);
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    let v = await host.addVolume({ path: img });
    assert.match(v.error!, /probably wrong \(a guess\).*crc32c/);
    host.startScrub(v.id);
    v = await until(host, v.id, (x) => x.verification.scrub === 'finished', 'scrub');
    assert.equal(v.state, 'errors');
    assert.equal(v.verification.suspect_algorithm_or_key, true);
    v = host.updateVolume(v.id, { integrity: 'sha256' });
    assert.equal(v.algorithm, 'sha256');
    assert.equal(v.options.integrity, 'sha256');
    host.startScrub(v.id);
    v = await until(host, v.id, (x) => x.verification.scrub === 'finished' && x.verification.bad_blocks === 0, 'scrub with sha256');
    assert.equal(v.state, 'clean');
    assert.equal(v.error, null);
  } finally {
    await host.close();
  }
});

test('a scrub paused here and finished by the CLI is seen finished (poll); Resume continues from the persisted position', async () => {
  const dir = tmpDir('host-cli-');
  const img = path.join(dir, 'v.img');
  formatVolume(img, { size: 48 << 20, integrity: 'sha256' });
  const host = await EngineHost.create({ pollMs: 100 });
  const events: IntegrityEvent[] = [];
  host.onEvent((e) => events.push(e));
  try {
    let v = await host.addVolume({ path: img, integrity: 'sha256' });
    assert.equal(v.error, null);
    // a paused scrub, as the CLI leaves one (pause asked at once: it stops after its first chunk)
    const h = startJob({ kind: 'scrub', device: img, volume: { integrity: 'sha256' }, reset: true }, () => undefined);
    const paused = await h.pause();
    assert.equal(paused.state, 'paused');
    assert.ok(paused.position_sector > 0 && paused.position_sector < paused.total_sectors);
    const t0 = Date.now();
    while (!events.some((e) => e.type === 'volume' && e.volume.state === 'check-paused') && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.ok(
      events.some((e) => e.type === 'volume' && e.volume.state === 'check-paused'),
      'the poll sent a volume event for the change',
    );
    v = host.listVolumes()[0]!;
    assert.equal(v.runs.at(-1)!.by, 'cli');
    assert.ok(v.verification.unchecked.some((u) => u.reason === 'not-reached'));
    // Resume here: the job starts at the persisted position, not 0
    let started = -1;
    host.onEvent((e) => {
      if (e.type === 'progress' && started < 0) started = e.progress.start_sector;
    });
    host.resumeScrub(v.id);
    await host.pauseScrub(v.id).catch(() => undefined);
    v = await until(host, v.id, (x) => x.verification.scrub !== 'running', 'pause');
    assert.equal(started, paused.position_sector);
    // the CLI finishes it; the dashboard shows it finished and clean without being told
    const r = await cli(['scrub', img, '--integrity', 'sha256']);
    assert.equal(r.code, 0, r.err);
    v = await until(host, v.id, (x) => x.state === 'clean', 'the poll to see the finished scrub', 5000);
    assert.equal(v.verification.scrub, 'finished');
    assert.equal(v.verification.checked_blocks, v.verification.total_blocks);
    assert.deepEqual(
      v.runs.map((x) => x.by),
      ['cli', 'dashboard', 'cli'],
      'paused by the CLI, resumed here, finished by the CLI',
    );
    assert.throws(() => host.resumeScrub(v.id), /finished; use Start scrub/);
  } finally {
    await host.close();
  }
});

test('remove keeps the image; edit renames and changes options; a gone image is "missing"', async () => {
  const dir = tmpDir('host-edit-');
  const img = path.join(dir, 'v.img');
  const data = path.join(dir, 'data');
  let host = await EngineHost.create({ dataDir: data, pollMs: 0, startJob: null });
  try {
    let v = await host.createVolume({ path: img, size: 4 << 20 });
    v = host.updateVolume(v.id, { name: 'renamed', mode: 'bitmap', bitmapSectorsPerBit: 8192, bitmapFlushTimeMs: 5000, allowDiscards: true });
    assert.equal(v.name, 'renamed');
    assert.deepEqual(v.options, { ...v.options, mode: 'bitmap', bitmap_sectors_per_bit: 8192, bitmap_flush_time_ms: 5000, allow_discards: true });
    assert.match(v.dm_table, / B \d+ allow_discards .*sectors_per_bit:8192 bitmap_flush_interval:5000 /);
    assert.match(v.open_command, /--integrity-bitmap-mode --bitmap-sectors-per-bit 8192 --bitmap-flush-time 5000 --allow-discards/);
    assert.throws(() => host.updateVolume(v.id, { name: '' }), /name must be/);
    await host.close();
    host = await EngineHost.create({ dataDir: data, pollMs: 0, startJob: null });
    v = host.listVolumes()[0]!;
    assert.equal(v.name, 'renamed', 'edits persist');
    assert.equal(v.options.bitmap_sectors_per_bit, 8192);
    const moved = `${img}.moved`;
    fs.renameSync(img, moved);
    v = host.listVolumes()[0]!;
    assert.equal(v.state, 'missing');
    assert.match(v.error!, /missing/);
    fs.renameSync(moved, img);
    host.removeVolume(v.id);
    assert.equal(host.listVolumes().length, 0);
    assert.ok(fs.existsSync(img), 'the image stays');
    assert.equal((await host.addVolume({ path: img })).name, 'v.img', 'and can be added again');
  } finally {
    await host.close();
  }
});

test('create: errors in the words of the form (Size, missing folder), and a question before formatting what exists', async () => {
  const dir = tmpDir('host-create-');
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    await assert.rejects(
      host.createVolume({ path: path.join(dir, 'nope', 'v.img'), size: 4 << 20 }),
      (e: Error) => e.message === `folder ${path.join(dir, 'nope')} does not exist`,
    );
    const existing = path.join(dir, 'e.img');
    fs.writeFileSync(existing, Buffer.alloc(4 << 20));
    await assert.rejects(host.createVolume({ path: existing, size: 4 << 20 }), /already exists: leave Size empty/);
    await assert.rejects(host.createVolume({ path: path.join(dir, 'new.img') }), /does not exist: give a Size/);
    await assert.rejects(host.createVolume({ path: path.join(dir, 'odd.img'), size: 5000 }), (e: Error) => /^Size must be a multiple of 512/.test(e.message));
    // an existing file of 4 MiB: asked first (even of zeros: integritysetup asks before every format)
    await assert.rejects(
      host.createVolume({ path: existing }),
      (e: Error & { code?: string }) => e.code === 'ECONFIRM' && /^Format file .*e\.img \(4\.0 MiB\)\? It holds no known signature/.test(e.message),
    );
    const fmt = await host.createVolume({ path: existing, force: true });
    host.removeVolume(fmt.id);
    await assert.rejects(
      host.createVolume({ path: existing }),
      (e: Error & { code?: string }) =>
        e.code === 'ECONFIRM' && /It holds a dm-integrity volume: everything on it is lost/.test(e.message) && !/--force/.test(e.message),
    );
    await assert.rejects(
      host.createVolume({ path: path.join(dir, 'k.img'), size: 4 << 20, integrity: 'hmac-sha256' }),
      (e: Error) => /needs a key: give Integrity key$/.test(e.message) && !/--/.test(e.message),
    );
    const again = await host.createVolume({ path: existing, force: true });
    assert.equal(again.state, 'not-checked');
    assert.equal(fs.existsSync(jobStatePath(existing, 'scrub')), false);
  } finally {
    await host.close();
  }
});

test('dispatch: the new commands validate their arguments (KeyInput shape, unknown fields, ids)', async () => {
  const { dispatch } = await import('./dispatch.js');
  const dir = tmpDir('host-dispatch-');
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  try {
    const v = (await dispatch(host, 'createVolume', [{ path: path.join(dir, 'v.img'), size: 4 << 20 }])) as VolumeSnapshot;
    await assert.rejects(dispatch(host, 'unlockVolume', [v.id, { integrityKey: 'abcd' }]), /integrityKey must be \{ hex \} or \{ file \}/);
    await assert.rejects(dispatch(host, 'unlockVolume', [v.id, { integrityKey: { hex: 'ab', file: '/x' } }]), /must be \{ hex \} or \{ file \}/);
    await assert.rejects(dispatch(host, 'updateVolume', [v.id, { size: 5 }]), /unknown field "size"/);
    await assert.rejects(dispatch(host, 'updateVolume', [42, {}]), /expected a volume id/);
    await assert.rejects(dispatch(host, 'nope', []), /unknown command "nope"/);
    await assert.rejects(dispatch(host, 'unlockVolume', [v.id, {}]), /give at least one key/);
    const u = (await dispatch(host, 'updateVolume', [v.id, { name: 'n2', allowDiscards: true, dataDevice: null }])) as VolumeSnapshot;
    assert.equal(u.name, 'n2');
    assert.equal(u.options.allow_discards, true);
    const r = (await dispatch(host, 'replayJournal', [v.id])) as VolumeSnapshot;
    assert.equal(r.journal_disk!.committed_entries, 0);
    assert.equal(await dispatch(host, 'removeVolume', [v.id]), null);
  } finally {
    await host.close();
  }
});

test('replayJournal is refused while a job runs here, and while another process holds the volume lock; nothing is written', async () => {
  const dir = tmpDir('host-replay-lock-');
  const { img } = copy(golden('j-journal-unreplayed'), dir);
  const before = sha256File(img);
  let finish!: () => void;
  const startJobFake = (spec: { kind: 'recalc' | 'scrub' | 'wipe'; device: string }) => {
    const base = {
      job: spec.kind,
      position_sector: 0,
      total_sectors: 24408,
      start_sector: 0,
      bytes_per_second: 0,
      eta_ms: null,
      mismatches: 0,
      bad_ranges: [],
      journal: null,
    };
    const finished = new Promise<never>((r) => {
      finish = () => r({ ...base, state: 'paused' } as never);
    });
    return {
      spec,
      finished,
      pause: async () => {
        finish();
        return finished;
      },
    };
  };
  const host = await EngineHost.create({ pollMs: 0, startJob: startJobFake as never });
  try {
    const v = await host.addVolume({ path: img });
    host.startScrub(v.id);
    await assert.rejects(host.replayJournal(v.id), /a scrub is running; pause it before replaying its journal/);
    await host.pauseScrub(v.id);
    // another process writing the volume (the CLI's write/recalc hold this lock)
    const { spawn } = await import('node:child_process');
    const lockJs = new URL('../engine/io/lock.js', import.meta.url).href;
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { acquireWriteLock } = await import(${JSON.stringify(lockJs)}); acquireWriteLock(${JSON.stringify(img)}); console.log('locked'); setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((r) => child.stdout!.once('data', () => r()));
    try {
      // engine/io/lock.ts busy(): EBUSY, naming the holder's pid and that it writes (the child's pid, not ours)
      await assert.rejects(
        host.replayJournal(v.id),
        (e: Error & { code?: string }) =>
          e.code === 'EBUSY' &&
          e.message.startsWith(`${img} is in use by another process (pid ${child.pid}`) &&
          / that has it open for writing; only one writer at a time — wait for it to finish \(lock file .+\)$/.test(e.message),
      );
    } finally {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    }
    assert.equal(sha256File(img), before, 'nothing written');
    assert.equal((await host.replayJournal(v.id)).journal_disk!.committed_entries, 0);
  } finally {
    await host.close();
  }
});

test('a scrub the CLI is running shows as checking (by cli); starting one here is refused; after its Ctrl-C the host shows it paused', async () => {
  const dir = tmpDir('host-cli-running-');
  const img = path.join(dir, 'v.img');
  formatVolume(img, { size: 96 << 20, integrity: 'sha256', noWipe: true });
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    const v = await host.addVolume({ path: img, integrity: 'sha256' });
    const { spawn } = await import('node:child_process');
    const { PROJECT_ROOT } = await import('../testing/golden.js');
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js'), 'scrub', img, '--integrity', 'sha256', '--progress-json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.resume();
    const exited = new Promise((r) => child.once('exit', r));
    let s = await until(host, v.id, (x) => x.state === 'checking', 'the CLI scrub to show', 20_000);
    assert.equal(s.jobs.scrub?.state, 'running');
    assert.equal(s.runs.at(-1)!.by, 'cli');
    assert.equal(s.runs.at(-1)!.result, 'running');
    assert.throws(() => host.startScrub(v.id), /running in another process/);
    child.kill('SIGINT');
    await exited;
    s = host.listVolumes()[0]!;
    assert.ok(s.conditions.includes('check-paused') && s.conditions.includes('errors'), s.conditions.join());
    assert.equal(s.runs.at(-1)!.result, 'paused');
  } finally {
    await host.close();
  }
});

test('bitmap mode after an unclean close: the dirty regions are shown, a scrub is partial (dirty-bitmap), Replay recalculates them, then clean', async () => {
  const dir = tmpDir('host-dirty-');
  const img = path.join(dir, 'b.img');
  mkDirtyBitmapVolume(img, 8 << 20, 2048, [0]); // a crash: the bitmap is left dirty, the superblock says dirty_bitmap
  const host = await EngineHost.create({ pollMs: 0 });
  try {
    let v = await host.addVolume({ path: img, mode: 'bitmap', bitmapSectorsPerBit: 2048 });
    assert.equal(v.journal_disk!.kind, 'bitmap');
    assert.equal(v.journal_disk!.dirty_regions, 1);
    assert.equal(v.journal_disk!.dirty_blocks, 2048);
    assert.deepEqual(v.journal_disk!.dirty_ranges, [[0, 2048]]);
    assert.ok(v.superblock!.flags.includes('dirty_bitmap'));
    host.startScrub(v.id);
    v = await until(host, v.id, (x) => x.verification.scrub === 'finished', 'scrub');
    assert.equal(v.state, 'partial');
    assert.deepEqual(v.verification.unchecked, [{ reason: 'dirty-bitmap', blocks: 2048 }]);
    const progress: Array<{ done: number; total: number; finished: boolean }> = [];
    host.onEvent((e) => {
      if (e.type === 'replay-progress' && e.id === v.id) progress.push(e);
    });
    // the recalculation runs in a worker thread: the host answers meanwhile, and refuses what would race it
    const replay = host.replayJournal(v.id);
    assert.throws(() => host.startScrub(v.id), /its journal is being replayed; wait for it to finish/);
    await assert.rejects(host.replayJournal(v.id), /already being replayed/);
    v = await replay;
    const total = v.superblock!.provided_data_sectors;
    assert.ok(progress.length >= 1, 'replay-progress events');
    assert.deepEqual(progress.at(-1), { ...progress.at(-1)!, done: total, total, finished: true });
    assert.equal(v.journal_disk!.dirty_regions ?? 0, 0);
    assert.ok(!v.superblock!.flags.includes('dirty_bitmap'));
    host.startScrub(v.id);
    v = await until(host, v.id, (x) => x.verification.scrub === 'finished' && x.verification.unchecked_blocks === 0, 'second scrub');
    assert.equal(v.state, 'clean');
  } finally {
    await host.close();
  }
});

test('speed limit: set in Edit, kept across a restart, given to every job as bytes per second; 0 removes it', async () => {
  const dir = tmpDir('host-limit-');
  const img = path.join(dir, 'v.img');
  const data = path.join(dir, 'data');
  const specs: JobSpec[] = [];
  // the engine's own startJob, recording the spec it was given
  const recording: typeof startJob = (spec, on) => {
    specs.push(spec);
    return startJob(spec, on);
  };
  let host = await EngineHost.create({ dataDir: data, pollMs: 0, startJob: recording });
  try {
    let v = await host.createVolume({ path: img, size: 8 << 20 });
    assert.equal(v.speed_limit_mib_s, null);
    v = host.updateVolume(v.id, { speedLimitMiBs: 16 });
    assert.equal(v.speed_limit_mib_s, 16);
    for (const bad of [-1, 1.5, 2 ** 21]) assert.throws(() => host.updateVolume(v.id, { speedLimitMiBs: bad }), /Speed limit must be a whole number of MiB\/s/);
    await host.close();
    host = await EngineHost.create({ dataDir: data, pollMs: 0, startJob: recording });
    v = host.listVolumes()[0]!;
    assert.equal(v.speed_limit_mib_s, 16, 'kept in volumes.json');
    // the limit is what the job is given (how fast a limited job runs is the throttle's own test, not timed here)
    host.startScrub(v.id);
    assert.equal(specs.length, 1);
    assert.equal(specs.at(-1)!.maxBytesPerSecond, 16 << 20);
    await until(host, v.id, (x) => x.jobs.scrub?.state === 'done', 'the limited scrub');
    v = host.updateVolume(v.id, { speedLimitMiBs: 0 });
    assert.equal(v.speed_limit_mib_s, null);
    host.startScrub(v.id);
    assert.equal(specs.length, 2);
    assert.equal(specs.at(-1)!.maxBytesPerSecond, undefined);
    await until(host, v.id, (x) => x.jobs.scrub?.state === 'done' && x.runs.length === 2, 'the unlimited scrub');
  } finally {
    await host.close();
  }
});
