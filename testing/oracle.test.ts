// The oracle helper boots an emulated guest again only when its kernel died before init ran (nothing touched a disk).
import test from 'node:test';
import assert from 'node:assert/strict';
import { bootFailedBeforeInit, panickedBeforeInit } from './oracle.js';

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

// the end of the 7.2 guest's console from a fresh-clone CI run whose boot stopped 1 s in (the run then timed out)
const bootHang = `[    1.011940] NetLabel: Initializing
[    1.012891] PCI: Using ACPI for IRQ routing
[    1.017513] vgaarb: loaded
[    1.018361] hpet0: 3 comparators, 64-bit 100.000000 MHz counter
`;

test('oracle: a boot that hung or panicked before init is retried; a timeout or panic after init, or no console, is the result', () => {
  assert.equal(bootFailedBeforeInit(bootHang, 124), 'hung');
  assert.equal(bootFailedBeforeInit(bootFault, 125), 'panicked');
  const scriptHung = `${bootHang}[    1.5] Run /init as init process\n[    9.1] oracle: starting script\n`;
  assert.equal(bootFailedBeforeInit(scriptHung, 124), null, "a timeout after init is the script's");
  assert.equal(bootFailedBeforeInit('', 124), null, 'no console at all (the harness failed): not retried');
  assert.equal(bootFailedBeforeInit(bootHang, 1), null, 'a script that failed is its result');
  assert.equal(bootFailedBeforeInit(bootFault, 124), 'hung', 'a panic the run then timed out on: still before init');
});
