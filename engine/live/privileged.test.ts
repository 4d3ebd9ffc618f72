// The privileged helper's protocol: validation and refusals in process, then the real helper script run as a child
// (as root here: there is no polkit agent on this machine, so pkexec itself is not exercised).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  activateSpecFromWire,
  activateSpecToWire,
  allowedDevicePath,
  helperCommand,
  HELPER_COMMANDS,
  parseRequest,
  serveHelper,
  MAX_REQUEST_BYTES,
} from './privileged.js';
import { PrivilegedClient } from './privileged-client.js';
import type { LiveBackend } from './service.js';
import type { IntegrityStudioError } from '../errors.js';
import { DAMAGE_FIRST_RANGES } from '../api.js';
import { skipUnless } from '../../testing/unavailable.js';

const HELPER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'privileged-main.js');
const KEY = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

test('requests: a fixed set of commands, exactly the allowed fields, refused otherwise with one clear error', () => {
  assert.deepEqual(parseRequest('{"id":1,"cmd":"list"}'), { id: 1, cmd: 'list', args: {} });
  const refusals: Array<[string, RegExp, string]> = [
    ['nope', /request is not JSON/, 'EPROTO'],
    ['[1]', /must be a JSON object/, 'EPROTO'],
    ['{"cmd":"list"}', /needs an "id"/, 'EPROTO'],
    ['{"id":-1,"cmd":"list"}', /needs an "id"/, 'EPROTO'],
    ['{"id":2,"cmd":"rm -rf /"}', /unknown command "rm -rf \/": the helper answers only list, status/, 'EUNKNOWN'],
    ['{"id":3,"cmd":"list","__proto__":{"x":1}}', /unknown request field "__proto__"/, 'EPROTO'],
    ['{"id":4,"cmd":"list","args":[1]}', /args must be an object/, 'EINVAL'],
  ];
  for (const [line, msg, code] of refusals) {
    assert.throws(
      () => parseRequest(line),
      (e: IntegrityStudioError) => msg.test(e.message) && e.code === code,
      line,
    );
  }
  assert.throws(() => parseRequest(`{"id":1,"cmd":"list","args":{"x":"${'a'.repeat(MAX_REQUEST_BYTES)}"}}`), /request too large/);
  assert.equal(HELPER_COMMANDS.length, 15);
  // map-damage takes exactly a name, like the other reads
  assert.deepEqual(parseRequest('{"id":7,"cmd":"map-damage","args":{"name":"ex"}}'), { id: 7, cmd: 'map-damage', args: { name: 'ex' } });
});

test("activate arguments: block devices or the user's own image files, keys as hex bytes only, names checked", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'helper-'));
  try {
    const img = path.join(dir, 'a.img');
    fs.writeFileSync(img, '');
    const uid = fs.statSync(img).uid;
    assert.equal(allowedDevicePath(img, 'device', uid), fs.realpathSync(img));
    assert.throws(() => allowedDevicePath(img, 'device', uid + 1), /neither a block device nor an image file of yours/);
    assert.throws(() => allowedDevicePath('relative', 'device', uid), /absolute path/);
    assert.throws(() => allowedDevicePath(path.join(dir, 'missing'), 'device', uid), /does not exist/);
    if (fs.existsSync('/dev/loop0')) assert.equal(allowedDevicePath('/dev/loop0', 'device', 12345), '/dev/loop0');
    const spec = activateSpecFromWire(
      { device: img, name: 'x', integrity: 'hmac-sha256', integrityKeyHex: KEY, mode: 'bitmap', bitmapSectorsPerBit: 8192 },
      uid,
    );
    assert.deepEqual(spec.integrityKey, { bytes: Buffer.from(KEY, 'hex') });
    assert.deepEqual(activateSpecToWire(spec).integrityKeyHex, KEY);
    assert.throws(() => activateSpecToWire({ ...spec, integrityKey: { file: '/etc/shadow' } }), /takes keys as bytes/);
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ device: img, name: '../x' }, /not a device-mapper name/],
      [{ device: img, name: 'x', integrityKeyHex: 'zz' }, /1 to 4096 bytes in hex/],
      [{ device: img, name: 'x', integrityKeyFile: '/etc/shadow' }, /unknown argument "integrityKeyFile"/],
      [{ device: img, name: 'x', integrity: 'sha256; reboot' }, /not an algorithm name/],
      [{ device: img, name: 'x', mode: 'fast' }, /mode must be journal, bitmap, direct or recovery/],
      [{ device: img, name: 'x', journalWatermark: 101 }, /journalWatermark must be a whole number from 0 to 100/],
      [{ name: 'x' }, /device is required/],
    ];
    for (const [raw, msg] of bad) assert.throws(() => activateSpecFromWire(raw, uid), msg, JSON.stringify(raw));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** a live scrub's progress with n bad ranges (the fields boundScrub reads) */
function progress(n: number) {
  return { job: 'live-scrub', name: 'ja', bad_ranges: Array.from({ length: n }, (_, i) => [2 * i, 2 * i + 1]), read_error_ranges: [], kernel_messages: [] };
}

/** A backend that records what reaches it. */
function recorder(): LiveBackend & { calls: unknown[][]; emit(p: unknown): void } {
  const calls: unknown[][] = [];
  let listener: ((p: never) => void) | null = null;
  const rec =
    (name: string) =>
    async (...a: unknown[]) => {
      calls.push([name, ...a]);
      if (a[0] === 'fail') throw new Error(`boom with key ${KEY}`);
      return { name, args: a };
    };
  // a scrub's answers are progress: 1000 bad ranges, so what goes up the pipe shows it is bounded
  const scrub =
    (name: string) =>
    async (...a: unknown[]) => {
      calls.push([name, ...a]);
      return { ...progress(1000), args: a };
    };
  return {
    calls,
    emit: (p: unknown) => listener?.(p as never),
    availability: rec('availability') as never,
    list: rec('list') as never,
    status: rec('status') as never,
    readSuperblock: rec('readSuperblock') as never,
    kernelLog: rec('kernelLog') as never,
    plan: rec('plan') as never,
    control: rec('control') as never,
    scrubStart: scrub('scrubStart') as never,
    scrubPause: rec('scrubPause') as never,
    scrubProgress: rec('scrubProgress') as never,
    mapDamage: rec('mapDamage') as never,
    onScrubProgress: (l) => {
      listener = l as never;
      return () => {
        listener = null;
      };
    },
    close: async () => {
      calls.push(['close']);
    },
  };
}

test('serveHelper: one answer per request with its id, events for scrub progress, internal errors scrubbed', async () => {
  const backend = recorder();
  const input = new PassThrough();
  const out: string[] = [];
  const done = serveHelper(backend, input, (l) => out.push(l), { uid: 0 });
  input.write('{"id":1,"cmd":"list"}\n{"id":2,"cmd":"status","args":{"name":"ja"}}\n');
  input.write('{"id":3,"cmd":"recalc-reset","args":{"name":"ja","confirm":true}}\n{"id":4,"cmd":"status","args":{"name":"fail"}}\n');
  input.write('{"id":5,"cmd":"suspend","args":{"name":"ja","extra":1}}\ngarbage\n{"id":6,"cmd":"plan","args":{"action":"format","name":"ja"}}\n');
  input.write(`{"id":7,"cmd":"scrub-start","args":{"name":"ja","maxBytesPerSecond":1048576}}\n`);
  input.write(`${'x'.repeat(MAX_REQUEST_BYTES + 10)}`);
  input.write('\n{"id":8,"cmd":"list"}\n');
  await new Promise((r) => setTimeout(r, 20));
  backend.emit(progress(1000));
  input.end();
  await done;
  const msgs = out.map((l) => JSON.parse(l));
  assert.equal(msgs[0].event, 'ready');
  const byId = new Map(msgs.filter((m) => 'id' in m && m.id !== null).map((m) => [m.id, m]));
  assert.equal(byId.get(1).ok, true);
  assert.deepEqual(byId.get(2).result, { name: 'status', args: ['ja'] });
  assert.deepEqual(byId.get(3).result, { name: 'control', args: [{ action: 'recalc-reset', name: 'ja' }, true] });
  assert.deepEqual(byId.get(4).error, { code: 'EINTERNAL', message: 'internal error: boom with key <hex>' });
  assert.match(byId.get(5).error.message, /suspend: unknown argument "extra"/);
  assert.match(byId.get(6).error.message, /plan: unknown action "format"/);
  assert.deepEqual(byId.get(7).result.args, ['ja', { maxBytesPerSecond: 1048576 }]);
  // scrub answers and events go up the pipe bounded, with their counts
  assert.equal(byId.get(7).result.bad_ranges.length, DAMAGE_FIRST_RANGES);
  assert.equal(byId.get(7).result.bad_range_count, 1000);
  assert.equal(byId.get(8).ok, true, 'the line after an oversized one is answered');
  const anonymous = msgs.filter((m) => m.id === null);
  assert.deepEqual(
    anonymous.map((m) => m.error.code),
    ['EPROTO', 'E2BIG'],
  );
  const events = msgs.filter((m) => m.event === 'scrub-progress').map((m) => m.data);
  assert.equal(events.length, 1);
  assert.equal(events[0].bad_ranges.length, DAMAGE_FIRST_RANGES);
  assert.equal(events[0].bad_range_count, 1000);
  assert.deepEqual(events[0].bad_ranges[1], [2, 3]);
  assert.ok(
    backend.calls.some((c) => c[0] === 'close'),
    'the backend is closed (scrubs paused) when the app goes',
  );
  assert.ok(
    !backend.calls.some(
      (c) => c[0] === 'control' && (c[1] as { name: string }).name === 'ja' && c[2] === false && (c[1] as { action: string }).action === 'suspend',
    ),
    'the invalid suspend did not run',
  );
});

test('the pkexec invocation: the installed wrapper the policy names, or node directly as root', () => {
  assert.deepEqual(helperCommand({ uid: 1000 }).argv, ['pkexec', '/usr/lib/integrity-studio/live-helper']);
  const root = helperCommand({ uid: 0, execPath: '/opt/x/integrity-studio', electron: true });
  assert.equal(root.argv[0], '/opt/x/integrity-studio');
  assert.match(root.argv[1]!, /engine\/live\/privileged-main\.js$/);
  assert.deepEqual(root.env, { ELECTRON_RUN_AS_NODE: '1' });
  const policy = fs.readFileSync(path.join(path.dirname(HELPER), '../../../assets/linux/dev.integrity-studio.live-helper.policy'), 'utf8');
  assert.match(policy, /<action id="dev.integrity-studio.live-helper">/);
  assert.match(policy, /<annotate key="org.freedesktop.policykit.exec.path">\/usr\/lib\/integrity-studio\/live-helper<\/annotate>/);
  const wrapper = fs.readFileSync(path.join(path.dirname(HELPER), '../../../assets/linux/live-helper'), 'utf8');
  assert.match(wrapper, /ELECTRON_RUN_AS_NODE=1/);
  assert.match(wrapper, /dist\/engine\/live\/privileged-main\.js"$/m);
});

test('the real helper, run as a child: ready, refusals in its words, answers to the client, exit when the app goes', async (t) => {
  if (skipUnless(t, process.getuid?.() !== 0 ? 'the helper is meant to run as root; this test runs it directly (no polkit agent here)' : null)) return;
  const child = spawn(process.execPath, [HELPER], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stdin.write(
    '{"id":1,"cmd":"modprobe","args":{}}\n{"id":2,"cmd":"status","args":{"name":"x y"}}\n{"id":3,"cmd":"deactivate","args":{"name":"does-not-exist","confirm":true}}\n',
  );
  child.stdin.end();
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  assert.equal(code, 0);
  const msgs = lines.map((l) => JSON.parse(l));
  assert.equal(msgs[0].event, 'ready');
  assert.equal(msgs[0].data.root, true);
  const byId = new Map(msgs.filter((m) => 'id' in m).map((m) => [m.id, m]));
  assert.equal(byId.get(1).error.code, 'EUNKNOWN');
  assert.match(byId.get(2).error.message, /"x y" is not a device-mapper name/);
  // no such device where dmsetup reaches the kernel's device-mapper; dmsetup's own error, named, where it cannot
  assert.equal(byId.get(3).ok, false);
  if (spawnSync('dmsetup', ['version']).status === 0) {
    assert.deepEqual(byId.get(3).error, { code: 'ENOENT', message: 'no active integrity device is named does-not-exist' });
  } else {
    assert.equal(byId.get(3).error.code, 'EDMSETUP');
    assert.match(
      byId.get(3).error.message,
      /^dmsetup (status|table|targets): \/dev\/mapper\/control: open failed: .*Failure to communicate with kernel device-mapper driver\.$/,
    );
  }

  const client = new PrivilegedClient({ argv: [process.execPath, HELPER] });
  try {
    await assert.rejects(client.status('a/b'), /not a device-mapper name/);
    const a = await client.availability();
    assert.equal(typeof a.available, 'boolean');
  } finally {
    await client.close();
  }
});

test('the client says why the helper did not start (pkexec dismissed: 126)', async () => {
  const client = new PrivilegedClient({ argv: ['sh', '-c', 'exit 126'] });
  await assert.rejects(client.list(), (e: IntegrityStudioError) => e.code === 'EAUTH' && /administrator password was not given/.test(e.message));
});
