// The live features' only ways into the system: the device-mapper tools run as child processes (never through a
// shell: arguments are an argv, secrets go on stdin or a pipe), and sysfs/procfs read as files. Both are injectable
// so the logic above them is tested on recorded output.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { IntegrityStudioError } from '../errors.js';
import type { BlockRef } from './types.js';

export type Tool = 'dmsetup' | 'integritysetup' | 'cryptsetup';

export interface RunResult {
  status: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** written to the child's stdin, then stdin is closed (a keyed table for `dmsetup reload`) */
  stdin?: Buffer;
  timeoutMs?: number;
}

export interface ToolRunner {
  run(tool: Tool, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** The tool's absolute path: $PATH, then the system directories (a non-root $PATH often lacks /sbin). */
export function findTool(tool: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const dirs = [...(env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...SYSTEM_DIRS];
  for (const d of dirs) {
    const p = path.join(d, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* next */
    }
  }
  return null;
}

function toolPath(tool: Tool): string {
  const p = findTool(tool);
  if (!p)
    throw new IntegrityStudioError(
      `${tool} is not installed (it comes with ${tool === 'dmsetup' ? 'the dmsetup package (lvm2)' : 'cryptsetup-bin'})`,
      'ENOTOOL',
    );
  return p;
}

/** Runs the real tools. Buffers the child returns are the caller's to zero (a --showkeys table). */
export const systemRunner: ToolRunner = {
  run(tool, args, opts = {}) {
    return new Promise((resolve, reject) => {
      let file: string;
      try {
        file = toolPath(tool);
      } catch (e) {
        reject(e);
        return;
      }
      const child = spawn(file, [...args], { stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 120_000 });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => reject(new IntegrityStudioError(`${tool} could not be started: ${e.message}`, 'ENOTOOL')));
      child.on('close', (code, signal) => {
        const stdout = Buffer.concat(out);
        for (const b of out) b.fill(0);
        resolve({ status: code ?? (signal ? 128 : 1), stdout, stderr: Buffer.concat(err).toString('utf8') });
      });
      const feed = (s: NodeJS.WritableStream | null | undefined, b: Buffer | undefined) => {
        if (!s) return;
        (s as NodeJS.WritableStream & { on(e: 'error', f: () => void): void }).on('error', () => {
          /* the child closed it early: its status says why */
        });
        if (b) s.end(b);
        else s.end();
      };
      feed(child.stdin, opts.stdin);
    });
  },
};

/** The synchronous form, for worker threads (the live scrub polls `dmsetup status`). */
export function runToolSync(tool: Tool, args: readonly string[]): RunResult {
  const r = spawnSync(toolPath(tool), [...args], { encoding: 'buffer', timeout: 60_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? Buffer.alloc(0), stderr: (r.stderr ?? Buffer.alloc(0)).toString('utf8') };
}

/** Where sysfs and procfs are (a folder tree in tests). */
export interface SystemFiles {
  sys: string;
  proc: string;
  dev: string;
}
export const SYSTEM_FILES: SystemFiles = { sys: '/sys', proc: '/proc', dev: '/dev' };

function readText(p: string): string | null {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function listDir(p: string): string[] {
  try {
    return fs.readdirSync(p).sort();
  } catch {
    return [];
  }
}

/** /sys/dev/block/MAJ:MIN → the kernel's name of that block device (the link's last component). */
export function kernelNameOf(devno: string, files: SystemFiles = SYSTEM_FILES): string | null {
  try {
    return path.basename(fs.readlinkSync(path.join(files.sys, 'dev', 'block', devno)));
  } catch {
    return null;
  }
}

function sysBlockDir(kernelName: string, files: SystemFiles): string {
  // partitions live under their disk in /sys/block, but /sys/class/block has every block device
  return path.join(files.sys, 'class', 'block', kernelName);
}

export function blockRef(devno: string, files: SystemFiles = SYSTEM_FILES): BlockRef {
  const kn = kernelNameOf(devno, files);
  if (!kn) return { devno, kernel_name: null, path: null, size_sectors: null };
  const dir = sysBlockDir(kn, files);
  const size = readText(path.join(dir, 'size'));
  const ref: BlockRef = { devno, kernel_name: kn, path: path.join(files.dev, kn), size_sectors: size && /^\d+/.test(size) ? Number(size.trim()) : null };
  const loop = readText(path.join(dir, 'loop', 'backing_file'));
  if (loop) ref.loop_file = loop.trim();
  const dm = readText(path.join(dir, 'dm', 'name'));
  if (dm) ref.dm_name = dm.trim();
  return ref;
}

/** /sys/class/block/NAME/holders and slaves (names of the kernel's block devices stacked on / under it). */
export function holdersOf(kernelName: string, files: SystemFiles = SYSTEM_FILES): string[] {
  return listDir(path.join(sysBlockDir(kernelName, files), 'holders'));
}
export function slavesOf(kernelName: string, files: SystemFiles = SYSTEM_FILES): string[] {
  return listDir(path.join(sysBlockDir(kernelName, files), 'slaves'));
}

/** major:minor of a kernel block device name, from /sys/class/block/NAME/dev. */
export function devnoOf(kernelName: string, files: SystemFiles = SYSTEM_FILES): string | null {
  const d = readText(path.join(sysBlockDir(kernelName, files), 'dev'));
  return d ? d.trim() : null;
}

export function dmUuidOf(kernelName: string, files: SystemFiles = SYSTEM_FILES): string | null {
  const u = readText(path.join(sysBlockDir(kernelName, files), 'dm', 'uuid'));
  return u === null ? null : u.trim();
}

export function dmNameOf(kernelName: string, files: SystemFiles = SYSTEM_FILES): string | null {
  const u = readText(path.join(sysBlockDir(kernelName, files), 'dm', 'name'));
  return u === null ? null : u.trim();
}

export function readMountinfo(files: SystemFiles = SYSTEM_FILES): string {
  return readText(path.join(files.proc, 'self', 'mountinfo')) ?? '';
}

/**
 * Hands secrets to a child as files it can open by path, without writing them to any disk: one FIFO per secret in a
 * private folder (0700), each written (with O_NONBLOCK retries, so a child that never opens it cannot hang us) as
 * soon as the child opens it, while `fn` runs. A child's stdio here is a socket, which Linux will not open through
 * /dev/fd/N (ENXIO), hence FIFOs. The folder is removed afterwards; the buffers are the caller's to zero.
 */
export async function withSecretFifos<T>(secrets: readonly Buffer[], fn: (paths: string[]) => Promise<T>): Promise<T> {
  if (!secrets.length) return fn([]);
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/run') && process.getuid?.() === 0 ? '/run' : os.tmpdir(), 'integrity-studio-key-'));
  fs.chmodSync(dir, 0o700);
  const paths = secrets.map((_, i) => path.join(dir, `k${i}`));
  let done = false;
  try {
    for (const p of paths) {
      const r = spawnSync(findTool('mkfifo') ?? 'mkfifo', ['-m', '600', p]);
      if (r.status !== 0) throw new IntegrityStudioError(`cannot create a pipe for a key in ${dir}`, 'EIO');
    }
    const writers = paths.map(async (p, i) => {
      while (!done) {
        let fd: number;
        try {
          fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENXIO') return;
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        try {
          fs.writeSync(fd, secrets[i]!);
        } catch {
          /* the reader went away: its status says why */
        }
        fs.closeSync(fd);
        return;
      }
    });
    try {
      return await fn(paths);
    } finally {
      done = true;
      await Promise.all(writers);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
