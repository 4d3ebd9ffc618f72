// protocol.ts over every surface: frames and bodies that used to throw past the handler (`null` killed serve),
// prototype keys, sizes, the pending cap, invalid UTF-8 and oversized frames, an unexpected exception answered
// and logged without the key, HTTP body limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoSecret } from '../testing/secrets.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { answer, LIMITS, parseBody, parseFrame, scrub, setLogger, validateCall } from './protocol.js';
import { startServer } from './serve.js';
import { IntegrityStudioError } from '../engine/errors.js';

test('validateCall: a schema for every command; wrong types, unknown and prototype fields, huge values refused with one line', () => {
  assert.deepEqual(validateCall('status', undefined), { cmd: 'status', args: [] });
  assert.throws(() => validateCall(null, []), /^IntegrityStudioError: command must be a string, not null$/);
  assert.throws(() => validateCall('toString', []), /unknown command "toString"/);
  assert.throws(() => validateCall('__proto__', []), /unknown command "__proto__"/);
  assert.throws(() => validateCall('status', { length: 1 }), /status: arguments must be an array, not an object/);
  assert.throws(() => validateCall('status', [1]), /status: expected no arguments, got 1/);
  assert.throws(() => validateCall('startRecalc', [42]), /startRecalc: expected a volume id/);
  assert.throws(() => validateCall('addVolume', [JSON.parse('{"__proto__":{"path":"x"},"path":"a"}')]), /addVolume: field "__proto__" is not allowed/);
  assert.throws(() => validateCall('addVolume', [{ path: 'a', constructor: 1 }]), /field "constructor" is not allowed/);
  assert.throws(() => validateCall('addVolume', [{ path: 'x'.repeat(5000) }]), /addVolume: path is too long \(5000 characters; at most 4096\)/);
  assert.throws(() => validateCall('addVolume', [{ path: 'a\0b' }]), /NUL/);
  assert.throws(
    () => validateCall('createVolume', [{ path: 'a', size: 1e30 }]),
    /createVolume: size must be a whole number of at most 9007199254740991 \(got 1e\+30\)/,
  );
  assert.throws(() => validateCall('createVolume', [{ path: 'a', size: '1M' }]), /size must be a whole number, not a string/);
  assert.throws(() => validateCall('createVolume', [{ path: 'a', mode: 'fast' }]), /mode must be journal, bitmap or direct/);
  assert.throws(() => validateCall('unlockVolume', ['id', { integrityKey: 'abcd' }]), /integrityKey must be \{ hex \} or \{ file \}, not a string/);
  assert.throws(() => validateCall('unlockVolume', ['id', { integrityKey: { hex: 'zz' } }]), /integrityKey.hex must be hex digits/);
  assert.throws(() => validateCall('updateVolume', ['id']), /updateVolume: expected an object of options, got nothing/);
  // the result holds only the schema's fields, in a fresh object (null = absent)
  const c = validateCall('createVolume', [{ path: 'a', size: 1 << 20, name: null, integrityKey: { hex: 'ab' } }]);
  assert.deepEqual(c.args, [{ path: 'a', size: 1 << 20, integrityKey: { hex: 'ab' } }]);
});

test('parseFrame: null, arrays, binary, truncated and oversized frames are errors to answer, never exceptions', () => {
  for (const f of ['null', '[]', '1', '"x"', 'true', '{"id":1', '', '{"id":-1,"cmd":"status"}', '{"id":1.5}', '{"id":1,"cmd":"status","x":1}']) {
    const r = parseFrame(Buffer.from(f), false);
    assert.ok('error' in r, f);
  }
  assert.match((parseFrame(Buffer.from('null'), false) as { error: string }).error, /frame must be an object \{ id, cmd, args \}, not null/);
  assert.match((parseFrame(Buffer.from([1, 2, 3]), true) as { error: string }).error, /binary frames are not accepted/);
  assert.match((parseFrame(Buffer.alloc(LIMITS.frameBytes + 1, 0x20), false) as { error: string }).error, /frame too large/);
  // the JSON parser's message (which quotes the input) is not echoed
  const bad = parseFrame(Buffer.from('{"id":1,"cmd":"unlockVolume","args":["v",{"integrityKey":{"hex":"deadbeefcafe'), false) as { error: string };
  assert.doesNotMatch(bad.error, /deadbeef/);
  assert.deepEqual(parseFrame(Buffer.from('{"id":7,"cmd":"status"}'), false), { id: 7, cmd: 'status', args: undefined });
  assert.throws(() => parseBody(Buffer.from('{')), /body is not valid JSON/);
  assert.deepEqual(parseBody(Buffer.alloc(0)), []);
});

test('an unexpected exception in a handler is answered and logged with the key scrubbed, never thrown', async () => {
  const lines: string[] = [];
  setLogger((l) => lines.push(l));
  try {
    const key = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const r = await answer('test', 5, 'unlockVolume', ['v1', { integrityKey: { hex: key } }], () => {
      throw new TypeError(`Cannot read properties of null (reading 'id') near ${key}`);
    });
    assert.equal(r.ok, false);
    assert.equal(r.id, 5);
    assert.match((r as { error: string }).error, /^internal error in unlockVolume: Cannot read properties of null/);
    assertNoSecret((r as { error: string }).error, Buffer.from(key, 'hex'), 'key', 'the answer');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /internal error in unlockVolume .*"integrityKey":"<redacted>"/);
    assertNoSecret(lines[0]!, Buffer.from(key, 'hex'), 'key', 'the log line');
    assert.doesNotMatch(lines[0]!, /a1b2c3d4e5f6/);
    // our own errors are answered as they are and not logged
    const r2 = await answer('test', 6, 'status', [], () => Promise.reject(new IntegrityStudioError('no volume with id x')));
    assert.deepEqual(r2, { id: 6, ok: false, error: 'no volume with id x', code: 'EINVAL' });
    assert.equal(lines.length, 1);
    assert.deepEqual(scrub({ journalCryptKey: { file: '/k' }, path: '/p' }), { journalCryptKey: '<redacted>', path: '/p' });
  } finally {
    setLogger((l) => process.stderr.write(`${l}\n`));
  }
});

function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  return new Promise((res, rej) => {
    ws.once('open', () => res(ws));
    ws.once('error', rej);
  });
}

test('serve: the frame null, invalid UTF-8, a 2 MiB frame and a flood past the pending cap are answered or closed; the server keeps serving', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-proto-'));
  const s = await startServer({ dataDir: dir, rendererDir: dir, port: 0 });
  const url = `ws://127.0.0.1:${s.port}/ws?token=${s.token}`;
  try {
    const ws = await open(url);
    const replies: Array<{ id: number; ok: boolean; error?: string }> = [];
    ws.on('message', (d) => {
      const f = JSON.parse(String(d));
      if (!f.event) replies.push(f);
    });
    const until = async (n: number) => {
      for (let i = 0; i < 500 && replies.length < n; i++) await new Promise((r) => setTimeout(r, 10));
    };
    ws.send('null');
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.send('{"id":3,"cmd":"status","args":[');
    await until(3);
    assert.deepEqual(
      replies.map((r) => r.ok),
      [false, false, false],
    );
    assert.match(replies[0]!.error!, /not null/);
    // a flood: every frame answered, those past the cap with "busy"
    const N = 200;
    for (let i = 0; i < N; i++) ws.send(JSON.stringify({ id: 1000 + i, cmd: 'listVolumes', args: [] }));
    await until(3 + N);
    assert.equal(replies.length, 3 + N);
    const busy = replies.filter((r) => /^busy: /.test(r.error ?? '')).length;
    assert.ok(busy > 0 && busy < N, `some answered busy (${busy})`);
    // invalid UTF-8 in a text frame: ws closes that connection (1007); the process is unharmed
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(Buffer.from([0x7b, 0xff, 0xfe]), { binary: false });
    assert.equal(await closed, 1007);
    const ws2 = await open(url);
    const closed2 = new Promise<number>((r) => ws2.once('close', (code) => r(code)));
    ws2.on('error', () => undefined);
    ws2.send('x'.repeat(2 << 20));
    assert.equal(await closed2, 1009);
    // HTTP: a body over the limit, a broken body, `null`, a bad %-escape
    const api = (cmd: string, body: string) => fetch(`http://127.0.0.1:${s.port}/api/${cmd}?token=${s.token}`, { method: 'POST', body });
    assert.equal((await api('status', 'x'.repeat(LIMITS.frameBytes + 10))).status, 413);
    const b = await api('status', '{');
    assert.equal(b.status, 400);
    assert.match(((await b.json()) as { error: string }).error, /not valid JSON/);
    const n = await api('addVolume', 'null');
    assert.equal(n.status, 400);
    assert.match(((await n.json()) as { error: string }).error, /addVolume: expected an object of options, got nothing/);
    assert.equal((await api('constructor', '[]')).status, 400);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/%E0%A4%A`)).status, 400);
    const st = await api('status', '');
    assert.equal(st.status, 200);
    assert.ok(Array.isArray(((await st.json()) as { volumes: unknown[] }).volumes));
  } finally {
    await s.close();
  }
});
