// `integrity-studio luks-dump DEVICE [--json]`: the LUKS2 header as `cryptsetup luksDump` prints it (salts and
// the digest included, as cryptsetup does; no key material: the volume key is never read here).
import { readLuks2Header } from '../engine/luks/index.js';
import { luksDumpText } from '../engine/luks/dump.js';

export interface LuksIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const LUKS_DUMP_OPTIONS = { json: { type: 'boolean' }, debug: { type: 'boolean' }, verbose: { type: 'boolean', short: 'v' } } as const;

export async function cmdLuksDump({ values, positionals }: { values: { json?: unknown }; positionals: string[] }, io: LuksIo): Promise<number> {
  const [device] = positionals;
  if (positionals.length !== 1 || device === undefined) {
    io.err('integrity-studio: luks-dump needs exactly one DEVICE\nusage: integrity-studio luks-dump DEVICE [--json]\n');
    return 2;
  }
  const info = readLuks2Header(device);
  if (values.json) {
    io.out(JSON.stringify(info, null, 2) + '\n');
    return 0;
  }
  io.out(luksDumpText(info));
  for (const c of [info.primary, info.secondary]) {
    if (!c.valid)
      io.err(
        `integrity-studio: warning: the ${c.copy} LUKS2 header (offset ${c.offset}) is damaged: ${c.problem}; the ${info.used} copy was used (cryptsetup repair would rewrite it)\n`,
      );
  }
  return 0;
}

/**
 * The passphrase for DEVICE, as cryptsetup asks for it: on a terminal "Enter passphrase for DEVICE: " with no
 * echo; otherwise the first line of stdin (the newline is not part of it). The caller zeroes the Buffer.
 */
export async function readPassphrase(
  device: string,
  input: NodeJS.ReadStream = process.stdin,
  prompt: NodeJS.WritableStream = process.stderr,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const done = (): Buffer => {
    const all = Buffer.concat(chunks);
    for (const c of chunks) c.fill(0);
    return all;
  };
  if (input.isTTY) {
    prompt.write(`Enter passphrase for ${device}: `);
    input.setRawMode(true);
    input.resume();
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        const onData = (d: Buffer) => {
          for (const byte of d) {
            if (byte === 0x0d || byte === 0x0a) {
              input.off('data', onData);
              prompt.write('\n');
              resolve(done());
              return;
            }
            if (byte === 0x03 || byte === 0x04) {
              input.off('data', onData);
              prompt.write('\n');
              done().fill(0);
              reject(new Error('Operation interrupted.'));
              return;
            }
            if (byte === 0x7f || byte === 0x08) {
              const last = chunks.pop();
              if (last && last.length > 1) chunks.push(last.subarray(0, last.length - 1));
              continue;
            }
            chunks.push(Buffer.from([byte]));
          }
          d.fill(0);
        };
        input.on('data', onData);
      });
    } finally {
      input.setRawMode(false);
      input.pause();
    }
  }
  for await (const d of input as AsyncIterable<Buffer>) {
    const b = Buffer.isBuffer(d) ? d : Buffer.from(d);
    const nl = b.indexOf(0x0a);
    if (nl >= 0) {
      chunks.push(Buffer.from(b.subarray(0, nl)));
      b.fill(0);
      break;
    }
    chunks.push(Buffer.from(b));
    b.fill(0);
  }
  return done();
}
