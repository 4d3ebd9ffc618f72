// Test helpers: the real e2fsprogs / xfsprogs, run on images, their answers parsed (debugfs icheck / testb / ncheck,
// xfs_db blockget + blockuse / ncheck / fsmap). Used only by engine/fsmap/*.test.ts.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { skipOption } from './unavailable.js';

/** the first of `tools` that is not installed, as a skip reason (false: all there); under CI=true it throws */
export function toolMissing(...tools: string[]): string | false {
  for (const t of tools) {
    const r = spawnSync('sh', ['-c', `command -v ${t} || test -x /usr/sbin/${t} || test -x /sbin/${t}`]);
    if (r.status !== 0) return skipOption(`${t} is not installed (apt-get install e2fsprogs xfsprogs)`);
  }
  return false;
}

const ENV = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };

export function run(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean; cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: ENV, input: opts.input, cwd: opts.cwd, maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** debugfs commands from a file, in one process (debugfs -f) */
export function debugfs(img: string, cmds: string[], write = false): string {
  const dir = tmpDir('fsmap-dbg-');
  const f = path.join(dir, 'cmds');
  fs.writeFileSync(f, cmds.join('\n') + '\n');
  try {
    return run('debugfs', [...(write ? ['-w'] : []), '-f', f, img]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** debugfs icheck: block → inode (null: <block not found>) */
export function icheck(img: string, blocks: number[]): Map<number, number | null> {
  const out = new Map<number, number | null>();
  // debugfs reads command lines into a fixed buffer: a few hundred numbers a line
  const lines: string[] = [];
  for (let i = 0; i < blocks.length; i += 400) lines.push(`icheck ${blocks.slice(i, i + 400).join(' ')}`);
  const text = debugfs(img, lines);
  for (const line of text.split('\n')) {
    const m = /^(\d+)\t(\d+|<block not found>)$/.exec(line.trim());
    if (m) out.set(Number(m[1]), m[2]!.startsWith('<') ? null : Number(m[2])); // both groups always match
  }
  return out;
}

/** debugfs testb: block → in use per the block bitmap */
export function testb(img: string, blocks: number[]): Map<number, boolean> {
  const out = new Map<number, boolean>();
  const text = debugfs(
    img,
    blocks.map((b) => `testb ${b}`),
  );
  for (const m of text.matchAll(/Block (\d+) (marked in use|not in use)/g)) out.set(Number(m[1]), m[2] === 'marked in use');
  return out;
}

/** debugfs ncheck: inode → its paths ('//' at the root as debugfs prints it, made '/') */
export function ncheck(img: string, inodes: number[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  if (!inodes.length) return out;
  const lines: string[] = [];
  for (let i = 0; i < inodes.length; i += 400) lines.push(`ncheck ${inodes.slice(i, i + 400).join(' ')}`);
  const text = debugfs(img, lines);
  for (const line of text.split('\n')) {
    const m = /^(\d+)\t(.*)$/.exec(line);
    if (!m) continue;
    const l = out.get(Number(m[1])) ?? [];
    l.push(m[2]!.replace(/^\/\//, '/')); // the group always matches
    out.set(Number(m[1]), l);
  }
  return out;
}

/** dumpe2fs -h field */
export function dumpe2fsField(img: string, field: string): string {
  const text = run('dumpe2fs', ['-h', img], { allowFail: true });
  const m = new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(text);
  return m?.[1]?.trim() ?? '';
}

/** xfs_db -r with commands; returns stdout */
export function xfsDb(img: string, cmds: string[], expert = false): string {
  const args = [expert ? '-x' : '-r'];
  for (const c of cmds) args.push('-c', c);
  args.push(img);
  return run('xfs_db', args, { allowFail: false });
}

/** Creates `count` files of `size` pseudo-random bytes named prefix+i in dir. */
export function writeFiles(dir: string, prefix: string, count: number, size: number, seed = 1): void {
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `${prefix}${i}`), pseudoRandom(size + 4, seed * 7919 + i).subarray(0, size));
}

/** deterministic pseudo-random bytes */
export function pseudoRandom(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let k = 0; k + 4 <= size; k += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b.writeUInt32LE(x, k);
  }
  return b;
}
