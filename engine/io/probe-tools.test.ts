// probeSignatures against images made by the real tools of this host (mkfs.ext2/3/4, mkswap, cryptsetup
// luksFormat), each cross-checked with util-linux's `blkid -p`: we name what blkid names; `format` refuses each
// without writing a byte; with --force the old signature is gone afterwards (blkid then sees only DM_integrity).
// A missing tool skips its case with the reason (fails under CI=true: testing/unavailable.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { sha256File, tmpDir } from '../../testing/golden.js';
import { skipUnless } from '../../testing/unavailable.js';
import { probeSignatures } from './probe.js';
import { formatVolume } from '../commands/format.js';
import { openVolume } from '../volume.js';

const dir = tmpDir('probe-tools-');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

/** blkid -p as NAME=VALUE pairs ({} when it finds nothing) */
function blkid(file: string): Record<string, string> {
  const r = spawnSync('blkid', ['-p', '-o', 'export', file], { encoding: 'utf8' });
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

interface Tool {
  name: string;
  tool: string;
  size: number;
  make: (img: string) => string[];
  /** our type and blkid's TYPE (+ VERSION for LUKS) */
  ours: string;
  /** what format's refusal says the image holds */
  holds: string;
  blkid: (b: Record<string, string>) => boolean;
}

const keyFile = path.join(dir, 'pw.key');
fs.writeFileSync(keyFile, 'passphrase');
const luks = (type: string) => [
  'cryptsetup',
  'luksFormat',
  '--batch-mode',
  '--type',
  type,
  '--pbkdf',
  'pbkdf2',
  '--pbkdf-force-iterations',
  '1000',
  '--key-file',
  keyFile,
];

const tools: Tool[] = [
  {
    name: 'ext2',
    tool: 'mkfs.ext2',
    size: 4 << 20,
    make: (i) => ['mkfs.ext2', '-F', '-q', i],
    ours: 'ext2',
    holds: 'an ext2 filesystem',
    blkid: (b) => b.TYPE === 'ext2',
  },
  {
    name: 'ext3',
    tool: 'mkfs.ext3',
    size: 4 << 20,
    make: (i) => ['mkfs.ext3', '-F', '-q', i],
    ours: 'ext3',
    holds: 'an ext3 filesystem',
    blkid: (b) => b.TYPE === 'ext3',
  },
  {
    name: 'ext4',
    tool: 'mkfs.ext4',
    size: 4 << 20,
    make: (i) => ['mkfs.ext4', '-F', '-q', i],
    ours: 'ext4',
    holds: 'an ext4 filesystem',
    blkid: (b) => b.TYPE === 'ext4',
  },
  { name: 'swap', tool: 'mkswap', size: 4 << 20, make: (i) => ['mkswap', i], ours: 'swap', holds: 'a swap area', blkid: (b) => b.TYPE === 'swap' },
  {
    name: 'luks1',
    tool: 'cryptsetup',
    size: 4 << 20,
    make: (i) => [...luks('luks1'), i],
    ours: 'LUKS1',
    holds: 'a LUKS1 encrypted volume',
    blkid: (b) => b.TYPE === 'crypto_LUKS' && b.VERSION === '1',
  },
  {
    name: 'luks2',
    tool: 'cryptsetup',
    size: 20 << 20,
    make: (i) => [...luks('luks2'), i],
    ours: 'LUKS2',
    holds: 'a LUKS2 encrypted volume (both headers)',
    blkid: (b) => b.TYPE === 'crypto_LUKS' && b.VERSION === '2',
  },
];

for (const t of tools) {
  test(`probe: a real ${t.name} image (${t.tool}) is named as blkid names it; format refuses it untouched, and --force leaves only dm-integrity`, (ctx) => {
    if (skipUnless(ctx, !has(t.tool) || !has('blkid') ? `${t.tool} or blkid is not installed` : null)) return;
    const img = path.join(dir, `${t.name}.img`);
    fs.rmSync(img, { force: true });
    fs.writeFileSync(img, Buffer.alloc(0));
    fs.truncateSync(img, t.size);
    fs.chmodSync(img, 0o600);
    const [cmd, ...args] = t.make(img);
    const r = spawnSync(cmd!, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `${t.tool}: ${r.stderr}`);
    const b = blkid(img);
    assert.ok(t.blkid(b), `blkid sees ${JSON.stringify(b)}`);
    const found = probeSignatures(img).map((s) => s.type);
    assert.ok(found.includes(t.ours), `we find ${t.ours} (found ${found.join(', ') || 'nothing'})`);
    // the first signature is the one the tool made: no LUKS on an ext image and so on
    assert.deepEqual([...new Set(found)], [t.ours], `only ${t.ours}: ${found.join(', ')}`);

    const before = sha256File(img);
    assert.throws(
      () => formatVolume(img, { noWipe: true }),
      (e: Error) => {
        assert.equal(e.message, `${img} holds ${t.holds}; use --force to overwrite it`);
        return true;
      },
    );
    assert.equal(sha256File(img), before, 'refused: not a byte written');

    formatVolume(img, { noWipe: true, force: true });
    const after = blkid(img);
    assert.equal(after.TYPE, 'DM_integrity', `blkid after our format: ${JSON.stringify(after)}`);
    assert.deepEqual(
      probeSignatures(img).map((s) => s.type),
      ['dm-integrity'],
    );
    const vol = openVolume(img, { superblockOnly: true });
    vol.close();
    // and wipefs (util-linux) finds only the dm-integrity magic, when installed
    if (has('wipefs')) {
      const w = spawnSync('wipefs', ['--no-act', '--parsable', img], { encoding: 'utf8' }); // lists, changes nothing
      const types = w.stdout
        .split('\n')
        .filter((l) => l && !l.startsWith('#'))
        .map((l) => l.split(',')[3]);
      assert.deepEqual([...new Set(types)], ['DM_integrity'], `wipefs: ${w.stdout}`);
    }
  });
}
