// Test helper: the forms a key or passphrase could leak in, and the check that none of them is in an output.
import assert from 'node:assert/strict';

/** raw bytes, hex (lower, upper, and spaced as `cryptsetup luksDump --dump-volume-key` prints it), base64, base64url */
export function secretForms(secret: Buffer): Array<{ form: string; bytes: Buffer }> {
  const hex = secret.toString('hex');
  const spaced = hex.match(/../g)!.join(' ');
  return [
    { form: 'raw bytes', bytes: secret },
    { form: 'hex', bytes: Buffer.from(hex) },
    { form: 'HEX', bytes: Buffer.from(hex.toUpperCase()) },
    { form: 'spaced hex', bytes: Buffer.from(spaced) },
    { form: 'base64', bytes: Buffer.from(secret.toString('base64').replace(/=+$/, '')) },
    { form: 'base64url', bytes: Buffer.from(secret.toString('base64url')) },
  ];
}

/** fails naming the secret, the form and where, when any form of `secret` is in `output` */
export function assertNoSecret(output: Buffer | string, secret: Buffer, what: string, where: string): void {
  assert.ok(secret.length >= 4, `${what}: a secret of ${secret.length} bytes is too short to search for`);
  const out = typeof output === 'string' ? Buffer.from(output) : output;
  for (const { form, bytes } of secretForms(secret)) assert.equal(out.indexOf(bytes), -1, `the ${what} (${form}) is in ${where}`);
}
