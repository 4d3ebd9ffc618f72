// Discovery, the info/status/targets/mountinfo parsers and owners, on what the 6.1, 6.12 and 7.2 guests printed
// (testing/data/live/<release>.txt) and a sysfs tree rebuilt from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listLiveVolumes } from './discover.js';
import { parseDmInfo, parseIntegrityStatus, parseMountinfo, parseTargets, targetVersion } from './parse.js';
import { ownerOf, splitLvmName } from './owner.js';
import { capture, captureRunner, fakeSystem, lineOf, RELEASES, section } from '../../testing/live-fixtures.js';

const EXPECTED_TARGET = { bookworm: '1.10.0', backports: '1.13.0', sid: '1.15.0' } as const;

for (const release of RELEASES) {
  const c = capture(release);
  const kernel = section(c, 'uname')[0];

  test(`[${kernel}] status, info and targets as dmsetup prints them`, () => {
    assert.deepEqual(parseIntegrityStatus(lineOf(c, 'status', 'rc')), { mismatches: 0, provided_data_sectors: 64664, recalc_sector: 64664 });
    assert.deepEqual(parseIntegrityStatus(lineOf(c, 'status', 'bb')), { mismatches: 0, provided_data_sectors: 64664, recalc_sector: null });
    assert.throws(() => parseIntegrityStatus(lineOf(c, 'status', 'lk')), /not an integrity target/);
    const info = parseDmInfo(section(c, 'info').join('\n'));
    assert.equal(info.length, 11);
    const lk = info.find((i) => i.name === 'lk_dif')!;
    assert.deepEqual([lk.open_count, lk.suspended, lk.live_table, lk.segments], [1, false, true, 1]);
    assert.equal(parseDmInfo(section(c, 'info-suspended').join('\n'))[0]!.suspended, true);
    const t = parseTargets(section(c, 'targets').join('\n'))!;
    assert.equal(t.text, EXPECTED_TARGET[release]);
    assert.equal(t.features.reset_recalculate, true);
    assert.equal(t.features.inline, release !== 'bookworm');
  });

  test(`[${kernel}] discovery: every integrity device, its owner, what is above and below, what is mounted`, async () => {
    const sys = fakeSystem(c);
    try {
      const calls: string[][] = [];
      const vols = await listLiveVolumes({ runner: captureRunner(c, calls), files: sys });
      assert.deepEqual(
        vols.map((v) => v.name),
        ['bb', 'dd', 'hm', 'ja', 'jc', 'lg', 'lk_dif', 'md', 'rc', 'rr'],
      );
      assert.ok(
        calls.every((a) => !a.includes('--showkeys')),
        'discovery never asks for keys',
      );
      const json = JSON.stringify(vols);
      assert.ok(!/00112233445566778899aabbccddeeff|ffeeddccbbaa9988|0123456789abcdef0123/.test(json));
      const v = (n: string) => vols.find((x) => x.name === n)!;
      const ja = v('ja');
      assert.deepEqual([ja.owner.kind, ja.owner.tool, ja.kernel_name, ja.devno], ['integritysetup', 'integritysetup', 'dm-0', '253:0']);
      assert.deepEqual(ja.data_device, { devno: '254:0', kernel_name: 'vda', path: `${sys.dev}/vda`, size_sectors: 65536 });
      assert.equal(ja.superblock_device, `${sys.dev}/vda`);
      assert.equal(ja.verified_by, 'dm-integrity');
      assert.equal(ja.scrub_device, '/dev/mapper/ja');
      assert.equal(ja.target?.text, EXPECTED_TARGET[release]);
      assert.deepEqual(
        ja.mounts.map((m) => [m.mount_point, m.fs_type]),
        [['/mnt/ja', 'ext4']],
      );
      const dif = v('lk_dif');
      assert.equal(dif.owner.kind, 'luks2', `${dif.uuid} is the _dif of a LUKS2 device`);
      assert.equal(dif.owner.luks?.name, 'lk');
      assert.equal(dif.verified_by, 'dm-crypt');
      assert.equal(dif.scrub_device, '/dev/mapper/lk');
      assert.equal(dif.holders.length, 1);
      const h = dif.holders[0]!;
      assert.deepEqual([h.kind, h.dm_name, h.crypt?.integrity, h.crypt?.sector_size], ['crypt', 'lk', 'integrity:32:aead', 512]);
      assert.deepEqual(
        h.mounts.map((m) => [m.mount_point, m.read_only]),
        [['/mnt/l k', true]],
      );
      assert.equal(v('md').meta_device?.kernel_name, 'vdg');
      assert.equal(v('md').superblock_device, `${sys.dev}/vdg`);
      assert.equal(v('md').data_device.kernel_name, 'vdh');
      assert.equal(v('rr').verified_by, 'nothing', 'mode R checks no tag');
      assert.equal(v('rc').status?.recalc_sector, 64664);
    } finally {
      sys.cleanup();
    }
  });
}

test('owners by dm UUID: integritysetup, LUKS2 sub-devices of cryptsetup 2.6 and 2.8, LVM, others', () => {
  const hex = 'fd584b0446f34529854ded7d7f20619e';
  assert.equal(ownerOf('CRYPT-INTEGRITY-ja', 'ja').kind, 'integritysetup');
  // 2.6.1 (6.1 guest): the _dif carries CRYPT-INTEGRITY- with the LUKS UUID; recognised by the LUKS2 device above
  const old = ownerOf(`CRYPT-INTEGRITY-${hex}-lk_dif`, 'lk_dif', [{ dm_name: 'lk', dm_uuid: `CRYPT-LUKS2-${hex}-lk` }]);
  assert.deepEqual(old.luks, { uuid: 'fd584b04-46f3-4529-854d-ed7d7f20619e', name: 'lk' });
  // 2.8.8 (7.2 guest)
  assert.equal(ownerOf(`CRYPT-SUBDEV-${hex}-x_dif`, 'x_dif').luks?.name, 'x');
  // an integritysetup name that merely looks like a UUID prefix is still integritysetup's
  assert.equal(ownerOf(`CRYPT-INTEGRITY-${hex}-data`, `${hex}-data`).kind, 'integritysetup');
  const lvm = ownerOf('LVM-4m9qWdHt0yLqkqMx6hvnfJZ1c2bjYc9ZKQJxVcHzoUgV3RpPqDqIx0rKBFt2Nfeb', 'my--vg-data_rimage_1');
  assert.deepEqual([lvm.kind, lvm.lvm], ['lvm', { vg: 'my-vg', lv: 'data', sub: 'data_rimage_1' }]);
  assert.deepEqual(splitLvmName('vg-lv--x'), { vg: 'vg', lv: 'lv-x' });
  assert.equal(ownerOf('', 'hand').kind, 'none');
  assert.equal(ownerOf('mine', 'hand').kind, 'other');
});

test('mountinfo: escapes, read-only, optional fields', () => {
  const m = parseMountinfo(
    '36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext4 /dev/mapper/x\\134y rw,errors=continue\n37 35 98:1 / /ro ro shared:2 master:3 - xfs /dev/sdb1 rw\n',
  );
  assert.deepEqual(m, [
    { devno: '98:0', mount_point: '/mnt/a b', fs_type: 'ext4', source: '/dev/mapper/x\\y', read_only: false },
    { devno: '98:1', mount_point: '/ro', fs_type: 'xfs', source: '/dev/sdb1', read_only: true },
  ]);
});

test('target feature gates follow cryptsetup (1.2 recalc … 1.8 reset_recalculate, 1.12 inline)', () => {
  const f = (v: string) => targetVersion(v).features;
  assert.deepEqual(f('v1.1.0'), {
    recalculate: false,
    bitmap: false,
    fix_padding: false,
    discards: false,
    fix_hmac: false,
    reset_recalculate: false,
    inline: false,
  });
  assert.equal(f('1.7.0').reset_recalculate, false);
  assert.equal(f('1.7.0').fix_hmac, true);
  assert.equal(f('1.8.0').reset_recalculate, true);
  assert.equal(f('1.11.9').inline, false);
  assert.equal(f('1.12.0').inline, true);
  assert.equal(f('2.0.0').inline, true);
});
