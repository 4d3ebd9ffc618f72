// Issue 9, item 4: the journal as on disk. On main golden j (320 committed entries waiting for replay after a
// crash) showed "no journal activity in this session".
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, golden, shots, engine, command } from './fixtures.js';
import { addImage, confirmIn, openVolume, scrubToEnd } from './helpers.js';

test('golden j: 320 committed entries awaiting replay; Replay asks first, then replays as the kernel would', async ({ dashboard: page, dir }) => {
  const { path: img, manifest } = golden('j-journal-unreplayed', dir);
  // logical sector 0 lives at initial_sectors + metadata_run in the image; before replay it holds zeros there
  // (its committed data is only in the journal), after replay the pattern-v1 record of image j
  const at0 = () => {
    const fd = fs.openSync(img, 'r');
    const b = Buffer.alloc(16);
    fs.readSync(fd, b, 0, 16, (manifest.geometry.initial_sectors + manifest.geometry.metadata_run) * 512);
    fs.closeSync(fd);
    return b.toString('latin1');
  };
  expect(at0()).toBe('\0'.repeat(16));
  await addImage(page, img);
  await expect(page.getByTestId('state-badges').first()).toContainText('journal to replay');
  const journal = page.getByRole('region', { name: 'Journal', exact: true });
  await expect(journal.getByTestId('journal-committed')).toHaveText(/^320 entries in \d+ sections?$/);
  await expect(journal).toContainText(`46 × 168 entries`);
  await expect(journal).toContainText('Commit sequence');
  await expect(journal).not.toContainText('no journal activity');
  await journal.scrollIntoViewIfNeeded();
  await shots(page, 'volume-journal-to-replay');
  await confirmIn(page, journal, 'Replay journal', 'Replay now', ['Replay 320 committed entries', 'This writes to the image'], 'journal-replay-confirm');
  await expect(journal.getByTestId('journal-committed')).toHaveText('0 entries in 0 sections');
  await expect(page.getByTestId('state-badges').first()).not.toContainText('journal to replay');
  // the committed data is now in the data area, where the kernel's replay puts it
  expect(at0()).toBe('j  :00000000000\n');
});

// Bitmap mode left dirty by a crash: the dashboard said the dirty blocks were "recalculated on the next writable
// open" and offered no way to do it; the Status action said only "scrub again once the cause is gone".
test('bitmap mode after a crash: dirty regions named, the action points to them; Recalculate dirty regions asks, runs, then a scrub is clean', async ({
  dashboard: page,
  server,
  dir,
}) => {
  const img = path.join(dir, 'dirty.img');
  // written in three 1 MiB regions, flushed, then the process "crashes": the bitmap and superblock stay dirty
  engine(
    `import { mkDirtyBitmapVolume } from './dist/testing/mkvolume.js'; mkDirtyBitmapVolume(${JSON.stringify(img)}, 24 << 20, 2048, [0, 5 << 20, 17 << 20]);`,
  );
  await command(server.url, 'addVolume', { path: img, mode: 'bitmap', bitmapSectorsPerBit: 2048 });
  await page.reload();
  await openVolume(page, 'dirty.img');
  const journal = page.getByRole('region', { name: 'Journal', exact: true });
  await expect(journal.getByTestId('dirty-regions')).toHaveText('3');
  await expect(journal).toContainText('not closed cleanly');
  const recalc = page.getByRole('region', { name: 'Recalculation', exact: true });
  await expect(recalc).toContainText('6,144 blocks in 3 dirty bitmap regions may hold stale tags');
  await expect(recalc).not.toContainText('every tag is up to date');
  await scrubToEnd(page);
  const status = page.getByRole('region', { name: 'Status', exact: true });
  await expect(page.getByTestId('state-badges').first()).toContainText('partial');
  await expect(status).toContainText('6,144 blocks in dirty bitmap regions');
  await expect(status).toContainText('Recalculate the dirty regions (Journal panel)');
  // the finished scrub did not check them: the sector map shows them as dirty, not scrubbed
  const dirtyCells = status.locator('.sectormap .cell.dirty');
  expect(await dirtyCells.count()).toBeGreaterThanOrEqual(3);
  await expect(dirtyCells.first()).toHaveAttribute('title', /^sectors 0–[\d,]+: dirty bitmap region \(not verified\)$/);
  await journal.scrollIntoViewIfNeeded();
  await shots(page, 'volume-dirty-bitmap');
  await confirmIn(
    page,
    journal,
    'Recalculate dirty regions',
    'Recalculate now',
    ['Recalculate the tags of 6,144 blocks in 3 dirty regions', 'This writes to the image'],
    'dirty-bitmap-confirm',
  );
  await expect(journal.getByTestId('dirty-regions')).toHaveText('0');
  await expect(journal).toContainText('No dirty region');
  await expect(recalc).not.toContainText('stale tags');
  await expect(dirtyCells).toHaveCount(0);
  await expect(journal.getByRole('button', { name: 'Recalculate dirty regions' })).toBeDisabled();
  await scrubToEnd(page);
  await expect(page.getByTestId('state-badges').first()).toContainText('clean');
  await expect(status).toContainText(/checked ([\d,]+) of \1 blocks: no bad blocks, no read errors(?!;)/);
});
