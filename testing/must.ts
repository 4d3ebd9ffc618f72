// Indexed access in tests under noUncheckedIndexedAccess: a missing element fails the test with an AssertionError
// that names what was missing, rather than a TypeError further on (or a `!` that hides it).
import assert from 'node:assert/strict';

/** `list[i]`, or an AssertionError naming `what` when the list has no such element */
export function nth<T>(list: readonly T[], i: number, what = `element ${i}`): T {
  const v = list[i];
  assert.ok(v !== undefined, `no ${what} (the list has ${list.length})`);
  return v;
}

/** `v` when it is there, or an AssertionError naming `what` */
export function must<T>(v: T | undefined, what: string): T {
  assert.ok(v !== undefined, `no ${what}`);
  return v;
}
