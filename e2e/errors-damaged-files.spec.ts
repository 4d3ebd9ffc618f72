// Issue 20: every bad block named by what it holds. A real ext4 image (mkfs.ext4 -d) on a dm-integrity volume of our
// format, tags spoiled under a file, a directory, an inode-table block and free space (testing/fs-volume.ts, with
// debugfs's answers): after a scrub the Errors panel groups them — the file with both its paths, its inode and the
// damaged bytes; the directory and the inode table with what they mean; free space, harmless, rewritten with zeros
// after the host's question (keyboard only) — the status line and the volume list count the damaged file, and the
// export says what each range holds.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { test, expect, engine, shots, ROOT } from './fixtures.js';
import { addImage, scrubToEnd } from './helpers.js';

interface Spoiled {
  file: { sector: number; inode: number; paths: string[]; bytes: [number, number] };
  dir: { sector: number; inode: number; paths: string[] };
  itable: { sector: number; inode: number };
  free: { sector: number };
}

/** the panel alone, light and dark (the full pages are taken by shots()) */
async function panelShots(page: Page, panel: Locator, name: string): Promise<void> {
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await panel.screenshot({ path: path.join(ROOT, 'test-results', 'screenshots', `${name}-${scheme}.png`) });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const missing = ['mkfs.ext4', 'debugfs', 'dumpe2fs'].find(
  (t) => spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t} || test -x /sbin/${t}`]).status !== 0,
);

test('Errors panel: damaged file with its paths and bytes, directory and inode table with their meaning, free space rewritten after asking', async ({
  dashboard: page,
  dir,
}) => {
  test.skip(!!missing, `${missing} is not installed (apt-get install e2fsprogs)`);
  const made = JSON.parse(
    engine(`
    import { ext4Volume } from './dist/testing/fs-volume.js';
    const v = ext4Volume(${JSON.stringify(dir)}, 'photos-and-docs.img');
    console.log(JSON.stringify({ vol: v.vol, spoiled: v.spoiled }));
  `),
  ) as { vol: string; spoiled: Spoiled };
  const s = made.spoiled;
  const n = (x: number) => x.toLocaleString('en-US');
  await addImage(page, made.vol);
  await scrubToEnd(page);
  const panel = page.getByRole('region', { name: 'Integrity errors', exact: true });
  await expect(panel.getByTestId('error-count')).toHaveText('4');
  const map = panel.getByRole('region', { name: 'What the bad blocks hold' });
  await expect(map.getByTestId('map-summary')).toContainText('data errors in 1 file; 2 file-system structures damaged; 1 bad sector in free space (harmless)', {
    timeout: 30_000,
  });
  await expect(map.getByTestId('map-summary')).toContainText('ext4 (');

  // the file: both paths (a hard link), its inode, the damaged bytes inside it and the sector holding them
  const files = map.getByRole('region', { name: /^Damaged files/ });
  const file = files.getByTestId('damaged-file');
  await expect(file).toHaveCount(1);
  const [first, other] = s.file.paths.includes('/docs/report.bin') ? ['/docs/report.bin', s.file.paths.find((p) => p !== '/docs/report.bin')!] : s.file.paths;
  await expect(file.locator('.path')).toHaveText(new RegExp(`^(${first}|${other})$`));
  await expect(file).toContainText(`inode ${s.file.inode} · regular · 200.0 KiB`);
  await expect(file).toContainText(/also \/docs\//);
  await expect(file.getByTestId('file-bytes')).toHaveText(`Damaged: bytes ${n(s.file.bytes[0])}–${n(s.file.bytes[1] - 1)} of the file`);
  await expect(file).toContainText(`sector ${n(s.file.sector)}`);

  // the structures: the directory (its path, the names it holds) and the inode table (the inodes it holds, by path)
  const structures = map.getByRole('region', { name: /^File-system structures/ }).getByTestId('damaged-structure');
  await expect(structures).toHaveCount(2);
  const dirItem = structures.filter({ hasText: 'ext4.directory' });
  await expect(dirItem).toContainText(`of ${s.dir.paths[0]} (inode ${s.dir.inode})`);
  await expect(dirItem).toContainText('Names it holds: ');
  await expect(dirItem).toContainText(`sector ${n(s.dir.sector)}`);
  const itable = structures.filter({ hasText: 'ext4.inode_table' });
  await expect(itable).toContainText(`${s.itable.inode} /docs/`);
  await expect(itable).toContainText('e2fsck');

  // free space: harmless, with its sector
  const free = map.getByRole('region', { name: /^Free space/ });
  await expect(free).toContainText('Harmless: no file or file-system structure uses these blocks');
  await expect(free.getByTestId('free-space')).toContainText(`sector ${n(s.free.sector)}`);

  // the status line counts the damaged file, zpool-status style
  await expect(page.getByTestId('errors-line')).toHaveText('data errors in 1 file; 2 file-system structures damaged; 1 bad sector in free space (harmless)');
  await map.scrollIntoViewIfNeeded();
  await shots(page, 'errors-damaged-files');
  await panelShots(page, panel, 'errors-panel-damaged-files');

  // the export says what each range holds
  const [json] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export JSON' }).click()]);
  const j = JSON.parse(fs.readFileSync((await json.path())!, 'utf8')) as {
    mapping: { files_damaged: number };
    ranges: Array<{ first_sector: number; holds: Array<{ kind: string; inode?: number; bytes?: number[][] }> }>;
  };
  expect(j.mapping.files_damaged).toBe(1);
  expect(j.ranges.find((r) => r.first_sector === s.file.sector)!.holds).toMatchObject([{ kind: 'file', inode: s.file.inode, bytes: [s.file.bytes] }]);

  // Rewrite with zeros…, by keyboard: Tab reaches it; the host's question names the block; Escape returns focus
  const rewrite = free.getByRole('button', { name: 'Rewrite with zeros…' });
  await free.getByRole('heading').click();
  for (let i = 0; i < 40 && !(await rewrite.evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press('Tab');
  await expect(rewrite).toBeFocused();
  await page.keyboard.press('Enter');
  const ask = free.getByRole('alertdialog');
  await expect(ask).toContainText(
    `Rewrite 1 bad block(s) of photos-and-docs.img (512 bytes: sector ${n(s.free.sector)}) with zeros and a valid tag? ext4 says they are free`,
  );
  await expect(ask).toContainText('The other 3 known bad sector(s) are not free and are not touched');
  await expect(ask.getByRole('button', { name: 'Rewrite with zeros' })).toBeFocused();
  await shots(page, 'errors-rewrite-free-question');
  await page.keyboard.press('Escape');
  await expect(ask).toHaveCount(0);
  await expect(rewrite).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(ask.getByRole('button', { name: 'Rewrite with zeros' })).toBeFocused();
  await page.keyboard.press('Enter');
  const said = free.getByTestId('rewrite-status');
  await expect(said).toHaveText(/^Rewrote 1 block with zeros through the journal, read back verified\./);
  await expect(said).toBeFocused();
  await expect(free.getByTestId('rewritten')).toContainText('1 block rewritten with zeros');

  // the volume list: a Damaged files column
  await page.getByRole('link', { name: '← Volumes' }).click();
  await expect(page.getByTestId('damaged-files')).toHaveText('1');
});
