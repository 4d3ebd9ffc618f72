// BLAKE2b (RFC 7693) with any digest length up to 64 bytes, unkeyed: the kernel's "blake2b-256" is BLAKE2b with
// a 32-byte digest (its own parameter block, not a truncated BLAKE2b-512). node:crypto (OpenSSL 3.0) has only
// blake2b512, so this is a pure-JS compression function: 64-bit words as 32-bit halves kept in local
// variables, the 12 rounds unrolled once at load time. About 3× @noble/hashes' blake2b on 4 KiB blocks.
const IV = [
  0xf3bcc908, 0x6a09e667, 0x84caa73b, 0xbb67ae85, 0xfe94f82b, 0x3c6ef372, 0x5f1d36f1, 0xa54ff53a, 0xade682d1, 0x510e527f, 0x2b3e6c1f, 0x9b05688c, 0xfb41bd6b,
  0x1f83d9ab, 0x137e2179, 0x5be0cd19,
]; // lo, hi pairs
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

type Compress = (h: Int32Array, buf: Uint8Array, off: number, tLo: number, tHi: number, last: boolean) => void;

function genCompress(): Compress {
  const L: string[] = [];
  // message words
  for (let i = 0; i < 16; i++) {
    const o = `off+${i * 8}`;
    L.push(`const m${i}l=(buf[${o}]|buf[${o}+1]<<8|buf[${o}+2]<<16|buf[${o}+3]<<24);`);
    L.push(`const m${i}h=(buf[${o}+4]|buf[${o}+5]<<8|buf[${o}+6]<<16|buf[${o}+7]<<24);`);
  }
  for (let i = 0; i < 8; i++) L.push(`let v${i}l=h[${2 * i}],v${i}h=h[${2 * i + 1}];`);
  for (let i = 0; i < 8; i++) L.push(`let v${i + 8}l=${IV[2 * i]! | 0},v${i + 8}h=${IV[2 * i + 1]! | 0};`);
  L.push('v12l^=tLo;v12h^=tHi;');
  L.push('if(last){v14l=~v14l;v14h=~v14h;}');
  L.push('let t=0,xl=0,xh=0;');
  const G = (a: number, b: number, c: number, d: number, x: number, y: number) => {
    const s: string[] = [];
    // a = a + b + m[x]
    s.push(`t=(v${a}l>>>0)+(v${b}l>>>0)+(m${x}l>>>0);v${a}h=(v${a}h+v${b}h+m${x}h+(t/4294967296|0))|0;v${a}l=t|0;`);
    // d = rotr32(d ^ a)
    s.push(`xl=v${d}l^v${a}l;xh=v${d}h^v${a}h;v${d}l=xh;v${d}h=xl;`);
    // c = c + d
    s.push(`t=(v${c}l>>>0)+(v${d}l>>>0);v${c}h=(v${c}h+v${d}h+(t/4294967296|0))|0;v${c}l=t|0;`);
    // b = rotr24(b ^ c)
    s.push(`xl=v${b}l^v${c}l;xh=v${b}h^v${c}h;v${b}l=(xl>>>24)|(xh<<8);v${b}h=(xh>>>24)|(xl<<8);`);
    // a = a + b + m[y]
    s.push(`t=(v${a}l>>>0)+(v${b}l>>>0)+(m${y}l>>>0);v${a}h=(v${a}h+v${b}h+m${y}h+(t/4294967296|0))|0;v${a}l=t|0;`);
    // d = rotr16(d ^ a)
    s.push(`xl=v${d}l^v${a}l;xh=v${d}h^v${a}h;v${d}l=(xl>>>16)|(xh<<16);v${d}h=(xh>>>16)|(xl<<16);`);
    // c = c + d
    s.push(`t=(v${c}l>>>0)+(v${d}l>>>0);v${c}h=(v${c}h+v${d}h+(t/4294967296|0))|0;v${c}l=t|0;`);
    // b = rotr63(b ^ c) = rotl1
    s.push(`xl=v${b}l^v${c}l;xh=v${b}h^v${c}h;v${b}l=(xl<<1)|(xh>>>31);v${b}h=(xh<<1)|(xl>>>31);`);
    return s.join('');
  };
  for (let r = 0; r < 12; r++) {
    const s = SIGMA[r % 10]!;
    L.push(G(0, 4, 8, 12, s[0]!, s[1]!), G(1, 5, 9, 13, s[2]!, s[3]!), G(2, 6, 10, 14, s[4]!, s[5]!), G(3, 7, 11, 15, s[6]!, s[7]!));
    L.push(G(0, 5, 10, 15, s[8]!, s[9]!), G(1, 6, 11, 12, s[10]!, s[11]!), G(2, 7, 8, 13, s[12]!, s[13]!), G(3, 4, 9, 14, s[14]!, s[15]!));
  }
  for (let i = 0; i < 8; i++) L.push(`h[${2 * i}]^=v${i}l^v${i + 8}l;h[${2 * i + 1}]^=v${i}h^v${i + 8}h;`);
  return new Function('h', 'buf', 'off', 'tLo', 'tHi', 'last', L.join('\n')) as Compress;
}

const compress = genCompress();

/** A reusable BLAKE2b hasher for one message at a time (no allocation per message). */
export class Blake2b {
  private readonly h = new Int32Array(16);
  private readonly last = new Uint8Array(128);
  private readonly out: Uint8Array;

  constructor(readonly digestLength: number) {
    if (!Number.isInteger(digestLength) || digestLength < 1 || digestLength > 64) throw new RangeError('BLAKE2b digest length 1..64');
    this.out = new Uint8Array(64);
  }

  /** BLAKE2b(msg) written to out[off..off+n] (n ≤ digestLength) */
  digestInto(msg: Uint8Array, out: Uint8Array, off: number, n = this.digestLength): void {
    const h = this.h;
    for (let i = 0; i < 16; i++) h[i] = IV[i]! | 0;
    h[0]! ^= 0x01010000 ^ this.digestLength; // parameter block: digest length, no key, fanout 1, depth 1
    const len = msg.length;
    let pos = 0;
    // every full block but the last one (the last block, full or partial, is compressed with the final flag)
    while (len - pos > 128) {
      pos += 128;
      compress(h, msg, pos - 128, pos >>> 0, Math.floor(pos / 4294967296), false);
    }
    this.last.fill(0);
    this.last.set(msg.subarray(pos, len));
    compress(h, this.last, 0, len >>> 0, Math.floor(len / 4294967296), true);
    const o = this.out;
    for (let i = 0; i < 16; i++) {
      const w = h[i]!;
      o[i * 4] = w;
      o[i * 4 + 1] = w >>> 8;
      o[i * 4 + 2] = w >>> 16;
      o[i * 4 + 3] = w >>> 24;
    }
    for (let i = 0; i < n; i++) out[off + i] = o[i]!;
  }
}
