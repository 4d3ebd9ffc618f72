// Issue 9, item 5: views are addresses; a disconnected page says so. On main the address never changed (a reload
// dropped to the list, Back did nothing), and after a server restart on another port/token open tabs said
// "connecting…" forever while every button stayed enabled.
import { test, expect, golden, shots, startServe } from './fixtures.js';
import { addImage } from './helpers.js';

test('reload, Back/Forward and a pasted link land on the same view, focus on its heading', async ({ dashboard: page, server, dir, context }) => {
  const { path: img } = golden('c-sha256', dir);
  await addImage(page, img, { integrity: 'sha256' });
  const volumeUrl = page.url();
  expect(volumeUrl).toMatch(/\?token=[^#]+#\/volume\/[^/]+$/);
  await page.reload();
  await expect(page.getByRole('heading', { level: 2, name: 'c-sha256.img' })).toBeFocused();
  await page.getByRole('link', { name: 'Edit…' }).click();
  await expect(page).toHaveURL(/#\/volume\/[^/]+\/edit$/);
  await page.goBack();
  await expect(page.getByRole('heading', { level: 2, name: 'c-sha256.img' })).toBeFocused();
  await page.goBack();
  await expect(page.getByRole('heading', { level: 2, name: 'Add existing image' })).toBeVisible();
  await page.goForward();
  await expect(page.getByRole('heading', { level: 2, name: 'c-sha256.img' })).toBeFocused();
  // a pasted link in a new tab, straight to a panel
  const tab = await context.newPage();
  await tab.goto(`${volumeUrl}/journal`);
  await expect(tab.getByRole('heading', { level: 3, name: 'Journal' })).toBeFocused();
  await tab.goto(`${server.url}#/create`);
  await expect(tab.getByRole('heading', { level: 2, name: 'Create volume' })).toBeFocused();
  await tab.goto(`${server.url}#/volume/no-such-id`);
  await expect(tab.getByRole('heading', { level: 2, name: 'No such volume' })).toBeVisible();
  await tab.close();
});

test('server stopped: every control disabled and why; back on the same address: reconnects and refreshes', async ({ dashboard: page, server, dir }) => {
  const { path: img } = golden('c-sha256', dir);
  await addImage(page, img, { integrity: 'sha256' });
  await server.stop();
  const banner = page.getByTestId('disconnected');
  await expect(banner).toContainText('Disconnected.');
  await expect(banner).toContainText(/Nothing answers at 127\.0\.0\.1:\d+: the server stopped, or it was restarted on another port/);
  for (const name of ['Start scrub', 'Remove from list', 'Replay journal']) await expect(page.getByRole('button', { name, exact: true })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Try again now' })).toBeEnabled();
  await shots(page, 'disconnected');
  await server.restart();
  // serve keeps its port and token across restarts: the page comes back by itself (backoff ≤ 15 s)
  await expect(page.getByTestId('connection')).toHaveText('connected', { timeout: 20_000 });
  await expect(page.getByRole('button', { name: 'Start scrub' })).toBeEnabled();
  await expect(page.getByRole('heading', { level: 2, name: 'c-sha256.img' })).toBeVisible();
});

test('server restarted with another token: the page says so and what to do', async ({ dashboard: page, server, dir }) => {
  const port = new URL(server.url).port;
  await server.stop();
  // another server on the same port with a fresh data dir: a new token
  const other = await startServe(`${dir}/other-data`, [], ['--port', port]);
  try {
    const banner = page.getByTestId('disconnected');
    await expect(banner).toContainText("refused this page's token: it was restarted with a new token", { timeout: 20_000 });
    await expect(banner).toContainText('Open the "Dashboard:" address');
    await expect(page.getByRole('button', { name: 'Create volume' })).toBeDisabled();
    await shots(page, 'disconnected-token');
  } finally {
    await other.stop();
  }
});
