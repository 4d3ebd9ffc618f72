// Journal MAC + journal encryption against the real kernel (../shared/oracle), one VM boot:
//  - journals we seal (ctr-aes, cbc-aes, xts-aes, chacha20; hmac-sha256/512/1) and leave committed but not
//    written back are replayed by the kernel to the data we replay them to, with 0 mismatches;
//  - journals the kernel commits (ctr-aes + hmac-sha256, cbc-aes + hmac-sha512) and leaves unreplayed at a crash
//    (sysrq b) are replayed here to the kernel's data, MACs checked; a wrong key is one clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { golden, goldenCopy, tmpDir, patternSector } from '../../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../../testing/oracle.js';
import { mkVolume } from '../../testing/mkvolume.js';
import { openVolume, type VolumeOptions } from '../volume.js';
import { openWritable } from './writable.js';
import { JournalWriter } from './journal-writer.js';
import { journalCodec } from './journal-keys.js';
import { replayOnDisk, sectionSealer } from './replay.js';

function pattern(tag: string, start: number, sectors: number): Buffer {
  return Buffer.concat(Array.from({ length: sectors }, (_, i) => patternSector(tag, start + i)));
}

function view(img: string, o: VolumeOptions, overlay = true): { sha: string; bad: number; data: Buffer; replayed: number } {
  const vol = openVolume(img, { ...o, readOnly: true });
  try {
    const replayed = vol.replay?.writes.length ?? 0;
    if (!overlay) vol.target.overlay.clear();
    const total = vol.geometry.provided_data_sectors;
    const data = Buffer.alloc(total * 512);
    const bad = vol.target.read(0, total, data, 0, () => {});
    return { sha: crypto.createHash('sha256').update(data).digest('hex'), bad, data, replayed };
  } finally {
    vol.close();
  }
}

interface Case {
  name: string;
  img: string;
  opts: VolumeOptions;
  files: Array<[string, Buffer]>;
}

function args(c: Case): string {
  const o = c.opts;
  let a = '';
  if (o.journalIntegrity)
    a += ` --journal-integrity ${o.journalIntegrity} --journal-integrity-key-file /oracle/${c.name}.jmac --journal-integrity-key-size ${o.journalIntegrityKey!.length}`;
  if (o.journalCrypt)
    a += ` --journal-crypt ${o.journalCrypt} --journal-crypt-key-file /oracle/${c.name}.jcrypt --journal-crypt-key-size ${o.journalCryptKey!.length}`;
  return a;
}

function keyed(name: string, crypt: string | null, cryptLen: number, mac: string | null): Case['opts'] {
  void name;
  return {
    journalCrypt: crypt ?? undefined,
    journalCryptKey: crypt ? crypto.randomBytes(cryptLen) : undefined,
    journalIntegrity: mac ?? undefined,
    journalIntegrityKey: mac ? crypto.randomBytes(32) : undefined,
  };
}

test("journal MAC + encryption: our sealed journals replay in the kernel, the kernel's unreplayed journals replay here", async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = tmpDir('oracle-jkeys-');
  const ours: Array<Case & { expect: string }> = [];
  const h = golden('h-journal-mac-crypt');
  const hOpts: VolumeOptions = {
    journalIntegrity: 'hmac-sha256',
    journalIntegrityKey: Buffer.from(h.keys_hex!.journal_integrity_key!, 'hex'),
    journalCrypt: 'ctr-aes',
    journalCryptKey: Buffer.from(h.keys_hex!.journal_crypt_key!, 'hex'),
  };
  // (a) committed, not written back, sealed by us
  const specs: Array<[string, string | null, number, string | null]> = [
    ['cbc', 'cbc-aes', 32, 'hmac-sha512'],
    ['xts', 'xts-aes', 64, 'hmac-sha1'],
    ['chacha', 'chacha20', 32, 'hmac-sha256'],
    ['ctr128', 'ctr-aes', 16, null],
  ];
  const cases: Case[] = [];
  {
    const img = goldenCopy(h.files[0]!, dir);
    cases.push({ name: 'goldenh', img, opts: hOpts, files: [] });
  }
  for (const [name, crypt, len, mac] of specs) {
    const img = path.join(dir, `${name}.img`);
    const opts = keyed(name, crypt, len, mac);
    mkVolume(img, { sizeBytes: 2 << 20, tagSize: 4, journalBytes: 512 << 10, ...opts });
    cases.push({ name, img, opts, files: [] });
  }
  for (const c of cases) {
    const vol = openVolume(c.img, { ...c.opts, readOnly: false });
    const pos = replayOnDisk(vol);
    const jw = new JournalWriter(vol.target, pos, sectionSealer(vol), journalCodec(vol).commitIds);
    const n = c.name === 'goldenh' ? 100 : 200; // golden h has one journal section; ours have three
    jw.write(1000, pattern(c.name.slice(0, 3), 1000, n));
    jw.commit({ writeback: false });
    vol.close();
    const v = view(c.img, c.opts);
    assert.equal(v.bad, 0);
    assert.equal(v.replayed, n, `${c.name}: the entries are in the journal`);
    assert.notEqual(view(c.img, c.opts, false).sha, v.sha, `${c.name}: and not yet in place`);
    ours.push({ ...c, expect: v.sha });
  }
  // (b) the kernel commits and crashes
  const kernel: Case[] = [];
  for (const [name, crypt, len, mac] of [
    ['kctr', 'ctr-aes', 32, 'hmac-sha256'],
    ['kcbc', 'cbc-aes', 32, 'hmac-sha512'],
  ] as const) {
    const img = path.join(dir, `${name}.img`);
    const opts = keyed(name, crypt, len, mac);
    mkVolume(img, { sizeBytes: 4 << 20, tagSize: 4, journalBytes: 1 << 20, ...opts });
    kernel.push({ name, img, opts, files: [] });
  }
  const all = [...ours, ...kernel];
  const files: string[] = [];
  for (const c of all) {
    if (c.opts.journalIntegrityKey) {
      fs.writeFileSync(path.join(dir, `${c.name}.jmac`), c.opts.journalIntegrityKey);
      files.push(`${path.join(dir, `${c.name}.jmac`)}:/oracle/${c.name}.jmac`);
    }
    if (c.opts.journalCryptKey) {
      fs.writeFileSync(path.join(dir, `${c.name}.jcrypt`), c.opts.journalCryptKey);
      files.push(`${path.join(dir, `${c.name}.jcrypt`)}:/oracle/${c.name}.jcrypt`);
    }
  }
  let script = 'set -u\n';
  all.forEach((c, i) => {
    const d = `/dev/vd${String.fromCharCode(97 + i)}`;
    if ((ours as typeof all).includes(c)) {
      script += `integritysetup open ${args(c)} ${d} ${c.name} && echo "RESULT ${c.name} $(dd if=/dev/mapper/${c.name} bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status ${c.name} | cut -d' ' -f4)"; integritysetup close ${c.name}\n`;
    } else {
      // the kernel reads the whole device back before the crash: its mismatch counter then covers every block, and
      // its view (journal included) is what we must replay to
      script += `integritysetup open --journal-commit-time 600000 ${args(c)} ${d} ${c.name} && yes KJ-${c.name} | head -c 16384 | dd of=/dev/mapper/${c.name} bs=4096 seek=50 oflag=direct conv=fsync status=none && echo "WROTE ${c.name} $(dd if=/dev/mapper/${c.name} bs=64k iflag=direct status=none | sha256sum | cut -d' ' -f1) $(dmsetup status ${c.name} | cut -d' ' -f4)"\n`;
    }
  });
  script += 'echo CRASH; sleep 1; echo b > /proc/sysrq-trigger; sleep 10\n';
  const r = runOracle(
    script,
    all.map((c) => c.img),
    { files, timeoutSec: 300 },
  );
  const lines = r.stdout.split('\n');
  t.diagnostic(lines.filter((l) => /^(RESULT|WROTE|CRASH)/.test(l)).join(' | '));
  assert.ok(
    lines.some((l) => l.startsWith('CRASH')),
    `oracle ran to the crash: ${r.stderr.slice(-1500)}\n${r.stdout.slice(-1500)}`,
  );
  assert.equal(lines.filter((l) => l.startsWith('RESULT ')).length, ours.length, 'a result for each of our journals');
  for (const c of ours) {
    const res = lines
      .find((l) => l.startsWith(`RESULT ${c.name} `))
      ?.trim()
      .split(/\s+/)
      .slice(2);
    assert.deepEqual(res, [c.expect, '0'], `${c.name}: the kernel replays our sealed journal to our data with 0 mismatches`);
    const after = view(c.img, c.opts);
    assert.equal(after.bad, 0);
    assert.equal(after.sha, c.expect);
  }
  for (const c of kernel) {
    const wrote = lines
      .find((l) => l.startsWith(`WROTE ${c.name} `))
      ?.trim()
      .split(/\s+/)
      .slice(2);
    assert.equal(wrote?.[1], '0', `${c.name}: the kernel wrote, then read every block with 0 mismatches`);
    const expected = Buffer.alloc(16384);
    const line = Buffer.from(`KJ-${c.name}\n`);
    for (let i = 0; i < expected.length; i++) expected[i] = line[i % line.length]!;
    // not in place: the data area still holds the format's zeros there
    const raw = view(c.img, c.opts, false);
    assert.ok(raw.data.subarray(50 * 4096, 50 * 4096 + 16384).equals(Buffer.alloc(16384)), `${c.name}: the kernel's writes are only in its journal`);
    const v = view(c.img, c.opts);
    assert.equal(v.replayed, 32, `${c.name}: 32 journal entries replayed here, MACs checked`);
    assert.equal(v.bad, 0);
    assert.ok(v.data.subarray(50 * 4096, 50 * 4096 + 16384).equals(expected), `${c.name}: we replay the kernel's encrypted journal to its data`);
    assert.equal(v.sha, wrote![0], `${c.name}: what we replay is what the kernel read before its crash`);
    // a wrong key: one clear error
    assert.throws(() => openVolume(c.img, { ...c.opts, journalCryptKey: crypto.randomBytes(c.opts.journalCryptKey!.length) }), /cannot replay the journal/);
    // on disk, then reopened
    const w = openWritable(c.img, { ...c.opts, mode: 'journal' });
    w.close();
    const after = view(c.img, c.opts, false);
    assert.equal(after.bad, 0);
    assert.equal(after.sha, v.sha);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
