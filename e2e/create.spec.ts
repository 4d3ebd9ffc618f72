// Issue 9, item 7: the create form. On main the size was prefilled (formatting an existing file failed until it
// was cleared); messages named CLI flags (--size, --force); a missing folder showed a raw "ENOENT … lstat";
// journal encryption offered 2 of the engine's 5 ciphers; the equivalent command was not shell-quoted
// (`--journal-crypt ctr(aes)` is a syntax error); the HMAC key field showed the key in clear.
import fs from 'node:fs';
import crypto from 'node:crypto';
import path from 'node:path';
import { test, expect, shots } from './fixtures.js';

test('create: empty size formats an existing file; messages name the controls; masked keys; quoted command', async ({ dashboard: page, dir }) => {
  await page.getByRole('button', { name: 'Create volume' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Create volume' })).toBeFocused();
  await expect(page).toHaveURL(/#\/create$/);
  const size = page.getByLabel('Size (MiB, only for a new image)');
  await expect(size).toHaveValue('');
  await shots(page, 'create-form');
  // messages in the form's words
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page.getByText('Image path: required')).toBeVisible();
  await page.getByLabel('Interleave sectors').fill('12');
  await expect(page.getByText('Interleave sectors: a power of two from 8 to 2147483648')).toBeVisible();
  await page.getByLabel('Interleave sectors').fill('');
  // a missing folder: a sentence, not ENOENT … lstat
  await page.getByLabel('Image path').fill(path.join(dir, 'no-such-folder', 'x.img'));
  await size.fill('8');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const failure = page.getByText(/^Not created: /);
  await expect(failure).toBeVisible();
  await expect(failure).not.toContainText('ENOENT');
  await expect(failure).not.toContainText('lstat');
  await expect(failure).toContainText(path.join(dir, 'no-such-folder'));
  // journal ciphers: all five of the engine's
  const crypt = page.getByLabel('Journal encryption', { exact: true });
  await expect(crypt.locator('option')).toHaveText(['none', 'ctr-aes', 'cbc-aes', 'xts-aes', 'ecb-aes', 'chacha20']);
  // the HMAC key is masked, with a Show toggle that keeps focus
  await page.getByLabel('Integrity algorithm (not stored on disk)').selectOption('hmac-sha256');
  const key = page.getByLabel('Integrity key (hex)');
  await expect(key).toHaveAttribute('type', 'password');
  await key.fill('ab'.repeat(32));
  const show = page.getByRole('button', { name: 'Show integrity key' });
  await show.focus();
  await page.keyboard.press('Space');
  await expect(key).toHaveAttribute('type', 'text');
  await expect(page.getByRole('button', { name: 'Hide integrity key' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(key).toHaveAttribute('type', 'password');
  // the equivalent command, quoted for a POSIX shell, keys as files
  const existing = path.join(dir, 'my disk.img');
  fs.writeFileSync(existing, Buffer.alloc(0));
  fs.truncateSync(existing, 8 << 20);
  await page.getByLabel('Image path').fill(existing);
  await size.fill('');
  await crypt.selectOption('ctr-aes');
  await page.getByLabel('Journal encryption key (hex)').fill('cd'.repeat(32));
  const cmd = page.getByLabel('Equivalent format command');
  await expect(cmd).toHaveText(
    `integritysetup format '${existing}' --integrity hmac-sha256 --integrity-key-file KEYFILE --integrity-key-size 32 --journal-crypt ctr-aes --journal-crypt-key-file JCRYPT_KEYFILE --journal-crypt-key-size 32`,
  );
  await expect(cmd).not.toContainText('abab');
  await shots(page, 'create-form-filled');
  // an existing file, size left empty: formatted as it is, once the question naming it is answered
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const ask = page.getByTestId('overwrite-question');
  await expect(ask).toContainText(`Format file ${existing} (8.0 MiB)? It holds no known signature, and its first 4.0 MiB are all zeros`);
  await expect(ask.getByRole('button', { name: 'Format and erase it' })).toBeFocused();
  await ask.getByRole('button', { name: 'Format and erase it' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'my disk.img' })).toBeFocused({ timeout: 30_000 });
  expect(fs.statSync(existing).size).toBe(8 << 20);
  expect(fs.readFileSync(existing).subarray(0, 8).toString('latin1')).toBe('integrt\0');
  await expect(page.getByLabel('Equivalent open command')).toContainText(`'${existing}'`);
});

test('create over a file of data without a signature: asked first, naming it, its size and what is lost; Cancel keeps every byte', async ({
  dashboard: page,
  dir,
}) => {
  const img = path.join(dir, 'random.img');
  const data = crypto.randomBytes(10 << 20); // someone's data: no signature any probe knows
  fs.writeFileSync(img, data);
  await page.getByRole('button', { name: 'Create volume' }).click();
  await page.getByLabel('Image path').fill(img);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const ask = page.getByTestId('overwrite-question');
  await expect(ask).toContainText(`Format file ${img} (10.0 MiB)? It holds data with no known signature`);
  await expect(ask).toContainText('everything on it is lost');
  await expect(ask).not.toContainText('--force');
  await expect(ask.getByRole('button', { name: 'Format and erase it' })).toBeFocused();
  await shots(page, 'create-overwrite-question');
  // Escape (or Cancel): nothing written, focus back on Create
  await page.keyboard.press('Escape');
  await expect(ask).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Create', exact: true })).toBeFocused();
  expect(fs.readFileSync(img).equals(data)).toBe(true);
  // Cancel leaves the form for the list
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Volumes' })).toBeFocused();
  expect(fs.readFileSync(img).equals(data)).toBe(true);
});

test("create: a relative path and a size past 8 PiB are refused in the form's words, before anything is sent", async ({ dashboard: page }) => {
  await page.getByRole('button', { name: 'Create volume' }).click();
  await page.getByLabel('Image path').fill('relative.img');
  await page.getByLabel('Size (MiB, only for a new image)').fill('1048575999998951400');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page.getByText('Image path: an absolute path')).toBeVisible();
  await expect(page.getByText('Size (MiB, only for a new image): at most 8,589,934,591 MiB (8 PiB)')).toBeVisible();
});
