// Issue 9, item 2: no stranded volume. On main a keyed (hmac) volume was stranded after any host restart: its key
// was forgotten (right) but there was no way to enter it again, "Add existing image" refused it ("already in the
// list"), and there was no Remove or Edit.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, golden, shots } from './fixtures.js';
import { addImage, openVolume, scrubToEnd } from './helpers.js';

test('hmac volume after a server restart: "needs key", unlock with a key file, scrub clean', async ({ server, open, dir }) => {
  const { path: img, manifest } = golden('d-hmac-sha256', dir);
  const key = manifest.keys_hex!.integrity_key!;
  let page = await open();
  await addImage(page, img, { integrity: 'hmac-sha256', integrityKeyHex: key });
  await server.restart();
  page = await open();
  await expect(page.getByRole('row', { name: /d-hmac-sha256/ })).toContainText('needs key');
  await shots(page, 'list-needs-key');
  await openVolume(page, 'd-hmac-sha256.img');
  await expect(page.getByTestId('state-badges').first()).toContainText('needs key');
  await page.getByRole('link', { name: 'Unlock…' }).first().click();
  await expect(page.getByRole('heading', { level: 2, name: 'Unlock d-hmac-sha256.img' })).toBeFocused();
  expect(page.url()).toMatch(/#\/volume\/[^/]+\/unlock$/);
  // the key field is masked; the Show toggle shows it and hides it again
  const hex = page.getByLabel('Integrity key (hex)');
  await expect(hex).toHaveAttribute('type', 'password');
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await expect(page.getByText('Integrity key: required (hex digits or a key file on the host)')).toBeVisible();
  await shots(page, 'unlock-form');
  // the key as a file on the host
  const keyFile = path.join(dir, 'hmac.key');
  fs.writeFileSync(keyFile, Buffer.from(key, 'hex'), { mode: 0o600 });
  await page.getByRole('radio', { name: 'key file on the host' }).check();
  await page.getByLabel('Integrity key file').fill(keyFile);
  await page.getByRole('button', { name: 'Unlock', exact: true }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'd-hmac-sha256.img' })).toBeFocused();
  await expect(page.getByTestId('state-badges').first()).not.toContainText('needs key');
  await expect(page.getByText('held by the host: integrity key')).toBeVisible();
  await scrubToEnd(page);
  await expect(page.getByTestId('state-badges').first()).toContainText('clean');
});

test('Edit renames and changes open options; Remove from list asks, keeps the image, and the image can be added again', async ({ dashboard: page, dir }) => {
  const { path: img } = golden('c-sha256', dir);
  const before = fs.readFileSync(img);
  await addImage(page, img, { integrity: 'crc32c' });
  await page.getByRole('link', { name: 'Edit…' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Edit c-sha256.img' })).toBeFocused();
  await page.getByLabel('Name', { exact: true }).fill('backup disk');
  await page.getByLabel('Integrity algorithm (not stored on disk)').selectOption('sha256');
  await expect(page.getByLabel('Equivalent open command')).toContainText('--integrity sha256');
  await shots(page, 'edit-form');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'backup disk' })).toBeFocused();
  await expect(page.getByLabel('Equivalent open command')).toContainText('--integrity sha256');
  // Remove asks first and says the image stays
  await page.getByRole('button', { name: 'Remove from list' }).click();
  const ask = page.getByRole('alertdialog');
  await expect(ask).toContainText('The image stays on disk');
  await expect(ask.getByRole('button', { name: 'Remove from list' })).toBeFocused();
  await shots(page, 'remove-confirm');
  await ask.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('button', { name: 'Remove from list' })).toBeFocused();
  await page.getByRole('button', { name: 'Remove from list' }).click();
  await page.getByRole('alertdialog').getByRole('button', { name: 'Remove from list' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Volumes' })).toBeFocused();
  await expect(page.getByRole('link', { name: 'backup disk' })).toHaveCount(0);
  expect(fs.readFileSync(img).equals(before)).toBe(true);
  await addImage(page, img, { integrity: 'sha256' });
});
