import test from 'node:test';
import assert from 'node:assert/strict';
import { describeCase, loadSeeds, runFuzz, type FuzzCase } from './fuzz.js';

const SEED = Number(process.env.TORTURE_SEED ?? 20261123);

test('fuzz: mutated superblocks, journals, tags and truncated golden images give a typed error or a valid open, never a write', () => {
  const seeds = loadSeeds(16 << 20);
  assert.ok(seeds.length >= 8, 'golden images available');
  const outcomes = new Map<string, number>();
  const sum = runFuzz(seeds, 90, SEED, {
    writableEvery: 3,
    maxMs: 15000,
    onCase: (c: FuzzCase) => outcomes.set(c.mutation.split(' ')[0]!, (outcomes.get(c.mutation.split(' ')[0]!) ?? 0) + 1),
  });
  assert.equal(sum.cases, 90);
  assert.deepEqual(sum.failures.map(describeCase), []);
  // both kinds of outcome occur: the mutations reach past the superblock checks, and the checks fire
  assert.ok(sum.typedErrors > 5, `typed errors ${sum.typedErrors}`);
  assert.ok(sum.validOpens > 5, `valid opens ${sum.validOpens}`);
  assert.ok(outcomes.size >= 7, `mutation kinds ${[...outcomes.keys()]}`);
});
