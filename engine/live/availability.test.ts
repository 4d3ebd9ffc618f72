import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveAvailability } from './availability.js';

const linux = (over: Record<string, unknown> = {}) => ({
  platform: 'linux' as const,
  uid: 1000,
  release: '6.1.0',
  exists: (p: string) => ['/lib/modules/6.1.0'].includes(p),
  read: (p: string) =>
    p.endsWith('modules.dep')
      ? 'kernel/drivers/md/dm-integrity.ko.xz: kernel/drivers/md/dm-bufio.ko.xz\nkernel/drivers/md/dm-mod.ko.xz:\n'
      : p.endsWith('modules.builtin')
        ? ''
        : p === '/proc/misc'
          ? '237 loop-control\n'
          : null,
  tool: (n: string) => (['dmsetup', 'integritysetup', 'pkexec'].includes(n) ? `/usr/sbin/${n}` : null),
  ...over,
});

test('available through pkexec for a user, in process for root', () => {
  const a = liveAvailability(linux());
  assert.deepEqual([a.available, a.via, a.reason, a.dm_integrity], [true, 'pkexec', null, 'module']);
  assert.equal(liveAvailability(linux({ uid: 0 })).via, 'root');
});

test('each missing piece is one sentence saying what to do', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ platform: 'darwin' }, /Linux kernel's dm-integrity devices; this system is darwin/],
    // a container whose /dev/mapper/control exists but whose kernel has no device-mapper (this build machine)
    [
      { exists: (p: string) => p === '/dev/mapper/control', read: (p: string) => (p === '/proc/misc' ? '237 loop-control\n' : null) },
      /no device-mapper \(dm_mod is neither loaded nor installed/,
    ],
    [{ read: (p: string) => (p === '/proc/misc' ? ' 236 device-mapper\n' : '') }, /no dm-integrity target \(CONFIG_DM_INTEGRITY\)/],
    [{ tool: (n: string) => (n === 'pkexec' ? '/usr/bin/pkexec' : null) }, /dmsetup is not installed: install/],
    [{ tool: (n: string) => (n === 'dmsetup' ? '/usr/sbin/dmsetup' : null) }, /needs root, and pkexec \(polkit\) is not installed/],
  ];
  for (const [over, want] of cases) {
    const a = liveAvailability(linux(over));
    assert.equal(a.available, false);
    assert.match(a.reason!, want);
  }
});

test('never throws', () => {
  const a = liveAvailability(
    linux({
      exists: () => {
        throw new Error('boom');
      },
    }),
  );
  assert.equal(a.available, false);
  assert.match(a.reason!, /could not be checked: boom/);
  assert.equal(
    liveAvailability(
      linux({ exists: (p: string) => ['/sys/module/dm_integrity'].includes(p), read: (p: string) => (p === '/proc/misc' ? '236 device-mapper\n' : null) }),
    ).dm_integrity,
    'loaded',
  );
  // this machine as it is: a sentence either way, no exception
  const here = liveAvailability();
  assert.ok(here.available || (here.reason && here.reason.length > 20));
});
