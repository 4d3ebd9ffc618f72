// Kernel devices on a machine without device-mapper (this one): the real host says why, in the page, and what to do;
// the rest of the dashboard works as before.
import path from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, ROOT } from './fixtures.js';

async function shots(page: Page, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: path.join(ROOT, '.tmp', 'shots', `${name}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test('Kernel devices without device-mapper: one panel saying why and what to do', async ({ dashboard: page }, info) => {
  test.skip(info.project.name === 'electron', 'the same host as in chromium');
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Kernel devices' }).click();
  await expect(page).toHaveURL(/#\/live$/);
  await expect(page.getByRole('heading', { name: 'Kernel devices', level: 2 })).toBeFocused();
  const panel = page.getByTestId('live-unavailable');
  await expect(panel).toContainText('Kernel devices are not available here');
  await expect(panel).toContainText('This kernel has no device-mapper');
  await expect(panel).toContainText('run integrity-studio serve as root');
  await shots(page, 'live-unavailable');
  // a device page names the same reason, after a reload too
  await page.goto(page.url().replace(/#.*$/, '#/live/anything'));
  await expect(page.getByTestId('live-unavailable')).toContainText('This kernel has no device-mapper');
  await page.reload();
  await expect(page.getByTestId('live-unavailable')).toContainText('This kernel has no device-mapper');
  // the rest works as today
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Volumes' }).click();
  await expect(page.getByRole('heading', { name: 'Volumes', level: 2 })).toBeVisible();
});
