// `integrity-studio errors DEVICE`: the known damage of the last scrub, every range, as CSV (the default) or JSON —
// the same rows as the dashboard's exports, streamed from the scrub's damage log to standard output, so a million
// bad blocks go through a pipe without being held in memory. Reads only our state files: 0 bytes written.
import fs from 'node:fs';
import path from 'node:path';
import { IntegrityStudioError } from '../engine/errors.js';
import { jobStatePath, readJobStateAt } from '../engine/jobs/state.js';
import { exportChunks } from '../host/damage-list.js';
import { DEFAULT_OPTIONS } from '../host/requests.js';
import { newEntry } from '../host/volumes.js';
import { writeAll, type Io } from './args.js';
import { isLuks2 } from './crypt.js';
import type { Parsed } from './main.js';

export const ERRORS_OPTIONS = {
  'data-device': { type: 'string' },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
} as const;

/** what goes to standard output in one write: rows are small, a pipe takes them in pieces this size */
const PIECE = 64 << 10;

export async function cmdErrors({ values, positionals }: Parsed, io: Io): Promise<number> {
  if (positionals.length !== 1) throw new IntegrityStudioError('errors needs exactly one DEVICE', 'EUSAGE');
  if (values.json && values.csv) throw new IntegrityStudioError('errors: --json or --csv, not both', 'EUSAGE');
  const device = path.resolve(positionals[0]!);
  if (!fs.existsSync(device)) throw new IntegrityStudioError(`${positionals[0]}: no such file or device`, 'ENOENT');
  if (!readJobStateAt(jobStatePath(device, 'scrub'))) {
    throw new IntegrityStudioError(
      `${positionals[0]}: no scrub has run on it, so no damage is known; run \`integrity-studio scrub ${positionals[0]}\` first`,
      'ENOENT',
    );
  }
  const dataDevice = typeof values['data-device'] === 'string' ? path.resolve(values['data-device']) : null;
  const e = newEntry('cli', device, path.basename(device), { ...DEFAULT_OPTIONS, data_device: dataDevice }, {});
  if (isLuks2(device)) e.luks = { volumeKey: null };
  for (const piece of exportChunks(e, values.json ? 'json' : 'csv', null, PIECE)) {
    if (io.stdout !== process.stdout) io.out(piece);
    else {
      try {
        writeAll(1, Buffer.from(piece));
      } catch (err) {
        // the reader closed the pipe (`| head`): it has what it wanted
        if ((err as NodeJS.ErrnoException).code === 'EPIPE') return 0;
        throw err;
      }
    }
  }
  return 0;
}
