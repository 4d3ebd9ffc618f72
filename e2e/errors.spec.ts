// Issue 9, item 9: bad sectors people can act on. On main: "sectors 100–100", no unit on 4096-byte volumes
// ("Integrity errors: 1" next to "sectors 80–87"), no byte offset in the image, no export, no time of the scrub,
// nothing about what to do next.
import fs from 'node:fs';
import { test, expect, golden, shots } from './fixtures.js';
import { addImage, scrubToEnd } from './helpers.js';

interface Corruption {
  kind: string;
  sector: number;
  byte_in_sector: number;
  image_byte_offset: number;
}

test('golden i: every bad range with its unit and byte offsets in the image, the scrub time, what now, export', async ({ dashboard: page, dir }) => {
  const { path: img, manifest } = golden('i-corrupted', dir);
  await addImage(page, img);
  await scrubToEnd(page);
  const panel = page.getByRole('region', { name: 'Integrity errors', exact: true });
  await expect(panel.getByTestId('error-count')).toHaveText('7');
  await expect(panel).toContainText('512 bytes per block');
  const ranges = panel.getByTestId('range');
  // single sectors are "sector N", not "sectors N–N"
  await expect(ranges).toHaveText(['sector 10', 'sector 2,047', 'sector 3,000', 'sectors 4,000–4,001', 'sector 20,000', 'sector 32,327']);
  await expect(panel).toContainText('230,400–230,911');
  await expect(panel.getByTestId('errors-when')).toHaveText(/^found by the scrub that finished \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  await expect(panel).toContainText('cannot be trusted');
  await expect(panel).toContainText('Restore these ranges from a backup');
  await expect(panel).toContainText('EILSEQ');
  await panel.scrollIntoViewIfNeeded();
  await shots(page, 'volume-errors');
  const [json] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export JSON' }).click()]);
  expect(json.suggestedFilename()).toBe('i-corrupted.img-integrity-errors.json');
  const j = JSON.parse(fs.readFileSync((await json.path())!, 'utf8')) as {
    bad_blocks: number;
    scrub: { finished_at: string };
    ranges: Array<{ first_sector: number; extents: Array<{ first_byte: number }> }>;
  };
  expect(j.bad_blocks).toBe(7);
  expect(j.scrub.finished_at).toMatch(/^\d{4}-/);
  expect(j.ranges[0]).toMatchObject({ first_sector: 10, extents: [{ first_byte: 230400 }] });
  // every byte the corruption changed on the host lies in an exported extent of the image
  const extents = j.ranges.flatMap((r) => (r as unknown as { extents: Array<{ first_byte: number; last_byte: number }> }).extents);
  for (const c of (manifest.corruption as Corruption[]).filter((x) => x.kind === 'data')) {
    expect(
      extents.some((x) => x.first_byte <= c.image_byte_offset && c.image_byte_offset <= x.last_byte),
      `byte ${c.image_byte_offset} (sector ${c.sector})`,
    ).toBe(true);
  }
  const [csv] = await Promise.all([page.waitForEvent('download'), panel.getByRole('button', { name: 'Export CSV' }).click()]);
  const lines = fs
    .readFileSync((await csv.path())!, 'utf8')
    .trim()
    .split('\n');
  // holds (issue 20): what the range holds in the file system, once the host has mapped it (this image has none)
  expect(lines[0]).toBe('kind,first_sector,last_sector,sectors,first_block,last_block,blocks,block_size,on,first_byte,last_byte,holds');
  expect(lines[1]).toMatch(/^bad,10,10,1,10,10,1,512,image,230400,230911,(|"could not map: no known file system[^"]*")$/);
  expect(lines).toHaveLength(7);
});

test('4096-byte blocks: ranges in blocks with their 512-byte sectors', async ({ dashboard: page, dir }) => {
  const { path: img, manifest } = golden('b-sector4096', dir);
  // corrupt logical block 10 (sectors 80–87) and 11 on the host: data of block b is at initial + metadata_run + 8b
  const g = manifest.geometry;
  const fd = fs.openSync(img, 'r+');
  fs.writeSync(fd, Buffer.alloc(8192, 0xee), 0, 8192, (g.initial_sectors + g.metadata_run + 80) * 512);
  fs.closeSync(fd);
  await addImage(page, img);
  await scrubToEnd(page);
  const panel = page.getByRole('region', { name: 'Integrity errors', exact: true });
  await expect(panel.getByTestId('error-count')).toHaveText('2');
  await expect(panel).toContainText('4,096 bytes per block');
  await expect(panel.getByTestId('range')).toHaveText(['blocks 10–11 (sectors 80–95)']);
  await expect(panel).toContainText('2 blocks · 16 sectors');
  const start = (g.initial_sectors + g.metadata_run + 80) * 512;
  await expect(panel).toContainText(`${start.toLocaleString('en-US')}–${(start + 8192 - 1).toLocaleString('en-US')}`);
});
