// probeSignatures finds each kind of existing content on small synthetic images, and nothing on blank ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from '../../testing/golden.js';
import { probeSignatures, describeSignatures } from './probe.js';

const dir = tmpDir('probe-');

function image(name: string, size: number, edit: (b: Buffer) => void): string {
  const b = Buffer.alloc(size);
  edit(b);
  const p = path.join(dir, `${name}.img`);
  fs.writeFileSync(p, b);
  return p;
}

const SIZE = 1 << 20;
const cases: [string, (b: Buffer) => void, string[]][] = [
  ['blank', () => {}, []],
  ['integrity', (b) => b.write('integrt\0', 0, 'latin1'), ['dm-integrity']],
  [
    'luks1',
    (b) => {
      b.write('LUKS\xba\xbe', 0, 'latin1');
      b.writeUInt16BE(1, 6);
    },
    ['LUKS1'],
  ],
  [
    'luks2',
    (b) => {
      b.write('LUKS\xba\xbe', 0, 'latin1');
      b.writeUInt16BE(2, 6);
      b.write('SKUL\xba\xbe', 0x4000, 'latin1');
    },
    ['LUKS2', 'LUKS2'],
  ],
  ['luks2-secondary-only', (b) => b.write('SKUL\xba\xbe', 0x8000, 'latin1'), ['LUKS2']],
  ['ext2', (b) => b.writeUInt16LE(0xef53, 1080), ['ext2']],
  [
    'ext3',
    (b) => {
      b.writeUInt16LE(0xef53, 1080);
      b.writeUInt32LE(4, 1024 + 92);
    },
    ['ext3'],
  ],
  [
    'ext4',
    (b) => {
      b.writeUInt16LE(0xef53, 1080);
      b.writeUInt32LE(4, 1024 + 92);
      b.writeUInt32LE(0x240, 1024 + 96);
    },
    ['ext4'],
  ],
  ['xfs', (b) => b.write('XFSB', 0), ['xfs']],
  ['btrfs', (b) => b.write('_BHRfS_M', 65600), ['btrfs']],
  ['swap', (b) => b.write('SWAPSPACE2', 4096 - 10), ['swap']],
  ['swap-old', (b) => b.write('SWAP-SPACE', 4096 - 10), ['swap']],
  [
    'vfat',
    (b) => {
      b.write('FAT32   ', 82);
      b.writeUInt16LE(0xaa55, 510);
    },
    ['vfat'],
  ],
  [
    'vfat16',
    (b) => {
      b.write('FAT16   ', 54);
      b.writeUInt16LE(0xaa55, 510);
    },
    ['vfat'],
  ],
  [
    'ntfs',
    (b) => {
      b.write('NTFS    ', 3);
      b.writeUInt16LE(0xaa55, 510);
    },
    ['ntfs'],
  ],
  ['iso9660', (b) => b.write('CD001', 32769), ['iso9660']],
  [
    'mbr',
    (b) => {
      b.writeUInt16LE(0xaa55, 510);
      b[446 + 4] = 0x83;
    },
    ['mbr'],
  ],
  ['mbr-empty-table', (b) => b.writeUInt16LE(0xaa55, 510), []],
  [
    'gpt',
    (b) => {
      b.writeUInt16LE(0xaa55, 510);
      b[446 + 4] = 0xee;
      b.write('EFI PART', 512);
    },
    ['gpt'],
  ],
  ['gpt4k', (b) => b.write('EFI PART', 4096), ['gpt']],
];

for (const [name, edit, want] of cases) {
  test(`probe: ${name}`, () => {
    const p = image(name, SIZE, edit);
    const found = probeSignatures(p);
    assert.deepEqual(
      found.map((s) => s.type),
      want,
    );
    // the reported magic range lies inside the image and is not all zero
    const b = fs.readFileSync(p);
    for (const s of found)
      assert.ok(
        b.subarray(s.offset, s.offset + s.length).some((x) => x !== 0),
        `${name}: magic at ${s.offset}`,
      );
  });
}

test('probe: tiny images and the description sentence', () => {
  assert.deepEqual(probeSignatures(image('tiny', 100, () => {})), []);
  assert.deepEqual(probeSignatures(image('empty', 0, () => {})), []);
  const found = probeSignatures(
    image('two', SIZE, (b) => {
      b.writeUInt16LE(0xef53, 1080);
      b.write('EFI PART', 4096);
    }),
  ).map((s) => ({ ...s, device: '/dev/x' }));
  assert.equal(describeSignatures(found), '/dev/x holds an ext2 filesystem and a GPT partition table');
});
