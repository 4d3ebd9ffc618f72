// Kernel round trip for `format` (../shared/oracle, one VM boot): volumes we format open with
// `integritysetup open`, `dmsetup table` shows the parameters the superblock implies, a full O_DIRECT read has
// 0 mismatches and gives zeroes (or the kept data, recalculated by the kernel, for --no-wipe
// --integrity-recalculate); `integritysetup dump` in the VM (and on the host when installed) shows what our
// `dump` shows; then the kernel writes a pattern and we read and verify it. Also the other way round: images
// the kernel formats (integritysetup format in the VM) carry exactly the superblock planFormat predicts, and
// are byte for byte what formatVolume writes on a blank image of the same size given the kernel's salt (wiped
// and --no-wipe, keyed hash with journal MAC + encryption, data device, 4096-byte sectors, legacy padding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpDir, patternSector } from '../testing/golden.js';
import { runOracle, skipWithoutOracle } from '../testing/oracle.js';
import { skipUnless } from '../testing/unavailable.js';
import { supportedAlgorithms, algorithmInfo } from '../engine/hash/index.js';
import { openVolume } from '../engine/volume.js';
import { formatVolume, planFormat, type FormatOptions } from '../engine/commands/format.js';
import { decodeSuperblock, flagNames, SECTOR_SIZE } from '../engine/layout/superblock.js';
import { main } from './main.js';

const KW = 'KERNELWROTE';

interface Case {
  name: string;
  disks: string[];
  opts: FormatOptions;
  /** integritysetup open options, with /oracle paths for keys and DATADEV for the data device */
  openArgs: string;
  /** expected sha256 of the whole provided data as the kernel reads it */
  expectSha: string;
  /** words dmsetup table must contain */
  tableWords: string[];
  recalc?: boolean;
}

async function ourDump(img: string, dataDevice?: string): Promise<string[]> {
  let out = '';
  const code = await main(['dump', img, ...(dataDevice ? ['--data-device', dataDevice] : [])], {
    out: (s) => (out += s),
    err: () => {},
    stdout: process.stdout,
  });
  assert.equal(code, 0);
  return out.trim().split('\n').slice(1); // the first line names the device
}

function sha(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

function readAll(img: string, o: FormatOptions): { data: Buffer; mismatches: number } {
  const vol = openVolume(img, {
    integrity: o.integrity,
    integrityKey: o.integrityKey,
    journalIntegrity: o.journalIntegrity,
    journalIntegrityKey: o.journalIntegrityKey,
    journalCrypt: o.journalCrypt,
    journalCryptKey: o.journalCryptKey,
    dataDevice: o.dataDevice,
    readOnly: true,
  });
  try {
    const n = vol.geometry.provided_data_sectors;
    const data = Buffer.alloc(n * SECTOR_SIZE);
    const mismatches = vol.target.read(0, n, data, 0, () => {});
    return { data, mismatches };
  } finally {
    vol.close();
  }
}

test('kernel round trip: volumes we format open in the kernel, read as zeroes with 0 mismatches, dump the same; the kernel formats what we plan', async (t) => {
  if (skipWithoutOracle(t)) return;
  const dir = tmpDir('oracle-format-');
  const files: string[] = [];
  const keyFile = (name: string, size: number) => {
    const p = path.join(dir, `${name}.key`);
    fs.writeFileSync(p, crypto.randomBytes(size));
    files.push(`${p}:/oracle/${name}.key`);
    return p;
  };
  const cases: Case[] = [];
  const zeroSha = (_o: FormatOptions, sectors: number) => sha(Buffer.alloc(sectors * SECTOR_SIZE));
  const add = (name: string, size: number, o: FormatOptions, openArgs: string, tableWords: string[], extraDisk?: string) => {
    const img = path.join(dir, `${name}.img`);
    const r = formatVolume(img, { ...o, size });
    const sb = r.plan.superblock;
    cases.push({
      name,
      disks: extraDisk ? [img, extraDisk] : [img],
      opts: o,
      openArgs,
      expectSha: zeroSha(o, sb.provided_data_sectors),
      tableWords: [...tableWords, `journal_sectors:${r.plan.geometry.initial_sectors - 8}`],
    });
    return r;
  };
  // every algorithm we support (the keys branch adds more: they are covered here automatically)
  for (const alg of supportedAlgorithms()) {
    const info = algorithmInfo(alg);
    const o: FormatOptions = { integrity: alg };
    let args = `--integrity ${alg}`;
    if (info.keyed) {
      const kf = keyFile(`int-${alg}`, 32);
      o.integrityKey = fs.readFileSync(kf);
      args += ` --integrity-key-file /oracle/int-${alg}.key --integrity-key-size 32`;
    }
    add(`alg-${alg}`, info.digestSize > 32 ? 4 << 20 : 2 << 20, o, args, [
      'fix_padding',
      'fix_hmac',
      `internal_hash:${info.kernelName}`,
      'interleave_sectors:32768',
    ]);
  }
  add('s4096', 4 << 20, { sectorSize: 4096 }, '', ['block_size:4096', 'fix_padding', 'fix_hmac']);
  add('tag8-il1024', 2 << 20, { tagSize: 8, interleaveSectors: 1024, journalSize: 128 << 10 }, '', ['interleave_sectors:1024']);
  {
    const data = path.join(dir, 'datadev-data.img');
    fs.writeFileSync(data, Buffer.alloc(3 << 20, 0x5a));
    add('datadev', 1 << 20, { dataDevice: data, force: true }, '--data-device DATADEV', ['interleave_sectors:1', 'fix_hmac', 'meta_device:'], data);
  }
  add('legacy', 2 << 20, { legacyPadding: true, legacyHmac: true }, '', ['internal_hash:crc32c']);
  // --no-wipe --integrity-recalculate over existing data: the kernel recalculates every tag
  {
    const img = path.join(dir, 'recalc.img');
    fs.writeFileSync(img, Buffer.concat(Array.from({ length: 4096 }, (_, i) => patternSector('rc', i))));
    const o: FormatOptions = { noWipe: true, integrityRecalculate: true, force: true };
    formatVolume(img, o);
    const kept = readAll(img, o).data; // unverified while recalculating
    assert.ok(kept.some((b) => b !== 0));
    cases.push({ name: 'recalc', disks: [img], opts: o, openArgs: '', expectSha: sha(kept), tableWords: ['recalculate'], recalc: true });
  }
  // journal MAC + encryption
  {
    const jm = keyFile('jmac', 32);
    const jc = keyFile('jcrypt', 32);
    const o: FormatOptions = {
      journalIntegrity: 'hmac-sha256',
      journalIntegrityKey: fs.readFileSync(jm),
      journalCrypt: 'ctr-aes',
      journalCryptKey: fs.readFileSync(jc),
    };
    add(
      'jmac-crypt',
      2 << 20,
      o,
      '--journal-integrity hmac-sha256 --journal-integrity-key-file /oracle/jmac.key --journal-integrity-key-size 32 --journal-crypt ctr-aes --journal-crypt-key-file /oracle/jcrypt.key --journal-crypt-key-size 32',
      ['journal_mac:hmac(sha256)', 'journal_crypt:ctr(aes)'],
    );
  }

  // images the kernel formats: blank files of odd sizes, mostly --no-wipe to keep the VM fast; the wiped ones and
  // the keyed ones are small. Each is then compared byte for byte with our format of a blank file of the same
  // size given the kernel's salt: superblock (and its MAC), journal (sealed with the journal keys), and the tags
  // and zeroes of the wipe.
  const kintKey = fs.readFileSync(keyFile('kf-int', 32));
  const kjmKey = fs.readFileSync(keyFile('kf-jmac', 32));
  const kjcKey = fs.readFileSync(keyFile('kf-jcrypt', 32));
  const kfKeys =
    '--integrity hmac-sha256 --integrity-key-file /oracle/kf-int.key --integrity-key-size 32 ' +
    '--journal-integrity hmac-sha256 --journal-integrity-key-file /oracle/kf-jmac.key --journal-integrity-key-size 32 ' +
    '--journal-crypt ctr-aes --journal-crypt-key-file /oracle/kf-jcrypt.key --journal-crypt-key-size 32';
  // (at most 29 disks fit the VM's PCI bus)
  const kernelFormats: { name: string; size: number; opts: FormatOptions; args: string; dataSize?: number; wipe?: boolean }[] = [
    { name: 'kf-wipe-s4096-sha256', wipe: true, size: 2 << 20, opts: { sectorSize: 4096, integrity: 'sha256' }, args: '--sector-size 4096 --integrity sha256' },
    {
      name: 'kf-wipe-keys',
      wipe: true,
      size: 2 << 20,
      opts: {
        integrity: 'hmac-sha256',
        integrityKey: kintKey,
        journalIntegrity: 'hmac-sha256',
        journalIntegrityKey: kjmKey,
        journalCrypt: 'ctr-aes',
        journalCryptKey: kjcKey,
      },
      args: kfKeys,
    },
    { name: 'kf-wipe-datadev', wipe: true, size: 256 << 10, opts: { integrity: 'xxhash64' }, args: '--integrity xxhash64', dataSize: 1 << 20 },
    {
      name: 'kf-wipe-legacy-padding',
      wipe: true,
      size: 1 << 20,
      opts: { legacyPadding: true, interleaveSectors: 128 },
      args: '--integrity-legacy-padding --interleave-sectors 128',
    },
    { name: 'kf-odd', wipe: true, size: (3 << 20) + 7 * 512, opts: {}, args: '' },
    { name: 'kf-s2048-tag7', size: 3 << 20, opts: { sectorSize: 2048, tagSize: 7 }, args: '--sector-size 2048 --tag-size 7' },
    { name: 'kf-tag255', size: 2 << 20, opts: { tagSize: 255, interleaveSectors: 256 }, args: '--tag-size 255 --interleave-sectors 256' },
    {
      name: 'kf-sha1-legacy',
      size: 1 << 20,
      opts: { integrity: 'sha1', legacyPadding: true, interleaveSectors: 512, journalSize: 40960 },
      args: '--integrity sha1 --integrity-legacy-padding --interleave-sectors 512 --journal-size 40960',
    },
    { name: 'kf-meta-small', size: 100 << 10, opts: { journalSize: 1 << 20 }, args: '--journal-size 1048576', dataSize: 1 << 20 },
    // the mode is an open-time choice: format with it writes the same superblock
    { name: 'kf-bitmap', size: 1 << 20, opts: { mode: 'bitmap' }, args: '--integrity-bitmap-mode' },
  ];
  const kfDisks: string[][] = [];
  for (const k of kernelFormats) {
    const img = path.join(dir, `${k.name}.img`);
    fs.writeFileSync(img, Buffer.alloc(0));
    fs.truncateSync(img, k.size);
    const disks = [img];
    if (k.dataSize) {
      const d = path.join(dir, `${k.name}-data.img`);
      fs.writeFileSync(d, Buffer.alloc(0));
      fs.truncateSync(d, k.dataSize);
      disks.push(d);
    }
    kfDisks.push(disks);
  }

  // our own dump of each image before the kernel sees it
  const dumps = new Map<string, string[]>();
  for (const c of cases) dumps.set(c.name, await ourDump(c.disks[0]!, c.opts.dataDevice));

  const disks: string[] = [];
  const dev = (p: string) => {
    disks.push(p);
    // the guest names virtio disks vda..vdz, then vdaa, vdab, …
    const n = disks.length - 1;
    const letter = (i: number) => String.fromCharCode(97 + i);
    return `/dev/vd${n < 26 ? letter(n) : letter(Math.floor(n / 26) - 1) + letter(n % 26)}`;
  };
  let script = 'set -u\n';
  script += `run() { name=$1; dev=$2; shift 2
  integritysetup open "$@" $dev $name || { echo "RESULT $name open-failed"; return; }
  echo "TABLE $name $(dmsetup table $name)"
  if [ "$name" = recalc ]; then i=0; while [ $i -lt 120 ]; do set -- $(dmsetup status $name); [ "$6" = "$5" ] && break; sleep 1; i=$((i+1)); done; fi
  sum=$(dd if=/dev/mapper/$name bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
  st=$(dmsetup status $name | cut -d' ' -f4-)
  echo "RESULT $name $sum $st"
  yes ${KW} | head -c 8192 | dd of=/dev/mapper/$name bs=4096 seek=1 oflag=direct conv=fsync status=none
  integritysetup close $name
  integritysetup dump $dev | sed "s/^/DUMP $name /"; }\n`;
  for (const c of cases) {
    const d0 = dev(c.disks[0]!);
    const args = c.openArgs.replace('DATADEV', c.disks[1] ? dev(c.disks[1]) : '');
    script += `run ${c.name} ${d0} ${args}\n`;
  }
  kernelFormats.forEach((k, i) => {
    const d0 = dev(kfDisks[i]![0]!);
    const dd = kfDisks[i]![1] ? ` --data-device ${dev(kfDisks[i]![1]!)}` : '';
    // first (on the still blank kf-odd disk) a tag size the kernel must refuse
    // integritysetup 2.6.1 takes --integrity-recalculate only at open (we accept it at format: see README)
    // --integrity-no-journal on the same disk first: its dump must equal the bitmap-mode format's (and our plan's)
    const dumpLine = `integritysetup dump ${d0} | tail -n +2 | tr '\\n' ' '`;
    // (a format expected to fail says why on its KF line: its output is kept, not sent to /dev/null)
    const kf = (name: string, cmd: string) => `out=$(${cmd} 2>&1) && echo "KF ${name} ok" || echo "KF ${name} failed: $(printf '%s' "$out" | tr '\\n' ' ')"\n`;
    if (k.name === 'kf-bitmap')
      script += `integritysetup format --batch-mode --no-wipe --integrity-no-journal ${d0} >/dev/null && echo "KFNJ $(${dumpLine})"\n`;
    if (k.name === 'kf-bitmap') script += kf('recalc-at-format', `integritysetup format --batch-mode --no-wipe --integrity-recalculate ${d0}`);
    if (k.name === 'kf-odd') script += kf('tag256', `integritysetup format --batch-mode --no-wipe --tag-size 256 --interleave-sectors 256 ${d0}`);
    if (k.name === 'kf-wipe-legacy-padding') {
      // integritysetup 2.6.1 with both legacy options keeps fix_padding: crypt_set_compatibility() replaces the
      // compatibility flags, so only --integrity-legacy-hmac takes effect (we honour both: see README)
      script += `integritysetup format --batch-mode --no-wipe --integrity-legacy-padding --integrity-legacy-hmac ${d0} >/dev/null && echo "KFLEGACY $(integritysetup dump ${d0} | grep -E '^(flags|superblock_version)' | tr '\\n' ' ')"\n`;
    }
    const wipe = k.wipe ? '' : '--no-wipe ';
    script += kf(k.name, `integritysetup format --batch-mode ${wipe}${k.args}${dd} ${d0}`);
    if (k.name === 'kf-bitmap') script += `echo "KFB $(${dumpLine})"\n`;
  });

  // large devices (sparse files in the guest's RAM behind a loop device; --no-wipe, small journals): 8 TiB
  // (provided_data_sectors past 2^32) and 2 TiB, interleave 2^30 (the 131072-sector journal cap is left out: a 64 MiB
  // init_journal in the emulated guest costs about a minute)
  const big: { name: string; sectors: number; opts: FormatOptions; args: string }[] = [
    { name: 'big-8t', sectors: 2 ** 34, opts: { journalSize: 256 << 10 }, args: '--journal-size 262144' },
    {
      name: 'big-2t-s4096-il30',
      sectors: 2 ** 32,
      opts: { journalSize: 256 << 10, interleaveSectors: 2 ** 30, sectorSize: 4096, integrity: 'sha256' },
      args: '--journal-size 262144 --interleave-sectors 1073741824 --sector-size 4096 --integrity sha256',
    },
  ];
  script += 'modprobe loop 2>/dev/null\n';
  for (const b of big) {
    script +=
      `dd if=/dev/zero of=/tmp/big bs=512 count=0 seek=${b.sectors} status=none && losetup /dev/loop0 /tmp/big && ` +
      `integritysetup format --batch-mode --no-wipe ${b.args} /dev/loop0 >/dev/null && echo "BIG ${b.name} $(integritysetup dump /dev/loop0 | tail -n +2 | tr '\\n' ' ')"; ` +
      'losetup -d /dev/loop0; rm -f /tmp/big\n';
  }

  const t0 = Date.now();
  const r = runOracle(script, disks, { files, timeoutSec: 600 });
  t.diagnostic(`VM: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${disks.length} disks`);
  assert.equal(r.status, 0, `oracle failed: ${r.stderr.slice(-2000)}\n${r.stdout.slice(-3000)}`);
  const lines = r.stdout.split('\n').map((l) => l.trim());
  const pick = (prefix: string, name: string) => lines.filter((l) => l.startsWith(`${prefix} ${name} `)).map((l) => l.slice(prefix.length + name.length + 2));

  for (const c of cases) {
    const res = pick('RESULT', c.name)[0];
    assert.ok(res && res !== 'open-failed', `${c.name}: the kernel opened it\n${r.stdout.slice(-3000)}`);
    const [sum, mismatches, provided, recalc] = res!.split(/\s+/);
    const plan = openVolume(c.disks[0]!, { dataDevice: c.opts.dataDevice, superblockOnly: true });
    const pds = plan.sb.provided_data_sectors;
    assert.equal(mismatches, '0', `${c.name}: kernel mismatches`);
    assert.equal(Number(provided), pds, `${c.name}: provided_data_sectors`);
    assert.equal(recalc, c.recalc ? String(pds) : '-', `${c.name}: recalculation state`);
    assert.equal(sum, c.expectSha, `${c.name}: the kernel reads ${c.recalc ? 'the kept data' : 'zeroes'}`);
    const table = pick('TABLE', c.name)[0] ?? '';
    plan.close();
    const tw = table.split(/\s+/);
    assert.deepEqual([tw[2], tw[5], tw[6]], ['integrity', String(plan.sb.integrity_tag_size), 'J'], `${c.name}: table target, tag size, mode: ${table}`);
    assert.equal(tw.includes('fix_padding'), !c.opts.legacyPadding && !c.opts.dataDevice, `${c.name}: fix_padding in the table`);
    assert.equal(tw.includes('fix_hmac'), !c.opts.legacyHmac, `${c.name}: fix_hmac in the table`);
    for (const w of c.tableWords)
      assert.ok(
        table.split(/\s+/).some((x) => x === w || x.startsWith(w)),
        `${c.name}: dmsetup table has ${w}: ${table}`,
      );
    // the kernel's integritysetup dump shows what ours shows (before the kernel wrote: nothing in the sb changed but recalc state)
    const kdump = pick('DUMP', c.name).slice(1);
    const ours = await ourDump(c.disks[0]!, c.opts.dataDevice);
    assert.deepEqual(
      kdump.map((l) => l.trim()),
      ours.map((l) => l.trim()),
      `${c.name}: integritysetup dump`,
    );
    if (!c.recalc) assert.deepEqual(ours, dumps.get(c.name), `${c.name}: superblock unchanged by the kernel`);
    // what the kernel wrote, we read, with every tag verifying
    const after = readAll(c.disks[0]!, c.opts);
    assert.equal(after.mismatches, 0, `${c.name}: we verify the volume after the kernel's writes`);
    const want = Buffer.alloc(8192);
    Buffer.from(`${KW}\n`.repeat(Math.ceil(8192 / (KW.length + 1)))).copy(want, 0, 0, 8192);
    assert.ok(after.data.subarray(4096, 4096 + 8192).equals(want), `${c.name}: the kernel's pattern`);
  }
  // host integritysetup dump agrees too (a subtest: skipped, with the reason, where the host has no integritysetup)
  await t.test("the host's integritysetup dump of each volume is ours", async (st) => {
    if (skipUnless(st, spawnSync('sh', ['-c', 'command -v integritysetup']).status === 0 ? null : 'integritysetup is not installed on the host')) return;
    for (const c of cases) {
      const h = spawnSync('integritysetup', ['dump', c.disks[0]!], { encoding: 'utf8' });
      assert.equal(h.status, 0, `${c.name}: host integritysetup dump: ${h.stderr}`);
      assert.deepEqual(
        h.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.trim()),
        (await ourDump(c.disks[0]!, c.opts.dataDevice)).map((l) => l.trim()),
        `${c.name}: host dump`,
      );
    }
  });
  // the kernel's own formats: our plan predicts every superblock field (the salt is random)
  kernelFormats.forEach((k, i) => {
    assert.deepEqual(pick('KF', k.name), ['ok'], `${k.name}: integritysetup format`);
    const sb = decodeSuperblock(fs.readFileSync(kfDisks[i]![0]!).subarray(0, 4096));
    const plan = planFormat({ ...k.opts, salt: sb.salt }, k.size / SECTOR_SIZE, k.dataSize ? k.dataSize / SECTOR_SIZE : undefined).superblock;
    assert.deepEqual({ ...sb, flags: flagNames(sb.flags) }, { ...plan, flags: flagNames(plan.flags) }, `${k.name}: superblock`);
  });
  // byte for byte: our format of a blank image of the same size with the kernel's salt
  kernelFormats.forEach((k, i) => {
    const sb = decodeSuperblock(fs.readFileSync(kfDisks[i]![0]!).subarray(0, 4096));
    const ours = path.join(dir, `ours-${k.name}.img`);
    fs.writeFileSync(ours, Buffer.alloc(0));
    fs.truncateSync(ours, k.size);
    let oursData: string | undefined;
    if (k.dataSize) {
      oursData = path.join(dir, `ours-${k.name}-data.img`);
      fs.writeFileSync(oursData, Buffer.alloc(0));
      fs.truncateSync(oursData, k.dataSize);
    }
    const wipe = !!k.wipe;
    formatVolume(ours, { ...k.opts, salt: sb.salt, noWipe: !wipe, dataDevice: oursData });
    const pairs: [string, string][] = [[kfDisks[i]![0]!, ours]];
    if (oursData) pairs.push([kfDisks[i]![1]!, oursData]);
    for (const [theirs, mine] of pairs) {
      const a = fs.readFileSync(theirs);
      const b = fs.readFileSync(mine);
      let first = -1;
      for (let x = 0; x < a.length && first < 0; x += 512) if (!a.subarray(x, x + 512).equals(b.subarray(x, x + 512))) first = x;
      assert.equal(first, -1, `${k.name}: ${path.basename(theirs)} differs from our format first at byte ${first} (sector ${first / 512})`);
      assert.equal(a.length, b.length);
    }
    if (wipe) assert.equal(readAll(ours, { ...k.opts, dataDevice: oursData }).mismatches, 0, `${k.name}: verifies`);
  });
  for (const b of big) {
    const got = pick('BIG', b.name)[0] ?? '';
    const sb = planFormat(b.opts, b.sectors).superblock;
    const want =
      `superblock_version ${sb.version} log2_interleave_sectors ${sb.log2_interleave_sectors} integrity_tag_size ${sb.integrity_tag_size} ` +
      `journal_sections ${sb.journal_sections} provided_data_sectors ${sb.provided_data_sectors} sector_size ${SECTOR_SIZE << sb.log2_sectors_per_block} ` +
      `log2_blocks_per_bitmap ${sb.log2_blocks_per_bitmap_bit} flags ${flagNames(sb.flags).join(' ')}`;
    assert.equal(got.replace(/\s+/g, ' ').trim(), want, `${b.name}: the kernel's superblock on a ${b.sectors}-sector device`);
  }
  const nj = lines.find((l) => l.startsWith('KFNJ ')) ?? 'KFNJ none';
  assert.equal(
    nj.slice(5),
    (lines.find((l) => l.startsWith('KFB ')) ?? 'KFB ?').slice(4),
    'format --integrity-no-journal writes the superblock --integrity-bitmap-mode does',
  );
  const legacy = lines.find((l) => l.startsWith('KFLEGACY ')) ?? '';
  assert.match(legacy, /superblock_version 4 flags fix_padding\s*$/, `integritysetup with both legacy options: ${legacy}`);
  assert.deepEqual(flagNames(planFormat({ legacyPadding: true, legacyHmac: true, salt: Buffer.alloc(16) }, 2048).superblock.flags), [], 'we honour both');
  // the kernel refuses the table (dm_integrity_ctr: tag size past its limit), not integritysetup's own checks
  assert.equal(pick('KF', 'tag256').length, 1);
  assert.match(
    pick('KF', 'tag256')[0]!,
    /^failed: device-mapper: reload ioctl on \S+ \(\d+:\d+\) failed: Invalid argument Cannot format integrity for device \/dev\/vd\w+\./,
    'the kernel (6.1) refuses tag size 256 as we do',
  );
  assert.equal(pick('KF', 'recalc-at-format').length, 1);
  assert.match(
    pick('KF', 'recalc-at-format')[0]!,
    /^failed: .*integritysetup: Option --integrity-recalculate is not allowed with format action\.$/,
    'integritysetup format refuses --integrity-recalculate',
  );
  assert.throws(() => planFormat({ tagSize: 256 }, 4096), /invalid --tag-size 256/);
  fs.rmSync(dir, { recursive: true, force: true });
});
