import test from 'node:test';
import assert from 'node:assert/strict';
import { crashConfigs, describe, runCrash } from './crash.js';

// A seeded sample; `npm run torture` runs tens of thousands of crash points.
const SEED = Number(process.env.TORTURE_SEED ?? 20261123);

for (const c of crashConfigs(SEED, 80, 70)) {
  test(`crash torture: ${c.mode} ${c.integrity} ${c.blockSize}-byte blocks (seed ${c.seed})`, () => {
    const r = runCrash(c);
    assert.equal(r.crashPoints, c.crashPoints);
    if (c.mode !== 'direct') {
      assert.equal(r.violations.length, 0, describe(r));
    } else {
      // direct mode has no journal: a power loss between data and tag writes leaves blocks that fail
      // verification (why the CLI warns). The checker must see it, or it sees nothing.
      assert.ok(r.verifyFailures > 0, `direct mode never broke: ${describe(r)}`);
    }
  });
}
