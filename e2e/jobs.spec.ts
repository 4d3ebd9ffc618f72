// Issue 9, item 6: jobs. On main the sector map showed recalculation only (never scrub coverage); the rate chart
// appeared and disappeared (the page jumped), had no axes or units and kept the last run's samples; a finished
// recalculation showed "not started 0%" after a restart; "Recalc sector" updated only on pause; "Restart from start"
// asked nothing.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, engine, golden, shots, command } from './fixtures.js';
import { addImage, openVolume, scrubToEnd } from './helpers.js';

const SECTOR_MAP_CELLS = 128;

test('sector map: not yet scrubbed → scrubbed, legend, a tooltip per cell; the rate chart keeps its place; last runs listed', async ({
  dashboard: page,
  dir,
}) => {
  const { path: img } = golden('c-sha256', dir);
  await addImage(page, img, { integrity: 'sha256' });
  const map = page.locator('.sectormap');
  // SectorMap draws 128 cells for a volume of 128 sectors or more (cellStates); every one is not yet scrubbed
  await expect(map.locator('.cell')).toHaveCount(SECTOR_MAP_CELLS);
  await expect(map.locator('.cell.unscrubbed')).toHaveCount(SECTOR_MAP_CELLS);
  await expect(map.locator('.cell').first()).toHaveAttribute('title', /^sectors 0–\d+: not yet scrubbed$/);
  const legend = page.getByRole('list', { name: 'Sector map legend' });
  for (const l of ['scrubbed', 'not yet scrubbed', 'recalculated, not yet scrubbed', 'pending recalculation', 'bad']) await expect(legend).toContainText(l);
  const scrub = page.getByRole('region', { name: 'Scrub', exact: true });
  const chart = scrub.locator('.chart-box');
  await expect(chart).toBeVisible();
  await expect(chart.getByRole('img')).toHaveAttribute('aria-label', 'Scrub rate: not running');
  await expect(chart).toContainText('time since this run started');
  // where the chart is in its panel: the same place and size whether a run is going on or not
  const box = () =>
    chart.evaluate((el) => {
      const r = el.getBoundingClientRect(),
        p = el.closest('section')!.getBoundingClientRect();
      return { top: r.top - p.top, width: r.width, height: r.height };
    });
  const before = await box();
  await scrubToEnd(page);
  await expect(map.locator('.cell')).toHaveCount(SECTOR_MAP_CELLS);
  await expect(map.locator('.cell.scrubbed')).toHaveCount(SECTOR_MAP_CELLS);
  await expect(map.locator('.cell').last()).toHaveAttribute('title', /: scrubbed$/);
  const after = await box();
  expect(after).toEqual(before);
  const runs = scrub.getByRole('table', { name: 'Last scrub runs' });
  await expect(runs.getByRole('row')).toHaveCount(2);
  await expect(runs.getByRole('row').nth(1)).toContainText('finished');
  await expect(runs.getByRole('row').nth(1)).toContainText('dashboard');
  await shots(page, 'volume-scrubbed');
});

test('recalculation: live recalc sector and rate chart with units; Restart from start asks; finished stays finished after a restart', async ({
  server,
  open,
  dir,
}) => {
  const img = path.join(dir, 'recalc.img');
  // data first, then a --no-wipe --integrity-recalculate format over it; 512 MiB (sparse past 16 MiB) leaves time to pause
  fs.writeFileSync(img, Buffer.alloc(16 << 20, 0x5a));
  fs.truncateSync(img, 512 << 20);
  engine(
    `import { formatVolume } from './dist/engine/commands/format.js'; formatVolume(${JSON.stringify(img)}, { noWipe: true, integrityRecalculate: true, force: true, confirm: () => true });`,
  );
  await command(server.url, 'addVolume', { path: img });
  let page = await open();
  await openVolume(page, 'recalc.img');
  // a speed limit (Edit…) keeps the run long enough to watch and pause however fast the machine hashes
  await page.getByRole('link', { name: 'Edit…' }).click();
  await page.getByLabel('Speed limit (MiB/s)').fill('fast');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Speed limit: a whole number of MiB/s')).toBeVisible();
  await shots(page, 'edit-speed-limit-error');
  await page.getByLabel('Speed limit (MiB/s)').fill('128');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'recalc.img' })).toBeFocused();
  const recalc = page.getByRole('region', { name: 'Recalculation', exact: true });
  await expect(recalc.getByTestId('recalc-speed-limit')).toHaveText('limited to 128 MiB/s (Edit to change)');
  const toggle = recalc.getByRole('button', { name: /recalculation$/ }).first();
  await expect(toggle).toHaveText('Start recalculation');
  await toggle.click();
  await expect(toggle).toHaveText('Pause recalculation');
  await expect(toggle).toBeFocused();
  // the superblock card follows the position while it runs
  const sbSector = page.getByTestId('sb-recalc-sector');
  await expect(sbSector).toContainText('(live)');
  const first = Number((await sbSector.textContent())!.replace(/[^\d]/g, ''));
  await expect.poll(async () => Number((await sbSector.textContent())!.split(' ')[0]!.replace(/,/g, ''))).toBeGreaterThan(first);
  await expect(recalc.locator('.chart-box polyline')).toBeVisible();
  await expect(recalc.locator('.chart-box')).toContainText(/[KMG]iB\/s/);
  await shots(page, 'volume-recalculating');
  await toggle.click();
  await expect(page.getByTestId('recalc-state')).toHaveText('paused');
  await expect(toggle).toHaveText('Resume recalculation');
  await expect(toggle).toBeFocused();
  const paused = Number((await page.getByTestId('recalc-position').textContent())!.replace(/,/g, ''));
  expect(paused).toBeGreaterThan(0);
  // Restart from start asks first; Cancel keeps the position
  await recalc.getByRole('button', { name: 'Restart recalculation from start' }).click();
  const ask = recalc.getByRole('alertdialog');
  await expect(ask).toContainText('Its position');
  await expect(ask.getByRole('button', { name: 'Restart from start' })).toBeFocused();
  await shots(page, 'recalc-restart-confirm');
  await page.keyboard.press('Escape');
  await expect(ask).toHaveCount(0);
  await expect(recalc.getByRole('button', { name: 'Restart recalculation from start' })).toBeFocused();
  expect(Number((await page.getByTestId('recalc-position').textContent())!.replace(/,/g, ''))).toBe(paused);
  await toggle.click();
  await expect(page.getByTestId('recalc-state')).toHaveText('finished', { timeout: 60_000 });
  await expect(recalc.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  // the finished run's curve stays, labelled as the last run, until a new run clears it
  await expect(recalc.locator('.chart-box').getByRole('img')).toHaveAttribute('aria-label', /^Recalculation rate \(last run\): \d+ samples?/);
  await server.restart();
  page = await open();
  await openVolume(page, 'recalc.img');
  await expect(page.getByTestId('recalc-state')).toHaveText('finished');
  await expect(page.getByRole('region', { name: 'Recalculation', exact: true }).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '100');
  await expect(page.getByRole('table', { name: 'Last recalculation runs' })).toContainText('finished');
});
