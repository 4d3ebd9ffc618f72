// Changes made by others (the CLI, another dashboard, a user's dd): what the files behind a volume look like now —
// image, data device, superblock bytes, job state files — so an idle volume whose signature moved is shown again.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { jobStatePath } from '../engine/jobs/state.js';
import type { Entry } from './volumes.js';

export function signatureOf(e: Entry): string {
  const parts: string[] = [];
  const stat = (p: string) => {
    try {
      const st = fs.statSync(p);
      parts.push(`${p}:${st.ino}:${st.size}:${st.mtimeMs}`);
    } catch {
      parts.push(`${p}:-`);
    }
  };
  stat(e.path);
  if (e.options.data_device) stat(e.options.data_device);
  for (const k of ['scrub', 'recalc'] as const) stat(jobStatePath(e.path, k));
  // block devices keep their mtime: the superblock itself (recalc_sector, flags) tells a recalculation's progress
  try {
    const fd = fs.openSync(e.path, 'r');
    try {
      const b = Buffer.alloc(512);
      fs.readSync(fd, b, 0, 512, 0);
      parts.push(crypto.createHash('sha256').update(b).digest('hex'));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    parts.push('sb:-');
  }
  return parts.join('|');
}

/** Re-reads idle volumes every `ms` (0: never) and calls `changed` for each whose signature moved. */
export class Poller {
  private timer: NodeJS.Timeout | null = null;

  constructor(ms: number, tick: () => void) {
    if (ms > 0) {
      this.timer = setInterval(tick, ms);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
