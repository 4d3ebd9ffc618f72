// Issue 9, item 4: the journal as on disk. On main golden j (320 committed entries waiting for replay after a
// crash) showed "no journal activity in this session".
import fs from 'node:fs';
import { test, expect, golden, shots } from './fixtures.js';
import { addImage } from './helpers.js';

test('golden j: 320 committed entries awaiting replay; Replay asks first, then replays as the kernel would', async ({ dashboard: page, dir }) => {
  const { path: img, manifest } = golden('j-journal-unreplayed', dir);
  // logical sector 0 lives at initial_sectors + metadata_run in the image; before replay it holds zeros there
  // (its committed data is only in the journal), after replay the pattern-v1 record of image j
  const at0 = () => { const fd = fs.openSync(img, 'r'); const b = Buffer.alloc(16); fs.readSync(fd, b, 0, 16, (manifest.geometry.initial_sectors + manifest.geometry.metadata_run) * 512); fs.closeSync(fd); return b.toString('latin1'); };
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
  await journal.getByRole('button', { name: 'Replay journal' }).click();
  const ask = journal.getByRole('alertdialog');
  await expect(ask).toContainText('Replay 320 committed entries');
  await expect(ask).toContainText('This writes to the image');
  await expect(ask.getByRole('button', { name: 'Replay now' })).toBeFocused();
  await shots(page, 'journal-replay-confirm');
  await ask.getByRole('button', { name: 'Replay now' }).click();
  await expect(journal.getByTestId('journal-committed')).toHaveText('0 entries in 0 sections');
  await expect(page.getByTestId('state-badges').first()).not.toContainText('journal to replay');
  // the committed data is now in the data area, where the kernel's replay puts it
  expect(at0()).toBe('j  :00000000000\n');
});
