// The oracle helper boots an emulated guest again only when its kernel died before init ran (nothing touched a disk).
import test from 'node:test';
import assert from 'node:assert/strict';
import { panickedBeforeInit } from './oracle.js';

// the end of the 6.12 guest's console from a fresh-clone CI run whose boot faulted in enqueue_timer
const bootFault = `[    0.912000] Freeing initrd memory: 10240K
[    1.204460]  ret_from_fork+0x31/0x50
[    1.204511]  </TASK>
[    1.204737] ---[ end trace 0000000000000000 ]---
[    1.204828] RIP: 0010:enqueue_timer+0xa5/0x100
[    1.204963] Kernel panic - not syncing: Fatal exception in interrupt
`;

test("oracle: a panic while booting, before init, is a boot to retry; a panic after init or a sysrq crash is the script's result", () => {
  assert.equal(panickedBeforeInit(bootFault), true);
  const afterInit = `[    1.5] Run /init as init process\n[    9.1] oracle: starting script\n[   12.0] Kernel panic - not syncing: Fatal exception\n`;
  assert.equal(panickedBeforeInit(afterInit), false);
  const sysrq = `[    1.5] Run /init as init process\n[   20.0] sysrq: Trigger a crash\n[   20.0] Kernel panic - not syncing: sysrq triggered crash\n`;
  assert.equal(panickedBeforeInit(sysrq), false);
  assert.equal(panickedBeforeInit('[    1.5] Run /init as init process\n'), false, 'no panic: nothing to retry');
  assert.equal(panickedBeforeInit(''), false, 'no console at all (the harness failed): not retried');
});
