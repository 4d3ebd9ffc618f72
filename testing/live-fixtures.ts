// Test fixtures: what dmsetup, sysfs and procfs showed in each oracle guest (testing/data/live/<release>.txt,
// made by capture.sh there), and a sysfs tree and tool runner rebuilt from them, so discovery is tested on what
// the kernels really printed. Used by tests only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from './golden.js';
import type { SystemFiles, ToolRunner } from '../engine/live/system.js';

export const TESTDATA = path.join(PROJECT_ROOT, 'testing', 'data', 'live');
export const RELEASES = ['bookworm', 'backports', 'sid'] as const;
export type Release = (typeof RELEASES)[number];

/** The sections of a capture: `### name` then its lines. */
export function capture(release: Release): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | null = null;
  for (const line of fs.readFileSync(path.join(TESTDATA, `${release}.txt`), 'utf8').split('\n')) {
    const m = /^### (.+)$/.exec(line);
    if (m) out.set(m[1]!, (cur = []));
    else if (cur && line !== '') cur.push(line);
  }
  return out;
}

export function section(c: Map<string, string[]>, name: string): string[] {
  const s = c.get(name);
  if (!s) throw new Error(`capture has no section ${name}`);
  return s;
}

/** The table line of one device in a `NAME: line` section. */
export function lineOf(c: Map<string, string[]>, sec: string, name: string): string {
  const l = section(c, sec).find((x) => x.startsWith(`${name}: `));
  if (!l) throw new Error(`no ${name} in ${sec}`);
  return l.slice(name.length + 2);
}

/** A sysfs/procfs tree as the guest had it: dm devices from the `sysfs` and `info` sections, the virtio disks
 *  under them (254:16·n is vd<a+n>), mountinfo as captured. */
export function fakeSystem(c: Map<string, string[]>): SystemFiles & { cleanup(): void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'live-sysfs-'));
  const sys = path.join(root, 'sys');
  const proc = path.join(root, 'proc');
  const dev = path.join(root, 'dev');
  fs.mkdirSync(path.join(sys, 'dev', 'block'), { recursive: true });
  fs.mkdirSync(path.join(proc, 'self'), { recursive: true });
  fs.mkdirSync(dev);
  const uuids = new Map(
    section(c, 'info').map((l) => {
      const f = l.split('|');
      return [f[0]!, f[7] ?? ''];
    }),
  );
  const block = (name: string, devno: string, size: number) => {
    const d = path.join(sys, 'class', 'block', name);
    fs.mkdirSync(path.join(d, 'holders'), { recursive: true });
    fs.mkdirSync(path.join(d, 'slaves'), { recursive: true });
    fs.writeFileSync(path.join(d, 'dev'), `${devno}\n`);
    fs.writeFileSync(path.join(d, 'size'), `${size}\n`);
    fs.symlinkSync(`../../devices/virtual/block/${name}`, path.join(sys, 'dev', 'block', devno));
    return d;
  };
  const disks = new Set<string>();
  for (const l of section(c, 'table')) for (const m of l.matchAll(/\b254:(\d+)\b/g)) disks.add(m[1]!);
  for (const minor of disks) block(`vd${String.fromCharCode(97 + Number(minor) / 16)}`, `254:${minor}`, 65536);
  for (const l of section(c, 'sysfs')) {
    const kn = l.split(' ')[0]!;
    const f = Object.fromEntries(
      l
        .split(' ')
        .slice(1)
        .map((kv) => kv.split('=') as [string, string]),
    );
    const d = block(kn, f.dev!, Number(f.size));
    fs.mkdirSync(path.join(d, 'dm'));
    fs.writeFileSync(path.join(d, 'dm', 'name'), `${f.name}\n`);
    fs.writeFileSync(path.join(d, 'dm', 'uuid'), `${uuids.get(f.name!) ?? ''}\n`);
    for (const h of (f.holders ?? '').split(',').filter(Boolean)) fs.writeFileSync(path.join(d, 'holders', h), '');
    for (const s of (f.slaves ?? '').split(',').filter(Boolean)) fs.writeFileSync(path.join(d, 'slaves', s), '');
  }
  fs.writeFileSync(path.join(proc, 'self', 'mountinfo'), section(c, 'mountinfo').join('\n') + '\n');
  return { sys, proc, dev, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

/** A runner that answers dmsetup's listing commands from the capture and records every call. */
export function captureRunner(c: Map<string, string[]>, calls: string[][] = []): ToolRunner {
  const text = (sec: string) => Buffer.from(section(c, sec).join('\n') + '\n');
  return {
    async run(tool, args) {
      calls.push([tool, ...args]);
      const a = args.join(' ');
      const ok = (stdout: Buffer) => ({ status: 0, stdout, stderr: '' });
      if (tool !== 'dmsetup') return { status: 1, stdout: Buffer.alloc(0), stderr: `${tool}: not in the capture` };
      if (a.startsWith('info -c')) return ok(text('info'));
      if (a === 'table --target integrity') return ok(text('table-integrity'));
      if (a === 'table --target crypt') return ok(text('table-crypt'));
      if (a === 'status --target integrity') return ok(text('status-integrity'));
      if (a === 'targets') return ok(text('targets'));
      return { status: 1, stdout: Buffer.alloc(0), stderr: `dmsetup ${a}: not in the capture` };
    },
  };
}
