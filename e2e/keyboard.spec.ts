// Issue 9, item 8: keyboard and focus. On main Enter on a volume link left focus on the body, and Space on
// "Start scrub" disabled it and focus was lost. Also: everything reachable by Tab, visible focus, 800×600 and dark.
import { test, expect, golden, shots, command } from './fixtures.js';
import { addImage } from './helpers.js';

test.use({ viewport: { width: 800, height: 600 } });

test('Enter on a volume link focuses the volume heading; Space on Start scrub keeps focus (Start → Pause → Resume)', async ({
  dashboard: page,
  dir,
  server,
}) => {
  const { path: img } = golden('a-default', dir);
  await addImage(page, img);
  // 1 MiB/s (the volume's speed limit) keeps the scrub running while the keys are pressed
  const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2]!);
  await command(server.url, 'updateVolume', id, { speedLimitMiBs: 1 });
  await page.getByRole('link', { name: '← Volumes' }).press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: 'Volumes' })).toBeFocused();
  await page.getByRole('link', { name: 'a-default.img' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 2, name: 'a-default.img' })).toBeFocused();
  expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H2');
  const scrub = page.getByRole('region', { name: 'Scrub', exact: true });
  const toggle = scrub.getByRole('button', { name: /^(Start|Pause|Resume) scrub$/ });
  await toggle.focus();
  await page.keyboard.press('Space');
  // the same button, now Pause, still focused; then Resume
  await expect(toggle).toBeFocused();
  await expect(toggle).toHaveText('Pause scrub');
  await page.keyboard.press('Space');
  await expect(toggle).toBeFocused();
  await expect(toggle).toHaveText('Resume scrub');
  // a visible focus ring
  const outline = await toggle.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');
});

test('every control is reachable by Tab; no horizontal scrolling at 800×600, light and dark', async ({ dashboard: page, dir }) => {
  const { path: img } = golden('i-corrupted', dir);
  await addImage(page, img);
  const seen = new Set<string>();
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      return a ? `${a.tagName}:${a.textContent?.trim() || a.getAttribute('aria-label') || a.id}` : '';
    });
    seen.add(label);
  }
  for (const want of ['BUTTON:Start scrub', 'A:Edit…', 'BUTTON:Remove from list', 'A:← Volumes']) expect([...seen]).toContain(want);
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
  }
  await page.emulateMedia({ colorScheme: 'dark' });
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(bg).toBe('rgb(13, 17, 23)');
  await shots(page, 'volume-800x600');
  await page.getByRole('link', { name: '← Volumes' }).click();
  await shots(page, 'list-800x600');
});
