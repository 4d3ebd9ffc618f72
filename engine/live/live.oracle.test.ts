// engine/live against the real kernels: one boot per release (Linux 6.1, 6.12, 7.2) runs testing/live-guest.ts
// in the guest (`oracle/run --node`), which drives integritysetup, cryptsetup, dmsetup and the kernel through this
// module; the checks here are on what it reports. Each case names its kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ORACLE_RELEASES, runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { PROJECT_ROOT } from '../../testing/golden.js';
import type { LiveVolume } from './types.js';
import type { LiveSnapshot } from './wire.js';
import type { LiveScrubProgress } from './scrub.js';
import { KEY_HEX, JKEY_HEX } from '../../testing/live-guest.js';

/** The project as the guest needs it: the compiled engine, the test helpers (testing/live-guest.js) and package.json (no node_modules: engine/live needs
 *  none), at a fixed path with its files' times kept, so the oracle's cached image is reused while nothing changed. */
function stageProject(): string {
  const stage = path.join(PROJECT_ROOT, '.tmp', 'live-oracle', 'project');
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(path.join(stage, 'dist'), { recursive: true });
  for (const dir of ['engine', 'testing']) {
    fs.cpSync(path.join(PROJECT_ROOT, 'dist', dir), path.join(stage, 'dist', dir), {
      recursive: true,
      preserveTimestamps: true,
      filter: (s) => !s.endsWith('.map'),
    });
  }
  fs.cpSync(path.join(PROJECT_ROOT, 'package.json'), path.join(stage, 'package.json'), { preserveTimestamps: true });
  return stage;
}

function disks(dir: string): string[] {
  const sizes = [2048, 32, 32, 32, 48, 64];
  return sizes.map((mib, i) => {
    const p = path.join(dir, `d${i}.img`);
    fs.rmSync(p, { force: true });
    fs.closeSync(fs.openSync(p, 'w'));
    fs.truncateSync(p, mib * 1024 * 1024);
    return p;
  });
}

// biome-ignore lint/suspicious/noExplicitAny: what the guest printed, as JSON; each test checks the fields it reads
type Result = { ok: boolean; kernel: string; integritysetup?: string; error?: string; data?: any };

for (const { release, kernel: kernelName } of ORACLE_RELEASES) {
  let results: Map<string, Result> | null = null;
  let runError = '';
  const run = (): Map<string, Result> => {
    if (results) return results;
    results = new Map(); // one boot per release, even when it fails
    fs.mkdirSync(path.join(PROJECT_ROOT, '.tmp'), { recursive: true });
    const work = fs.mkdtempSync(path.join(PROJECT_ROOT, '.tmp', `live-oracle-${release}-`));
    try {
      const r = runOracle('cd /tmp && node /project/dist/testing/live-guest.js volumes recalc scrub\n', disks(work), {
        release,
        node: stageProject(),
        timeoutSec: 1800,
      });
      for (const line of r.stdout.split('\n')) {
        const m = /^LIVE-RESULT (\S+) (.*)$/.exec(line);
        if (m) results.set(m[1]!, JSON.parse(m[2]!) as Result);
      }
      // the guest's whole output, for a failure's details
      const log = path.join(PROJECT_ROOT, '.tmp', 'live-oracle', `${release}.log`);
      fs.writeFileSync(log, `status ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      runError = `the guest's output is in ${log} (status ${r.status}); its end: ${r.stdout.slice(-1500)} ${r.stderr.slice(-1500)}`;
      return results;
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  };
  // biome-ignore lint/suspicious/noExplicitAny: the guest's JSON (see Result)
  const scenario = (name: string): any => {
    const r = run().get(name);
    assert.ok(r, runError || `no result for ${name}`);
    assert.ok(r.ok, `[${r.kernel}] ${name} failed in the guest:\n${r.error}`);
    return r.data;
  };
  const label = `[Linux ${kernelName}, ${release}]`;

  test(`${label} discovery of integritysetup volumes (journal, bitmap, keyed) and a LUKS2 _dif, keys hidden`, (t) => {
    if (skipWithoutOracle(t, release)) return;
    const d = scenario('volumes');
    assert.equal(d.keys_delivered, true, 'activate handed the key bytes to integritysetup (read back with --showkeys)');
    const text = JSON.stringify({ list: d.list, via: d.via_helper, activations: d.activations, superblocks: d.superblocks, recalc: d.recalc_start });
    assert.ok(!text.includes(KEY_HEX) && !text.includes(JKEY_HEX), 'no key anywhere in what the module returned');
    const list = d.list as LiveVolume[];
    const v = (n: string) => list.find((x) => x.name === n)!;
    assert.deepEqual(list.map((x) => x.name).sort(), ['bb', 'hm', 'ja', 'lk_dif', 'lp']);
    assert.equal(v('lp').data_device.loop_file, '/tmp/loop.img');
    assert.match(v('lp').data_device.kernel_name ?? '', /^loop\d+$/);
    assert.deepEqual(
      [v('ja').table.mode, v('ja').owner.kind, v('ja').verified_by, v('ja').data_device.kernel_name],
      ['J', 'integritysetup', 'dm-integrity', 'vdb'],
    );
    assert.deepEqual([v('bb').table.mode, v('bb').table.options.sectors_per_bit, v('bb').table.options.bitmap_flush_interval], ['B', 8192, 5000]);
    assert.deepEqual(v('hm').table.options.internal_hash, { name: 'hmac(sha256)', keyed: true, keyBytes: 32 });
    assert.deepEqual(v('hm').table.options.journal_mac, { name: 'hmac(sha256)', keyed: true, keyBytes: 32 });
    assert.equal(v('hm').table.options.allow_discards, true);
    assert.match(v('hm').table.line, /internal_hash:hmac\(sha256\):<key> journal_mac:hmac\(sha256\):<key>$/);
    const dif = v('lk_dif');
    assert.equal(dif.owner.kind, 'luks2', `${dif.uuid}`);
    assert.equal(dif.owner.luks?.name, 'lk');
    assert.equal(dif.verified_by, 'dm-crypt');
    assert.equal(dif.scrub_device, '/dev/mapper/lk');
    assert.deepEqual([dif.holders[0]?.kind, dif.holders[0]?.dm_name, dif.holders[0]?.crypt?.integrity], ['crypt', 'lk', 'integrity:32:aead']);
    assert.match(d.close_refusal, /cryptsetup close lk/);
    assert.match(d.helper_refusal, /cryptsetup close lk/, 'the helper answers the same plan');
    assert.deepEqual(
      (d.via_helper as LiveVolume[]).map((x) => [x.name, x.table.line, x.owner.kind]),
      list.map((x) => [x.name, x.table.line, x.owner.kind]),
    );
    for (const x of list)
      assert.equal(d.superblocks[x.name].provided_data_sectors, x.status!.provided_data_sectors, `${x.name}: the O_DIRECT superblock and dmsetup status agree`);
    assert.equal(
      d.activations[2].plan.commands[0],
      'integritysetup open /dev/vdd hm --integrity hmac-sha256 --integrity-key-file INTEGRITY_KEY_FILE --integrity-key-size 32 --journal-integrity hmac-sha256 --journal-integrity-key-file JOURNAL_INTEGRITY_KEY_FILE --journal-integrity-key-size 32 --allow-discards',
    );
    // start recalculation of a volume that never had one: the reloaded table has it, the kernel runs it to the end
    assert.equal(d.recalc_start.before.recalc_sector, null);
    assert.equal(d.recalc_start.result.reloaded, true);
    assert.match(d.recalc_start.table, / B \d+ recalculate /);
    assert.equal(d.recalc_start.finished.recalc_sector, d.recalc_start.finished.provided_data_sectors);
  });

  test(`${label} the kernel's recalculation watched at 1 Hz: moves, agrees with dmsetup status; restart, suspend, close`, (t) => {
    if (skipWithoutOracle(t, release)) return;
    const d = scenario('recalc');
    const w = d.watched as Array<{ ours: LiveSnapshot; dmsetup_after: number; persisted: number | null }>;
    const pos = w.map((x) => x.ours.recalc.position as number);
    for (let i = 0; i < w.length; i++) {
      assert.equal(w[i]!.ours.recalc.state, 'running', JSON.stringify(w[i]));
      assert.ok(pos[i]! <= w[i]!.dmsetup_after, `sample ${i}: ours ${pos[i]} then dmsetup ${w[i]!.dmsetup_after}`);
      assert.ok(w[i]!.dmsetup_after - pos[i]! <= 4 * 32768, 'dmsetup, read right after, is at most a few chunks further');
      if (i) assert.ok(pos[i]! >= pos[i - 1]!, 'never backwards');
      if (w[i]!.persisted !== null) assert.ok(w[i]!.persisted! <= pos[i]!, 'persisted ≤ live');
    }
    assert.ok(pos[pos.length - 1]! > pos[0]!, `the position moved: ${pos.join(', ')}`);
    const last = w[w.length - 1]!.ours.recalc;
    assert.ok((last.bytes_per_second ?? 0) > 0 && (last.eta_ms ?? 0) > 0, JSON.stringify(last));
    // dm-integrity writes the superblock straight to the device: a buffered read keeps the page cached earlier
    assert.ok(d.direct > 0, 'the kernel persisted a position');
    assert.notEqual(d.buffered, d.direct, `a buffered read is stale (buffered ${d.buffered}, O_DIRECT ${d.direct})`);
    // restart: from 0, reset_recalculate gone from the live table, and the position then keeps moving from 0
    assert.ok(d.reset.after_reset.recalc_sector < d.beforeReset.recalc_sector, JSON.stringify([d.beforeReset, d.reset]));
    assert.ok(d.reset.after.recalc_sector >= d.reset.after_reset.recalc_sector);
    assert.doesNotMatch(d.tableAfterReset, /reset_recalculate/);
    assert.match(d.tableAfterReset, / recalculate /);
    const after = d.afterReset as number[];
    assert.ok(after[0]! < d.beforeReset.recalc_sector && after[2]! > after[0]!, `after the restart: ${after.join(', ')} (was ${d.beforeReset.recalc_sector})`);
    assert.equal(d.reset.plan.commands.length, 4);
    // suspend: nothing moves, the position is persisted; resume: it moves again
    assert.equal(d.suspend.s1.recalc.state, 'suspended');
    assert.equal(d.suspend.s1.recalc.position, d.suspend.s2.recalc.position);
    assert.equal(d.suspend.persisted, d.suspend.s1.recalc.position, 'suspend persisted the position');
    assert.match(d.suspend.plan.cost, /All I\/O to the device blocks until it is resumed/);
    assert.ok(d.resumed.recalc.position > d.suspend.s2.recalc.position);
    // deactivate: gone (no figures), position kept in the superblock; the next activation continues from it
    assert.equal(d.deactivate.gone.state, 'gone');
    assert.equal(d.deactivate.gone.recalc.position, null);
    assert.ok(d.deactivate.persisted >= d.resumed.recalc.position);
    assert.ok(d.reopened.recalc.position >= d.deactivate.persisted);
    assert.ok(d.reopened2.recalc.position > d.reopened.recalc.position, 'and moves on');
    assert.equal(d.reopened.event, 'appeared');
  });

  test(`${label} a live scrub of a mounted ext4 finds exactly the corrupted sector, named as file1's bytes as debugfs says; through dm-crypt for LUKS2`, (t) => {
    if (skipWithoutOracle(t, release)) return;
    const d = scenario('scrub');
    assert.match(d.unconfirmed, /^ECONFIRM: ex is in use \(mounted at \/mnt\/ex/);
    const first = d.first.final as LiveScrubProgress;
    assert.equal(first.state, 'paused');
    assert.equal(d.saved_state, 'paused');
    assert.equal(d.saved_position, first.position_sector);
    assert.ok(first.position_sector > 0 && first.position_sector < first.total_sectors);
    const s = d.second.final as LiveScrubProgress;
    assert.equal(s.state, 'done');
    assert.equal(s.start_sector, first.position_sector, 'resumed where it paused');
    assert.deepEqual(s.bad_ranges, [[d.bad_sector, d.bad_sector + 1]]);
    assert.equal(s.bad_blocks, 1);
    assert.equal(s.checked_blocks, s.total_sectors - 1);
    assert.equal(s.unchecked_blocks, 0);
    assert.equal(s.read_errors, 0);
    // the kernel's counter rose by exactly our failing reads (narrowing re-reads the bad block)
    assert.equal(s.kernel_mismatches.increase, d.counter1 - d.counter0);
    assert.equal(s.kernel_mismatches.increase, s.failed_reads);
    assert.ok(s.failed_reads >= 2);
    assert.ok(
      s.kernel_messages.some((m) => m.kind === 'checksum' && m.sector === d.bad_sector),
      JSON.stringify(s.kernel_messages),
    );
    assert.equal(d.during, 'written-during-scrub');
    // what the bad sector holds, read through the kernel's device while mounted: file1's bytes [1536, 2048) (the
    // 4th sector of its block), the inode debugfs names for that block, said to be possibly stale (mounted)
    const mp = d.mapping;
    assert.equal(mp.fs, 'ext4');
    assert.equal(mp.device, '/dev/mapper/ex');
    assert.match(mp.may_be_stale ?? '', /mounted/);
    assert.deepEqual(mp.kinds, ['file']);
    assert.equal(mp.files.length, 1);
    assert.deepEqual(mp.files[0].paths, ['/file1']);
    assert.deepEqual(mp.files[0].byte_ranges, [[1536, 2048]]);
    assert.equal(String(mp.files[0].inode), mp.debugfs.icheck, `debugfs icheck ${mp.debugfs.block}: ${mp.debugfs.icheck}`);
    assert.match(mp.debugfs.ncheck, /\/file1/);
    const l = d.luks.final as LiveScrubProgress;
    assert.equal(l.state, 'done');
    assert.equal(l.verified_by, 'dm-crypt');
    assert.equal(l.device, '/dev/mapper/lk');
    assert.deepEqual(l.bad_ranges, [[801, 802]]);
    assert.equal(l.kernel_mismatches.increase, 0, "the _dif's own counter stays 0");
    assert.equal(d.dif_counter, 0);
    assert.ok(
      l.kernel_messages.some((m) => m.kind === 'aead' && m.sector === 801),
      JSON.stringify(l.kernel_messages),
    );
  });
}
