// The sandboxed preload cannot import engine/api.ts at run time, so it carries its own list of command names:
// run the compiled preload against a recording stand-in for 'electron' and check that it exposes exactly
// COMMAND_NAMES (plus onEvent and pickPath), each sent over the one IPC channel the main process validates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import vm from 'node:vm';
import { COMMAND_NAMES } from '../engine/api.js';

test("the preload's commands are engine/api.ts COMMAND_NAMES, each sent as integrity:cmd", async () => {
  const src = fs.readFileSync(new URL('./preload.cjs', import.meta.url), 'utf8');
  let exposed: Record<string, (...a: unknown[]) => Promise<unknown>> | null = null;
  const calls: unknown[][] = [];
  const electron = {
    contextBridge: { exposeInMainWorld: (key: string, api: typeof exposed) => { assert.equal(key, 'integrity'); exposed = api; } },
    ipcRenderer: {
      invoke: async (...a: unknown[]) => { calls.push(a); return { ok: true, result: a[1] }; },
      on: () => undefined,
      removeListener: () => undefined,
    },
  };
  const module = { exports: {} };
  vm.runInNewContext(src, { require: (m: string) => { if (m !== 'electron') throw new Error(`preload requires ${m}`); return electron; }, module, exports: module.exports });
  assert.ok(exposed, 'window.integrity exposed');
  const api = exposed as Record<string, (...a: unknown[]) => Promise<unknown>>;
  assert.deepEqual(Object.keys(api).filter((k) => k !== 'onEvent' && k !== 'pickPath').sort(), [...COMMAND_NAMES].sort());
  for (const c of COMMAND_NAMES) {
    assert.equal(await api[c]!('x'), c);
    assert.equal(JSON.stringify(calls.at(-1)), JSON.stringify(['integrity:cmd', c, ['x']]));
  }
  await api.pickPath!('key');
  assert.equal(JSON.stringify(calls.at(-1)), JSON.stringify(['integrity:dialog', 'key']));
});
