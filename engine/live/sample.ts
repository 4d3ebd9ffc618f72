// One sample of a live volume, as a page watching it takes about once a second: the dm device's info, its table
// (keyless) and status, and the superblock's persisted recalculation from the device below.
import type { IntegrityStatus } from './types.js';
import { parseIntegrityTable } from './table.js';
import { DM_INFO_COLUMNS, parseDmInfo, parseIntegrityStatus } from './parse.js';
import { blockRef, systemRunner, SYSTEM_FILES, type SystemFiles, type ToolRunner } from './system.js';
import { readSuperblockDirect, type LiveSuperblock } from './superblock.js';

export interface LiveSample {
  /** ms since the epoch */
  t: number;
  name: string;
  /** false: no dm device of that name, or it no longer has an integrity target */
  present: boolean;
  devno?: string;
  uuid?: string;
  suspended?: boolean;
  open_count?: number;
  event_nr?: number;
  /** the keyless table line: a change means the table was reloaded */
  table_line?: string;
  status?: IntegrityStatus | null;
  superblock?: LiveSuperblock | null;
  /** why the superblock could not be read (a device without one under it: never an error of the sample) */
  superblock_error?: string;
}

export interface SampleOptions {
  runner?: ToolRunner;
  files?: SystemFiles;
  /** read the persisted superblock too (default true) */
  superblock?: boolean;
  now?: () => number;
}

export async function readLiveSample(name: string, opts: SampleOptions = {}): Promise<LiveSample> {
  const runner = opts.runner ?? systemRunner;
  const t = (opts.now ?? Date.now)();
  const [info, table, status] = await Promise.all([
    runner.run('dmsetup', ['info', '-c', '--noheadings', '--separator', '|', '-o', DM_INFO_COLUMNS, name]),
    runner.run('dmsetup', ['table', name]),
    runner.run('dmsetup', ['status', name]),
  ]);
  const text = (b: Buffer) => {
    const s = b.toString('utf8');
    b.fill(0);
    return s;
  };
  const infoText = text(info.stdout);
  const tableText = text(table.stdout);
  const statusText = text(status.stdout);
  if (info.status !== 0 || table.status !== 0) return { t, name, present: false };
  const i = parseDmInfo(infoText)[0];
  const line = tableText.split('\n').find((l) => l.split(/\s+/)[2] === 'integrity');
  if (!i || !line) return { t, name, present: false };
  const tb = parseIntegrityTable(line);
  const sl = statusText.split('\n').find((l) => l.split(/\s+/)[2] === 'integrity');
  const sample: LiveSample = {
    t,
    name,
    present: true,
    devno: i.devno,
    uuid: i.uuid,
    suspended: i.suspended,
    open_count: i.open_count,
    event_nr: i.event_nr,
    table_line: tb.line,
    status: status.status === 0 && sl ? parseIntegrityStatus(sl) : null,
  };
  if (opts.superblock !== false) {
    const dev = blockRef(tb.options.meta_device ?? tb.device, opts.files ?? SYSTEM_FILES).path;
    try {
      if (!dev) throw new Error(`the device ${tb.options.meta_device ?? tb.device} under it has no node`);
      sample.superblock = readSuperblockDirect(dev, tb.offset);
    } catch (e) {
      sample.superblock = null;
      sample.superblock_error = (e as Error).message;
    }
  }
  return sample;
}
