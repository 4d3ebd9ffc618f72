// The dashboard's dm table line and `integritysetup open` command, given to the real kernel (../shared/oracle,
// one VM boot): the table line (keys filled in) creates the device with `dmsetup create` and reads back, and
// `dmsetup table` prints exactly our line (keys as the kernel hides them); the open command (key files filled
// in) opens with integritysetup, through the guest's sh, and its table equals our line too. One volume with a
// keyed hash + journal MAC + journal encryption (journal mode), one in bitmap mode with every bitmap option.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { patternSector, tmpDir } from '../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../testing/oracle.js';
import { openWritable } from '../engine/integrity/writable.js';
import { EngineHost } from './engine-host.js';
import type { VolumeSnapshot } from '../engine/api.js';

const K = { i: '01'.repeat(32), jm: '02'.repeat(32), jc: '03'.repeat(32) };

test('the kernel accepts our dm table and open command, and prints our table back', async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = tmpDir('oracle-open-');
  const a = path.join(dir, 'a.img');
  const b = path.join(dir, 'b.img');
  const host = await EngineHost.create({ pollMs: 0, startJob: null });
  let va: VolumeSnapshot | undefined;
  let vb: VolumeSnapshot | undefined;
  try {
    va = await host.createVolume({
      path: a,
      size: 8 << 20,
      name: 'ta',
      integrity: 'hmac-sha256',
      integrityKey: { hex: K.i },
      journalIntegrity: 'hmac-sha256',
      journalIntegrityKey: { hex: K.jm },
      journalCrypt: 'ctr-aes',
      journalCryptKey: { hex: K.jc },
    });
    vb = await host.createVolume({
      path: b,
      size: 8 << 20,
      name: 'tb',
      mode: 'bitmap',
      bitmapSectorsPerBit: 8192,
      bitmapFlushTimeMs: 5000,
      allowDiscards: true,
    });
  } finally {
    await host.close();
  }
  // 256 KiB of known data written by our engine (64 blocks of 4 KiB, what the guest reads back through dm)
  const data = (tag: string) => Buffer.concat(Array.from({ length: 512 }, (_, i) => patternSector(tag, i)));
  const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
  const wa = openWritable(a, {
    integrity: 'hmac-sha256',
    integrityKey: Buffer.from(K.i, 'hex'),
    journalIntegrity: 'hmac-sha256',
    journalIntegrityKey: Buffer.from(K.jm, 'hex'),
    journalCrypt: 'ctr-aes',
    journalCryptKey: Buffer.from(K.jc, 'hex'),
    mode: 'journal',
  });
  wa.write(0, data('A'));
  wa.close();
  const wb = openWritable(b, { mode: 'bitmap', bitmapSectorsPerBit: 8192, bitmapFlushTime: 5000, allowDiscards: true });
  wb.write(0, data('B'));
  wb.close();
  for (const [f, hex] of [
    ['ikey', K.i],
    ['jmkey', K.jm],
    ['jckey', K.jc],
  ] as const)
    fs.writeFileSync(path.join(dir, f), Buffer.from(hex, 'hex'));
  // the table with its device and keys filled in, as an admin would paste it
  let keyN = 0;
  const keys = [K.i, K.jc, K.jm]; // internal_hash, journal_crypt, journal_mac: the kernel's order
  const tableA = va.dm_table.replace(` integrity ${a} `, ' integrity /dev/vda ').replace(/<key>/g, () => keys[keyN++]!);
  const openB = vb.open_command.replace(b, '/dev/vdb');
  const openA = va.open_command
    .replace(a, '/dev/vda')
    .replace('INTEGRITY_KEY_FILE', '/oracle/ikey')
    .replace('JOURNAL_INTEGRITY_KEY_FILE', '/oracle/jmkey')
    .replace('JOURNAL_CRYPT_KEY_FILE', '/oracle/jckey');
  const script = `set -e
dmsetup create ta --table "${tableA}"
echo "TABLE_A $(dmsetup table ta)"
dd if=/dev/mapper/ta of=/tmp/a bs=4096 count=64 iflag=direct status=none
echo "SHA_A $(sha256sum </tmp/a)"
dmsetup remove ta
${openA}
echo "OPEN_A $(dmsetup table ta)"
dmsetup remove ta
${openB}
echo "OPEN_B $(dmsetup table tb)"
dd if=/dev/mapper/tb of=/tmp/b bs=4096 count=64 iflag=direct status=none
echo "SHA_B $(sha256sum </tmp/b)"
dmsetup remove tb
echo ALL_OK
`;
  const r = runOracle(script, [a, b], { files: ['ikey', 'jmkey', 'jckey'].map((f) => path.join(dir, f)), timeoutSec: 300 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ALL_OK/);
  const zeros = (s: string) => s.replace(/<key>/g, '0'.repeat(64));
  const line = (tag: string) => new RegExp(`${tag} (.*)`).exec(r.stdout)![1]!.trim();
  assert.equal(line('TABLE_A'), zeros(va.dm_table.replace(` integrity ${a} `, ' integrity 254:0 ')));
  assert.equal(line('OPEN_A'), zeros(va.dm_table.replace(` integrity ${a} `, ' integrity 254:0 ')));
  assert.equal(line('OPEN_B'), vb.dm_table.replace(` integrity ${b} `, ' integrity 254:16 '));
  // what the kernel read through each device is the data our engine wrote (a failed read would stop `set -e`)
  assert.equal(line('SHA_A').split(' ')[0], sha(data('A')), 'data read through the dm table of volume A');
  assert.equal(line('SHA_B').split(' ')[0], sha(data('B')), 'data read through integritysetup open of volume B');
});
