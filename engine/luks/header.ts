// LUKS2 binary headers and JSON metadata (cryptsetup docs/on-disk-format-luks2.pdf; lib/luks2/luks2_disk_metadata.c
// for reading both copies, lib/luks2/luks2_json_metadata.c for the validation). Parsing is pure (Buffers in,
// plain data out); readLuks2Header does the reads.
import fs from 'node:fs';
import crypto from 'node:crypto';
import { FormatError, IntegrityStudioError } from '../errors.js';
import { FileDevice, type BlockDevice } from '../io/device.js';
import type {
  HeaderCopyName,
  Luks2BinaryHeader,
  Luks2Config,
  Luks2Digest,
  Luks2Info,
  Luks2Integrity,
  Luks2Kdf,
  Luks2Keyslot,
  Luks2Segment,
  Luks2Token,
} from './types.js';

export const LUKS2_HDR_BIN_LEN = 4096;
export const LUKS2_MAGIC_1ST = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]); // "LUKS\xba\xbe"
export const LUKS2_MAGIC_2ND = Buffer.from([0x53, 0x4b, 0x55, 0x4c, 0xba, 0xbe]); // "SKUL\xba\xbe"
export const LUKS2_HDR_16K_LEN = 0x4000;
export const LUKS2_HDR_OFFSET_MAX = 0x400000;
/** where the secondary header is searched when the primary gives no size (LUKS2_HDR2_OFFSETS) */
export const LUKS2_HDR2_OFFSETS: [number, ...number[]] = [0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000];
/** the header sizes cryptsetup accepts (16 KiB .. 4 MiB, powers of two) */
export const LUKS2_HDR_SIZES = [0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000];

// struct luks2_hdr_disk field offsets
export const OFF = {
  magic: 0,
  version: 6,
  hdrSize: 8,
  seqid: 16,
  label: 24,
  checksumAlg: 72,
  salt: 104,
  uuid: 168,
  subsystem: 208,
  hdrOffset: 256,
  csum: 448,
} as const;
export const LABEL_L = 48;
export const CHECKSUM_ALG_L = 32;
export const SALT_L = 64;
export const UUID_L = 40;
export const CHECKSUM_L = 64;

/** A LUKS2 header that cannot be used; the message names the copy and the problem. */
export class LuksHeaderError extends FormatError {
  constructor(message: string) {
    super(message);
    this.name = 'LuksHeaderError';
  }
}

function cstr(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? len - 1 : z).toString('latin1');
}

function be64(b: Buffer, off: number): number {
  const v = b.readBigUInt64BE(off);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER + 1 : Number(v);
}

/** node:crypto's name for a cryptsetup hash name, or null when node has none. */
export function nodeHash(alg: string): string | null {
  const a = alg.toLowerCase();
  const map: Record<string, string> = {
    sha1: 'sha1',
    sha224: 'sha224',
    sha256: 'sha256',
    sha384: 'sha384',
    sha512: 'sha512',
    'sha3-256': 'sha3-256',
    'sha3-512': 'sha3-512',
    ripemd160: 'ripemd160',
    whirlpool: 'whirlpool',
    blake2b512: 'blake2b512',
  };
  const n = map[a];
  if (!n) return null;
  return crypto.getHashes().includes(n) ? n : null;
}

/** The checksum of |binary header with csum zeroed|JSON area| (hdr_checksum_calculate). */
export function headerChecksum(alg: string, bin: Buffer, jsonArea: Buffer): Buffer {
  const h = nodeHash(alg);
  if (!h) throw new LuksHeaderError(`unsupported LUKS2 header checksum algorithm "${alg}"`);
  const tmp = Buffer.from(bin.subarray(0, LUKS2_HDR_BIN_LEN));
  tmp.fill(0, OFF.csum, OFF.csum + CHECKSUM_L);
  return crypto.createHash(h).update(tmp).update(jsonArea).digest();
}

interface RawCopy {
  hdr: Luks2BinaryHeader;
  json?: unknown;
}

function describeBinary(copy: HeaderCopyName, offset: number, b: Buffer): Omit<Luks2BinaryHeader, 'valid' | 'problem'> {
  return {
    copy,
    offset,
    magic: b.subarray(0, 6).toString('hex'),
    version: b.readUInt16BE(OFF.version),
    hdrSize: be64(b, OFF.hdrSize),
    seqid: be64(b, OFF.seqid),
    label: cstr(b, OFF.label, LABEL_L),
    checksumAlg: cstr(b, OFF.checksumAlg, CHECKSUM_ALG_L),
    salt: b.subarray(OFF.salt, OFF.salt + SALT_L).toString('hex'),
    uuid: cstr(b, OFF.uuid, UUID_L),
    subsystem: cstr(b, OFF.subsystem, LABEL_L),
    hdrOffset: be64(b, OFF.hdrOffset),
    csum: b.subarray(OFF.csum, OFF.csum + CHECKSUM_L).toString('hex'),
  };
}

/** hdr_disk_sanity_check_pre: the checks before the JSON area is read. Returns the problem or null. */
function sanityPre(b: Buffer, secondary: boolean, offset: number): string | null {
  const magic = secondary ? LUKS2_MAGIC_2ND : LUKS2_MAGIC_1ST;
  if (!b.subarray(0, 6).equals(magic)) {
    if (b.subarray(0, 6).equals(LUKS2_MAGIC_1ST) && b.readUInt16BE(OFF.version) === 1) return 'this is a LUKS1 header (version 1), not LUKS2';
    return 'bad magic (no LUKS2 header here)';
  }
  const version = b.readUInt16BE(OFF.version);
  if (version !== 2) return `unsupported LUKS2 header version ${version}`;
  const hdrOffset = be64(b, OFF.hdrOffset);
  if (hdrOffset !== offset) return `header offset field says ${hdrOffset}, but the header is at ${offset}`;
  const size = be64(b, OFF.hdrSize);
  if (size < LUKS2_HDR_16K_LEN || size > LUKS2_HDR_OFFSET_MAX) return `bogus header size ${size}`;
  if (!LUKS2_HDR_SIZES.includes(size)) return `header size ${size} is not one of 16 KiB..4 MiB (a power of two)`;
  if (secondary && offset !== size) return `secondary header at ${offset} does not match its header size ${size}`;
  return null;
}

/** validate_json_area + JSON.parse: the JSON text, then only NUL bytes to the end of the area. */
export function parseJsonArea(area: Buffer): unknown {
  if (area[0] !== 0x7b) throw new Error('the JSON area does not start with "{"');
  const end = area.indexOf(0);
  if (end < 0) throw new Error('the JSON area has no terminating NUL byte');
  let obj: unknown;
  try {
    obj = JSON.parse(area.subarray(0, end).toString('utf8'));
  } catch (e) {
    throw new Error(`the JSON area is not valid JSON (${(e as Error).message})`);
  }
  for (let i = end; i < area.length; i++) {
    const byte = area.readUInt8(i);
    if (byte !== 0) throw new Error(`forbidden byte 0x${byte.toString(16).padStart(2, '0')} after the JSON text at offset ${i}`);
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error('the JSON metadata is not an object');
  return obj;
}

function readAt(dev: BlockDevice, pos: number, len: number): Buffer | null {
  if (pos + len > dev.size) return null;
  const b = Buffer.alloc(len);
  dev.read(b, pos);
  return b;
}

/** hdr_read_disk + parse_and_validate_json for one copy. */
function readCopy(dev: BlockDevice, copy: HeaderCopyName, offset: number): RawCopy {
  const bin = readAt(dev, offset, LUKS2_HDR_BIN_LEN);
  if (!bin) {
    return {
      hdr: {
        copy,
        offset,
        valid: false,
        problem: `truncated: the device ends at ${dev.size} bytes, before the ${LUKS2_HDR_BIN_LEN}-byte binary header at ${offset}`,
      },
    };
  }
  const desc = describeBinary(copy, offset, bin);
  const bad = (problem: string): RawCopy => ({ hdr: { ...desc, valid: false, problem } });
  const pre = sanityPre(bin, copy === 'secondary', offset);
  if (pre) return bad(pre);
  const hdrSize = desc.hdrSize!;
  const area = readAt(dev, offset + LUKS2_HDR_BIN_LEN, hdrSize - LUKS2_HDR_BIN_LEN);
  if (!area) return bad(`truncated: the device ends at ${dev.size} bytes, inside the JSON area (${offset + LUKS2_HDR_BIN_LEN}..${offset + hdrSize})`);
  const alg = desc.checksumAlg!;
  if (!nodeHash(alg)) return bad(`unsupported checksum algorithm "${alg}"`);
  const sum = headerChecksum(alg, bin, area);
  if (!sum.equals(bin.subarray(OFF.csum, OFF.csum + sum.length))) return bad(`checksum mismatch (${alg} over the header and JSON area)`);
  let json: unknown;
  try {
    json = parseJsonArea(area);
    validateJson(json, hdrSize);
  } catch (e) {
    return bad((e as Error).message);
  }
  return { hdr: { ...desc, valid: true }, json };
}

// ---- JSON metadata (LUKS2_hdr_validate) ----

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class JsonProblem extends Error {}

function fail(msg: string): never {
  throw new JsonProblem(msg);
}

function obj(parent: Obj, key: string, where: string): Obj {
  const v = parent[key];
  if (!isObj(v)) fail(`${where}: "${key}" is missing or not an object`);
  return v;
}

function str(parent: Obj, key: string, where: string): string {
  const v = parent[key];
  if (typeof v !== 'string') fail(`${where}: "${key}" is missing or not a string`);
  return v;
}

function optStr(parent: Obj, key: string, where: string): string | undefined {
  return parent[key] === undefined ? undefined : str(parent, key, where);
}

/** an integer stored as a JSON number (json_object_get_int) */
function int(parent: Obj, key: string, where: string, min = 0, max = 0x7fffffff): number {
  const v = parent[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(`${where}: "${key}" is missing or not an integer`);
  if (v < min || v > max) fail(`${where}: "${key}" ${v} is out of range (${min}..${max})`);
  return v;
}

/** a uint64 stored as a decimal string (json_str_to_uint64) */
function u64(parent: Obj, key: string, where: string): number {
  const v = parent[key];
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v)) fail(`${where}: "${key}" is missing or not a decimal string (uint64)`);
  const n = BigInt(v);
  if (n > 0xffffffffffffffffn) fail(`${where}: "${key}" ${v} does not fit 64 bits`);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${where}: "${key}" ${v} is larger than this tool handles (2^53)`);
  return Number(n);
}

function b64(parent: Obj, key: string, where: string): string {
  const v = str(parent, key, where);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) fail(`${where}: "${key}" is not base64`);
  return v;
}

function idList(parent: Obj, key: string, where: string): number[] {
  const v = parent[key];
  if (!Array.isArray(v)) fail(`${where}: "${key}" is missing or not an array`);
  return v.map((x) => {
    if (typeof x !== 'string' || !/^[0-9]+$/.test(x) || Number(x) > 0x7fffffff) fail(`${where}: "${key}" holds ${JSON.stringify(x)}, not a numbered id string`);
    return Number(x);
  });
}

function entries(section: Obj, name: string, max: number): [number, Obj][] {
  const out: [number, Obj][] = [];
  for (const [k, v] of Object.entries(section)) {
    if (!/^[0-9]+$/.test(k) || Number(k) >= max) fail(`${name}: "${k}" is not a valid id (0..${max - 1})`);
    if (!isObj(v)) fail(`${name} ${k}: not an object`);
    out.push([Number(k), v]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

export const LUKS2_KEYSLOTS_MAX = 32;
export const LUKS2_TOKENS_MAX = 32;

function parseKdf(k: Obj, where: string): Luks2Kdf {
  const type = str(k, 'type', where);
  if (type === 'pbkdf2') {
    return { type, hash: str(k, 'hash', where), iterations: int(k, 'iterations', where, 1), salt: b64(k, 'salt', where) };
  }
  if (type === 'argon2i' || type === 'argon2id') {
    return { type, time: int(k, 'time', where, 1), memory: int(k, 'memory', where, 1), cpus: int(k, 'cpus', where, 1), salt: b64(k, 'salt', where) };
  }
  fail(`${where}: unknown kdf type "${type}"`);
}

function parseKeyslot(id: number, k: Obj): Luks2Keyslot {
  const w = `keyslot ${id}`;
  const type = str(k, 'type', w);
  const keySize = int(k, 'key_size', w, 1, 4096);
  const pr = k.priority === undefined ? undefined : int(k, 'priority', w, 0, 2);
  const kdfO = obj(k, 'kdf', w);
  const afO = obj(k, 'af', w);
  const areaO = obj(k, 'area', w);
  const kdf = type === 'luks2' ? parseKdf(kdfO, `${w} kdf`) : ({ type: 'pbkdf2', hash: '', iterations: 0, salt: '' } as Luks2Kdf);
  const af = {
    type: str(afO, 'type', `${w} af`),
    stripes: type === 'luks2' ? int(afO, 'stripes', `${w} af`, 1) : 0,
    hash: optStr(afO, 'hash', `${w} af`) ?? '',
  };
  if (type === 'luks2' && af.type !== 'luks1') fail(`${w}: unknown af type "${af.type}"`);
  if (type === 'luks2' && af.stripes !== 4000) fail(`${w}: af stripes ${af.stripes} (LUKS2 uses 4000)`);
  const area = {
    type: str(areaO, 'type', `${w} area`),
    offset: u64(areaO, 'offset', `${w} area`),
    size: u64(areaO, 'size', `${w} area`),
    encryption: optStr(areaO, 'encryption', `${w} area`) ?? '',
    keySize: areaO.key_size === undefined ? 0 : int(areaO, 'key_size', `${w} area`, 0, 4096),
  };
  if (type === 'luks2' && area.type !== 'raw') fail(`${w}: area type "${area.type}" is not raw`);
  if (type === 'luks2' && !area.encryption) fail(`${w}: area has no encryption`);
  return { id, type, keySize, priority: pr, kdf, af, area, digests: [] };
}

/** the MAC key size dm-crypt takes from the end of the volume key for integrity `type` */
export function integrityKeySize(type: string): number {
  const m = /^hmac\((sha1|sha256|sha512)\)$/.exec(type);
  if (m) return { sha1: 20, sha256: 32, sha512: 64 }[m[1] as 'sha1']!;
  if (type === 'cmac(aes)') return 16;
  return 0;
}

function parseSegment(id: number, s: Obj): Luks2Segment {
  const w = `segment ${id}`;
  const type = str(s, 'type', w);
  const offset = u64(s, 'offset', w);
  const sizeStr = str(s, 'size', w);
  const size: 'dynamic' | number = sizeStr === 'dynamic' ? 'dynamic' : u64(s, 'size', w);
  const flags = s.flags === undefined ? [] : (Array.isArray(s.flags) ? s.flags : fail(`${w}: "flags" is not an array`)).map(String);
  if (type !== 'crypt') return { id, type, offset, size, ivTweak: 0, flags };
  const ivTweak = u64(s, 'iv_tweak', w);
  const encryption = str(s, 'encryption', w);
  const sectorSize = int(s, 'sector_size', w, 512, 4096);
  if (sectorSize & (sectorSize - 1)) fail(`${w}: sector_size ${sectorSize} is not a power of two`);
  if (offset % sectorSize) fail(`${w}: offset ${offset} is not aligned to its sector size ${sectorSize}`);
  if (size !== 'dynamic' && size % sectorSize) fail(`${w}: size ${size} is not a multiple of its sector size ${sectorSize}`);
  let integrity: Luks2Integrity | undefined;
  if (s.integrity !== undefined) {
    const io = obj(s, 'integrity', w);
    const it = str(io, 'type', `${w} integrity`);
    integrity = {
      type: it,
      journalEncryption: str(io, 'journal_encryption', `${w} integrity`),
      journalIntegrity: str(io, 'journal_integrity', `${w} integrity`),
      keySize: io.key_size === undefined ? integrityKeySize(it) : int(io, 'key_size', `${w} integrity`, 0, 4096),
    };
  }
  return { id, type, offset, size, ivTweak, encryption, sectorSize, integrity, flags };
}

function parseDigest(id: number, d: Obj): Luks2Digest {
  const w = `digest ${id}`;
  const type = str(d, 'type', w);
  if (type !== 'pbkdf2') fail(`${w}: unknown digest type "${type}"`);
  return {
    id,
    type,
    keyslots: idList(d, 'keyslots', w),
    segments: idList(d, 'segments', w),
    hash: str(d, 'hash', w),
    iterations: int(d, 'iterations', w, 1),
    salt: b64(d, 'salt', w),
    digest: b64(d, 'digest', w),
  };
}

function parseToken(id: number, t: Obj): Luks2Token {
  const w = `token ${id}`;
  const { type: _t, keyslots: _k, ...fields } = t;
  return { id, type: str(t, 'type', w), keyslots: idList(t, 'keyslots', w), fields };
}

export interface ParsedJson {
  keyslots: Luks2Keyslot[];
  segments: Luks2Segment[];
  digests: Luks2Digest[];
  tokens: Luks2Token[];
  config: Luks2Config;
}

/** LUKS2_hdr_validate: the sections, their fields, and how they refer to each other. Throws with the problem. */
export function validateJson(json: unknown, hdrSize: number): ParsedJson {
  if (!isObj(json)) fail('the JSON metadata is not an object');
  const ks = obj(json, 'keyslots', 'metadata');
  const sg = obj(json, 'segments', 'metadata');
  const dg = obj(json, 'digests', 'metadata');
  const tk = obj(json, 'tokens', 'metadata');
  const cf = obj(json, 'config', 'metadata');

  let requirements: string[] = [];
  if (cf.requirements !== undefined) {
    const r = obj(cf, 'requirements', 'config');
    requirements =
      r.mandatory === undefined ? [] : Array.isArray(r.mandatory) ? r.mandatory.map(String) : fail('config requirements: "mandatory" is not an array');
  }
  const config: Luks2Config = {
    jsonSize: u64(cf, 'json_size', 'config'),
    keyslotsSize: u64(cf, 'keyslots_size', 'config'),
    flags: cf.flags === undefined ? [] : (Array.isArray(cf.flags) ? cf.flags : fail('config: "flags" is not an array')).map(String),
    requirements,
  };
  // hdr_validate_json_size
  if (config.jsonSize !== hdrSize - LUKS2_HDR_BIN_LEN)
    fail(`config: json_size ${config.jsonSize} does not match the header size ${hdrSize} (want ${hdrSize - LUKS2_HDR_BIN_LEN})`);
  if (config.keyslotsSize % 4096) fail(`config: keyslots_size ${config.keyslotsSize} is not a multiple of 4096`);

  const keyslots = entries(ks, 'keyslots', LUKS2_KEYSLOTS_MAX).map(([id, k]) => parseKeyslot(id, k));
  const segments = entries(sg, 'segments', 0x7fffffff).map(([id, s]) => parseSegment(id, s));
  const digests = entries(dg, 'digests', 0x7fffffff).map(([id, d]) => parseDigest(id, d));
  const tokens = entries(tk, 'tokens', LUKS2_TOKENS_MAX).map(([id, t]) => parseToken(id, t));

  // hdr_validate_areas: every keyslot area inside the keyslots area, none overlapping
  const areaStart = 2 * hdrSize;
  const areaEnd = areaStart + config.keyslotsSize;
  const sorted = [...keyslots].sort((a, b) => a.area.offset - b.area.offset);
  for (const k of keyslots) {
    if (k.area.offset < areaStart || k.area.offset + k.area.size > areaEnd) {
      fail(`keyslot ${k.id}: area ${k.area.offset}..${k.area.offset + k.area.size} is outside the keyslots area ${areaStart}..${areaEnd}`);
    }
    if (k.area.offset % 4096) fail(`keyslot ${k.id}: area offset ${k.area.offset} is not aligned to 4096`);
  }
  let prevSlot: (typeof sorted)[number] | undefined;
  for (const k of sorted) {
    if (prevSlot && prevSlot.area.offset + prevSlot.area.size > k.area.offset) fail(`keyslot ${prevSlot.id} and keyslot ${k.id}: areas overlap`);
    prevSlot = k;
  }
  // hdr_validate_segments: no segment inside the metadata and keyslots area, none overlapping
  for (const s of segments) {
    if (s.offset < areaEnd) fail(`segment ${s.id}: offset ${s.offset} is inside the metadata and keyslots area (ends at ${areaEnd})`);
  }
  const bySeg = [...segments].sort((a, b) => a.offset - b.offset);
  let prevSeg: (typeof bySeg)[number] | undefined;
  for (const s of bySeg) {
    if (prevSeg && (prevSeg.size === 'dynamic' || prevSeg.offset + prevSeg.size > s.offset)) fail(`segment ${prevSeg.id} and segment ${s.id}: they overlap`);
    prevSeg = s;
  }
  // hdr_validate_digests / hdr_validate_tokens: references to things that exist
  const ksIds = new Set(keyslots.map((k) => k.id));
  const sgIds = new Set(segments.map((s) => s.id));
  for (const d of digests) {
    for (const k of d.keyslots) if (!ksIds.has(k)) fail(`digest ${d.id}: refers to keyslot ${k}, which does not exist`);
    for (const s of d.segments) if (!sgIds.has(s)) fail(`digest ${d.id}: refers to segment ${s}, which does not exist`);
    for (const k of d.keyslots) (keyslots.find((x) => x.id === k)!.digests as number[]).push(d.id);
  }
  for (const k of keyslots) {
    if (k.type === 'luks2' && k.digests.length > 1) fail(`keyslot ${k.id}: assigned to more than one digest`);
  }
  for (const t of tokens) for (const k of t.keyslots) if (!ksIds.has(k)) fail(`token ${t.id}: refers to keyslot ${k}, which does not exist`);
  return { keyslots, segments, digests, tokens, config };
}

/** Builds the Luks2Info from a validated copy. */
function toInfo(path: string, deviceSize: number, used: RawCopy, primary: Luks2BinaryHeader, secondary: Luks2BinaryHeader): Luks2Info {
  const h = used.hdr;
  const p = validateJson(used.json, h.hdrSize!);
  const crypt = p.segments.filter((s) => s.type === 'crypt');
  const dataSegment = crypt.find((s) => s.id === 0) ?? crypt[0];
  if (!dataSegment) throw new LuksHeaderError(`${path}: the LUKS2 metadata (${h.copy} header) has no crypt segment`);
  const digest = p.digests.find((d) => d.segments.includes(dataSegment.id));
  const slot = digest ? p.keyslots.find((k) => digest.keyslots.includes(k.id)) : undefined;
  const volumeKeySize = slot?.keySize ?? 0;
  const intKey = dataSegment.integrity?.keySize ?? 0;
  return {
    path,
    version: 2,
    used: h.copy,
    primary,
    secondary,
    seqid: h.seqid!,
    hdrSize: h.hdrSize!,
    checksumAlg: h.checksumAlg!,
    uuid: h.uuid!,
    label: h.label!,
    subsystem: h.subsystem!,
    keyslots: p.keyslots,
    segments: p.segments,
    digests: p.digests,
    tokens: p.tokens,
    config: p.config,
    dataSegment,
    volumeKeySize,
    encryptionKeySize: Math.max(0, volumeKeySize - intKey),
    deviceSize,
  };
}

/** LUKS2_disk_hdr_read without recovery: both copies checked, the valid one with the higher seqid used. */
export function readLuks2HeaderFrom(dev: BlockDevice, path = dev.name): Luks2Info {
  const c1 = readCopy(dev, 'primary', 0);
  let c2: RawCopy;
  if (c1.hdr.hdrSize !== undefined && !c1.hdr.problem?.startsWith('bad magic') && LUKS2_HDR_SIZES.includes(c1.hdr.hdrSize) && c1.hdr.valid) {
    c2 = readCopy(dev, 'secondary', c1.hdr.hdrSize);
  } else {
    // no trustworthy size from the primary: look at every known offset, as cryptsetup does
    let first: RawCopy | null = null;
    c2 = { hdr: { copy: 'secondary', offset: LUKS2_HDR2_OFFSETS[0], valid: false, problem: 'not found' } };
    for (const off of LUKS2_HDR2_OFFSETS) {
      const c = readCopy(dev, 'secondary', off);
      if (c.hdr.valid) {
        c2 = c;
        break;
      }
      // keep the most telling failure: one that had the secondary magic
      if (!first && c.hdr.magic === LUKS2_MAGIC_2ND.toString('hex')) first = c;
    }
    if (!c2.hdr.valid) {
      c2 = first ?? {
        hdr: {
          copy: 'secondary',
          offset: c1.hdr.hdrSize && LUKS2_HDR_SIZES.includes(c1.hdr.hdrSize) ? c1.hdr.hdrSize : LUKS2_HDR2_OFFSETS[0],
          valid: false,
          problem: `no secondary header at any of the offsets cryptsetup searches (${LUKS2_HDR2_OFFSETS.map((o) => o / 1024 + ' KiB').join(', ')})`,
        },
      };
    }
  }
  let used: RawCopy | null = null;
  if (c1.hdr.valid && c2.hdr.valid) used = c2.hdr.seqid! > c1.hdr.seqid! ? c2 : c1;
  else if (c1.hdr.valid) used = c1;
  else if (c2.hdr.valid) used = c2;
  if (!used) {
    if (c1.hdr.problem?.startsWith('bad magic') && c2.hdr.problem?.startsWith('no secondary header')) {
      throw new LuksHeaderError(`${path} is not a valid LUKS device (no LUKS2 header at offset 0 nor a secondary header)`);
    }
    throw new LuksHeaderError(
      `${path} is not a valid LUKS2 device: primary header (offset ${c1.hdr.offset}): ${c1.hdr.problem}; secondary header (offset ${c2.hdr.offset}): ${c2.hdr.problem}`,
    );
  }
  const info = toInfo(path, dev.size, used, c1.hdr, c2.hdr);
  // device_check_size: the device must hold both copies and the keyslots area
  const need = 2 * info.hdrSize + info.config.keyslotsSize;
  if (dev.size < need) {
    throw new LuksHeaderError(`${path} is too small for its LUKS2 header: ${dev.size} bytes, the metadata and keyslots areas need ${need} (truncated?)`);
  }
  return info;
}

/** Reads and checks the LUKS2 header of `path` (a file or block device) or of an open device. Read-only. */
export function readLuks2Header(src: string | BlockDevice): Luks2Info {
  if (typeof src !== 'string') return readLuks2HeaderFrom(src);
  let dev: FileDevice;
  try {
    dev = FileDevice.open(src, { readOnly: true });
  } catch (e) {
    if (e instanceof IntegrityStudioError) throw e;
    throw new IntegrityStudioError(`cannot open ${src}: ${(e as Error).message}`, 'EIO');
  }
  try {
    return readLuks2HeaderFrom(dev, src);
  } finally {
    dev.close();
  }
}

/**
 * Whether `path` is a LUKS2 device: the primary header's magic and version, or — when the primary is damaged — a
 * secondary one at any of the offsets cryptsetup searches (LUKS2_hdr_read: either copy makes it LUKS2). Reads at
 * most 10 × 8 bytes; false for anything unreadable.
 */
export function isLuks2(path: string | undefined): boolean {
  if (!path) return false;
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(8);
    for (const [off, magic] of [[0, LUKS2_MAGIC_1ST], ...LUKS2_HDR2_OFFSETS.map((o) => [o, LUKS2_MAGIC_2ND] as const)] as Array<[number, Buffer]>) {
      if (fs.readSync(fd, b, 0, 8, off) === 8 && b.subarray(0, 6).equals(magic) && b.readUInt16BE(6) === 2) return true;
    }
    return false;
  } catch {
    return false;
  } finally {
    fs.closeSync(fd);
  }
}
