// CLI commands that change a volume: write, replay.
import fs from 'node:fs';
import { IntegrityStudioError } from '../engine/errors.js';
import { openWritable, DIRECT_MODE_WARNING } from '../engine/integrity/writable.js';
import { replayOnDisk } from '../engine/integrity/replay.js';
import { openVolume } from '../engine/volume.js';
import { isNoSpace, reserveInPlace } from '../engine/integrity/write.js';
import { SECTOR_SIZE } from '../engine/layout/superblock.js';

export interface WriteIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** integrity-studio write DEVICE [open options] --offset BYTES [--input F]: exit 0 only once flushed */
export function writeCommand(device: string, o: Parameters<typeof openWritable>[1], offset: number, input: string | undefined, io: WriteIo): number {
  const fd = input ? openInput(input) : 0;
  const vol = openWritable(device, o);
  try {
    if (vol.mode === 'direct') io.err(`integrity-studio: warning: ${DIRECT_MODE_WARNING}\n`);
    const bs = vol.geometry.block_size;
    if (offset % bs) throw new IntegrityStudioError(`--offset ${offset} is not a multiple of the ${bs}-byte sector size`);
    // an input of known length on a sparse image: its space first, so a full file system refuses the whole write
    // before any of it is made (the journal alone would catch it only one commit at a time)
    if (input && fs.fstatSync(fd).isFile()) {
      const len = fs.fstatSync(fd).size;
      if (len % bs === 0 && len > 0) {
        vol.target.checkRange(offset / SECTOR_SIZE, len / SECTOR_SIZE);
        try {
          reserveInPlace(vol.target, offset / SECTOR_SIZE, len / SECTOR_SIZE);
        } catch (e) {
          if (!isNoSpace(e)) throw e;
          throw new IntegrityStudioError(
            `${device}: no space left on device (the file system holding it is full): nothing of the ${len} bytes at offset ${offset} was written; the volume is as it was`,
            'ENOSPC',
          );
        }
      }
    }
    const chunk = Buffer.alloc(1 << 20);
    let fill = 0;
    let pos = offset;
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, chunk, fill, chunk.length - fill, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((e as NodeJS.ErrnoException).code === 'EOF') n = 0;
        else throw e;
      }
      fill += n;
      if (fill === chunk.length || (n === 0 && fill > 0)) {
        if (fill % bs)
          throw new IntegrityStudioError(
            `input length ${total + fill} is not a multiple of the ${bs}-byte sector size; nothing past byte ${offset + total} was written`,
          );
        vol.write(pos, chunk.subarray(0, fill));
        pos += fill;
        total += fill;
        fill = 0;
      }
      if (n === 0) break;
    }
    vol.flush();
    io.err(`integrity-studio: wrote ${total} bytes at offset ${offset} (${vol.mode} mode), flushed\n`);
  } finally {
    vol.close();
    if (input) fs.closeSync(fd);
  }
  return 0;
}

function openInput(p: string): number {
  try {
    return fs.openSync(p, 'r');
  } catch (e) {
    throw new IntegrityStudioError(`cannot read input ${p}: ${(e as Error).message}`, 'ENOENT');
  }
}

/** integrity-studio replay DEVICE [open options]: replay the journal on disk as the kernel would on activation */
export function replayCommand(device: string, o: Parameters<typeof openWritable>[1], io: WriteIo): number {
  const ro = openVolume(device, { ...o, readOnly: true });
  const plan = ro.replay;
  ro.close();
  const vol = openVolume(device, { ...o, readOnly: false });
  try {
    const r = replayOnDisk(vol);
    io.out(
      `${device}: replayed ${r.plan.writes.length} journal entr${r.plan.writes.length === 1 ? 'y' : 'ies'} from ${r.plan.write_sections} section(s)` +
        (r.plan.clear_reason ? `; journal cleared (${r.plan.clear_reason})` : '') +
        '\n',
    );
    void plan;
  } finally {
    vol.close();
  }
  return 0;
}
