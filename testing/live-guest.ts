// Runs inside the oracle guest (engine/live/live.oracle.test.ts: `oracle/run --node`, the project read-only at
// /project): drives the real kernel, integritysetup, cryptsetup and dmsetup through engine/live and prints one
// `LIVE-RESULT <scenario> <json>` line per scenario for the host test to check. Disks (see the test): vda 2 GiB
// sparse (recalculation, slowed by dm-delay), vdb/vdc/vdd 32 MiB (journal, bitmap, keyed volumes), vde 48 MiB (LUKS2),
// vdf 64 MiB (ext4, scrubbed while mounted). Test keys are fixed patterns.
import fs from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { alignedBuffer } from '../engine/io/aligned.js';
import { listLiveVolumes } from '../engine/live/discover.js';
import { readLiveSample } from '../engine/live/sample.js';
import { LiveSampler, type LiveSnapshot } from '../engine/live/sampler.js';
import { runControl, type ControlResult } from '../engine/live/controls.js';
import { readSuperblockDirect } from '../engine/live/superblock.js';
import { parseIntegrityStatus } from '../engine/live/parse.js';
import { startLiveScrub, type LiveScrubProgress } from '../engine/live/scrub.js';
import { readLiveScrubState } from '../engine/live/scrub-state.js';
import { mapLiveDamage } from '../engine/live/map-damage.js';
import { PrivilegedClient } from '../engine/live/privileged-client.js';

export const KEY_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
export const JKEY_HEX = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';

const sh = (cmd: string): string => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dmStatus = (name: string) => parseIntegrityStatus(sh(`dmsetup status ${name}`).trim());
const report = (scenario: string, data: unknown) => process.stdout.write(`LIVE-RESULT ${scenario} ${JSON.stringify(data)}\n`);

/** Offset of the first occurrence of `needle` in a device, read in 1 MiB pieces (buffered: a first read). */
function findOnDevice(dev: string, needle: Buffer): number {
  const fd = fs.openSync(dev, 'r');
  try {
    const buf = Buffer.alloc((1 << 20) + needle.length);
    for (let off = 0; ; off += 1 << 20) {
      const n = fs.readSync(fd, buf, 0, buf.length, off);
      if (n <= 0) return -1;
      const i = buf.subarray(0, n).indexOf(needle);
      if (i >= 0) return off + i;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function directRead(dev: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(dev, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  try {
    const b = alignedBuffer(length);
    fs.readSync(fd, b, 0, length, offset);
    return Buffer.from(b);
  } finally {
    fs.closeSync(fd);
  }
}

function directWrite(dev: string, offset: number, data: Buffer): void {
  const fd = fs.openSync(dev, fs.constants.O_WRONLY | fs.constants.O_DIRECT);
  try {
    const b = alignedBuffer(data.length);
    data.copy(b);
    fs.writeSync(fd, b, 0, data.length, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** Flips bytes of one 512-byte sector on the device under the mapping, as a bad disk would. */
function corruptSector(dev: string, sector: number): void {
  const s = directRead(dev, Math.floor((sector * 512) / 4096) * 4096, 4096);
  const at = (sector * 512) % 4096;
  for (let i = 16; i < 24; i++) s[at + i] = s[at + i]! ^ 0xff;
  directWrite(dev, Math.floor((sector * 512) / 4096) * 4096, s);
}

function bufferedRecalcSector(dev: string): number {
  const fd = fs.openSync(dev, 'r');
  try {
    const b = Buffer.alloc(4096);
    fs.readSync(fd, b, 0, 4096, 0);
    return Number(b.readBigUInt64LE(32));
  } finally {
    fs.closeSync(fd);
  }
}

const clean = (s: LiveSnapshot) => ({ state: s.state, event: s.event, recalc: s.recalc, mismatches: s.mismatches });

async function volumes(): Promise<unknown> {
  fs.writeFileSync('/tmp/k1', Buffer.from(KEY_HEX, 'hex'));
  fs.writeFileSync('/tmp/k2', Buffer.from(JKEY_HEX, 'hex'));
  sh('integritysetup format -q --no-wipe /dev/vdb');
  sh('integritysetup format -q --no-wipe /dev/vdc');
  sh(
    'integritysetup format -q --no-wipe --integrity hmac-sha256 --integrity-key-file /tmp/k1 --integrity-key-size 32 --journal-integrity hmac-sha256 --journal-integrity-key-file /tmp/k2 --journal-integrity-key-size 32 /dev/vdd',
  );
  fs.rmSync('/tmp/k1');
  fs.rmSync('/tmp/k2');
  sh(
    'echo -n pass | cryptsetup luksFormat -q --type luks2 --integrity hmac-sha256 --integrity-no-wipe --pbkdf pbkdf2 --pbkdf-force-iterations 1000 /dev/vde -',
  );
  sh('echo -n pass | cryptsetup open /dev/vde lk -');
  const activations: ControlResult[] = [];
  activations.push(await runControl({ action: 'activate', spec: { device: '/dev/vdb', name: 'ja' } }));
  activations.push(
    await runControl({ action: 'activate', spec: { device: '/dev/vdc', name: 'bb', mode: 'bitmap', bitmapSectorsPerBit: 8192, bitmapFlushTimeMs: 5000 } }),
  );
  // keys as bytes: through FIFOs to the real integritysetup
  activations.push(
    await runControl({
      action: 'activate',
      spec: {
        device: '/dev/vdd',
        name: 'hm',
        integrity: 'hmac-sha256',
        integrityKey: { bytes: Buffer.from(KEY_HEX, 'hex') },
        journalIntegrity: 'hmac-sha256',
        journalIntegrityKey: { bytes: Buffer.from(JKEY_HEX, 'hex') },
        allowDiscards: true,
      },
    }),
  );
  // an image file through a loop device: discovery names the file
  sh('truncate -s 16M /tmp/loop.img');
  const loop = sh('losetup -f --show /tmp/loop.img').trim();
  sh(`integritysetup format -q --no-wipe ${loop}`);
  activations.push(await runControl({ action: 'activate', spec: { device: loop, name: 'lp' } }));
  const showkeys = sh('dmsetup table --showkeys hm');
  const list = await listLiveVolumes();
  // the same listing through the privileged helper, started as the app would when already root
  const client = new PrivilegedClient({ argv: [process.execPath, fileURLToPath(new URL('../engine/live/privileged-main.js', import.meta.url))] });
  let viaHelper: unknown;
  let helperRefusal = '';
  try {
    viaHelper = await client.list();
    helperRefusal = await client.plan({ action: 'deactivate', name: 'lk_dif' }).then((p) => p.refused ?? '');
  } finally {
    await client.close();
  }
  const superblocks = Object.fromEntries(
    list.filter((v) => v.superblock_device).map((v) => [v.name, readSuperblockDirect(v.superblock_device!, v.table.offset)]),
  );
  // start a recalculation of a volume that never had one (bb: status "-")
  const before = dmStatus('bb');
  const start = await runControl({ action: 'recalc-start', name: 'bb' });
  let after = dmStatus('bb');
  for (let i = 0; i < 60 && after.recalc_sector !== after.provided_data_sectors; i++) {
    await sleep(500);
    after = dmStatus('bb');
  }
  const bbTable = sh('dmsetup table bb').trim();
  const closeRefusal = await runControl({ action: 'deactivate', name: 'lk_dif' }).then(
    () => '',
    (e: Error) => e.message,
  );
  return {
    activations: activations.map((a) => ({ plan: a.plan, after: a.after })),
    keys_delivered: showkeys.includes(`internal_hash:hmac(sha256):${KEY_HEX}`) && showkeys.includes(`journal_mac:hmac(sha256):${JKEY_HEX}`),
    list,
    via_helper: viaHelper,
    helper_refusal: helperRefusal,
    superblocks,
    recalc_start: { before, result: { plan: start.plan, after: start.after, reloaded: start.reloaded }, finished: after, table: bbTable },
    close_refusal: closeRefusal,
    dmsetup_table: sh('dmsetup table'),
  };
}

async function recalc(): Promise<unknown> {
  sh('modprobe dm-delay');
  const size = sh('blockdev --getsz /dev/vda').trim();
  // every read and write of the recalculation waits 250 ms: a 32768-sector chunk then takes about half a second
  sh(`dmsetup create slow --table "0 ${size} delay /dev/vda 0 250"`);
  sh('integritysetup format -q --no-wipe /dev/mapper/slow');
  const slowDev = `/dev/${sh('basename $(readlink -f /sys/dev/block/$(dmsetup info -c --noheadings -o major,minor --separator : slow | tr -d " "))').trim()}`;
  const activate = await runControl({ action: 'activate', spec: { device: '/dev/mapper/slow', name: 'rc', recalculate: true } });
  // a buffered read while dm-integrity holds the device caches the page; the kernel's later writes bypass it
  const buffered0 = bufferedRecalcSector(slowDev);
  const sampler = new LiveSampler('rc');
  const watched: Array<{ ours: LiveSnapshot; dmsetup_after: number | null; persisted: number | null }> = [];
  for (let i = 0; i < 6; i++) {
    const s = await readLiveSample('rc');
    const snap = sampler.add(s);
    watched.push({ ours: clean(snap) as LiveSnapshot, dmsetup_after: dmStatus('rc').recalc_sector, persisted: s.superblock?.recalc_sector ?? null });
    await sleep(1000);
  }
  // the persisted position, read with O_DIRECT, against a buffered read of the same device
  let direct = readSuperblockDirect(slowDev, 0).recalc_sector;
  for (let i = 0; i < 120 && direct === 0; i++) {
    await sleep(500);
    direct = readSuperblockDirect(slowDev, 0).recalc_sector;
  }
  const buffered = bufferedRecalcSector(slowDev);
  const beforeReset = dmStatus('rc');
  const reset = await runControl({ action: 'recalc-reset', name: 'rc' });
  const tableAfterReset = sh('dmsetup table rc').trim();
  const afterReset: Array<number | null> = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1000);
    afterReset.push(sampler.add(await readLiveSample('rc')).recalc.position);
  }
  const suspend = await runControl({ action: 'suspend', name: 'rc' });
  const s1 = clean(sampler.add(await readLiveSample('rc')));
  await sleep(2000);
  const s2 = clean(sampler.add(await readLiveSample('rc')));
  const persistedSuspended = readSuperblockDirect(slowDev, 0).recalc_sector;
  await runControl({ action: 'resume', name: 'rc' });
  await sleep(2000);
  const resumed = clean(sampler.add(await readLiveSample('rc')));
  const deactivate = await runControl({ action: 'deactivate', name: 'rc' });
  const gone = clean(sampler.add(await readLiveSample('rc')));
  const persistedClosed = readSuperblockDirect(slowDev, 0).recalc_sector;
  await runControl({ action: 'activate', spec: { device: '/dev/mapper/slow', name: 'rc' } });
  const reopened = clean(sampler.add(await readLiveSample('rc')));
  await sleep(1500);
  const reopened2 = clean(sampler.add(await readLiveSample('rc')));
  const out = {
    activate: activate.plan,
    watched,
    direct,
    buffered,
    buffered0,
    beforeReset,
    reset: { plan: reset.plan, after_reset: reset.after_reset, after: reset.after, message: reset.message },
    tableAfterReset,
    afterReset,
    suspend: { plan: suspend.plan, s1, s2, persisted: persistedSuspended },
    resumed,
    deactivate: { plan: deactivate.plan, gone, persisted: persistedClosed },
    reopened,
    reopened2,
  };
  sh('integritysetup close rc; dmsetup remove slow');
  return out;
}

async function scrubRun(
  name: string,
  opts: { maxBytesPerSecond?: number; pauseAt?: number } = {},
): Promise<{ final: LiveScrubProgress; events: number; pausedAt: number | null }> {
  let events = 0;
  let pausedAt: number | null = null;
  let handle: Awaited<ReturnType<typeof startLiveScrub>> | null = null;
  let pausing = false;
  handle = await startLiveScrub(
    name,
    (p) => {
      events++;
      if (opts.pauseAt !== undefined && !pausing && p.state === 'running' && p.position_sector >= opts.pauseAt) {
        pausing = true;
        pausedAt = p.position_sector;
        void handle?.pause();
      }
    },
    opts.maxBytesPerSecond ? { maxBytesPerSecond: opts.maxBytesPerSecond } : {},
  );
  const final = await handle.finished;
  return { final, events, pausedAt };
}

async function scrub(): Promise<unknown> {
  sh('integritysetup format -q /dev/vdf');
  await runControl({ action: 'activate', spec: { device: '/dev/vdf', name: 'ex' } });
  sh('mkfs.ext4 -q /dev/mapper/ex && mkdir -p /mnt/ex && mount /dev/mapper/ex /mnt/ex');
  const marker = Buffer.alloc(4096);
  for (let i = 0; i < 4096; i += 16) marker.write(`LIVE-MARK-${String(i / 16).padStart(5, '0')}`, i, 'latin1');
  fs.writeFileSync('/mnt/ex/file1', marker);
  sh('yes data | head -c 3000000 > /mnt/ex/file2; sync');
  // the journal holds the new blocks until it is written back: a suspend/resume does that (confirmed: mounted)
  const unconfirmed = await runControl({ action: 'suspend', name: 'ex' }).then(
    () => '',
    (e: Error & { code?: string }) => `${e.code}: ${e.message}`,
  );
  await runControl({ action: 'suspend', name: 'ex' }, { confirm: true });
  await runControl({ action: 'resume', name: 'ex' });
  const mapped = findOnDevice('/dev/mapper/ex', marker.subarray(0, 32));
  const physical = findOnDevice('/dev/vdf', marker.subarray(0, 32));
  const bad = mapped / 512 + 3; // the 4th sector of the file's block
  corruptSector('/dev/vdf', physical / 512 + 3);
  const counter0 = dmStatus('ex').mismatches;
  // paused part way (the speed limit keeps it slow enough to pause), then resumed from its saved position
  const first = await scrubRun('ex', { maxBytesPerSecond: 4 << 20, pauseAt: 8192 });
  const saved = readLiveScrubState('ex');
  // the file system stays usable while its device is scrubbed
  const during = spawn('sh', ['-c', 'sleep 1; echo written-during-scrub > /mnt/ex/during && sync && cat /mnt/ex/during']);
  const duringOut = new Promise<string>((r) => {
    let o = '';
    during.stdout.on('data', (d) => (o += d));
    during.on('close', () => r(o.trim()));
  });
  const second = await scrubRun('ex', { maxBytesPerSecond: 16 << 20 });
  const counter1 = dmStatus('ex').mismatches;
  // what the bad block holds, read through the kernel's device while mounted; debugfs (read-only) on the same device
  const m = mapLiveDamage('ex', { mounted: true });
  const fsBlock = Math.floor((bad * 512) / (m.result.block_size || 4096));
  const dbg = (cmd: string) => sh(`debugfs -R ${JSON.stringify(cmd)} /dev/mapper/ex 2>/dev/null`);
  const icheck = dbg(`icheck ${fsBlock}`).trim().split(/\s+/).at(-1) ?? '';
  const mapping = {
    fs: m.result.fs,
    block_size: m.result.block_size,
    may_be_stale: m.result.may_be_stale,
    device: m.device,
    files: m.result.items.flatMap((i) => (i.kind === 'file' ? [{ inode: i.inode, paths: i.paths, byte_ranges: i.byte_ranges }] : [])),
    kinds: m.result.items.map((i) => i.kind),
    debugfs: { block: fsBlock, icheck, ncheck: /^\d+$/.test(icheck) ? dbg(`ncheck ${icheck}`) : '' },
  };
  sh('umount /mnt/ex');
  await runControl({ action: 'deactivate', name: 'ex' });

  // LUKS2: dm-crypt verifies, the _dif's counter stays 0, the kernel logs the AEAD error
  sh('cryptsetup close lk');
  sh('echo -n pass | cryptsetup luksFormat -q --type luks2 --integrity hmac-sha256 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 /dev/vde -');
  sh('echo -n pass | cryptsetup open /dev/vde lk -');
  const block = Buffer.alloc(4096, 0x4c);
  directWrite('/dev/mapper/lk', 100 * 4096, block);
  sh('dmsetup suspend lk && dmsetup suspend lk_dif && dmsetup resume lk_dif && dmsetup resume lk');
  const cipher = directRead('/dev/mapper/lk_dif', 801 * 512, 512).subarray(0, 32);
  const where = findOnDevice('/dev/vde', Buffer.from(cipher));
  corruptSector('/dev/vde', where / 512);
  const luks = await scrubRun('lk_dif');
  const difCounter = dmStatus('lk_dif').mismatches;
  sh('cryptsetup close lk');
  return {
    unconfirmed,
    mapped,
    physical,
    bad_sector: bad,
    counter0,
    counter1,
    mapping,
    first,
    saved_position: saved?.position_sector ?? null,
    saved_state: saved?.state ?? null,
    second,
    during: await duringOut,
    luks,
    dif_counter: difCounter,
  };
}

const scenarios: Record<string, () => Promise<unknown>> = { volumes, recalc, scrub };
const main = process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
for (const name of main ? process.argv.slice(2) : []) {
  try {
    report(name, { ok: true, kernel: sh('uname -r').trim(), integritysetup: sh('integritysetup --version').trim(), data: await scenarios[name]!() });
  } catch (e) {
    report(name, { ok: false, kernel: sh('uname -r').trim(), error: (e as Error).stack ?? String(e) });
  }
}
