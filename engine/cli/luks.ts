// `integrity-studio luks-dump DEVICE [--json]`: the LUKS2 header as `cryptsetup luksDump` prints it (salts and
// the digest included, as cryptsetup does; no key material: the volume key is never read here).
import { parseArgs } from 'node:util';
import { readLuks2Header } from '../luks/index.js';
import { luksDumpText } from '../luks/dump.js';

export interface LuksIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export async function cmdLuksDump(args: string[], io: LuksIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, debug: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } } });
  if (positionals.length !== 1) {
    io.err('integrity-studio: luks-dump needs exactly one DEVICE\nusage: integrity-studio luks-dump DEVICE [--json]\n');
    return 2;
  }
  const info = readLuks2Header(positionals[0]);
  if (values.json) {
    io.out(JSON.stringify(info, null, 2) + '\n');
    return 0;
  }
  io.out(luksDumpText(info));
  for (const c of [info.primary, info.secondary]) {
    if (!c.valid) io.err(`integrity-studio: warning: the ${c.copy} LUKS2 header (offset ${c.offset}) is damaged: ${c.problem}; the ${info.used} copy was used (cryptsetup repair would rewrite it)\n`);
  }
  return 0;
}
