// Exclusive opens between our own processes. Node has no flock(), so a writer holds a lock file beside the
// image (IMAGE.lock, created with O_EXCL, holding its pid and the pid's start time); when the image's
// directory is not writable (and always for block devices) the lock lives in the temp directory under the
// image's device and inode (or device number). A lock
// whose pid is gone, or whose pid now belongs to another process (pid reuse: the start time differs), is
// stale and is taken over. For block devices FileDevice also opens with O_EXCL, which the kernel enforces
// against mounts and device-mapper as well.
//
// Policy (a storage engineer's): one writer at a time — a second writable open is refused. A read-only open
// of an image that another process is writing is refused too: the reader would see blocks between their data
// and tag writes and journal sections mid-commit, and report mismatches that are not on the disk — a verify
// or scrub that cries wolf is worse than one that says "busy". Readers take no lock (any number may read at
// once); a writer does not wait for readers (the kernel does not either).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IntegrityStudioError } from '../errors.js';

export interface LockInfo {
  pid: number;
  /** the pid's start time (/proc/PID/stat field 22), to tell a live holder from a reused pid */
  start: string | null;
  host: string;
  /** the holder's command line (what the user ran), to name it in a refusal */
  cmd?: string;
}

/** The command line of a live pid (/proc/PID/cmdline), shortened, or null. */
export function commandOf(pid: number): string | null {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // node …/bin/integrity-studio.js recalc X → integrity-studio recalc X
    const i = argv.findIndex((a) => /integrity-studio(\.js)?$/.test(a));
    const words = i >= 0 ? ['integrity-studio', ...argv.slice(i + 1)] : argv;
    const line = words.join(' ');
    return line.length > 200 ? `${line.slice(0, 200)}…` : line || null;
  } catch {
    return null;
  }
}

function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: fields resume after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true; // another machine sharing the file system: assume alive
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTime(info.pid);
  return !(info.start && now && now !== info.start);
}

/** Where the lock of `file` may live: beside it, or (directory not writable) in the temp directory. */
export function lockPaths(file: string): string[] {
  const out: string[] = [];
  try {
    const st = fs.statSync(file);
    // never create files in /dev: a block device's lock lives in the temp directory, under its device number
    if (!st.isBlockDevice()) out.push(`${path.resolve(file)}.lock`);
    out.push(path.join(os.tmpdir(), st.isBlockDevice() ? `integrity-studio-blk-${st.rdev}.lock` : `integrity-studio-${st.dev}-${st.ino}.lock`));
  } catch {
    out.push(`${path.resolve(file)}.lock`); // no such file: the open reports it
  }
  return out;
}

function readLock(p: string): LockInfo | null {
  try {
    const v = JSON.parse(fs.readFileSync(p, 'utf8')) as LockInfo;
    return typeof v.pid === 'number' ? v : { pid: -1, start: null, host: os.hostname() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // unreadable or half-written: treat as stale (its writer died while creating it)
    return { pid: -1, start: null, host: os.hostname() };
  }
}

/** The live writer of `file` other than this process, if any (stale locks are ignored). */
export function lockHolder(file: string): { info: LockInfo; path: string } | null {
  for (const p of lockPaths(file)) {
    const info = readLock(p);
    if (info && info.pid !== process.pid && info.pid > 0 && alive(info)) return { info, path: p };
  }
  return null;
}

function busy(file: string, holder: { info: LockInfo; path: string }, writing: boolean): IntegrityStudioError {
  const cmd = commandOf(holder.info.pid) ?? holder.info.cmd ?? null;
  return new IntegrityStudioError(
    `${file} is in use by another process (pid ${holder.info.pid}${cmd ? `: ${cmd}` : ''}) that has it open for writing` +
      (writing ? '; only one writer at a time' : '; reading it now could report mismatches that are not on the disk') +
      ` — wait for it to finish (lock file ${holder.path})`,
    'EBUSY',
  );
}

/** Refuses a read-only open while another live process writes the image. */
export function checkNotWriting(file: string): void {
  const h = lockHolder(file);
  if (h) throw busy(file, h, false);
}

export interface WriteLock {
  readonly path: string;
  release(): void;
}

/** Takes the writer's lock of `file`, taking over a stale one; refuses when a live process holds it. */
export function acquireWriteLock(file: string): WriteLock {
  const h = lockHolder(file);
  if (h) throw busy(file, h, true);
  const info: LockInfo = { pid: process.pid, start: startTime(process.pid), host: os.hostname(), cmd: commandOf(process.pid) ?? undefined };
  let lastErr: unknown = null;
  for (const p of lockPaths(file)) {
    for (let attempt = 0; attempt < 2; attempt++) {
      let fd: number;
      try {
        fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          const cur = readLock(p);
          // this process already holds it (another thread or volume of ours: the engine host and its workers
          // share a pid and coordinate themselves); the first holder keeps the file
          if (cur && cur.pid === process.pid) return { path: p, release() {} };
          if (cur && cur.pid > 0 && alive(cur)) throw busy(file, { info: cur, path: p }, true);
          fs.rmSync(p, { force: true }); // stale: its holder is gone
          continue;
        }
        lastErr = e;
        break; // EACCES / EROFS: try the next place
      }
      try {
        fs.writeSync(fd, JSON.stringify(info) + '\n');
      } catch (e) {
        // ENOSPC / EIO beside the image: no empty lock file left behind; the next place (the temp directory) holds it
        fs.closeSync(fd);
        fs.rmSync(p, { force: true });
        lastErr = e;
        break;
      }
      fs.closeSync(fd);
      let released = false;
      return {
        path: p,
        release() {
          if (released) return;
          released = true;
          const cur = readLock(p);
          if (cur && cur.pid === process.pid) fs.rmSync(p, { force: true });
        },
      };
    }
  }
  throw new IntegrityStudioError(`${file}: cannot create a lock file (${(lastErr as Error | null)?.message ?? 'lock held'})`, 'EBUSY');
}
