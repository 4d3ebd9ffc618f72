// Test helper: what to do when a test cannot run here (no kernel oracle, no mkfs, no native addon).
// Under CI=true it fails the test, so a CI run cannot pass by skipping what it was meant to check;
// elsewhere the test skips, with the reason in the report.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

/** True when CI=true: a missing tool or oracle is a failure there, not a skip. */
export const IN_CI = process.env.CI === 'true';

/**
 * `why` null: the test can run (returns false). Otherwise: under CI=true fails with `why`; elsewhere marks the
 * test skipped with `why` and returns true (the caller returns).
 */
export function skipUnless(t: TestContext, why: string | null): boolean {
  if (why === null) return false;
  if (IN_CI) assert.fail(`CI=true and this test cannot run: ${why}`);
  t.skip(why);
  return true;
}

/**
 * For a test's `{ skip }` option: `why` (skip with the reason) or false (run). Under CI=true a reason throws while the
 * file loads, so the file fails instead of its tests being skipped.
 */
export function skipOption(why: string | null | false): string | false {
  if (!why) return false;
  if (IN_CI) throw new Error(`CI=true and these tests cannot run: ${why}`);
  return why;
}
