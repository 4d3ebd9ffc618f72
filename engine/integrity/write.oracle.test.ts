// Round trips with the real kernel (../shared/oracle): volumes we write open in the kernel with identical
// data and 0 mismatches; a journal we leave committed but unreplayed is replayed by the kernel to the data we
// replay it to; what the kernel writes we read. One VM boot for all cases (the VM is emulated and slow).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { golden, goldenCopy, tmpDir, patternSector } from '../../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { openVolume, type VolumeOptions } from '../volume.js';
import { openWritable } from './writable.js';
import { JournalWriter } from './journal-writer.js';
import { replayOnDisk, sectionSealer } from './replay.js';

type Opts = VolumeOptions;

function pattern(tag: string, start: number, sectors: number): Buffer {
  return Buffer.concat(Array.from({ length: sectors }, (_, i) => patternSector(tag, start + i)));
}

/** sha256 of all provided data as our engine reads it (read-only, verified) and the mismatch count */
function ourView(img: string, o: Opts): { sha: string; mismatches: number } {
  const vol = openVolume(img, { ...o, readOnly: true });
  try {
    const h = crypto.createHash('sha256');
    const chunk = Buffer.alloc(1 << 20);
    const total = vol.geometry.provided_data_sectors;
    let bad = 0;
    for (let s = 0; s < total; s += chunk.length / 512) {
      const n = Math.min(chunk.length / 512, total - s);
      bad += vol.target.read(s, n, chunk, 0, () => {});
      h.update(chunk.subarray(0, n * 512));
    }
    return { sha: h.digest('hex'), mismatches: bad };
  } finally {
    vol.close();
  }
}

interface Case {
  name: string;
  disks: string[];
  openArgs: string;
  opts: Opts;
  expectSha?: string;
  kernelWrites?: { seek4k: number; count4k: number; text: string };
}

test('kernel round trips: our journal/direct writes, an unreplayed journal, keyed hash, 4096-byte sectors, separate data device; kernel writes we read', async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = tmpDir('oracle-write-');
  const keyFile = path.join(dir, 'hmac.key');
  fs.writeFileSync(keyFile, Buffer.from(golden('d-hmac-sha256').keys_hex!.integrity_key!, 'hex'));
  const cases: Case[] = [];

  // 1. journal mode, 512-byte sectors, crossing journal sections (more than one commit)
  {
    const img = goldenCopy(golden('g-direct').files[0]!, dir);
    const w = openWritable(img, { mode: 'journal' });
    w.write(100 * 512, pattern('J1', 100, 300));
    w.flush();
    w.write(30000 * 512, pattern('J1b', 30000, 16));
    w.close();
    cases.push({ name: 'journal512', disks: [img], openArgs: '', opts: {} });
  }
  // 2. direct mode
  {
    const src = goldenCopy(golden('e-bitmap').files[0]!, dir);
    const img = path.join(dir, 'direct.img');
    fs.renameSync(src, img);
    const w = openWritable(img, { mode: 'direct' });
    w.write(2048 * 512, pattern('D', 2048, 64));
    w.close();
    cases.push({ name: 'direct', disks: [img], openArgs: '--integrity-no-journal', opts: {} });
  }
  // 3. 4096-byte sectors
  {
    const img = goldenCopy(golden('b-sector4096').files[0]!, dir);
    const w = openWritable(img, { mode: 'journal' });
    w.write(4096 * 512, pattern('B', 4096, 8 * 70));
    w.close();
    cases.push({ name: 'sector4096', disks: [img], openArgs: '', opts: {} });
  }
  // 4. keyed hash
  {
    const img = goldenCopy(golden('d-hmac-sha256').files[0]!, dir);
    const opts: Opts = { integrity: 'hmac-sha256', integrityKey: fs.readFileSync(keyFile), mode: 'journal' };
    const w = openWritable(img, opts);
    w.write(5000 * 512, pattern('H', 5000, 40));
    w.close();
    cases.push({ name: 'hmac', disks: [img], openArgs: '--integrity hmac-sha256 --integrity-key-file /oracle/hmac.key --integrity-key-size 32', opts });
  }
  // 5. committed but not written back: the kernel must replay it to the data we replay it to
  {
    const img = path.join(dir, 'unreplayed.img');
    fs.renameSync(goldenCopy(golden('e-bitmap').files[0]!, dir), img);
    const vol = openVolume(img, { readOnly: false });
    const pos = replayOnDisk(vol);
    const jw = new JournalWriter(vol.target, pos, sectionSealer(vol));
    jw.write(6000, pattern('U', 6000, 200)); // spans two journal sections
    jw.commit({ writeback: false });
    vol.close();
    const view = ourView(img, {});
    assert.notEqual(view.sha, ourViewNoReplayDataSha(img), 'the unreplayed journal changes what is read');
    cases.push({ name: 'unreplayed', disks: [img], openArgs: '', opts: {} });
  }
  // 6. separate data device
  {
    const f = golden('f-separate-metadata');
    const meta = goldenCopy(f.files[0]!, dir);
    const data = goldenCopy(f.files[1]!, dir);
    const w = openWritable(meta, { dataDevice: data, mode: 'journal' });
    w.write(7000 * 512, pattern('F', 7000, 100));
    w.close();
    cases.push({ name: 'datadev', disks: [meta, data], openArgs: '--data-device /dev/vdX2', opts: { dataDevice: data } });
  }
  // 7. the kernel writes, we read
  {
    const img = goldenCopy(golden('c-sha256').files[0]!, dir);
    cases.push({
      name: 'kernelwrite',
      disks: [img],
      openArgs: '--integrity sha256',
      opts: { integrity: 'sha256' },
      kernelWrites: { seek4k: 625, count4k: 8, text: 'KERNELWRITE' },
    });
  }

  // expected data: our own view before the kernel touches the images
  for (const c of cases) {
    if (c.kernelWrites) continue;
    const v = ourView(c.disks[0]!, c.opts);
    assert.equal(v.mismatches, 0, `${c.name}: our own view verifies`);
    c.expectSha = v.sha;
  }
  const disks: string[] = [];
  let script = 'set -u\n';
  script += `check() { name=$1; dev=$2; shift 2; integritysetup open "$@" $dev $name || { echo "RESULT $name open-failed"; return; }
  sum=$(dd if=/dev/mapper/$name bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
  st=$(dmsetup status $name | cut -d' ' -f4-)
  integritysetup close $name; echo "RESULT $name $sum $st"; }\n`;
  for (const c of cases) {
    const devs = c.disks.map((d) => {
      disks.push(d);
      return `/dev/vd${String.fromCharCode(96 + disks.length)}`;
    });
    const args = c.openArgs.replace('/dev/vdX2', devs[1] ?? '');
    if (c.kernelWrites) {
      const k = c.kernelWrites;
      script += `integritysetup open ${args} ${devs[0]} kw && yes ${k.text} | head -c ${k.count4k * 4096} | dd of=/dev/mapper/kw bs=4096 seek=${k.seek4k} oflag=direct conv=fsync status=none; integritysetup close kw; echo KW done\n`;
    }
    script += `check ${c.name} ${devs[0]} ${args}\n`;
  }
  const r = runOracle(script, disks, { files: [`${keyFile}:/oracle/hmac.key`], timeoutSec: 900 });
  t.diagnostic(
    r.stdout
      .split('\n')
      .filter((l) => l.startsWith('RESULT'))
      .join(' | '),
  );
  const results = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const m = /^RESULT (\S+) (.*)$/.exec(line.trim());
    if (m) results.set(m[1]!, m[2]!.split(/\s+/));
  }
  assert.equal(r.status, 0, `oracle failed: ${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
  for (const c of cases) {
    const res = results.get(c.name);
    assert.ok(res && res[0] !== 'open-failed', `${c.name}: the kernel opened it (${r.stdout.slice(-1500)})`);
    const [sum, mismatches] = res!;
    assert.equal(mismatches, '0', `${c.name}: kernel mismatch count`);
    const after = ourView(c.disks[0]!, c.opts);
    assert.equal(after.mismatches, 0, `${c.name}: we verify what the kernel left`);
    if (c.kernelWrites) {
      assert.equal(sum, after.sha, `${c.name}: we read what the kernel wrote`);
      const vol = openVolume(c.disks[0]!, { ...c.opts, readOnly: true });
      const b = Buffer.alloc(4096);
      vol.target.read(c.kernelWrites.seek4k * 8, 8, b);
      vol.close();
      assert.equal(b.subarray(0, 12).toString(), `${c.kernelWrites.text}\n`);
    } else {
      assert.equal(sum, c.expectSha, `${c.name}: the kernel reads the data we wrote`);
      assert.equal(after.sha, c.expectSha, `${c.name}: same data after the kernel's open/close`);
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** sha256 of the raw data area as if the journal were ignored (to prove the journal matters) */
function ourViewNoReplayDataSha(img: string): string {
  const vol = openVolume(img, { readOnly: true });
  vol.target.overlay.clear();
  const h = crypto.createHash('sha256');
  const chunk = Buffer.alloc(1 << 20);
  const total = vol.geometry.provided_data_sectors;
  for (let s = 0; s < total; s += chunk.length / 512) {
    const n = Math.min(chunk.length / 512, total - s);
    vol.target.read(s, n, chunk, 0, () => {});
    h.update(chunk.subarray(0, n * 512));
  }
  vol.close();
  return h.digest('hex');
}
