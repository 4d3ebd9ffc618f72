// Inline mode read here, checked against Linux 7.2 + integritysetup 2.8.8 (the sid guest; inline mode needs
// dm-integrity 1.12, Linux 6.11). The guest builds the device with per-sector metadata that inline mode accepts —
// dm-integrity without internal hash (mode D, 4-byte tags) — formats an inline volume on it (superblock v6),
// writes data through the kernel and closes both. Here verifyInlineStack reads the image: the kernel's tags pass,
// the data is the data written, and a byte changed on disk is one bad block.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { tmpDir } from '../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../testing/oracle.js';
import { verifyInlineStack } from '../engine/integrity/inline.js';
import { main } from './main.js';

const SCRIPT = `set -e
n=$(blockdev --getsz /dev/vda)
dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>/dev/null
dmsetup create lower --table "0 8 integrity /dev/vda 0 4 D 0"
dmsetup remove lower
pds=$(integritysetup dump /dev/vda | sed -n 's/^provided_data_sectors //p; s/^data size: \\([0-9]*\\) .*/\\1/p')
dmsetup create lower --table "0 $pds integrity /dev/vda 0 4 D 0"
integritysetup format --batch-mode --integrity-inline --tag-size 4 /dev/mapper/lower >/dev/null
integritysetup open /dev/mapper/lower inl
echo "@@table $(dmsetup table inl)"
echo "@@size $(blockdev --getsz /dev/mapper/inl)"
dd if=/oracle/data.bin of=/dev/mapper/inl bs=4096 oflag=direct conv=fsync 2>/dev/null
echo "@@sha $(dd if=/dev/mapper/inl bs=4096 count=$(( $(stat -c %s /oracle/data.bin) / 4096 )) iflag=direct 2>/dev/null | sha256sum)"
integritysetup close inl
dmsetup remove lower
echo "@@done"
`;

test('inline mode (v6) on a dm-integrity device without internal hash: Linux 7.2 writes it, we verify every block', { timeout: 600_000 }, async (t) => {
  if (skipWithoutOracle(t, 'sid')) return;
  const dir = tmpDir();
  const img = path.join(dir, 'lower.img');
  fs.writeFileSync(img, Buffer.alloc(0));
  fs.truncateSync(img, 8 << 20);
  const data = crypto.randomBytes(1 << 20);
  const dataFile = path.join(dir, 'data.bin');
  fs.writeFileSync(dataFile, data);
  const r = runOracle(SCRIPT, [img], { release: 'sid', files: [dataFile], timeoutSec: 240 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /@@done/);
  const table = /@@table (.*)/.exec(r.stdout)![1]!;
  assert.match(table, / I /, `the kernel's table is in inline mode: ${table}`);
  t.diagnostic(table);
  const kernelSectors = Number(/@@size (\d+)/.exec(r.stdout)![1]);
  assert.equal(/@@sha (\w+)/.exec(r.stdout)![1], crypto.createHash('sha256').update(data).digest('hex'));

  // the lower image on its own: a v6 superblock inside, refused by a plain open with the reason
  const got = Buffer.alloc(data.length);
  const res = verifyInlineStack(img, { integrity: 'crc32c' }, (s, d) => {
    if (s * 512 < got.length) d.copy(got, s * 512, 0, Math.min(d.length, got.length - s * 512));
  });
  assert.equal(res.superblock.version, 6);
  assert.equal(res.provided_data_sectors, kernelSectors, 'the size the kernel gave the inline volume');
  assert.equal(res.bad_blocks, 0);
  assert.equal(res.checked_blocks, kernelSectors / (res.block_size / 512));
  assert.ok(got.equals(data), 'the data the kernel wrote');

  // a byte changed on disk in the first inline block's data: exactly that block fails
  // (inline sector 0 is the lower volume's sector 8, after the inline superblock: found by its contents)
  const off = fs.readFileSync(img).indexOf(data.subarray(0, 512));
  assert.ok(off > 0, 'the first written sector is on disk');
  const fd = fs.openSync(img, 'r+');
  fs.writeSync(fd, Buffer.from([data[100]! ^ 0xff]), 0, 1, off + 100);
  fs.closeSync(fd);
  const bad = verifyInlineStack(img, { integrity: 'crc32c' });
  assert.equal(bad.bad_blocks, 1);
  assert.deepEqual(bad.bad_ranges, [[0, 1]]);
  // the CLI says the same
  let out = '';
  const code = await main(['verify-inline', img, '--json'], {
    out: (x: string) => {
      out += x;
    },
    err: () => {},
  } as never);
  assert.equal(code, 4);
  assert.equal(JSON.parse(out).mismatches, 1);
  assert.equal(JSON.parse(out).inline_version, 6);
  fs.rmSync(dir, { recursive: true, force: true });
});
