// `integrity-studio resize DEVICE [open options] [--size SECTORS | --device-size BYTES] [--wipe] [--json]`:
// integritysetup resize's options. Without a size the volume takes the whole device (after `truncate -s` or an
// LV extension); grown without --wipe, the new area is recalculated here as the kernel's "recalculate" reload
// does (a Ctrl-C pauses it: `recalc` resumes), leaving the superblock as the kernel leaves it.
import { IntegrityStudioError } from '../engine/errors.js';
import { intOpt, OPEN_OPTIONS, str, volumeOptions, type Io, type Values } from './args.js';
import { parseSize } from '../engine/commands/format.js';
import { resizeVolume } from '../engine/commands/resize.js';
import { runJobCommand } from './jobs.js';
import { SECTOR_SIZE } from '../engine/layout/superblock.js';

export const RESIZE_OPTIONS = {
  ...OPEN_OPTIONS,
  size: { type: 'string', short: 'b' },
  'device-size': { type: 'string' },
  wipe: { type: 'boolean' },
  'progress-json': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export async function cmdResize({ values, positionals }: { values: Values; positionals: string[] }, io: Io): Promise<number> {
  if (positionals.length !== 1)
    throw new IntegrityStudioError(positionals.length ? `resize: unexpected argument "${positionals[1]}"` : 'resize: missing DEVICE');
  const device = positionals[0]!;
  if (values.size !== undefined && values['device-size'] !== undefined) throw new IntegrityStudioError('--size and --device-size exclude each other');
  let sizeSectors = intOpt(values, 'size');
  const ds = str(values, 'device-size');
  if (ds !== undefined) {
    const b = parseSize(ds);
    if (b % SECTOR_SIZE) throw new IntegrityStudioError(`--device-size ${ds} is not a multiple of 512 bytes`);
    sizeSectors = b / SECTOR_SIZE;
  }
  // integritysetup: size 0 means "the whole device"
  if (sizeSectors === 0) sizeSectors = undefined;
  const o = volumeOptions(values);
  const r = resizeVolume(device, { ...o, sizeSectors, wipe: !!values.wipe });
  let code = 0;
  if (r.new_area?.how === 'recalculate') {
    code = await runJobCommand(
      { kind: 'recalc', device, volume: o },
      { progressJson: !!values['progress-json'], json: false },
      { out: values.json ? () => {} : io.out, err: io.err, tty: !!process.stderr.isTTY },
    );
  }
  if (values.json) io.out(JSON.stringify({ device, ...r }) + '\n');
  else if (r.action === 'none') io.out(`${device}: already ${r.new_provided_data_sectors} sectors; nothing to do\n`);
  else {
    io.out(
      `${device}: ${r.action === 'grow' ? 'grown' : 'shrunk'} from ${r.old_provided_data_sectors} to ${r.new_provided_data_sectors} sectors (${r.new_provided_data_sectors * SECTOR_SIZE} bytes)\n`,
    );
    if (r.new_area)
      io.out(`  new sectors ${r.new_area.from}-${r.new_area.to - 1}: ${r.new_area.how === 'wiped' ? 'zeroed with valid tags' : 'recalculated'}\n`);
  }
  return code;
}
