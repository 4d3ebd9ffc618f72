// Issue 19: a failing disk. A volume with 100,000 scattered bad blocks (every other block of its start): the page
// opens, pages, jumps to a sector, filters, exports every range as a stream, and its controls keep answering while
// a scrub finds errors at full rate — with the DOM bounded (one page of rows, never one row per range).
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, engine, shots } from './fixtures.js';
import { addImage, scrubToEnd } from './helpers.js';

const N = 100_000;

test('100,000 bad blocks: page, jump, filter, export, and the controls answer during a scrub', async ({ dashboard: page, dir }) => {
  test.setTimeout(240_000);
  const img = path.join(dir, 'failing.img');
  engine(`import { makeFailingVolume } from './dist/testing/failing-volume.js'; makeFailingVolume(${JSON.stringify(img)}, ${N});`);
  await addImage(page, img);
  await scrubToEnd(page, 120_000);
  const panel = page.getByRole('region', { name: 'Integrity errors', exact: true });
  await expect(panel.getByTestId('error-count')).toHaveText('100,000');
  await expect(panel.getByTestId('damage-counts')).toContainText('100,000 bad blocks in 100,000 ranges');
  const ranges = panel.getByTestId('range');
  // one page of rows, in order: sectors 0, 2, 4, …
  await expect(ranges).toHaveCount(100);
  await expect(ranges.first()).toHaveText('sector 0');
  await expect(ranges.last()).toHaveText('sector 198');
  // the whole page stays small: one page of rows, not 100,000
  expect(await page.evaluate(() => document.querySelectorAll('*').length)).toBeLessThan(3000);
  await shots(page, 'failing-disk-volume');

  // Next, Next, Previous, First
  const next = panel.getByRole('button', { name: 'Next page' });
  await next.click();
  await expect(ranges.first()).toHaveText('sector 200');
  await next.click();
  await expect(ranges.first()).toHaveText('sector 400');
  await panel.getByRole('button', { name: 'Previous page' }).click();
  await expect(ranges.first()).toHaveText('sector 200');
  await panel.getByRole('button', { name: 'First page' }).click();
  await expect(ranges.first()).toHaveText('sector 0');
  await expect(panel.getByRole('button', { name: 'Previous page' })).toBeDisabled();

  // a sector to jump to: the first bad block at or after it (bad blocks are the even sectors below 200,000)
  await panel.getByLabel('From sector', { exact: true }).fill('150001');
  await panel.getByRole('button', { name: 'Go' }).click();
  await expect(ranges.first()).toHaveText('sector 150,002');
  await expect(panel.getByTestId('page-where')).toHaveText('sectors 150,002–150,200');
  // past the last range: nothing, and no Next
  await panel.getByLabel('From sector', { exact: true }).fill('199999');
  await panel.getByRole('button', { name: 'Go' }).click();
  await expect(panel.getByTestId('page-where')).toHaveText('no ranges here');
  await expect(next).toBeDisabled();
  // the filter: there are no unreadable blocks on this volume, only bad ones
  await panel.getByLabel('Show', { exact: true }).selectOption('read-error');
  await expect(panel.getByTestId('page-where')).toHaveText('no ranges here');
  await panel.getByLabel('Show', { exact: true }).selectOption('bad');
  await expect(ranges.first()).toHaveText('sector 0');

  // the export: every range, streamed by the host
  const [csv] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export CSV' }).click()]);
  const lines = fs
    .readFileSync((await csv.path())!, 'utf8')
    .trimEnd()
    .split('\n');
  expect(lines).toHaveLength(N + 1);
  expect(lines[1]).toMatch(/^bad,0,0,1,0,0,1,512,image,\d+,\d+,/);
  expect(lines[N]).toMatch(/^bad,199998,199998,1,199998,199998,1,512,image,\d+,\d+,/);

  // a scrub from the start again finds errors at full rate (a speed limit keeps it running long enough to act on,
  // however fast the machine hashes); the toggle and the list answer while it runs, the known damage stays listed
  await page.getByRole('link', { name: 'Edit…' }).click();
  await page.getByLabel('Speed limit (MiB/s)').fill('16');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'failing.img' })).toBeFocused();
  const toggle = page.getByRole('region', { name: 'Scrub', exact: true }).getByRole('button', { name: /^(Start|Pause|Resume) scrub$/ });
  await expect(toggle).toHaveText('Start scrub');
  await toggle.click();
  await expect(toggle).toHaveText('Pause scrub');
  await expect(toggle).toBeFocused();
  await expect(page.getByTestId('scrub-state')).toHaveText('running');
  await panel.getByRole('button', { name: 'Next page' }).click();
  await expect(ranges.first()).toHaveText('sector 200');
  await expect(ranges).toHaveCount(100);
  await toggle.click();
  await expect(page.getByTestId('scrub-state')).toHaveText('paused');
  await expect(toggle).toHaveText('Resume scrub');
  await expect(panel.getByTestId('error-count')).toHaveText('100,000');
  await shots(page, 'failing-disk-scrub-paused');
  await toggle.click();
  await expect(page.getByTestId('scrub-state')).toHaveText('finished', { timeout: 120_000 });
  await expect(panel.getByTestId('error-count')).toHaveText('100,000');
  expect(await page.evaluate(() => document.querySelectorAll('*').length)).toBeLessThan(3000);
});
