// The Resize form's pure pieces: sizes in the form's words, the request, and the equivalent commands (quoted).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResizeLimits } from '../../../engine/api.js';
import { initialForm, inUnits, resizeCommands, toRequest, wantedBytes } from './resize-form.js';
import { vol } from '../test-fixtures.js';

const MiB = 1 << 20;
const LIM: ResizeLimits = {
  current_bytes: 16 * MiB,
  whole_device_bytes: 63 * MiB,
  max_bytes: 1024 * MiB,
  min_bytes: 4096,
  block_size: 4096,
  device: '/tmp/my vol.img',
  device_kind: 'file',
  free_bytes: 1000 * MiB,
  recalc_allowed: true,
  refused: null,
};

test('sizes: units an admin reads, errors naming the New size control', () => {
  assert.deepEqual(inUnits(16 * MiB), { amount: '16', unit: 'MiB' });
  assert.deepEqual(inUnits(1.5 * 1024 * MiB), { amount: '1.5', unit: 'GiB' });
  const f = { ...initialForm(LIM), whole: false };
  assert.equal(wantedBytes({ ...f, amount: '32' }, LIM).bytes, 32 * MiB);
  assert.equal(wantedBytes({ ...f, amount: '0.5', unit: 'GiB' }, LIM).bytes, 512 * MiB);
  assert.match(wantedBytes({ ...f, amount: 'lots' }, LIM).error!, /^New size: give a number of MiB/);
  assert.match(wantedBytes({ ...f, amount: '10.001' }, LIM).error!, /^New size: 10.001 MiB is not a whole number of 4096-byte blocks \(10.0 MiB is\)/);
  assert.match(
    wantedBytes({ ...f, amount: '2', unit: 'GiB' }, LIM).error!,
    /^New size: at most 1.0 GiB \(the largest possible: the file system has 1000.0 MiB free\)/,
  );
  assert.equal(wantedBytes({ ...f, whole: true }, LIM).bytes, 63 * MiB);
  // a current size that is not a round number of MiB: the form's first (rounded) amount still means it
  const odd = { ...LIM, current_bytes: 32328 * 512 };
  assert.deepEqual(initialForm(odd), { whole: false, amount: '15.785', unit: 'MiB', newArea: 'recalculate' });
  assert.equal(wantedBytes(initialForm(odd), odd).bytes, 32328 * 512);
  const block = { ...LIM, device_kind: 'block' as const, free_bytes: null, max_bytes: 63 * MiB };
  assert.equal(initialForm(block).whole, true);
  assert.match(wantedBytes({ ...f, amount: '32' }, block).error!, /block device's size is fixed here/);
});

test('request: wipe only when growing with "wipe"; a shrink says it was confirmed; whole sends no size', () => {
  const f = { ...initialForm(LIM), whole: false, newArea: 'wipe' as const };
  assert.deepEqual(toRequest({ ...f, amount: '32' }, 32 * MiB, LIM), { size: 32 * MiB, wipe: true });
  assert.deepEqual(toRequest({ ...f, newArea: 'recalculate' }, 32 * MiB, LIM), { size: 32 * MiB });
  assert.deepEqual(toRequest(f, 8 * MiB, LIM), { size: 8 * MiB, confirmShrink: true });
  assert.deepEqual(toRequest({ ...f, whole: true, newArea: 'recalculate' }, 63 * MiB, LIM), {});
});

test('commands: integrity-studio resize with the open options, integritysetup resize on the mapped name, quoted, no keys', () => {
  const v = vol('v1', {
    path: '/tmp/my vol.img',
    name: 'vol',
    open_command: "integritysetup open '/tmp/my vol.img' 'my vol' --integrity hmac-sha256 --integrity-key-file INTEGRITY_KEY_FILE --integrity-recalculate",
  });
  const f = { ...initialForm(LIM), whole: false, amount: '32', newArea: 'wipe' as const };
  const c = resizeCommands(v, f, 32 * MiB, LIM);
  assert.equal(
    c.studio,
    `integrity-studio resize '/tmp/my vol.img' --integrity hmac-sha256 --integrity-key-file INTEGRITY_KEY_FILE --size ${32 * 2048} --wipe`,
  );
  assert.equal(c.kernel, `integritysetup resize 'my vol' --size ${32 * 2048} --wipe`);
  assert.equal(resizeCommands(v, { ...f, whole: true }, 63 * MiB, LIM).kernel, `integritysetup resize 'my vol' --wipe`);
  assert.equal(
    resizeCommands(v, { ...f, amount: '8' }, 8 * MiB, LIM).studio,
    `integrity-studio resize '/tmp/my vol.img' --integrity hmac-sha256 --integrity-key-file INTEGRITY_KEY_FILE --size ${8 * 2048}`,
  );
});
