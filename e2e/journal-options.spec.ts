// Issue 9, item 3: volumes with a journal MAC or journal encryption. On main the add form had no fields for them
// (golden h could not be added), and a volume created with them got an "Open with the kernel" command and dm table
// line without journal_mac/journal_crypt (the kernel would refuse it).
import path from 'node:path';
import { test, expect, golden, shots } from './fixtures.js';
import { addImage, scrubToEnd } from './helpers.js';

test('golden h (journal MAC hmac-sha256 + journal crypt ctr-aes) is added with those options; commands carry them', async ({ dashboard: page, dir }) => {
  const { path: img, manifest } = golden('h-journal-mac-crypt', dir);
  const k = manifest.keys_hex!;
  await page.getByRole('button', { name: 'Add existing image' }).click();
  for (const c of ['ctr-aes', 'cbc-aes', 'xts-aes', 'ecb-aes', 'chacha20'])
    await expect(page.getByLabel('Journal encryption', { exact: true }).locator(`option[value="${c}"]`)).toHaveCount(1);
  await page.getByLabel('Journal integrity (MAC)').selectOption('hmac-sha256');
  await page.getByLabel('Journal encryption', { exact: true }).selectOption('ctr-aes');
  await shots(page, 'add-form-journal-options');
  await page.getByRole('link', { name: 'Integrity Studio' }).click();
  await addImage(page, img, {
    integrity: 'crc32c',
    journalIntegrity: 'hmac-sha256',
    journalIntegrityKeyHex: k.journal_integrity_key!,
    journalCrypt: 'ctr-aes',
    journalCryptKeyHex: k.journal_crypt_key!,
  });
  await expect(page.getByText('held by the host: journal MAC key, journal encryption key')).toBeVisible();
  const open = page.getByLabel('Equivalent open command');
  await expect(open).toContainText('--journal-integrity hmac-sha256');
  await expect(open).toContainText('--journal-crypt ctr-aes');
  await expect(open).not.toContainText(k.journal_crypt_key!);
  // the dm table line as the kernel prints it (keys as zeros, like dmsetup table)
  const table = page.getByLabel('dm table line');
  await expect(table).toContainText('journal_crypt:ctr(aes):');
  await expect(table).toContainText('journal_mac:hmac(sha256):');
  await expect(table).not.toContainText(k.journal_crypt_key!);
  await scrubToEnd(page);
  await expect(page.getByTestId('state-badges').first()).toContainText('clean');
});

test('created with journal MAC and encryption: the format command is shell-quoted and the kernel line carries both', async ({ dashboard: page, dir }) => {
  await page.getByRole('button', { name: 'Create volume' }).click();
  const img = path.join(dir, 'jmc vol.img');
  await page.getByLabel('Image path').fill(img);
  await page.getByLabel('Size (MiB, only for a new image)').fill('8');
  await page.getByLabel('Journal integrity (MAC)').selectOption('hmac-sha256');
  await page.getByLabel('Journal integrity key (hex)').fill('40'.repeat(32));
  await page.getByLabel('Journal encryption', { exact: true }).selectOption('chacha20');
  await page.getByLabel('Journal encryption key (hex)').fill('80'.repeat(32));
  const cmd = page.getByLabel('Equivalent format command');
  await expect(cmd).toContainText(
    `integritysetup format '${img}' --integrity crc32c --journal-integrity hmac-sha256 --journal-integrity-key-file JMAC_KEYFILE --journal-integrity-key-size 32 --journal-crypt chacha20`,
  );
  await expect(cmd).not.toContainText('4040');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'jmc vol.img' })).toBeVisible({ timeout: 30_000 });
  await expect(page.getByLabel('Equivalent open command')).toContainText(`'${img}'`);
  await expect(page.getByLabel('Equivalent open command')).toContainText('--journal-crypt chacha20');
  await expect(page.getByLabel('dm table line')).toContainText('journal_crypt:chacha20:');
  await expect(page.getByLabel('dm table line')).toContainText('journal_mac:hmac(sha256):');
});
