// LUKS2 metadata as the engine sees it (cryptsetup docs/on-disk-format-luks2.pdf). Plain readonly data:
// no key material anywhere in these shapes (salts and the digest are public, as cryptsetup prints them).

export type HeaderCopyName = 'primary' | 'secondary';

/** One binary header (struct luks2_hdr_disk, 4096 bytes) and what was found when it was checked. */
export interface Luks2BinaryHeader {
  readonly copy: HeaderCopyName;
  /** where it was looked for (bytes) */
  readonly offset: number;
  /** true when magic, version, offsets, checksum and JSON all passed */
  readonly valid: boolean;
  /** what is wrong with this copy (undefined when valid) */
  readonly problem?: string;
  readonly magic?: string;
  readonly version?: number;
  readonly hdrSize?: number;
  readonly seqid?: number;
  readonly label?: string;
  readonly checksumAlg?: string;
  /** hex */
  readonly salt?: string;
  readonly uuid?: string;
  readonly subsystem?: string;
  readonly hdrOffset?: number;
  /** hex, as stored */
  readonly csum?: string;
}

export type Luks2Kdf =
  | { readonly type: 'pbkdf2'; readonly hash: string; readonly iterations: number; readonly salt: string }
  | {
      readonly type: 'argon2i' | 'argon2id';
      /** iterations (cryptsetup "Time cost") */
      readonly time: number;
      /** KiB */
      readonly memory: number;
      readonly cpus: number;
      readonly salt: string;
    };

export interface Luks2Keyslot {
  readonly id: number;
  readonly type: string;
  /** size of the volume key this slot holds, bytes */
  readonly keySize: number;
  /** 0 ignore, 1 normal, 2 high; undefined = normal */
  readonly priority?: number;
  readonly kdf: Luks2Kdf;
  readonly af: { readonly type: string; readonly stripes: number; readonly hash: string };
  readonly area: {
    readonly type: string;
    /** bytes from the device start */
    readonly offset: number;
    readonly size: number;
    /** the keyslot area's cipher, e.g. aes-xts-plain64 */
    readonly encryption: string;
    /** the keyslot area's key size, bytes */
    readonly keySize: number;
  };
  /** digests that cover this keyslot */
  readonly digests: readonly number[];
}

export interface Luks2Integrity {
  /** hmac(sha256), hmac(sha512), aead, poly1305, … */
  readonly type: string;
  readonly journalEncryption: string;
  readonly journalIntegrity: string;
  /** bytes of the volume key used by the integrity MAC (0 for aead/poly1305); from JSON key_size when present */
  readonly keySize: number;
}

export interface Luks2Segment {
  readonly id: number;
  /** crypt, linear, … */
  readonly type: string;
  /** bytes from the device start */
  readonly offset: number;
  /** 'dynamic' (up to the device end) or bytes */
  readonly size: 'dynamic' | number;
  /** dm-crypt iv_offset in 512-byte sectors (crypt segments) */
  readonly ivTweak: number;
  /** e.g. aes-xts-plain64, aes-xts-random, aes-gcm-random, chacha20-random, aegis128-random */
  readonly encryption?: string;
  /** 512..4096 */
  readonly sectorSize?: number;
  readonly integrity?: Luks2Integrity;
  readonly flags: readonly string[];
}

export interface Luks2Digest {
  readonly id: number;
  readonly type: string;
  readonly keyslots: readonly number[];
  readonly segments: readonly number[];
  readonly hash: string;
  readonly iterations: number;
  /** base64, as in the JSON */
  readonly salt: string;
  /** base64, as in the JSON (pbkdf2 of the volume key: not key material) */
  readonly digest: string;
}

export interface Luks2Token {
  readonly id: number;
  readonly type: string;
  readonly keyslots: readonly number[];
  /** the token's other fields, as stored */
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface Luks2Config {
  readonly jsonSize: number;
  readonly keyslotsSize: number;
  readonly flags: readonly string[];
  readonly requirements: readonly string[];
}

export interface Luks2Info {
  readonly path: string;
  readonly version: 2;
  /** the copy whose metadata is used (the valid one with the higher seqid; primary on a tie) */
  readonly used: HeaderCopyName;
  readonly primary: Luks2BinaryHeader;
  readonly secondary: Luks2BinaryHeader;
  /** "Epoch" in cryptsetup luksDump */
  readonly seqid: number;
  /** metadata (binary header + JSON area) size of one copy, bytes */
  readonly hdrSize: number;
  readonly checksumAlg: string;
  readonly uuid: string;
  readonly label: string;
  readonly subsystem: string;
  readonly keyslots: readonly Luks2Keyslot[];
  readonly segments: readonly Luks2Segment[];
  readonly digests: readonly Luks2Digest[];
  readonly tokens: readonly Luks2Token[];
  readonly config: Luks2Config;
  /** the crypt segment holding the data (segment 0 on every header cryptsetup writes) */
  readonly dataSegment: Luks2Segment;
  /** volume key size in bytes (encryption key ‖ integrity key), from the digest's keyslots */
  readonly volumeKeySize: number;
  /** bytes of the volume key for the cipher (volumeKeySize - integrity keySize) */
  readonly encryptionKeySize: number;
  /** device size in bytes when read */
  readonly deviceSize: number;
}
