// Every tag algorithm against the real kernel (../shared/oracle), in one VM boot:
//  - the kernel formats a volume with `integritysetup format --integrity ALG` and writes a pattern through dm;
//    our engine then verifies every block of it (the format wipe's tags and the written ones: 0 mismatches);
//  - we make a volume on the host with the same algorithm and write a pattern with openWritable; the kernel
//    reads the whole device (0 mismatches in dmsetup status, same data), writes a pattern of its own, and
//    we verify every block again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { tmpDir, patternSector } from '../../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { mkVolume } from '../../testing/mkvolume.js';
import { openVolume, type VolumeOptions } from '../volume.js';
import { openWritable } from '../integrity/writable.js';
import { algorithmInfo, supportedAlgorithms } from './index.js';

const SIZE = 2 << 20;
const INTERLEAVE = 4096;
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');

function pattern(tag: string, start: number, sectors: number): Buffer {
  return Buffer.concat(Array.from({ length: sectors }, (_, i) => patternSector(tag, start + i)));
}

/** sha256 of all provided data as our engine reads it, and the number of blocks that fail verification */
function ourView(img: string, o: VolumeOptions): { sha: string; bad: number; checked: number } {
  const vol = openVolume(img, { ...o, readOnly: true });
  try {
    const total = vol.geometry.provided_data_sectors;
    const buf = Buffer.alloc(total * 512);
    const bad = vol.target.read(0, total, buf, 0, () => {});
    return { sha: crypto.createHash('sha256').update(buf).digest('hex'), bad, checked: vol.target.stats.checked_blocks };
  } finally {
    vol.close();
  }
}

test('every tag algorithm matches the kernel both ways: kernel-formatted volumes verify here, ours verify in the kernel', async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = tmpDir('oracle-hash-');
  const keyFile = path.join(dir, 'k.key');
  fs.writeFileSync(keyFile, KEY);
  const algs = supportedAlgorithms();
  const disks: string[] = [];
  const dev = () => `/dev/vd${String.fromCharCode(97 + disks.length - 1)}`;
  let script = 'set -u\n';
  const ours = new Map<string, { img: string; expect: string; opts: VolumeOptions }>();
  const kernels = new Map<string, string>();
  for (const alg of algs) {
    const info = algorithmInfo(alg);
    const opts: VolumeOptions = { integrity: alg, integrityKey: info.keyed ? KEY : undefined };
    const keyArgs = info.keyed ? '--integrity-key-file /oracle/k.key --integrity-key-size 32' : '';
    // kernel-formatted
    const k = path.join(dir, `k-${alg}.img`);
    fs.writeFileSync(k, Buffer.alloc(0));
    fs.truncateSync(k, SIZE);
    disks.push(k);
    kernels.set(alg, k);
    script +=
      `integritysetup format --batch-mode --interleave-sectors ${INTERLEAVE} --integrity ${alg} --tag-size ${info.digestSize} ${keyArgs} ${dev()} >/dev/null && ` +
      `integritysetup open --integrity ${alg} ${keyArgs} ${dev()} k && echo "TABLE ${alg} $(dmsetup table k | grep -o 'internal_hash:[^ ]*' | cut -d: -f1-2)" && ` +
      `yes K-${alg} | head -c 65536 | dd of=/dev/mapper/k bs=4096 seek=16 oflag=direct conv=fsync status=none && ` +
      // the mismatch counter after the kernel read every block back (after writes alone it is 0 whatever the tags)
      `echo "KSTATUS ${alg} $(dd if=/dev/mapper/k bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status k | cut -d' ' -f4)"; integritysetup close k\n`;
    // ours
    const u = path.join(dir, `u-${alg}.img`);
    mkVolume(u, { sizeBytes: SIZE, tagSize: info.digestSize, interleaveSectors: INTERLEAVE, ...opts });
    const w = openWritable(u, { ...opts, mode: 'journal' });
    w.write(100 * 512, pattern('U', 100, 200));
    w.close();
    const v = ourView(u, opts);
    assert.equal(v.bad, 0, `${alg}: our own volume verifies`);
    ours.set(alg, { img: u, expect: v.sha, opts });
    disks.push(u);
    script +=
      `integritysetup open --integrity ${alg} ${keyArgs} ${dev()} u && ` +
      `echo "USUM ${alg} $(dd if=/dev/mapper/u bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status u | cut -d' ' -f4)" && ` +
      `yes W-${alg} | head -c 32768 | dd of=/dev/mapper/u bs=4096 seek=40 oflag=direct conv=fsync status=none; integritysetup close u\n`;
  }
  const r = runOracle(script, disks, { files: [`${keyFile}:/oracle/k.key`], timeoutSec: 300 });
  const lines = r.stdout.split('\n');
  const get = (tag: string, alg: string) =>
    lines
      .find((l) => l.startsWith(`${tag} ${alg} `))
      ?.trim()
      .split(/\s+/)
      .slice(2);
  t.diagnostic(lines.filter((l) => /^(TABLE|KSTATUS|USUM) /.test(l)).join(' | '));
  assert.equal(r.status, 0, `oracle failed: ${r.stderr.slice(-1500)}\n${r.stdout.slice(-1500)}`);
  for (const alg of algs) {
    assert.deepEqual(get('TABLE', alg), [`internal_hash:${algorithmInfo(alg).kernelName}`], `${alg}: kernel name`);
    const kstatus = get('KSTATUS', alg);
    assert.equal(kstatus?.[1], '0', `${alg}: the kernel read back its format and writes with 0 mismatches`);
    // (integritysetup cannot size a blake2b-256 tag by itself: its format needs --tag-size, given for all here)
    // the kernel's format and writes: every block verifies here, the pattern reads back
    const k = kernels.get(alg)!;
    const o = ours.get(alg)!.opts;
    const kv = ourView(k, o);
    assert.equal(kv.bad, 0, `${alg}: kernel-formatted volume verifies in our engine`);
    assert.equal(kv.sha, kstatus![0], `${alg}: we read what the kernel read`);
    const vol = openVolume(k, { ...o, readOnly: true });
    assert.equal(kv.checked, vol.geometry.provided_data_sectors, `${alg}: every block checked`);
    const b = Buffer.alloc(4096);
    vol.target.read(16 * 8, 8, b);
    vol.close();
    assert.equal(b.subarray(0, 3 + alg.length).toString(), `K-${alg}\n`);
    // ours in the kernel: same data, 0 mismatches; then the kernel's write verifies here
    const u = ours.get(alg)!;
    assert.deepEqual(get('USUM', alg), [u.expect, '0'], `${alg}: the kernel reads our volume with 0 mismatches`);
    const after = ourView(u.img, o);
    assert.equal(after.bad, 0, `${alg}: what the kernel wrote into our volume verifies`);
    assert.notEqual(after.sha, u.expect);
    const w = Buffer.alloc(32768);
    const wv = openVolume(u.img, { ...o, readOnly: true });
    wv.target.read(40 * 8, 64, w);
    wv.close();
    const line = Buffer.from(`W-${alg}\n`);
    assert.ok(
      w.equals(Buffer.from(Array.from({ length: w.length }, (_, i) => line[i % line.length]!))),
      `${alg}: the kernel's write into our volume reads back here`,
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
