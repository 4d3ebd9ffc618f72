// The kernel matrix: for each release the oracle boots (Linux 6.1 + integritysetup 2.6.1, 6.12 + 2.6.1, 7.2 +
// 2.8.8), ONE boot runs cryptsetup's integrity test matrix (tests/integrity-compat-test: algorithms and tag sizes
// at 512/4096, keyed with 32- and 4096-byte keys, journal watermark/commit/MAC/encryption, legacy hmac and
// padding, bitmap parameters, detached metadata, resize grow with --wipe and with recalculation) both ways:
//   K cases: the kernel formats, writes and resizes; we read every block: 0 mismatches, 0 unchecked, its data.
//   O cases: we format, write and resize (grow recalc/wipe, shrink); the kernel opens and reads every block:
//            0 mismatches, read succeeds, the same data.
// All volumes sit side by side on one disk (dm-linear segments in the guest), so a release costs one boot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { main, type Io } from '../cli/main.js';
import { tmpDir } from './golden.js';
import { ORACLE_RELEASES, runOracle, skipWithoutOracle, type OracleRelease } from './oracle.js';

const MiB = 1 << 20;

interface Case {
  id: string;
  /** integritysetup format options; KEY32, KEY4096, KEY16 stand for key files */
  fmt: string;
  /** integritysetup open options */
  open: string;
  mib: number;
  dataMib?: number;
  resize?: { how: 'wipe' | 'recalc' | 'shrink'; mib: number };
}

const HMAC32 = '--integrity hmac-sha256 --integrity-key-file KEY32 --integrity-key-size 32';
const KEYED_ALL =
  '--integrity hmac-sha256 --integrity-key-size 128 --integrity-key-file KEY4096 --journal-integrity hmac-sha256 --journal-integrity-key-file KEY4096 --journal-integrity-key-size 128 --journal-crypt ctr-aes --journal-crypt-key-size 16 --journal-crypt-key-file KEY4096';

/** tests/integrity-compat-test's cases, at 4 MiB (resized to 6 MiB); both directions use the same list */
const MATRIX: Case[] = [
  { id: 'crc32c-512', fmt: '', open: '', mib: 4 },
  { id: 'crc32-512', fmt: '--integrity crc32', open: '--integrity crc32', mib: 4 },
  { id: 'xxhash64-512', fmt: '--integrity xxhash64', open: '--integrity xxhash64', mib: 4 },
  { id: 'sha1-512', fmt: '--integrity sha1', open: '--integrity sha1', mib: 4 },
  { id: 'sha1-tag16-4096', fmt: '--integrity sha1 --tag-size 16 --sector-size 4096', open: '--integrity sha1', mib: 4 },
  { id: 'sha256-4096', fmt: '--integrity sha256 --sector-size 4096', open: '--integrity sha256', mib: 4 },
  { id: 'blake2b-256-512', fmt: '--integrity blake2b-256 --tag-size 32', open: '--integrity blake2b-256', mib: 4 },
  { id: 'hmac-sha256-key32-512', fmt: HMAC32, open: HMAC32, mib: 4 },
  {
    id: 'hmac-sha256-key4096-4096',
    fmt: '--integrity hmac-sha256 --integrity-key-file KEY4096 --integrity-key-size 4096 --sector-size 4096',
    open: '--integrity hmac-sha256 --integrity-key-file KEY4096 --integrity-key-size 4096',
    mib: 4,
  },
  {
    id: 'journal-crc32-wm66-ct1000-mac-sha256',
    fmt: '--integrity crc32 --journal-watermark 66 --journal-commit-time 1000 --journal-integrity hmac-sha256 --journal-integrity-key-file KEY32 --journal-integrity-key-size 32',
    open: '--integrity crc32 --journal-watermark 66 --journal-commit-time 1000 --journal-integrity hmac-sha256 --journal-integrity-key-file KEY32 --journal-integrity-key-size 32',
    mib: 4,
  },
  {
    id: 'journal-sha256-4096-mac-sha1-key16',
    fmt: '--integrity sha256 --tag-size 32 --sector-size 4096 --journal-integrity hmac-sha1 --journal-integrity-key-file KEY16 --journal-integrity-key-size 16',
    open: '--integrity sha256 --journal-integrity hmac-sha1 --journal-integrity-key-file KEY16 --journal-integrity-key-size 16',
    mib: 4,
  },
  {
    id: 'journal-crypt-cbc-aes-32',
    fmt: '--journal-crypt cbc-aes --journal-crypt-key-file KEY32 --journal-crypt-key-size 32',
    open: '--journal-crypt cbc-aes --journal-crypt-key-file KEY32 --journal-crypt-key-size 32',
    mib: 4,
  },
  {
    id: 'journal-crypt-ctr-aes-16',
    fmt: '--journal-crypt ctr-aes --journal-crypt-key-file KEY16 --journal-crypt-key-size 16',
    open: '--journal-crypt ctr-aes --journal-crypt-key-file KEY16 --journal-crypt-key-size 16',
    mib: 4,
  },
  { id: 'bitmap-65536-5000', fmt: '', open: '--integrity-bitmap-mode --bitmap-sectors-per-bit 65536 --bitmap-flush-time 5000', mib: 4 },
  { id: 'bitmap-hmac-4096', fmt: `${HMAC32} --sector-size 4096`, open: `${HMAC32} --integrity-bitmap-mode`, mib: 4 },
  { id: 'direct-sha256', fmt: '--integrity sha256', open: '--integrity sha256 --integrity-no-journal', mib: 4 },
  { id: 'legacy-hmac', fmt: `${HMAC32} --integrity-legacy-hmac`, open: HMAC32, mib: 4 },
  { id: 'legacy-padding', fmt: '--integrity-legacy-padding', open: '', mib: 4 },
  { id: 'detached', fmt: '', open: '', mib: 1, dataMib: 4 },
  { id: 'resize-grow-recalc', fmt: '--integrity crc32', open: '--integrity crc32', mib: 4, resize: { how: 'recalc', mib: 6 } },
  { id: 'resize-grow-wipe', fmt: '--integrity crc32', open: '--integrity crc32', mib: 4, resize: { how: 'wipe', mib: 6 } },
  { id: 'resize-bitmap-grow-recalc', fmt: '', open: '--integrity-bitmap-mode', mib: 4, resize: { how: 'recalc', mib: 6 } },
  { id: 'resize-detached-grow-recalc', fmt: '--integrity crc32', open: '--integrity crc32', mib: 1, dataMib: 4, resize: { how: 'recalc', mib: 6 } },
  { id: 'resize-detached-grow-wipe', fmt: '--integrity crc32', open: '--integrity crc32', mib: 1, dataMib: 4, resize: { how: 'wipe', mib: 6 } },
  { id: 'resize-keyed-grow-wipe', fmt: KEYED_ALL, open: KEYED_ALL, mib: 4, resize: { how: 'wipe', mib: 6 } },
  { id: 'resize-keyed-grow-recalc', fmt: KEYED_ALL, open: KEYED_ALL, mib: 4, resize: { how: 'recalc', mib: 6 } },
  // the kernel cannot shrink the volume on disk (a smaller device is "too small"); ours truncates the image
  { id: 'resize-shrink', fmt: '', open: '', mib: 6, resize: { how: 'shrink', mib: 4 } },
];

/**
 * Kernel-side bugs the matrix meets, by release: there we require that we see what the kernel sees (its own reads
 * fail, we report bad blocks), not 0 mismatches. With integritysetup 2.6.1 on 6.1 and 6.12, growing a bitmap-mode
 * volume with recalculation (resize without --wipe) leaves new blocks whose reads fail in the kernel; 2.8.8 on
 * 7.2 does not. A guess at the cause, not verified: 2.6.1's refresh reload, or the dm_integrity_resume quirk fixed
 * upstream in 2025 ("read a fresh copy of the superblock in dm_integrity_resume", Fixes: 468dfca38b1a).
 */
const KERNEL_BUGS: Record<string, string[]> = { bookworm: ['resize-bitmap-grow-recalc'], backports: ['resize-bitmap-grow-recalc'] };

/**
 * Hash algorithms a release's guest kernel has no crypto module for: Debian's 7.2 cloud kernel is built without
 * CONFIG_CRYPTO_XXHASH and CONFIG_CRYPTO_BLAKE2B (its config in the oracle's cache). Their cases are N/A there, as in
 * integrity-compat-test; every other case must run, and a case listed here that runs is a failure (update the list).
 */
const NO_MODULE: Record<OracleRelease, string[]> = { bookworm: [], backports: [], sid: ['xxhash64', 'blake2b-256'] };
const algOf = (c: Case): string => /--integrity (\S+)/.exec(c.fmt)?.[1] ?? 'crc32c';

const GUEST = `
exec 3< /oracle/cases
while IFS='|' read -r kind i st n dst dn rs gt fa oa <&3; do
	[ -n "$kind" ] || continue
	dmsetup create s$i --table "0 $n linear /dev/vda $st"
	DA=""; G=s$i
	if [ "$dst" != "-" ]; then dmsetup create d$i --table "0 $dn linear /dev/vda $dst"; DA="--data-device /dev/mapper/d$i"; G=d$i; fi
	ok=1
	if [ $kind = K ]; then
		integritysetup format --batch-mode $fa $DA /dev/mapper/s$i >/tmp/f.log 2>&1 || { echo "@@$i FAIL format: $(tr '\\n' ' ' </tmp/f.log)"; ok=0; }
	fi
	if [ $ok = 1 ]; then
		if ! integritysetup open $oa $DA /dev/mapper/s$i v$i >/tmp/o.log 2>&1; then echo "@@$i FAIL open: $(tr '\\n' ' ' </tmp/o.log)"; ok=0; fi
	fi
	if [ $ok = 1 ]; then
		if [ $kind = K ]; then
			dd if=/dev/urandom of=/dev/mapper/v$i bs=4096 count=256 oflag=direct status=none; sync
			if [ "$rs" = wipe ] || [ "$rs" = recalc ]; then
				dmsetup suspend $G; dmsetup reload $G --table "0 $gt linear /dev/vda $( [ $G = s$i ] && echo $st || echo $dst )"; dmsetup resume $G
				W=""; [ "$rs" = wipe ] && W=--wipe
				integritysetup resize --batch-mode $W v$i >/tmp/z.log 2>&1 || echo "resize $i failed: $(tr '\\n' ' ' </tmp/z.log)"
				k=0
				while [ $k -lt 900 ]; do
					set -- $(dmsetup status v$i) x x x x x x
					[ "$6" = "-" ] && break; [ "$6" = x ] && break; [ "$6" -ge "$5" ] && break
					k=$((k + 1)); sleep 0.1
				done
			fi
		fi
		sha=$(dd if=/dev/mapper/v$i bs=65536 iflag=direct status=none 2>/tmp/r.log | sha256sum | cut -d' ' -f1)
		set -- $(dmsetup status v$i)
		echo "@@$i OK sha=$sha mismatches=$4 size=$(blockdev --getsz /dev/mapper/v$i) readerr=$(tr '\\n' ' ' </tmp/r.log)"
		integritysetup close v$i
	fi
	dmsetup remove s$i 2>/dev/null; [ "$dst" != "-" ] && dmsetup remove d$i 2>/dev/null
done
echo "@@done $(uname -r) $(integritysetup --version)"
`;

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => (out += s), err: (s) => (err += s), stdout: process.stdout };
  const code = await main(argv, io);
  return { code, out, err };
}

function words(s: string, keys: Record<string, string>): string[] {
  return s
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => keys[w] ?? w);
}

/** our verify (every block) and the sha256 of our read of the whole volume */
async function ourView(
  img: string,
  args: string[],
  dir: string,
): Promise<{ sha: string; mismatches: number; unchecked: number; sectors: number; err: string }> {
  const v = await cli(['verify', img, ...args, '--json']);
  if (!v.out) return { sha: '', mismatches: -1, unchecked: -1, sectors: 0, err: v.err };
  const r = JSON.parse(v.out);
  const out = path.join(dir, `${path.basename(img)}.read`);
  const rd = await cli(['read', img, ...args, '--output', out]);
  const sha = rd.code === 0 ? crypto.createHash('sha256').update(fs.readFileSync(out)).digest('hex') : '';
  fs.rmSync(out, { force: true });
  return { sha, mismatches: r.mismatches, unchecked: r.unchecked_blocks, sectors: r.provided_data_sectors, err: v.err + rd.err };
}

function copyInto(disk: number, file: string, atSector: number): void {
  const b = fs.readFileSync(file);
  fs.writeSync(disk, b, 0, b.length, atSector * 512);
}

function extract(diskPath: string, atSector: number, sectors: number, out: string): void {
  const fd = fs.openSync(diskPath, 'r');
  const b = Buffer.alloc(sectors * 512);
  fs.readSync(fd, b, 0, b.length, atSector * 512);
  fs.closeSync(fd);
  fs.writeFileSync(out, b);
}

for (const rel of ORACLE_RELEASES) {
  test(`kernel matrix, Linux ${rel.kernel} + integritysetup ${rel.integritysetup} (ORACLE_RELEASE=${rel.release}): cryptsetup's integrity cases both ways, resize both ways, one boot`, async (t) => {
    // a release left out on purpose is skipped (named); one that cannot boot fails under CI=true
    const only = process.env.INTEGRITY_ORACLE_RELEASES;
    if (only && !only.split(',').includes(rel.release)) return t.skip(`INTEGRITY_ORACLE_RELEASES=${only} leaves ${rel.release} out`);
    if (skipWithoutOracle(t, rel.release)) return;
    const dir = tmpDir(`kernels-${rel.release}-`);
    const keys: Record<string, string> = {};
    const guestKeys: Record<string, string> = {};
    const files: string[] = [];
    for (const [name, len] of [
      ['KEY32', 32],
      ['KEY4096', 4096],
      ['KEY16', 16],
    ] as const) {
      const f = path.join(dir, name.toLowerCase());
      fs.writeFileSync(f, crypto.randomBytes(len));
      keys[name] = f;
      guestKeys[name] = `/oracle/${name.toLowerCase()}`;
      files.push(`${f}:/oracle/${name.toLowerCase()}`);
    }
    // segments on one disk: K cases get room for their grown size; O cases hold our images
    const lines: string[] = [];
    const plan: Array<{
      c: Case;
      kind: 'K' | 'O';
      i: number;
      st: number;
      n: number;
      dst: number;
      dn: number;
      img?: string;
      data?: string;
      ourSha?: string;
      ourSectors?: number;
    }> = [];
    let next = 0;
    const seg = (mib: number) => {
      const s = next;
      next += mib * 2048;
      return s;
    };
    const disk = path.join(dir, 'disk.img');
    fs.writeFileSync(disk, '');
    const fd = fs.openSync(disk, 'r+');
    let i = 0;
    for (const c of MATRIX) {
      // K: the kernel makes it
      {
        const grow = c.resize && c.resize.how !== 'shrink' ? c.resize.mib : 0;
        const room = (m: number) => Math.max(m, grow);
        const st = seg(c.dataMib ? c.mib : room(c.mib));
        const dst = c.dataMib ? seg(room(c.dataMib)) : -1;
        const n = c.mib * 2048;
        const dn = c.dataMib ? c.dataMib * 2048 : 0;
        const rs = c.resize && c.resize.how !== 'shrink' ? c.resize.how : 'none';
        plan.push({ c, kind: 'K', i, st, n, dst, dn });
        lines.push(
          ['K', i, st, n, c.dataMib ? dst : '-', dn, rs, grow * 2048, words(c.fmt, guestKeys).join(' '), words(c.open, guestKeys).join(' ')].join('|'),
        );
        i++;
      }
      // O: we make it (format, write 1 MiB, resize), the kernel reads it
      {
        const img = path.join(dir, `o-${c.id}.img`);
        const data = c.dataMib ? path.join(dir, `o-${c.id}-data.img`) : undefined;
        fs.writeFileSync(img, '');
        fs.truncateSync(img, c.mib * MiB);
        if (data) {
          fs.writeFileSync(data, '');
          fs.truncateSync(data, c.dataMib! * MiB);
        }
        const dd = data ? ['--data-device', data] : [];
        const f = await cli(['format', img, ...dd, ...words(c.fmt, keys), '--batch-mode']);
        assert.equal(f.code, 0, `${c.id}: our format: ${f.err}`);
        const payload = path.join(dir, 'payload');
        fs.writeFileSync(payload, crypto.randomBytes(MiB));
        const w = await cli(['write', img, ...dd, ...words(c.open, keys), '--offset', '0', '--input', payload]);
        assert.equal(w.code, 0, `${c.id}: our write: ${w.err}`);
        if (c.resize) {
          const grown = c.resize.mib * MiB;
          if (c.resize.how !== 'shrink') fs.truncateSync(data ?? img, grown);
          const args = c.resize.how === 'shrink' ? ['--device-size', `${c.resize.mib}MiB`] : c.resize.how === 'wipe' ? ['--wipe'] : [];
          const r = await cli(['resize', img, ...dd, ...words(c.open, keys), ...args, '--json']);
          assert.equal(r.code, 0, `${c.id}: our resize: ${r.err}`);
        }
        const mine = await ourView(img, [...dd, ...words(c.open, keys)], dir);
        assert.equal(mine.mismatches, 0, `${c.id}: our own verify: ${mine.err}`);
        const st = seg(Math.ceil(fs.statSync(img).size / MiB));
        copyInto(fd, img, st);
        let dst = -1;
        if (data) {
          dst = seg(Math.ceil(fs.statSync(data).size / MiB));
          copyInto(fd, data, dst);
        }
        const n = fs.statSync(img).size / 512;
        const dn = data ? fs.statSync(data).size / 512 : 0;
        plan.push({ c, kind: 'O', i, st, n, dst, dn, img, data, ourSha: mine.sha, ourSectors: mine.sectors });
        lines.push(['O', i, st, n, data ? dst : '-', dn, 'none', 0, '', words(c.open, guestKeys).join(' ')].join('|'));
        i++;
      }
    }
    fs.closeSync(fd);
    fs.truncateSync(disk, next * 512);
    const casesFile = path.join(dir, 'cases');
    fs.writeFileSync(casesFile, lines.join('\n') + '\n');
    const t0 = Date.now();
    const r = runOracle(GUEST, [disk], { files: [...files, `${casesFile}:/oracle/cases`], release: rel.release, timeoutSec: 1500 });
    const secs = ((Date.now() - t0) / 1000).toFixed(0);
    const done = /^@@done (.*)$/m.exec(r.stdout);
    assert.ok(done, `the guest did not finish (exit ${r.status}): ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
    t.diagnostic(`booted ${done![1]} (${secs} s for ${plan.length} volumes)`);
    const results = new Map<number, string>();
    for (const m of r.stdout.matchAll(/^@@(\d+) (.*)$/gm)) results.set(Number(m[1]), m[2]!);
    const failures: string[] = [];
    const na: string[] = [];
    for (const p of plan) {
      const line = results.get(p.i) ?? 'no result';
      const tag = `${p.kind === 'K' ? 'kernel-made' : 'ours'} ${p.c.id}`;
      const ok = /^OK sha=(\w+) mismatches=(\d+) size=(\d+) readerr=(.*)$/.exec(line.trim());
      // as integrity-compat-test: an algorithm the guest kernel has no crypto module for is N/A; only those listed
      if (NO_MODULE[rel.release].includes(algOf(p.c))) {
        if (!ok && /reload ioctl .* failed: No such file or directory/.test(line)) na.push(`${tag} (no ${algOf(p.c)} module in the guest kernel)`);
        else failures.push(`${tag}: NO_MODULE says Linux ${rel.kernel} has no ${algOf(p.c)}, but ${ok ? 'the case ran' : line}: update NO_MODULE`);
        continue;
      }
      if (!ok) {
        failures.push(`${tag}: ${line}`);
        continue;
      }
      const [, gsha, gmis, gsize, rerr] = ok;
      if (p.kind === 'O') {
        // the kernel reads ours: every block, no mismatch, our data
        if (gmis !== '0' || rerr!.trim()) failures.push(`${tag}: the kernel found ${gmis} mismatches (${rerr})`);
        else if (gsha !== p.ourSha) failures.push(`${tag}: the kernel read other data than ours (size ${gsize} vs ${p.ourSectors})`);
        continue;
      }
      // we read the kernel's (the grown size when resized)
      const bug = (KERNEL_BUGS[rel.release] ?? []).includes(p.c.id);
      if (!bug && (gmis !== '0' || rerr!.trim())) failures.push(`${tag}: the kernel itself reported ${gmis} mismatches (${rerr})`);
      if (bug && gmis === '0') failures.push(`${tag}: the known kernel bug did not show (${gmis} mismatches): update KERNEL_BUGS`);
      const grown = p.c.resize && p.c.resize.how !== 'shrink' ? p.c.resize.mib * 2048 : 0;
      const meta = path.join(dir, `k-${p.c.id}.img`);
      extract(disk, p.st, p.c.dataMib ? p.n : grown || p.n, meta);
      const args = words(p.c.open, keys);
      if (p.c.dataMib) {
        const data = path.join(dir, `k-${p.c.id}-data.img`);
        extract(disk, p.dst, grown || p.dn, data);
        args.push('--data-device', data);
      }
      const v = await ourView(meta, args, dir);
      if (bug) {
        // the kernel's own read failed: we must report the damage too (not hide it)
        if (!(v.mismatches > 0)) failures.push(`${tag}: the kernel found mismatches after its buggy resize, we found none`);
        else t.diagnostic(`${tag}: kernel bug reproduced (the kernel reported ${gmis} failed read(s); we find ${v.mismatches} bad blocks)`);
        continue;
      }
      if (v.mismatches !== 0 || v.unchecked !== 0) failures.push(`${tag}: we found ${v.mismatches} mismatches, ${v.unchecked} unchecked blocks ${v.err}`);
      else if (v.sha !== gsha || String(v.sectors) !== gsize) failures.push(`${tag}: our data differs from the kernel's (${v.sectors} vs ${gsize} sectors)`);
    }
    const passed = plan.length - na.length - new Set(failures.map((f) => f.split(':')[0])).size;
    t.diagnostic(`${passed} of ${plan.length} volumes checked both ways${na.length ? `; N/A: ${na.join(', ')}` : ''}`);
    for (const f of failures) t.diagnostic(`FAIL ${f}`);
    assert.deepEqual(failures, [], `Linux ${done![1]}`);
    // the kept set: every case but those NO_MODULE names (both ways), and not empty
    const expectNa = plan.filter((p) => NO_MODULE[rel.release].includes(algOf(p.c))).map((p) => `${p.kind === 'K' ? 'kernel-made' : 'ours'} ${p.c.id}`);
    assert.deepEqual(
      na.map((n) => n.replace(/ \(.*$/, '')),
      expectNa,
      'the N/A cases are exactly those NO_MODULE names',
    );
    assert.ok(plan.length - na.length > 0 && plan.length - na.length === plan.length - expectNa.length, `${plan.length - na.length} cases kept`);
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
