// Controls on a simulated device-mapper that starts as the 6.1 guest was (testing/data/live/bookworm.txt) and keeps keyed
// tables, reloads, resumes and statuses the way the kernel does (reset_recalculate restarts at every resume of its
// table; a resume swaps in the inactive table and restarts the counter).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoSecret } from '../../testing/secrets.js';
import fs from 'node:fs';
import { planActivate, planControl, runControl } from './controls.js';
import { listLiveVolumes } from './discover.js';
import { parseIntegrityTable, redactTableLine } from './table.js';
import { capture, fakeSystem, section } from '../../testing/live-fixtures.js';
import type { RunResult, ToolRunner } from './system.js';
import type { LiveVolume } from './types.js';

const c = capture('bookworm');
const KEY1 = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';

class FakeDm implements ToolRunner {
  live = new Map<string, string>();
  inactive = new Map<string, string>();
  status = new Map<string, { mismatches: number; provided: number; recalc: number | null }>();
  suspended = new Set<string>();
  calls: string[][] = [];
  stdins: Buffer[] = [];
  opened: Array<{ argv: string[]; keys: Record<string, Buffer> }> = [];
  constructor() {
    for (const l of section(c, 'table-showkeys')) {
      const [name, rest] = [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)];
      this.live.set(name, rest);
    }
    for (const l of section(c, 'status')) {
      const t = l.split(/\s+/);
      if (t[3] === 'integrity')
        this.status.set(t[0]!.replace(/:$/, ''), { mismatches: Number(t[4]), provided: Number(t[5]), recalc: t[6] === '-' ? null : Number(t[6]) });
    }
  }
  private ok(s: string): RunResult {
    return { status: 0, stdout: Buffer.from(s), stderr: '' };
  }
  private keyless(line: string): string {
    return line.replace(/((?:internal_hash|journal_crypt|journal_mac):[^: ]+):([0-9a-f]+)/g, (_, a: string, k: string) => `${a}:${'0'.repeat(k.length)}`);
  }
  async run(tool: string, args: readonly string[], opts: { stdin?: Buffer } = {}): Promise<RunResult> {
    this.calls.push([tool, ...args]);
    const a = [...args];
    if (tool === 'integritysetup' && a[0] === 'open') {
      const keys: Record<string, Buffer> = {};
      for (let i = 0; i < a.length; i++) if (a[i]!.endsWith('-key-file')) keys[a[i]!] = await fs.promises.readFile(a[i + 1]!);
      this.opened.push({ argv: a, keys });
      return this.ok('');
    }
    if (tool === 'integritysetup' && a[0] === 'close') {
      this.live.delete(a[1]!);
      return this.ok('');
    }
    if (tool !== 'dmsetup') return { status: 1, stdout: Buffer.alloc(0), stderr: 'unexpected' };
    const names = [...this.live.keys()].sort();
    const integrity = names.filter((n) => this.live.get(n)!.split(' ')[2] === 'integrity');
    if (a[0] === 'info') {
      if (a.length > 8)
        return this.ok(
          section(c, 'info')
            .filter((l) => l.startsWith(`${a[8]}|`))
            .join('\n'),
        );
      return this.ok(
        section(c, 'info')
          .filter((l) => this.live.has(l.split('|')[0]!))
          .map((l) => {
            const n = l.split('|')[0]!;
            return this.suspended.has(n) ? l.replace('|L--w|', '|L-sw|') : l;
          })
          .join('\n') + '\n',
      );
    }
    if (a[0] === 'targets') return this.ok(section(c, 'targets').join('\n'));
    if (a[0] === 'table' && a[1] === '--target') {
      const want = a[2];
      return this.ok(
        names
          .filter((n) => this.live.get(n)!.split(' ')[2] === want)
          .map((n) => `${n}: ${this.keyless(this.live.get(n)!)}`)
          .join('\n') + '\n',
      );
    }
    if (a[0] === 'status' && a[1] === '--target') {
      return this.ok(
        integrity
          .map((n) => {
            const s = this.status.get(n)!;
            return `${n}: 0 ${s.provided} integrity ${s.mismatches} ${s.provided} ${s.recalc ?? '-'}`;
          })
          .join('\n') + '\n',
      );
    }
    const name = a[a.length - 1]!;
    if (a[0] === 'table') {
      const l = this.live.get(name);
      if (!l) return { status: 1, stdout: Buffer.alloc(0), stderr: `Device ${name} not found` };
      return this.ok(`${a[1] === '--showkeys' ? l : this.keyless(l)}\n`);
    }
    if (a[0] === 'status') {
      const s = this.status.get(name);
      if (!s) return { status: 1, stdout: Buffer.alloc(0), stderr: `Device ${name} not found` };
      return this.ok(`0 ${s.provided} integrity ${s.mismatches} ${s.provided} ${s.recalc ?? '-'}\n`);
    }
    if (a[0] === 'reload') {
      this.stdins.push(opts.stdin!);
      const line = opts.stdin!.toString().trim();
      parseIntegrityTable(line); // the kernel would refuse a malformed line
      this.inactive.set(name, line);
      return this.ok('');
    }
    if (a[0] === 'suspend') {
      this.suspended.add(name);
      return this.ok('');
    }
    if (a[0] === 'resume') {
      this.suspended.delete(name);
      const next = this.inactive.get(name);
      if (next) {
        this.live.set(name, next);
        this.inactive.delete(name);
        const t = parseIntegrityTable(next);
        const s = this.status.get(name)!;
        s.mismatches = 0;
        if (t.options.reset_recalculate) s.recalc = 0;
        else if (t.options.recalculate && s.recalc === null) s.recalc = 0;
        // the kernel moves on a little between two calls
        else if (s.recalc !== null) s.recalc = Math.min(s.provided, s.recalc + 32768);
      }
      return this.ok('');
    }
    if (a[0] === 'clear') return this.ok('');
    return { status: 1, stdout: Buffer.alloc(0), stderr: `unexpected dmsetup ${a.join(' ')}` };
  }
}

async function volumes(dm: FakeDm, sys: ReturnType<typeof fakeSystem>): Promise<Map<string, LiveVolume>> {
  return new Map((await listLiveVolumes({ runner: dm, files: sys })).map((v) => [v.name, v]));
}

test('plans: the equivalent commands, confirmation where I/O of a device in use stops, refusals naming the owner', async () => {
  const dm = new FakeDm();
  const sys = fakeSystem(c);
  try {
    const v = await volumes(dm, sys);
    const ja = planControl('recalc-start', v.get('ja')!, 'ja');
    assert.equal(ja.refused, null);
    assert.deepEqual(ja.commands, [
      "dmsetup table --showkeys ja | sed -E -e 's/^(([^ ]+ ){6}J) 8( |$)/\\1 9 recalculate\\3/' | dmsetup reload ja",
      'dmsetup resume ja',
    ]);
    assert.match(ja.confirm!, /ja is in use \(mounted at \/mnt\/ja \(ext4\)\)/);
    assert.match(ja.cost, /mismatch counter restarts at 0/);
    assert.equal(planControl('recalc-start', v.get('bb')!, 'bb').confirm, null, 'nothing uses bb');
    // the _dif under LUKS2: cryptsetup's, whatever the action
    for (const action of ['deactivate', 'suspend', 'recalc-start'] as const) {
      assert.match(planControl(action, v.get('lk_dif')!, 'lk_dif').refused!, /under the LUKS2 device lk, managed by cryptsetup/);
    }
    assert.match(planControl('deactivate', v.get('lk_dif')!, 'lk_dif').refused!, /cryptsetup close lk/);
    assert.match(planControl('deactivate', v.get('ja')!, 'ja').refused!, /in use \(mounted at \/mnt\/ja .*umount \/mnt\/ja/);
    assert.deepEqual(planControl('deactivate', v.get('bb')!, 'bb').commands, ['integritysetup close bb']);
    assert.match(planControl('recalc-start', v.get('rc')!, 'rc').refused!, /finished .* use Restart/);
    assert.match(planControl('recalc-start', v.get('lk_dif')!, 'lk_dif').refused!, /no internal hash/);
    assert.match(planControl('recalc-start', v.get('rr')!, 'rr').refused!, /recovery mode/);
    assert.equal(planControl('recalc-start', v.get('hm')!, 'hm').refused, null, 'hmac with a journal MAC and fix_hmac: the kernel allows it');
    assert.match(planControl('resume', v.get('bb')!, 'bb').refused!, /not suspended/);
    assert.match(planControl('suspend', v.get('ja')!, 'ja').confirm!, /blocks every program using it/);
    assert.match(planControl('suspend', v.get('ja')!, 'ja').cost, /only way to stop the recalculation and keep the device/);
    assert.match(planControl('recalc-start', null, 'gone').refused!, /no active integrity device is named gone/);
    // keyed hmac without a journal MAC: dm_integrity_disable_recalculate
    const noMac: LiveVolume = {
      ...v.get('hm')!,
      status: { mismatches: 0, provided_data_sectors: 10, recalc_sector: null },
      table: parseIntegrityTable(redactTableLine('0 8 integrity 254:0 0 32 J 2 fix_hmac internal_hash:hmac(sha256):' + KEY1)),
    };
    assert.match(planControl('recalc-start', noMac, 'hm').refused!, /Recalculating with HMAC is disabled/);
    const old = {
      ...v.get('bb')!,
      target: { ...v.get('bb')!.target!, text: '1.7.0', features: { ...v.get('bb')!.target!.features, reset_recalculate: false } },
    };
    assert.match(planControl('recalc-reset', old, 'bb').refused!, /needs 1\.8 or later/);
    const lvm: LiveVolume = { ...v.get('bb')!, owner: { kind: 'lvm', tool: 'lvm', uuid: 'LVM-x', lvm: { vg: 'vg', lv: 'data', sub: 'data_rimage_0' } } };
    assert.match(planControl('deactivate', lvm, 'bb').refused!, /LVM raid LV vg\/data.*lvchange -an vg\/data/);
  } finally {
    sys.cleanup();
  }
});

test('start recalculation: the keyed table goes to dmsetup reload on stdin and is zeroed afterwards', async () => {
  const dm = new FakeDm();
  const sys = fakeSystem(c);
  try {
    const r = await runControl({ action: 'recalc-start', name: 'hm' }, { runner: dm, files: sys, kmsg: false });
    assert.equal(r.reloaded, true);
    assert.deepEqual(r.after, { mismatches: 0, provided_data_sectors: 60992, recalc_sector: 0 });
    const live = parseIntegrityTable(dm.live.get('hm')!);
    assert.equal(live.options.recalculate, true);
    assert.ok(dm.live.get('hm')!.includes(KEY1), 'the reloaded table kept the key');
    for (const a of dm.calls) assertNoSecret(a.join('\n'), Buffer.from(KEY1, 'hex'), 'key', `dmsetup ${a.join(' ')}`);
    assert.ok(dm.stdins.length === 1 && dm.stdins.every((b) => b.every((x) => x === 0)), 'the keyed buffer was zeroed');
    assertNoSecret(JSON.stringify(r), Buffer.from(KEY1, 'hex'), 'key', "the control's result");
  } finally {
    sys.cleanup();
  }
});

test('restart: reset_recalculate for one resume, then reloaded without it; the position keeps moving', async () => {
  const dm = new FakeDm();
  const sys = fakeSystem(c);
  try {
    dm.status.get('lg')!.recalc = 40000;
    const r = await runControl({ action: 'recalc-reset', name: 'lg' }, { runner: dm, files: sys, kmsg: false });
    assert.equal(r.after_reset?.recalc_sector, 0);
    assert.equal(r.after?.recalc_sector, 32768);
    assert.equal(parseIntegrityTable(dm.live.get('lg')!).options.reset_recalculate, false);
    assert.equal(parseIntegrityTable(dm.live.get('lg')!).options.recalculate, true);
    const reloads = dm.calls.filter((a) => a[1] === 'reload');
    assert.equal(reloads.length, 2);
    assert.equal(r.plan.commands.length, 4);
    assert.match(r.plan.commands[2]!, /sed -E -e 's\/ reset_recalculate\( \|\$\)\/\\1\/' -e/);
  } finally {
    sys.cleanup();
  }
});

test('a control of a device in use waits for confirmation; refused ones never run anything', async () => {
  const dm = new FakeDm();
  const sys = fakeSystem(c);
  try {
    await assert.rejects(runControl({ action: 'suspend', name: 'ja' }, { runner: dm, files: sys }), (e: Error & { code?: string }) => e.code === 'ECONFIRM');
    await assert.rejects(runControl({ action: 'deactivate', name: 'lk_dif' }, { runner: dm, files: sys, confirm: true }), /cryptsetup close lk/);
    assert.ok(
      dm.calls.every((a) => !['suspend', 'remove', 'reload', 'close'].includes(a[1]!)),
      dm.calls.map((x) => x.join(' ')).join('\n'),
    );
    const r = await runControl({ action: 'suspend', name: 'ja' }, { runner: dm, files: sys, confirm: true });
    assert.match(r.message, /suspended/);
    assert.ok(dm.suspended.has('ja'));
    await runControl({ action: 'resume', name: 'ja' }, { runner: dm, files: sys });
    assert.ok(!dm.suspended.has('ja'));
  } finally {
    sys.cleanup();
  }
});

test('activate: keys reach integritysetup through private FIFOs; the shown command names key files only', async () => {
  const dm = new FakeDm();
  const sys = fakeSystem(c);
  try {
    const key = Buffer.from(KEY1, 'hex');
    const jkey = Buffer.alloc(32, 0x5a);
    const spec = {
      device: '/dev/vdz',
      name: 'new',
      integrity: 'hmac-sha256',
      integrityKey: { bytes: key },
      journalIntegrity: 'hmac-sha256',
      journalIntegrityKey: { bytes: jkey },
      mode: 'bitmap' as const,
      bitmapSectorsPerBit: 8192,
    };
    const plan = planActivate(spec, []);
    assert.equal(
      plan.commands[0],
      'integritysetup open /dev/vdz new --integrity hmac-sha256 --integrity-key-file INTEGRITY_KEY_FILE --integrity-key-size 32 --journal-integrity hmac-sha256 --journal-integrity-key-file JOURNAL_INTEGRITY_KEY_FILE --journal-integrity-key-size 32 --integrity-bitmap-mode --bitmap-sectors-per-bit 8192',
    );
    await runControl({ action: 'activate', spec }, { runner: dm, files: sys, kmsg: false });
    const o = dm.opened[0]!;
    assert.deepEqual(o.keys['--integrity-key-file'], key);
    assert.deepEqual(o.keys['--journal-integrity-key-file'], jkey);
    assertNoSecret(o.argv.join('\n'), key, 'integrity key', "integritysetup's arguments");
    assertNoSecret(o.argv.join('\n'), jkey, 'journal MAC key', "integritysetup's arguments");
    assert.ok(o.argv.every((w) => !w.startsWith('/dev/fd/')));
    for (const p of [o.argv[o.argv.indexOf('--integrity-key-file') + 1]!]) assert.ok(!fs.existsSync(p), 'the FIFO folder is gone');
    assert.deepEqual(key, Buffer.from(KEY1, 'hex'), "the caller's key is not zeroed behind its back");
    assert.match(planActivate({ ...spec, name: 'ja' }, [...(await volumes(dm, sys)).values()]).refused!, /already active/);
    assert.match(planActivate({ ...spec, name: 'a/b' }, []).refused!, /not a usable device-mapper name/);
    const reset = planActivate({ device: '/dev/vdz', name: 'r', recalculate: true, recalculateReset: true }, []);
    assert.equal(reset.commands[0], 'integritysetup open /dev/vdz r --integrity-recalculate --integrity-recalculate-reset');
    assert.match(reset.cost, /recomputes tags from sector 0/);
  } finally {
    sys.cleanup();
  }
});
