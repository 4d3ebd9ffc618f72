import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveAvailability } from './availability.js';

const linux = (over: Record<string, unknown> = {}) => ({
  platform: 'linux' as const,
  uid: 1000,
  release: '6.1.0',
  exists: (p: string) => ['/dev/mapper/control', '/lib/modules/6.1.0'].includes(p),
  read: (p: string) => (p.endsWith('modules.dep') ? 'kernel/drivers/md/dm-integrity.ko.xz: kernel/drivers/md/dm-bufio.ko.xz\n' : p.endsWith('modules.builtin') ? '' : null),
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
    [{ exists: (p: string) => p === '/lib/modules/6.1.0' }, /no device-mapper .*modprobe dm_mod/],
    [{ read: () => '' }, /no dm-integrity target \(CONFIG_DM_INTEGRITY\)/],
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
  const a = liveAvailability(linux({ exists: () => { throw new Error('boom'); } }));
  assert.equal(a.available, false);
  assert.match(a.reason!, /could not be checked: boom/);
  assert.equal(liveAvailability(linux({ exists: (p: string) => ['/dev/mapper/control', '/sys/module/dm_integrity'].includes(p) })).dm_integrity, 'loaded');
});
