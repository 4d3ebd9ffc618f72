// serve + EngineHost over real files: token refusal (HTTP API, page, WebSocket upgrade), format through the
// WebSocket with its events, validation of arguments, the volume list surviving a restart, throttled progress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { startServer } from './serve.js';
import { EngineHost } from './engine-host.js';
import type { IntegrityEvent, JobProgress, VolumeSnapshot } from '../engine/api.js';
import type { JobHandle, JobSpec } from '../engine/jobs/types.js';
import { assertNoSecret } from '../testing/secrets.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'is-serve-'));
}

function client(url: string): Promise<{ call(cmd: string, ...args: unknown[]): Promise<unknown>; events: IntegrityEvent[]; close(): void }> {
  const ws = new WebSocket(url);
  const events: IntegrityEvent[] = [];
  const waiting = new Map<number, (f: { ok: boolean; result?: unknown; error?: string }) => void>();
  let n = 0;
  ws.on('message', (d) => {
    const f = JSON.parse(String(d));
    if (f.event) events.push(f.event);
    else waiting.get(f.id)?.(f);
  });
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        events,
        close: () => ws.close(),
        call: (cmd, ...args) =>
          new Promise((res, rej) => {
            const id = ++n;
            waiting.set(id, (f) => (f.ok ? res(f.result) : rej(new Error(f.error))));
            ws.send(JSON.stringify({ id, cmd, args }));
          }),
      }),
    );
  });
}

test('requests without the token are refused: API, page and WebSocket upgrade', async () => {
  const dir = tmp();
  const s = await startServer({ dataDir: dir, rendererDir: dir });
  try {
    const base = `http://127.0.0.1:${s.port}`;
    assert.equal((await fetch(`${base}/api/status`, { method: 'POST' })).status, 403);
    assert.equal((await fetch(`${base}/api/status?token=wrong`, { method: 'POST' })).status, 403);
    assert.equal((await fetch(`${base}/`)).status, 403);
    const ok = await fetch(`${base}/api/status?token=${s.token}`, { method: 'POST' });
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as { volumes: unknown[] }).volumes, []);
    const bearer = await fetch(`${base}/api/listVolumes`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` } });
    assert.equal(bearer.status, 200);
    await assert.rejects(client(`ws://127.0.0.1:${s.port}/ws?token=nope`), /403/);
    await assert.rejects(client(`ws://127.0.0.1:${s.port}/ws`), /403/);
    // no built dashboard in rendererDir: a clear line, not a crash
    const page = await fetch(s.url);
    assert.equal(page.status, 404);
    assert.match(await page.text(), /not built/);
  } finally {
    await s.close();
  }
});

test('create a volume over the WebSocket: real format on disk, events, bad arguments refused, list survives a restart', async () => {
  const dir = tmp();
  const img = path.join(dir, 'v.img');
  let s = await startServer({ dataDir: path.join(dir, 'data'), rendererDir: dir });
  try {
    const c = await client(`ws://127.0.0.1:${s.port}/ws?token=${s.token}`);
    const v = (await c.call('createVolume', { path: img, size: 4 << 20, integrity: 'sha256' })) as {
      id: string;
      superblock: { integrity_tag_size: number; provided_data_sectors: number };
      state: string;
      open_command: string;
      dm_table: string;
    };
    assert.equal(fs.statSync(img).size, 4 << 20);
    assert.equal(fs.readFileSync(img).subarray(0, 8).toString('latin1'), 'integrt\0');
    assert.equal(v.superblock.integrity_tag_size, 32);
    assert.equal(v.state, 'not-checked', 'never scrubbed: not "clean"');
    assert.match(v.open_command, /^integritysetup open .*v\.img v\.img --integrity sha256$/);
    assert.match(
      v.dm_table,
      new RegExp(
        `^0 ${v.superblock.provided_data_sectors} integrity .*v\\.img 0 32 J 8 journal_sectors:\\d+ interleave_sectors:32768 buffer_sectors:\\d+ journal_watermark:50 commit_time:10000 fix_padding fix_hmac internal_hash:sha256$`,
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(c.events.some((e) => e.type === 'volume' && e.volume.id === v.id && e.volume.state === 'formatting'));
    assert.ok(c.events.some((e) => e.type === 'format-progress' && e.id === v.id && e.done === e.total));
    await assert.rejects(c.call('createVolume', { path: img }), /already in the list/);
    await assert.rejects(c.call('createVolume', { path: path.join(dir, 'x.img'), size: -5 }), /Size must be a positive whole number/);
    await assert.rejects(c.call('createVolume', { path: path.join(dir, 'x.img'), bogus: 1 }), /unknown field "bogus"/);
    await assert.rejects(c.call('createVolume', { path: path.join(dir, 'x.img'), size: 1 << 20, integrityKey: { hex: 'zz' } }), /hex/);
    await assert.rejects(c.call('startRecalc', 42), /expected a volume id/);
    await assert.rejects(c.call('startRecalc', 'no-such-id'), { message: 'no volume with id no-such-id' });
    const plain = path.join(dir, 'plain.img');
    fs.writeFileSync(plain, Buffer.alloc(1 << 20));
    await assert.rejects(
      c.call('addVolume', { path: plain }),
      (e: Error) =>
        e.message.startsWith(`file ${plain} (1.0 MiB) holds no known signature`) &&
        /not a dm-integrity volume \(no dm-integrity superblock at its start\)/.test(e.message),
    );
    assert.equal(fs.existsSync(path.join(dir, 'x.img')), false);
    c.close();
    await s.close();
    s = await startServer({ dataDir: path.join(dir, 'data'), rendererDir: dir });
    const list = s.host.listVolumes();
    assert.equal(list.length, 1);
    assert.equal(list[0]!.path, img);
    assert.equal(list[0]!.superblock?.integrity_tag_size, 32);
  } finally {
    await s.close();
  }
});

function filesUnder(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(d, e.name)) : [path.join(d, e.name)]));
}

test('keys and a passphrase sent to `serve` (WebSocket and HTTP, the real bin) never come out: frames, HTTP answers, its output, files', async () => {
  const dir = tmp();
  const data = path.join(dir, 'data');
  const crypto = await import('node:crypto');
  const { spawn } = await import('node:child_process');
  const { PROJECT_ROOT } = await import('../testing/golden.js');
  const { unlockLuks2 } = await import('../engine/luks/index.js');
  const ikey = crypto.randomBytes(32);
  const jmac = crypto.randomBytes(32);
  const jcrypt = crypto.randomBytes(32);
  const passphrase = `serve passphrase ${crypto.randomBytes(9).toString('base64url')}`;
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-serve-keys-'));
  const jmacFile = path.join(keyDir, 'jmac.key'); // a key file: its content must not come out either
  fs.writeFileSync(jmacFile, jmac);
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js'), 'serve', '--port', '0', '--data-dir', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, INTEGRITY_STUDIO_WS_TRACE: path.join(dir, 'ws-trace.log') },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const seen: string[] = []; // every WebSocket frame and HTTP answer body
  try {
    const t0 = Date.now();
    while (!/Dashboard: (\S+)\r?\n/.test(out)) {
      if (Date.now() - t0 > 20_000) throw new Error(`no Dashboard URL: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const u = new URL(/Dashboard: (\S+)\r?\n/.exec(out)![1]!);
    const base = `http://127.0.0.1:${u.port}`;
    const token = u.searchParams.get('token')!;
    const ws = new WebSocket(`ws://127.0.0.1:${u.port}/ws?token=${token}`);
    await new Promise((r, j) => {
      ws.on('open', r);
      ws.on('error', j);
    });
    const waiting = new Map<number, (f: { ok: boolean; result: VolumeSnapshot; error?: string }) => void>();
    const events: IntegrityEvent[] = [];
    ws.on('message', (d) => {
      seen.push(String(d));
      const f = JSON.parse(String(d));
      if (f.event) events.push(f.event);
      else waiting.get(f.id)?.(f);
    });
    let n = 0;
    // the answers read here are volume snapshots (create, unlock) or refusals
    const call = (cmd: string, ...args: unknown[]) =>
      new Promise<{ ok: boolean; result: VolumeSnapshot; error?: string }>((res) => {
        const id = ++n;
        waiting.set(id, res);
        ws.send(JSON.stringify({ id, cmd, args }));
      });
    const http = async (cmd: string, body: unknown) => {
      const r = await fetch(`${base}/api/${cmd}?token=${token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await r.text();
      seen.push(text);
      return { status: r.status, text };
    };
    const until = async (what: string, ok: () => boolean) => {
      const t1 = Date.now();
      while (!ok()) {
        if (Date.now() - t1 > 60_000) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    // a keyed volume: internal hash key (hex), journal MAC key (key file), journal encryption key (hex)
    const img = path.join(dir, 'keyed.img');
    const keyed = {
      integrity: 'hmac-sha256',
      integrityKey: { hex: ikey.toString('hex') },
      journalIntegrity: 'hmac-sha256',
      journalIntegrityKey: { file: jmacFile },
      journalCrypt: 'ctr-aes',
      journalCryptKey: { hex: jcrypt.toString('hex') },
    };
    const v = await call('createVolume', { path: img, size: 4 << 20, ...keyed });
    assert.equal(v.ok, true, v.error);
    assert.match(v.result.dm_table, /internal_hash:hmac\(sha256\):<key> journal_crypt:ctr\(aes\):<key> journal_mac:hmac\(sha256\):<key>/);
    // refusals that carry the keys: the same path again, a key that is not hex (the secret inside it)
    const again = await call('createVolume', { path: img, size: 4 << 20, ...keyed });
    assert.match(again.error!, /already in the list/);
    const badHex = await call('unlockVolume', v.result.id, { integrityKey: { hex: `${ikey.toString('hex')}zz` } });
    assert.equal(badHex.ok, false);
    // a scrub with the keys (a worker thread), then its answer over HTTP and the export
    await call('startScrub', v.result.id);
    await until('the scrub', () => events.some((e) => e.type === 'volume' && e.volume.id === v.result.id && e.volume.verification.scrub === 'finished'));
    // a LUKS2 volume made with a passphrase; its volume key must not come out either
    const limg = path.join(dir, 'luks.img');
    const l = await call('createLuksVolume', {
      path: limg,
      size: 18 << 20,
      integrity: 'hmac-sha256',
      secret: { passphrase },
      pbkdf: 'pbkdf2',
      pbkdfIterations: 1000,
    });
    assert.equal(l.ok, true, l.error);
    assert.equal(l.result.luks?.locked, false);
    const wrong = await call('unlockVolume', l.result.id, { luksSecret: { passphrase: `${passphrase}x` } });
    assert.equal(wrong.ok, false);
    // over HTTP: the keys again (edit), the passphrase (unlock), the lists
    let h = await http('updateVolume', [v.result.id, { integrityKey: { hex: ikey.toString('hex') }, journalCryptKey: { hex: jcrypt.toString('hex') } }]);
    assert.equal(h.status, 200, h.text);
    h = await http('unlockVolume', [l.result.id, { luksSecret: { passphrase } }]);
    assert.equal(h.status, 200, h.text);
    assert.equal(JSON.parse(h.text).luks.locked, false, 'unlocked with the passphrase sent over HTTP');
    h = await http('unlockVolume', [l.result.id, { luksSecret: { passphrase: passphrase.toUpperCase() } }]);
    assert.equal(h.status, 400);
    for (const cmd of ['listVolumes', 'status']) assert.equal((await http(cmd, [])).status, 200);
    const exp = await fetch(`${base}/export/${v.result.id}.json?token=${token}`);
    assert.equal(exp.status, 200);
    seen.push(await exp.text());
    ws.close();
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
    // what serve was given, in every form, is in none of its outputs (the key file itself aside)
    const { volumeKey } = await unlockLuks2(limg, { passphrase: Buffer.from(passphrase) });
    const secrets: Array<[string, Buffer]> = [
      ['integrity key', ikey],
      ['journal MAC key', jmac],
      ['journal crypt key', jcrypt],
      ['passphrase', Buffer.from(passphrase)],
      ['LUKS2 volume key', Buffer.from(volumeKey)],
    ];
    const outputs: Array<[string, Buffer]> = [
      ['WebSocket frames and HTTP answers', Buffer.from(seen.join('\n'))],
      ["serve's stdout and stderr", Buffer.from(out)],
      ...filesUnder(dir).map((f): [string, Buffer] => [f, fs.readFileSync(f)]),
    ];
    assert.ok(
      seen.length > 10 && out.length > 0 && outputs.some(([f]) => f.endsWith('volumes.json')) && outputs.some(([f]) => f.endsWith('ws-trace.log')),
      'the outputs searched are there',
    );
    assert.ok(
      outputs.some(([f]) => f === `${img}.scrub.json`),
      'the scrub state beside the image is searched',
    );
    for (const [name, secret] of secrets) for (const [where, bytes] of outputs) assertNoSecret(bytes, secret, name, where);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(keyDir, { recursive: true, force: true });
  }
});

test('progress events are throttled, the final one always arrives, pause goes to the job', async () => {
  const dir = tmp();
  const img = path.join(dir, 'v.img');
  let spec: JobSpec | null = null;
  let resolveFinished!: (p: JobProgress) => void;
  const base = (pos: number, state: JobProgress['state']): JobProgress => ({
    job: 'recalc',
    state,
    position_sector: pos,
    total_sectors: 1000,
    start_sector: 0,
    sectors_per_block: 1,
    bytes_per_second: 1e6,
    eta_ms: 10,
    mismatches: 0,
    bad_ranges: [],
    journal: null,
  });
  let report!: (p: JobProgress) => void;
  const startJob = (s: JobSpec, on: (p: JobProgress) => void): JobHandle => {
    spec = s;
    report = on;
    const finished = new Promise<JobProgress>((r) => {
      resolveFinished = r;
    });
    return {
      spec: s,
      finished,
      pause: async () => {
        const p = base(500, 'paused');
        resolveFinished(p);
        return p;
      },
    };
  };
  const host = await EngineHost.create({ startJob, throttleMs: 200 });
  try {
    const v = await host.createVolume({ path: img, size: 2 << 20 });
    const events: IntegrityEvent[] = [];
    host.onEvent((e) => events.push(e));
    host.startRecalc(v.id);
    assert.equal(spec!.kind, 'recalc');
    assert.equal(spec!.device, img);
    assert.throws(() => host.startScrub(v.id), /already running/);
    for (let i = 0; i < 100; i++) report(base(i, 'running'));
    const progress = () => events.filter((e) => e.type === 'progress');
    assert.equal(progress().length, 1, 'only the first of a burst goes at once');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(progress().length, 2, 'then the latest one after the interval');
    assert.equal((progress()[1] as { progress: JobProgress }).progress.position_sector, 99);
    await host.pauseRecalc(v.id);
    await new Promise((r) => setImmediate(r));
    const last = progress().at(-1) as { progress: JobProgress };
    assert.equal(last.progress.state, 'paused');
    // the superblock is not recalculating (the job here is a stand-in): nothing to resume, never scrubbed
    assert.equal(host.listVolumes()[0]!.state, 'not-checked');
  } finally {
    await host.close();
  }
});

test('serve keeps its port and token across restarts (serve.json, mode 0600) unless told otherwise; the old token is refused after --new-token', async () => {
  const dir = tmp();
  const data = path.join(dir, 'data');
  let s = await startServer({ dataDir: data, rendererDir: dir, pollMs: 0 });
  const { port, token } = s;
  const status = await fetch(`http://127.0.0.1:${port}/api/status?token=${token}`, { method: 'POST' });
  const startedAt = ((await status.json()) as { started_at: string }).started_at;
  assert.match(startedAt, /^\d{4}-\d\d-\d\dT/);
  await s.close();
  const file = path.join(data, 'serve.json');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { port, token });
  s = await startServer({ dataDir: data, rendererDir: dir, pollMs: 0 });
  try {
    assert.equal(s.port, port, 'same port');
    assert.equal(s.token, token, 'same token');
    const again = await fetch(`http://127.0.0.1:${port}/api/status?token=${token}`, { method: 'POST' });
    assert.equal(again.status, 200, 'an open tab keeps working after a restart');
    assert.notEqual(((await again.json()) as { started_at: string }).started_at, startedAt, 'started_at tells the restart');
  } finally {
    await s.close();
  }
  s = await startServer({ dataDir: data, rendererDir: dir, newToken: true, port: 0, pollMs: 0 });
  try {
    assert.notEqual(s.token, token);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/api/status?token=${token}`, { method: 'POST' })).status, 403);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/api/status?token=${s.token}`, { method: 'POST' })).status, 200);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).token, s.token);
    // the kept port is busy: one clear line
    await assert.rejects(startServer({ dataDir: data, rendererDir: dir, pollMs: 0 }), /port \d+ \(kept from the last run\) is in use.*--port 0/);
  } finally {
    await s.close();
  }
});

test('serve: Ctrl-C (SIGINT) pauses a running scrub and says what it paused (volume, job, position %)', async () => {
  const dir = tmp();
  const img = path.join(dir, 'big.img');
  // no wipe: every tag mismatches, so the scrub takes its slow per-block path — long enough to be interrupted
  const { formatVolume } = await import('../engine/commands/format.js');
  formatVolume(img, { size: 96 << 20, integrity: 'sha256', noWipe: true });
  const { spawn } = await import('node:child_process');
  const { PROJECT_ROOT } = await import('../testing/golden.js');
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'integrity-studio.js'), 'serve', '--port', '0', '--data-dir', path.join(dir, 'data')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const t0 = Date.now();
  while (!/Dashboard: (\S+)\r?\n/.test(out)) {
    if (Date.now() - t0 > 20_000) throw new Error(`no Dashboard URL: ${out}${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const u = new URL(/Dashboard: (\S+)\r?\n/.exec(out)![1]!);
  const c = await client(`ws://127.0.0.1:${u.port}/ws?token=${u.searchParams.get('token')}`);
  const v = (await c.call('addVolume', { path: img, integrity: 'sha256' })) as { id: string };
  // the volume's speed limit keeps the scrub running until Ctrl-C however fast the machine is
  await c.call('updateVolume', v.id, { speedLimitMiBs: 16 });
  await c.call('startScrub', v.id);
  while (!c.events.some((e) => e.type === 'progress' && e.progress.position_sector > 0)) {
    if (Date.now() - t0 > 30_000) throw new Error('no progress');
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 0, err);
  c.close();
  const m = /paused scrub of big\.img \(.*big\.img\) at (\d+\.\d)% \(sector (\d+) of (\d+)\); the position is saved/.exec(out);
  assert.ok(m, out);
  const st = JSON.parse(fs.readFileSync(`${img}.scrub.json`, 'utf8')) as { state: string; position_sector: number };
  assert.equal(st.state, 'paused');
  assert.equal(st.position_sector, Number(m![2]), 'the printed position is the saved one');
  assert.ok(Number(m![1]) < 100);
});
