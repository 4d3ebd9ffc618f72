// The LUKS2 create form's pure parts: valid integrity/cipher/key-size pairs, checks in the form's words, the
// equivalent commands quoted for a POSIX shell and never holding the passphrase; the kernel's AEAD error lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aeadLine, DEFAULT_LUKS_FORM, luksCommands, luksRequest, validateLuks, withCipher, withIntegrity } from './luks-form.js';

test('integrity and cipher stay a valid pair; key sizes follow the cipher', () => {
  let f = withIntegrity(DEFAULT_LUKS_FORM, 'aead');
  assert.equal(f.cipher, 'aes-gcm-random');
  assert.equal(f.keySize, '256');
  f = withCipher(f, 'aegis128-random');
  assert.equal(f.keySize, '128');
  f = withIntegrity(f, 'poly1305');
  assert.deepEqual([f.cipher, f.keySize], ['chacha20-random', '256']);
  f = withIntegrity(f, 'hmac-sha512');
  assert.deepEqual([f.cipher, f.keySize], ['aes-xts-random', '256']); // a size valid for the new cipher is kept
  assert.match(validateLuks({ ...f, cipher: 'aes-gcm-random' }).cipher ?? '', /does not go with hmac-sha512/);
});

test('checks: path, size over the 16 MiB header, passphrases that match, PBKDF minimums', () => {
  const e = validateLuks({ ...DEFAULT_LUKS_FORM, sizeMiB: '16', passphrase: 'a', passphrase2: 'b', pbkdf: 'pbkdf2', pbkdfIterations: '999' });
  assert.match(e.path!, /required/);
  assert.match(e.sizeMiB!, /more than 16/);
  assert.equal(e.passphrase2, 'Passphrases do not match.');
  assert.match(e.pbkdfIterations!, /at least 1000 for pbkdf2/);
  assert.deepEqual(validateLuks({ ...DEFAULT_LUKS_FORM, path: '/x', passphrase: 'p', passphrase2: 'p' }), {});
  assert.match(validateLuks({ ...DEFAULT_LUKS_FORM, path: '/x', secretSource: 'file' }).keyFile!, /required/);
});

test('commands: cryptsetup luksFormat and luks-format, quoted, without the passphrase; the request carries it once', () => {
  const f = {
    ...DEFAULT_LUKS_FORM,
    path: "/tmp/my vol's.img",
    sizeMiB: '32',
    passphrase: 'top secret',
    passphrase2: 'top secret',
    noWipe: true,
    pbkdfIterations: '4',
    pbkdfMemory: '65536',
  };
  const c = luksCommands(f);
  assert.equal(
    c.cryptsetup,
    `truncate -s 32M '/tmp/my vol'\\''s.img'\ncryptsetup luksFormat --type luks2 --cipher aes-xts-random --integrity hmac-sha256 --key-size 512 --sector-size 4096 --pbkdf argon2id --pbkdf-force-iterations 4 --pbkdf-memory 65536 --integrity-no-wipe '/tmp/my vol'\\''s.img'`,
  );
  assert.ok(c.ours.includes('integrity-studio luks-format --cipher aes-xts-random --integrity hmac-sha256'));
  assert.ok(!c.cryptsetup.includes('top secret') && !c.ours.includes('top secret'));
  assert.ok(luksCommands({ ...f, secretSource: 'file', keyFile: '/k' }).ours.includes('--key-file /k'));
  const r = luksRequest(f);
  assert.deepEqual(r.secret, { passphrase: 'top secret' });
  assert.equal(r.size, 32 << 20);
  assert.equal(r.pbkdfMemory, 65536);
  assert.equal(luksRequest({ ...f, pbkdf: 'pbkdf2' }).pbkdfMemory, undefined);
});

test('failing sectors as dm-crypt logs them', () => {
  assert.equal(aeadLine(300), 'INTEGRITY AEAD ERROR, sector 300');
});
