// dm-integrity and dm-crypt table lines (`dmsetup table`), decoded with every key redacted. The integrity line is
// what dm_integrity_status(STATUSTYPE_TABLE) prints: `<start> <length> integrity <dev> <offset> <tag_size> <mode>
// <#args> <args…>`, the algorithms as `internal_hash:<alg>[:<hex key>]` (EMIT_ALG); the crypt line is crypt_status's
// `<cipher> <key> <iv_offset> <dev> <offset> [<#opt> <opt…>]`. A key never survives decoding: keyed lines are edited
// (for a reload) as bytes by editKeyedTable, never turned into strings.
import { IntegrityStudioError } from '../errors.js';
import type { IntegrityMode, IntegrityTable, IntegrityTableOptions, TableAlgorithm } from './types.js';

const MODES: ReadonlySet<string> = new Set(['J', 'B', 'D', 'R', 'I']);
const ALG_OPTIONS = ['internal_hash', 'journal_crypt', 'journal_mac'] as const;
const FLAG_OPTIONS = ['recalculate', 'reset_recalculate', 'allow_discards', 'fix_padding', 'fix_hmac', 'legacy_recalculate'] as const;
const NUMBER_OPTIONS = [
  'block_size',
  'journal_sectors',
  'interleave_sectors',
  'buffer_sectors',
  'journal_watermark',
  'commit_time',
  'sectors_per_bit',
  'bitmap_flush_interval',
] as const;
export const KEY_PLACEHOLDER = '<key>';

export type FlagOption = (typeof FLAG_OPTIONS)[number];
type NumberOption = (typeof NUMBER_OPTIONS)[number];

/** Splits `NAME: rest` (dmsetup's listing of several devices) from a bare table line. */
export function splitNamedLine(line: string): { name: string | null; rest: string } {
  const m = /^([^\s:][^\s]*?): (\d+ \d+ \S+.*)$/.exec(line.trim());
  return m ? { name: m[1]!, rest: m[2]! } : { name: null, rest: line.trim() };
}

/** get_alg_and_key: `<option>:<alg>[:<key>]`, the algorithm up to the next ':'. Never keeps the key. */
function algorithm(value: string): TableAlgorithm {
  const colon = value.indexOf(':');
  if (colon < 0) return { name: value, keyed: false };
  const key = value.slice(colon + 1);
  return { name: value.slice(0, colon), keyed: true, keyBytes: Math.floor(key.length / 2) };
}

/** An unknown option as we may show it: a value that could be key material (long hex) is dropped. */
function safeUnknown(token: string): string {
  const colon = token.indexOf(':');
  if (colon < 0) return token;
  return /[0-9a-fA-F]{16,}/.test(token.slice(colon + 1)) ? `${token.slice(0, colon)}:${KEY_PLACEHOLDER}` : token;
}

function int(s: string | undefined, what: string): number {
  if (s === undefined || !/^\d+$/.test(s))
    throw new IntegrityStudioError(`dm table: ${what} is not a number (${s === undefined ? 'missing' : JSON.stringify(s.slice(0, 40))})`, 'EDMTABLE');
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new IntegrityStudioError(`dm table: ${what} is too large`, 'EDMTABLE');
  return n;
}

/** Decodes one integrity segment line (with or without `NAME: `). Keys in it are dropped; `line` has placeholders. */
export function parseIntegrityTable(input: string): IntegrityTable {
  const { rest } = splitNamedLine(input);
  const t = rest.split(/\s+/);
  if (t[2] !== 'integrity') throw new IntegrityStudioError(`dm table: not an integrity target (${t[2] ?? 'empty line'})`, 'EDMTABLE');
  const mode = t[6] ?? '';
  if (!MODES.has(mode)) throw new IntegrityStudioError(`dm table: unknown integrity mode ${JSON.stringify(mode.slice(0, 8))}`, 'EDMTABLE');
  const argc = int(t[7], 'argument count');
  const args = t.slice(8);
  if (args.length !== argc) throw new IntegrityStudioError(`dm table: ${argc} arguments announced, ${args.length} present`, 'EDMTABLE');
  const options: IntegrityTableOptions = {
    recalculate: false,
    reset_recalculate: false,
    allow_discards: false,
    fix_padding: false,
    fix_hmac: false,
    legacy_recalculate: false,
  };
  const unknown: string[] = [];
  const shown: string[] = [];
  for (const a of args) {
    const colon = a.indexOf(':');
    const key = colon < 0 ? a : a.slice(0, colon);
    const value = colon < 0 ? undefined : a.slice(colon + 1);
    if ((FLAG_OPTIONS as readonly string[]).includes(a)) {
      options[a as FlagOption] = true;
      shown.push(a);
    } else if (value !== undefined && (NUMBER_OPTIONS as readonly string[]).includes(key)) {
      options[key as NumberOption] = int(value, key);
      shown.push(a);
    } else if (key === 'meta_device' && value !== undefined) {
      options.meta_device = value;
      shown.push(a);
    } else if (value !== undefined && (ALG_OPTIONS as readonly string[]).includes(key)) {
      const alg = algorithm(value);
      options[key as (typeof ALG_OPTIONS)[number]] = alg;
      shown.push(`${key}:${alg.name}${alg.keyed ? `:${KEY_PLACEHOLDER}` : ''}`);
    } else {
      const safe = safeUnknown(a);
      unknown.push(safe);
      shown.push(safe);
    }
  }
  return {
    start: int(t[0], 'start'),
    length: int(t[1], 'length'),
    device: t[3] ?? '',
    offset: int(t[4], 'offset'),
    tag_size: int(t[5], 'tag size'),
    mode: mode as IntegrityMode,
    options,
    unknown,
    line: [...t.slice(0, 8), ...shown].join(' '),
  };
}

/** A line with every integrity/crypt key replaced by the placeholder, for anything shown or logged. */
export function redactTableLine(line: string): string {
  const { name, rest } = splitNamedLine(line);
  const t = rest.split(/\s+/);
  let out: string;
  if (t[2] === 'integrity') {
    try {
      out = parseIntegrityTable(rest).line;
    } catch {
      out = t.map((w) => (/^(internal_hash|journal_crypt|journal_mac):/.test(w) ? redactAlgToken(w) : safeUnknown(w))).join(' ');
    }
  } else if (t[2] === 'crypt') {
    out = t.map((w, i) => (i === 4 ? KEY_PLACEHOLDER : safeUnknown(w))).join(' ');
  } else {
    out = t.map(safeUnknown).join(' ');
  }
  return name ? `${name}: ${out}` : out;
}

function redactAlgToken(w: string): string {
  const first = w.indexOf(':');
  const second = w.indexOf(':', first + 1);
  return second < 0 ? w : `${w.slice(0, second)}:${KEY_PLACEHOLDER}`;
}

/** dm-crypt's table (crypt_status STATUSTYPE_TABLE), keyless: the cipher, the data device and the AEAD option. */
export interface CryptTable {
  start: number;
  length: number;
  cipher: string;
  /** the key field: always redacted; `keyring` when it refers to the kernel keyring (":96:logon:…") */
  key: 'hex' | 'keyring' | 'none';
  iv_offset: number;
  device: string;
  offset: number;
  /** `integrity:<tag size>:<type>` (cipher_c2dm: aead, or none for IV-only) */
  integrity: string | null;
  sector_size: number;
  options: string[];
  line: string;
}

export function parseCryptTable(input: string): CryptTable {
  const { rest } = splitNamedLine(input);
  const t = rest.split(/\s+/);
  if (t[2] !== 'crypt') throw new IntegrityStudioError(`dm table: not a crypt target (${t[2] ?? 'empty line'})`, 'EDMTABLE');
  const keyField = t[4] ?? '';
  const optc = t[8] === undefined ? 0 : int(t[8], 'optional argument count');
  const options = t.slice(9, 9 + optc).map(safeUnknown);
  const integrity = options.find((o) => o.startsWith('integrity:')) ?? null;
  const sectorOpt = options.find((o) => o.startsWith('sector_size:'));
  return {
    start: int(t[0], 'start'),
    length: int(t[1], 'length'),
    cipher: t[3] ?? '',
    key: keyField === '-' ? 'none' : keyField.startsWith(':') ? 'keyring' : 'hex',
    iv_offset: int(t[5], 'iv offset'),
    device: t[6] ?? '',
    offset: int(t[7], 'offset'),
    integrity,
    sector_size: sectorOpt ? int(sectorOpt.slice('sector_size:'.length), 'sector_size') : 512,
    options,
    line: redactTableLine(rest),
  };
}

const SPACE = 0x20;

/**
 * A keyed table line (from `dmsetup table --showkeys NAME`, as bytes) with flag options added (right after the
 * argument count: the kernel takes options in any order) and removed, the count adjusted, for `dmsetup reload NAME`
 * on stdin. Key tokens are copied as bytes, never decoded; the caller zeroes both buffers when done.
 */
export function editKeyedTable(keyed: Buffer, edit: { add?: FlagOption[]; remove?: FlagOption[] }): Buffer {
  let end = keyed.indexOf(0x0a);
  if (end < 0) end = keyed.length;
  const tokens: Array<[number, number]> = [];
  for (let i = 0; i < end; ) {
    while (i < end && keyed[i] === SPACE) i++;
    const s = i;
    while (i < end && keyed[i] !== SPACE) i++;
    if (i > s) tokens.push([s, i]);
  }
  // only the header and option names are read as text; a key-carrying option is recognised by its prefix
  const head = (k: number, max = 32) => keyed.toString('latin1', tokens[k]![0], Math.min(tokens[k]![1], tokens[k]![0] + max));
  if (tokens.length < 8 || head(2) !== 'integrity') throw new IntegrityStudioError('dm table: not an integrity segment', 'EDMTABLE');
  const isKeyed = (k: number) => /^(internal_hash|journal_crypt|journal_mac):/.test(head(k));
  const opts: Array<number | string> = [];
  for (let k = 8; k < tokens.length; k++) opts.push(isKeyed(k) ? k : keyed.toString('latin1', tokens[k]![0], tokens[k]![1]));
  const remove = new Set<string>(edit.remove ?? []);
  const added = (edit.add ?? []).filter((f) => !opts.includes(f) && !remove.has(f));
  const kept = [...added, ...opts.filter((o) => typeof o !== 'string' || !remove.has(o))];
  const parts: Buffer[] = [];
  for (let k = 0; k < 7; k++) parts.push(keyed.subarray(tokens[k]![0], tokens[k]![1]), Buffer.from(' '));
  parts.push(Buffer.from(String(kept.length)));
  for (const o of kept) parts.push(Buffer.from(' '), typeof o === 'string' ? Buffer.from(o, 'latin1') : keyed.subarray(tokens[o]![0], tokens[o]![1]));
  parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}

/**
 * The sed program that makes the same edit to `dmsetup table --showkeys NAME`'s output, for the equivalent shell
 * command shown to the user (the keys then go from dmsetup to dmsetup through a pipe, never into an argument).
 */
export function sedForEdit(table: IntegrityTable, edit: { add?: FlagOption[]; remove?: FlagOption[] }): string[] {
  const present = (f: FlagOption) => table.options[f];
  const remove = (edit.remove ?? []).filter(present);
  const add = (edit.add ?? []).filter((f) => !present(f) && !remove.includes(f));
  const before = table.line.split(' ').length - 8;
  const argc = before - remove.length + add.length;
  const expr: string[] = [];
  for (const f of remove) expr.push('-e', `s/ ${f}( |$)/\\1/`);
  expr.push('-e', `s/^(([^ ]+ ){6}${table.mode}) ${before}( |$)/\\1 ${[argc, ...add].join(' ')}\\3/`);
  return ['sed', '-E', ...expr];
}
