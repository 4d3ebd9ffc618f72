// AEGIS-128 (CAESAR final round, v1.1) exactly as the kernel's crypto/aegis128-core.c computes it: 5 state blocks,
// 16-byte key and nonce, tag of 8..16 bytes. No well-kept npm library implements this variant (libsodium and its
// bindings have AEGIS-128L and AEGIS-256 only), so it is implemented here and proven against the kernel
// (crypt.oracle.test.ts reads volumes the guest's aegis128 module wrote). The AES round is the T-table round
// (SubBytes, ShiftRows, MixColumns, then ⊕ key) of crypto_aegis_aesenc.

const SBOX = new Uint8Array(256);
const T0 = new Uint32Array(256);
const T1 = new Uint32Array(256);
const T2 = new Uint32Array(256);
const T3 = new Uint32Array(256);
(() => {
  // the AES S-box from the multiplicative inverse in GF(2^8) and the affine map
  let p = 1;
  let q = 1;
  do {
    p = p ^ ((p << 1) & 0xff) ^ (p & 0x80 ? 0x1b : 0);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const x = q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4);
    SBOX[p] = (x ^ 0x63) & 0xff;
  } while (p !== 1);
  SBOX[0] = 0x63;
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i]!;
    const s2 = ((s << 1) ^ (s & 0x80 ? 0x1b : 0)) & 0xff;
    const s3 = s2 ^ s;
    // little-endian column word: rows 0..3 = 2s, s, s, 3s (the contribution of row 0 to MixColumns)
    const t = (s2 | (s << 8) | (s << 16) | (s3 << 24)) >>> 0;
    T0[i] = t;
    T1[i] = ((t << 8) | (t >>> 24)) >>> 0;
    T2[i] = ((t << 16) | (t >>> 16)) >>> 0;
    T3[i] = ((t << 24) | (t >>> 8)) >>> 0;
  }
})();

function rotl8(x: number, n: number): number {
  return ((x << n) | (x >> (8 - n))) & 0xff;
}

/** State: 5 blocks × 4 little-endian words. */
type State = Uint32Array;

const C0 = words(Buffer.from('000101020305080d1522375990e97962', 'hex'));
const C1 = words(Buffer.from('db3d18556dc22ff12011314273b528dd', 'hex'));

function words(b: Uint8Array, off = 0): Uint32Array {
  const w = new Uint32Array(4);
  for (let i = 0; i < 4; i++) w[i] = (b[off + 4 * i]! | (b[off + 4 * i + 1]! << 8) | (b[off + 4 * i + 2]! << 16) | (b[off + 4 * i + 3]! << 24)) >>> 0;
  return w;
}

const tmpIn = new Uint32Array(4);
/** s[d..d+4] = AESRound(s[src..src+4]) ⊕ s[d..d+4] (crypto_aegis_aesenc with the key being the destination) */
function aesencInto(s: State, d: number, src: Uint32Array, so: number): void {
  const a0 = src[so]!;
  const a1 = src[so + 1]!;
  const a2 = src[so + 2]!;
  const a3 = src[so + 3]!;
  const r0 = T0[a0 & 0xff]! ^ T1[(a1 >>> 8) & 0xff]! ^ T2[(a2 >>> 16) & 0xff]! ^ T3[a3 >>> 24]!;
  const r1 = T0[a1 & 0xff]! ^ T1[(a2 >>> 8) & 0xff]! ^ T2[(a3 >>> 16) & 0xff]! ^ T3[a0 >>> 24]!;
  const r2 = T0[a2 & 0xff]! ^ T1[(a3 >>> 8) & 0xff]! ^ T2[(a0 >>> 16) & 0xff]! ^ T3[a1 >>> 24]!;
  const r3 = T0[a3 & 0xff]! ^ T1[(a0 >>> 8) & 0xff]! ^ T2[(a1 >>> 16) & 0xff]! ^ T3[a2 >>> 24]!;
  s[d] = (s[d]! ^ r0) >>> 0;
  s[d + 1] = (s[d + 1]! ^ r1) >>> 0;
  s[d + 2] = (s[d + 2]! ^ r2) >>> 0;
  s[d + 3] = (s[d + 3]! ^ r3) >>> 0;
}

/** crypto_aegis128_update + ⊕ msg into block 0 (crypto_aegis128_update_a) */
function update(s: State, m: Uint32Array): void {
  tmpIn.set(s.subarray(16, 20));
  for (let i = 4; i > 0; i--) aesencInto(s, 4 * i, s, 4 * (i - 1));
  aesencInto(s, 0, tmpIn, 0);
  s[0] = (s[0]! ^ m[0]!) >>> 0;
  s[1] = (s[1]! ^ m[1]!) >>> 0;
  s[2] = (s[2]! ^ m[2]!) >>> 0;
  s[3] = (s[3]! ^ m[3]!) >>> 0;
}

function init(key: Uint8Array, iv: Uint8Array): State {
  const k = words(key);
  const kiv = words(iv);
  for (let i = 0; i < 4; i++) kiv[i] = (kiv[i]! ^ k[i]!) >>> 0;
  const s = new Uint32Array(20);
  s.set(kiv, 0);
  s.set(C1, 4);
  s.set(C0, 8);
  for (let i = 0; i < 4; i++) {
    s[12 + i] = (k[i]! ^ C0[i]!) >>> 0;
    s[16 + i] = (k[i]! ^ C1[i]!) >>> 0;
  }
  for (let i = 0; i < 5; i++) {
    update(s, k);
    update(s, kiv);
  }
  return s;
}

function absorb(s: State, ad: Uint8Array): void {
  const blk = new Uint8Array(16);
  for (let off = 0; off < ad.length; off += 16) {
    if (off + 16 <= ad.length) update(s, words(ad, off));
    else {
      blk.fill(0);
      blk.set(ad.subarray(off));
      update(s, words(blk));
    }
  }
}

/** the keystream word block z = S1 ⊕ S4 ⊕ (S2 & S3) */
function keystream(s: State, z: Uint32Array): void {
  for (let i = 0; i < 4; i++) z[i] = (s[4 + i]! ^ s[16 + i]! ^ (s[8 + i]! & s[12 + i]!)) >>> 0;
}

function putWords(w: Uint32Array, out: Uint8Array, off: number, n = 16): void {
  for (let i = 0; i < n; i++) out[off + i] = (w[i >> 2]! >>> ((i & 3) * 8)) & 0xff;
}

function finalTag(s: State, adLen: number, msgLen: number, tagLen: number): Buffer {
  const lens = Buffer.alloc(16);
  lens.writeBigUInt64LE(BigInt(adLen) * 8n, 0);
  lens.writeBigUInt64LE(BigInt(msgLen) * 8n, 8);
  const t = words(lens);
  for (let i = 0; i < 4; i++) t[i] = (t[i]! ^ s[12 + i]!) >>> 0;
  for (let i = 0; i < 7; i++) update(s, t);
  const tag = new Uint32Array(4);
  for (let b = 0; b < 5; b++) for (let i = 0; i < 4; i++) tag[i] = (tag[i]! ^ s[4 * b + i]!) >>> 0;
  const out = Buffer.alloc(16);
  putWords(tag, out, 0);
  return out.subarray(0, tagLen);
}

/** crypto_aegis128_encrypt: ciphertext into `out` (same length as `plain`), returns the tag. */
export function aegis128Encrypt(key: Uint8Array, iv: Uint8Array, ad: Uint8Array, plain: Uint8Array, out: Uint8Array, tagLen = 16): Buffer {
  const s = init(key, iv);
  absorb(s, ad);
  const z = new Uint32Array(4);
  const blk = new Uint8Array(16);
  for (let off = 0; off < plain.length; off += 16) {
    const n = Math.min(16, plain.length - off);
    blk.fill(0);
    blk.set(plain.subarray(off, off + n));
    const m = words(blk);
    keystream(s, z);
    update(s, m);
    for (let i = 0; i < 4; i++) z[i] = (z[i]! ^ m[i]!) >>> 0;
    putWords(z, blk, 0);
    out.set(blk.subarray(0, n), off);
  }
  return finalTag(s, ad.length, plain.length, tagLen);
}

/** crypto_aegis128_decrypt: plaintext into `out`; false (and `out` zeroed) when the tag does not match. */
export function aegis128Decrypt(key: Uint8Array, iv: Uint8Array, ad: Uint8Array, cipher: Uint8Array, tag: Uint8Array, out: Uint8Array): boolean {
  const s = init(key, iv);
  absorb(s, ad);
  const z = new Uint32Array(4);
  const blk = new Uint8Array(16);
  for (let off = 0; off < cipher.length; off += 16) {
    const n = Math.min(16, cipher.length - off);
    blk.fill(0);
    blk.set(cipher.subarray(off, off + n));
    const c = words(blk);
    keystream(s, z);
    for (let i = 0; i < 4; i++) z[i] = (z[i]! ^ c[i]!) >>> 0;
    putWords(z, blk, 0);
    blk.fill(0, n);
    update(s, words(blk));
    out.set(blk.subarray(0, n), off);
  }
  const want = finalTag(s, ad.length, cipher.length, tag.length);
  let diff = 0;
  for (let i = 0; i < tag.length; i++) diff |= want[i]! ^ tag[i]!;
  if (diff) {
    out.fill(0, 0, cipher.length);
    return false;
  }
  return true;
}
