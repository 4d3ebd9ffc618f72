// Steps the issue-9 specs share: add an image through the form, open a volume, wait for a scrub to finish.
import type { Locator, Page } from '@playwright/test';
import path from 'node:path';
import { expect, shots } from './fixtures.js';

export interface AddOptions {
  integrity?: string;
  integrityKeyHex?: string;
  journalIntegrity?: string;
  journalIntegrityKeyHex?: string;
  journalCrypt?: string;
  journalCryptKeyHex?: string;
  name?: string;
}

/** adds an existing image from the list page through "Add existing image"; lands on its page */
export async function addImage(page: Page, img: string, o: AddOptions = {}): Promise<void> {
  await page.getByRole('button', { name: 'Add existing image' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Add existing image' })).toBeFocused();
  await page.getByLabel('Image or device').fill(img);
  if (o.name) await page.getByLabel('Name', { exact: true }).fill(o.name);
  if (o.integrity) await page.getByLabel('Integrity algorithm (not stored on disk)').selectOption(o.integrity);
  if (o.integrityKeyHex) await page.getByLabel('Integrity key (hex)').fill(o.integrityKeyHex);
  if (o.journalIntegrity) await page.getByLabel('Journal integrity (MAC)').selectOption(o.journalIntegrity);
  if (o.journalIntegrityKeyHex) await page.getByLabel('Journal integrity key (hex)').fill(o.journalIntegrityKeyHex);
  if (o.journalCrypt) await page.getByLabel('Journal encryption', { exact: true }).selectOption(o.journalCrypt);
  if (o.journalCryptKeyHex) await page.getByLabel('Journal encryption key (hex)').fill(o.journalCryptKeyHex);
  await page.getByRole('button', { name: 'Add volume' }).click();
  await expect(page.getByRole('heading', { level: 2, name: o.name ?? path.basename(img) })).toBeVisible();
}

export async function scrubToEnd(page: Page, timeout = 45_000): Promise<void> {
  const b = page.getByRole('button', { name: /^(Start|Resume) scrub$/ });
  await b.click();
  await expect(page.getByTestId('scrub-state')).toHaveText('finished', { timeout });
}

export async function openVolume(page: Page, name: string): Promise<void> {
  await page.getByRole('link', { name, exact: true }).click();
  await expect(page.getByRole('heading', { level: 2, name })).toBeFocused();
}

/**
 * A ConfirmButton in `region`: the button opens its question (which says each of `says`), focus is on the confirm
 * button, the view is photographed as `shot` (light and dark), and the confirmation is given.
 */
export async function confirmIn(page: Page, region: Locator, button: string, confirm: string, says: string[], shot: string): Promise<void> {
  await region.getByRole('button', { name: button }).click();
  const ask = region.getByRole('alertdialog');
  for (const text of says) await expect(ask).toContainText(text);
  await expect(ask.getByRole('button', { name: confirm })).toBeFocused();
  await shots(page, shot);
  await ask.getByRole('button', { name: confirm }).click();
}
