// The leak check itself: it finds a secret in each form it names, and passes output that holds none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { assertNoSecret, secretForms } from './secrets.js';

test('assertNoSecret fails on each form of the secret inside other output, and passes clean output', () => {
  // starts 0xfb 0xff 0xbf: its base64 begins "+/+/" (so base64url differs) and its hex has letters (so HEX differs)
  const key = Buffer.concat([Buffer.from([0xfb, 0xff, 0xbf]), crypto.randomBytes(29)]);
  const forms = secretForms(key);
  assert.deepEqual(
    forms.map((f) => f.form),
    ['raw bytes', 'hex', 'HEX', 'spaced hex', 'base64', 'base64url'],
  );
  for (const { form, bytes } of forms) {
    const out = Buffer.concat([Buffer.from('log line: '), bytes, Buffer.from(' end\n')]);
    assert.throws(() => assertNoSecret(out, key, 'test key', 'the log'), { message: new RegExp(`^the test key \\(${form}\\) is in the log`) }, form);
  }
  assertNoSecret(`log line: ${crypto.randomBytes(32).toString('hex')} end`, key, 'test key', 'the log');
  assert.throws(() => assertNoSecret('x', Buffer.from('ab'), 'short', 'x'), /too short to search for/);
});
