// `integrity-studio COMMAND --help`: each command's options, listed from the same option tables the argument
// parser uses (so the help cannot miss an option), with one line each in integritysetup's words.
import type { ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

const DESCRIPTIONS: Record<string, string> = {
  'data-device': 'separate data device (the DEVICE then holds superblock, journal and tags)',
  integrity: 'integrity algorithm (default crc32c); not stored on disk: give the one used at format',
  'integrity-key-file': 'key of a keyed integrity algorithm (hmac-*), read from a file',
  'integrity-key-size': 'bytes of the integrity key file to use',
  'journal-integrity': 'journal MAC algorithm (hmac-sha1, hmac-sha256, hmac-sha512)',
  'journal-integrity-key-file': 'journal MAC key, read from a file',
  'journal-integrity-key-size': 'bytes of the journal MAC key file to use',
  'journal-crypt': 'journal encryption (ctr-aes, cbc-aes, xts-aes, ecb-aes, chacha20)',
  'journal-crypt-key-file': 'journal encryption key, read from a file',
  'journal-crypt-key-size': 'bytes of the journal encryption key file to use',
  'integrity-bitmap-mode': 'bitmap mode (no journal; a dirty bitmap tracks writes)',
  'integrity-no-journal': 'direct mode: no journal (a crash can leave blocks that fail verification)',
  'integrity-recalculate': 'recalculate tags (format: set the recalculating flag; open: continue it)',
  'integrity-recalculate-reset': 'restart the recalculation from sector 0',
  'allow-discards': 'allow discards (TRIM)',
  'batch-mode': 'do not ask for confirmation',
  json: 'machine-readable JSON output',
  csv: 'CSV, one row per range and extent (the default of errors)',
  'tag-size': "bytes of tag per block (default: the algorithm's digest size)",
  'sector-size': 'block size: 512, 1024, 2048 or 4096 bytes',
  'journal-size': 'journal size in bytes',
  'interleave-sectors': 'sectors of data between two runs of tags (power of two)',
  'buffer-sectors': "sectors of the kernel's metadata buffers",
  'no-wipe': 'do not wipe the device (tags stay invalid until recalculated)',
  'integrity-legacy-padding': "the old kernels' padding (no fix_padding flag)",
  'integrity-legacy-hmac': "the old kernels' HMAC without the salt (no fix_hmac flag)",
  'integrity-legacy-recalculate': "recalculate keyed tags even without the kernel's safety conditions",
  force: 'format even though the device holds a file system or other signature',
  size: 'create a new sparse image file of this size (64M, 1G, … ) and format it',
  'bitmap-sectors-per-bit': 'bitmap mode: sectors per bitmap bit',
  'bitmap-flush-time': 'bitmap mode: bitmap flush interval in ms',
  offset: 'byte offset in the provided data (a multiple of the block size)',
  length: 'bytes to read (default: to the end)',
  output: 'write to this file instead of standard output',
  input: 'read from this file instead of standard input',
  'continue-on-error': 'go on past bad blocks (they are reported; their data is unverified)',
  reset: 'start from sector 0 instead of the saved position',
  'progress-json': 'progress as one JSON line per update on standard output',
  'max-rate': "at most this many MiB of the volume per second (leaves I/O for the disk's users); fractions allowed",
  port: 'listen on this port (0: any free port); default: the port of the last run',
  'new-token': 'a new token (open tabs must be reopened); default: the token of the last run',
  'data-dir': 'where the volume list, port and token are kept',
  help: 'this help',
};
const IGNORED = new Set(['journal-watermark', 'journal-commit-time', 'progress-frequency', 'debug', 'verbose']);

export function optionLines(options: Options, own: Record<string, string> = {}): string {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' VALUE' : ''}`;
    const d = own[name] ?? DESCRIPTIONS[name] ?? (IGNORED.has(name) ? 'accepted as integritysetup does (tunes the kernel only)' : '');
    return [flag, d] as const;
  });
  const w = Math.max(...rows.map(([f]) => f.length)) + 2;
  return rows.map(([f, d]) => `  ${f.padEnd(w)}${d}`.trimEnd()).join('\n') + '\n';
}

export function commandHelp(cmd: string, synopsis: string, summary: string, options: Options, own: Record<string, string> = {}): string {
  const help = options.hash?.short === 'h' ? { type: 'boolean' as const } : { type: 'boolean' as const, short: 'h' };
  return `usage: integrity-studio ${cmd} ${synopsis}\n${summary}\noptions:\n${optionLines({ ...options, help }, own)}`;
}

/** luks-format's options in cryptsetup luksFormat's words (its -h is --hash, as in cryptsetup) */
export const LUKS_FORMAT_DESCRIPTIONS: Record<string, string> = {
  integrity: 'authentication: hmac-sha256, hmac-sha512, hmac-sha1, aead (with aes-gcm / aes-ccm / aegis128) or poly1305 (with chacha20)',
  cipher:
    "cipher, cryptsetup's name: aes-xts-random (default), aes-xts-plain64, aes-xts-essiv:sha256, aes-cbc-essiv:sha256, aes-gcm-random, aes-ccm-random, chacha20-random, aegis128-random",
  'key-size': 'encryption key size in bits (the MAC key is added on top, as cryptsetup does)',
  'sector-size': 'encryption sector size: 512 or 4096 bytes',
  pbkdf: 'keyslot KDF: argon2id (default), argon2i or pbkdf2',
  'pbkdf-force-iterations': 'KDF iterations (time cost) instead of a benchmark',
  'pbkdf-memory': 'argon2 memory cost in KiB',
  'pbkdf-parallel': 'argon2 threads',
  'iter-time': 'KDF time to aim for in ms',
  hash: 'hash of the pbkdf2 KDF and the digest (default sha256)',
  'integrity-no-wipe': 'do not initialise the tags (every sector fails authentication until written)',
  'key-file': 'read the passphrase from this file (- for standard input) instead of prompting',
  'keyfile-offset': 'bytes to skip at the start of the key file',
  'keyfile-size': 'bytes of the key file to use',
  label: 'LUKS2 label',
  type: 'header type: only luks2',
};
