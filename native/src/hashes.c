// The tag hashes in C: tag = H([salt] ‖ le64(sector) ‖ block) for a run of blocks, as the kernel's
// integrity_sector_checksum() computes them. Hardware paths (SSE4.2 crc32, PCLMULQDQ folding, SHA extensions)
// are chosen at run time from CPUID, so one binary runs on any x86-64; every other CPU uses the portable C.
// sha512 (no instructions for it on x86) uses the OpenSSL that Node exports when the process has one, found by
// dlsym at run time (Electron's BoringSSL does not export it: the portable C is used there).
#include "hashes.h"
#include <string.h>
#include <stdlib.h>
#include "sha-consts.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define IS_X86 1
#include <immintrin.h>
#include <cpuid.h>
#define TARGET(x) __attribute__((target(x)))
#else
#define IS_X86 0
#endif

#if defined(__linux__) || defined(__APPLE__)
#include <dlfcn.h>
#define HAVE_DLSYM 1
#else
#define HAVE_DLSYM 0
#endif

static inline uint32_t ld32le(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64le(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t ld32be(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint64_t ld64be(const uint8_t *p) { return (uint64_t)ld32be(p) << 32 | ld32be(p + 4); }
static inline void st32be(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline void st64be(uint8_t *p, uint64_t v) { st32be(p, v >> 32); st32be(p + 4, (uint32_t)v); }
static inline void st64le(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint32_t rotr32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
static inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }
static inline uint64_t rotl64(uint64_t x, int n) { return (x << n) | (x >> (64 - n)); }

/* ---------------------------------------------------------------- CPU features */
int cpu_sse42, cpu_pclmul, cpu_sha;
static int force_portable;
static const char *sha512_impl = "portable C";

/* ------------------------------------------------------------------ CRC tables */
static uint32_t T32C[8][256]; /* crc32c, reflected 0x82F63B78 */
static uint32_t T32[8][256];  /* crc32 (crc32_le), reflected 0xEDB88320 */

static void make_tables(uint32_t T[8][256], uint32_t poly) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ poly : c >> 1;
    T[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; n++)
    for (int t = 1; t < 8; t++) T[t][n] = (T[t - 1][n] >> 8) ^ T[0][T[t - 1][n] & 0xff];
}

/* raw register update (no inversions), slicing-by-8 */
static uint32_t crc_sw(uint32_t T[8][256], uint32_t c, const uint8_t *p, size_t len) {
  while (len >= 8) {
    uint32_t lo = ld32le(p) ^ c, hi = ld32le(p + 4);
    c = T[7][lo & 0xff] ^ T[6][(lo >> 8) & 0xff] ^ T[5][(lo >> 16) & 0xff] ^ T[4][lo >> 24] ^ T[3][hi & 0xff] ^
        T[2][(hi >> 8) & 0xff] ^ T[1][(hi >> 16) & 0xff] ^ T[0][hi >> 24];
    p += 8;
    len -= 8;
  }
  while (len--) c = T[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return c;
}

#if IS_X86
TARGET("sse4.2") static uint32_t crc32c_hw(uint32_t c, const uint8_t *p, size_t len) {
  uint64_t c64 = c;
  while (len >= 8) {
    c64 = _mm_crc32_u64(c64, ld64le(p));
    p += 8;
    len -= 8;
  }
  c = (uint32_t)c64;
  while (len--) c = _mm_crc32_u8(c, *p++);
  return c;
}

/* Three blocks at once: the crc32 instruction has a latency of 3 cycles and a throughput of 1, so three
 * independent chains keep it busy (no CRC combination needed: each chain is its own block's tag). */
TARGET("sse4.2") static void crc32c_hw_x3(uint32_t head, const uint8_t *b0, const uint8_t *b1, const uint8_t *b2,
                                          uint64_t s0, uint64_t s1, uint64_t s2, size_t bs, uint32_t out[3]) {
  uint64_t c0 = _mm_crc32_u64(head, s0), c1 = _mm_crc32_u64(head, s1), c2 = _mm_crc32_u64(head, s2);
  for (size_t i = 0; i < bs; i += 16) {
    c0 = _mm_crc32_u64(c0, ld64le(b0 + i));
    c1 = _mm_crc32_u64(c1, ld64le(b1 + i));
    c2 = _mm_crc32_u64(c2, ld64le(b2 + i));
    c0 = _mm_crc32_u64(c0, ld64le(b0 + i + 8));
    c1 = _mm_crc32_u64(c1, ld64le(b1 + i + 8));
    c2 = _mm_crc32_u64(c2, ld64le(b2 + i + 8));
  }
  out[0] = (uint32_t)c0;
  out[1] = (uint32_t)c1;
  out[2] = (uint32_t)c2;
}

/* crc32_le folding with PCLMULQDQ (Gopal et al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ",
 * Intel 2009; the bit-reflected constants for 0xEDB88320). len >= 64 and a multiple of 16; raw register in/out. */
TARGET("pclmul,sse4.1") static uint32_t crc32_pclmul(uint32_t crc, const uint8_t *buf, size_t len) {
  static const uint64_t k1k2[2] __attribute__((aligned(16))) = {0x0154442bd4ull, 0x01c6e41596ull};
  static const uint64_t k3k4[2] __attribute__((aligned(16))) = {0x01751997d0ull, 0x00ccaa009eull};
  static const uint64_t k5k0[2] __attribute__((aligned(16))) = {0x0163cd6124ull, 0};
  static const uint64_t poly[2] __attribute__((aligned(16))) = {0x01db710641ull, 0x01f7011641ull};
  __m128i x0, x1, x2, x3, x4, x5, x6, x7, x8, y5, y6, y7, y8;
  x1 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
  x2 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
  x3 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
  x4 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
  x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
  x0 = _mm_load_si128((const __m128i *)k1k2);
  buf += 64;
  len -= 64;
  while (len >= 64) {
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
    x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
    x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
    x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
    x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
    y5 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
    y6 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
    y7 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
    y8 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), y5);
    x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), y6);
    x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), y7);
    x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), y8);
    buf += 64;
    len -= 64;
  }
  x0 = _mm_load_si128((const __m128i *)k3k4);
  x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
  x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
  x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
  x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
  x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
  x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);
  while (len >= 16) {
    x2 = _mm_loadu_si128((const __m128i *)buf);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
    buf += 16;
    len -= 16;
  }
  x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
  x3 = _mm_setr_epi32(~0, 0, ~0, 0);
  x1 = _mm_srli_si128(x1, 8);
  x1 = _mm_xor_si128(x1, x2);
  x0 = _mm_loadl_epi64((const __m128i *)k5k0);
  x2 = _mm_srli_si128(x1, 4);
  x1 = _mm_and_si128(x1, x3);
  x1 = _mm_clmulepi64_si128(x1, x0, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  x0 = _mm_load_si128((const __m128i *)poly);
  x2 = _mm_and_si128(x1, x3);
  x2 = _mm_clmulepi64_si128(x2, x0, 0x10);
  x2 = _mm_and_si128(x2, x3);
  x2 = _mm_clmulepi64_si128(x2, x0, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  return (uint32_t)_mm_extract_epi32(x1, 1);
}
#endif

/* ------------------------------------------------------------------- SHA-1 / SHA-256 / SHA-512 compress */
static void sha1_sw(uint32_t *st, const uint8_t *p, size_t nb) {
  while (nb--) {
    uint32_t w[80], a = st[0], b = st[1], c = st[2], d = st[3], e = st[4];
    for (int i = 0; i < 16; i++) w[i] = ld32be(p + 4 * i);
    for (int i = 16; i < 80; i++) w[i] = rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
      uint32_t f, k;
      if (i < 20) f = (b & c) | (~b & d), k = 0x5a827999u;
      else if (i < 40) f = b ^ c ^ d, k = 0x6ed9eba1u;
      else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdcu;
      else f = b ^ c ^ d, k = 0xca62c1d6u;
      uint32_t t = rotl32(a, 5) + f + e + k + w[i];
      e = d, d = c, c = rotl32(b, 30), b = a, a = t;
    }
    st[0] += a, st[1] += b, st[2] += c, st[3] += d, st[4] += e;
    p += 64;
  }
}

static void sha256_sw(uint32_t *st, const uint8_t *p, size_t nb) {
  while (nb--) {
    uint32_t w[64], s[8];
    for (int i = 0; i < 16; i++) w[i] = ld32be(p + 4 * i);
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(s, st, 32);
    for (int i = 0; i < 64; i++) {
      uint32_t S1 = rotr32(s[4], 6) ^ rotr32(s[4], 11) ^ rotr32(s[4], 25);
      uint32_t ch = (s[4] & s[5]) ^ (~s[4] & s[6]);
      uint32_t t1 = s[7] + S1 + ch + K256[i] + w[i];
      uint32_t S0 = rotr32(s[0], 2) ^ rotr32(s[0], 13) ^ rotr32(s[0], 22);
      uint32_t mj = (s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]);
      uint32_t t2 = S0 + mj;
      s[7] = s[6], s[6] = s[5], s[5] = s[4], s[4] = s[3] + t1, s[3] = s[2], s[2] = s[1], s[1] = s[0], s[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) st[i] += s[i];
    p += 64;
  }
}

static void sha512_sw(uint64_t *st, const uint8_t *p, size_t nb) {
  while (nb--) {
    uint64_t w[80], s[8];
    for (int i = 0; i < 16; i++) w[i] = ld64be(p + 8 * i);
    for (int i = 16; i < 80; i++) {
      uint64_t s0 = rotr64(w[i - 15], 1) ^ rotr64(w[i - 15], 8) ^ (w[i - 15] >> 7);
      uint64_t s1 = rotr64(w[i - 2], 19) ^ rotr64(w[i - 2], 61) ^ (w[i - 2] >> 6);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(s, st, 64);
    for (int i = 0; i < 80; i++) {
      uint64_t S1 = rotr64(s[4], 14) ^ rotr64(s[4], 18) ^ rotr64(s[4], 41);
      uint64_t ch = (s[4] & s[5]) ^ (~s[4] & s[6]);
      uint64_t t1 = s[7] + S1 + ch + K512[i] + w[i];
      uint64_t S0 = rotr64(s[0], 28) ^ rotr64(s[0], 34) ^ rotr64(s[0], 39);
      uint64_t mj = (s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]);
      uint64_t t2 = S0 + mj;
      s[7] = s[6], s[6] = s[5], s[5] = s[4], s[4] = s[3] + t1, s[3] = s[2], s[2] = s[1], s[1] = s[0], s[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) st[i] += s[i];
    p += 128;
  }
}

#if IS_X86
/* SHA-256 with the SHA extensions (the sequence of Intel's "Intel SHA Extensions" white paper, 2013). */
TARGET("sha,sse4.1,ssse3") static void sha256_ni(uint32_t *st, const uint8_t *p, size_t nb) {
  const __m128i MASK = _mm_set_epi64x(0x0c0d0e0f08090a0bull, 0x0405060700010203ull);
  __m128i TMP = _mm_loadu_si128((const __m128i *)&st[0]);
  __m128i S1 = _mm_loadu_si128((const __m128i *)&st[4]);
  TMP = _mm_shuffle_epi32(TMP, 0xB1);       /* CDAB */
  S1 = _mm_shuffle_epi32(S1, 0x1B);         /* EFGH */
  __m128i S0 = _mm_alignr_epi8(TMP, S1, 8); /* ABEF */
  S1 = _mm_blend_epi16(S1, TMP, 0xF0);      /* CDGH */
  while (nb--) {
    __m128i A0 = S0, C0 = S1, W[4], M;
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
      if (g < 4) W[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), MASK);
      M = _mm_add_epi32(W[g & 3], _mm_loadu_si128((const __m128i *)&K256[4 * g]));
      S1 = _mm_sha256rnds2_epu32(S1, S0, M);
      if (g >= 3 && g <= 14) {
        TMP = _mm_alignr_epi8(W[g & 3], W[(g + 3) & 3], 4);
        W[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(W[(g + 1) & 3], TMP), W[g & 3]);
      }
      M = _mm_shuffle_epi32(M, 0x0E);
      S0 = _mm_sha256rnds2_epu32(S0, S1, M);
      if (g >= 1 && g <= 12) W[(g + 3) & 3] = _mm_sha256msg1_epu32(W[(g + 3) & 3], W[g & 3]);
    }
    S0 = _mm_add_epi32(S0, A0);
    S1 = _mm_add_epi32(S1, C0);
    p += 64;
  }
  TMP = _mm_shuffle_epi32(S0, 0x1B);  /* FEBA */
  S1 = _mm_shuffle_epi32(S1, 0xB1);   /* DCHG */
  S0 = _mm_blend_epi16(TMP, S1, 0xF0); /* DCBA */
  S1 = _mm_alignr_epi8(S1, TMP, 8);    /* ABEF */
  _mm_storeu_si128((__m128i *)&st[0], S0);
  _mm_storeu_si128((__m128i *)&st[4], S1);
}

/* SHA-1 with the SHA extensions (same white paper). */
TARGET("sha,sse4.1,ssse3") static void sha1_ni(uint32_t *st, const uint8_t *p, size_t nb) {
  const __m128i MASK = _mm_set_epi64x(0x0001020304050607ull, 0x08090a0b0c0d0e0full);
  __m128i ABCD = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)st), 0x1B);
  __m128i E0 = _mm_set_epi32((int)st[4], 0, 0, 0);
  while (nb--) {
    __m128i ABCD_SAVE = ABCD, E0_SAVE = E0, W[4], E[2];
    E[0] = E0;
#pragma GCC unroll 20
    for (int g = 0; g < 20; g++) {
      if (g < 4) W[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), MASK);
      if (g == 0) E[0] = _mm_add_epi32(E[0], W[0]);
      else E[g & 1] = _mm_sha1nexte_epu32(E[g & 1], W[g & 3]);
      E[(g + 1) & 1] = ABCD;
      if (g >= 3 && g <= 18) W[(g + 1) & 3] = _mm_sha1msg2_epu32(W[(g + 1) & 3], W[g & 3]);
      switch (g / 5) {
        case 0: ABCD = _mm_sha1rnds4_epu32(ABCD, E[g & 1], 0); break;
        case 1: ABCD = _mm_sha1rnds4_epu32(ABCD, E[g & 1], 1); break;
        case 2: ABCD = _mm_sha1rnds4_epu32(ABCD, E[g & 1], 2); break;
        default: ABCD = _mm_sha1rnds4_epu32(ABCD, E[g & 1], 3); break;
      }
      if (g >= 1 && g <= 16) W[(g + 3) & 3] = _mm_sha1msg1_epu32(W[(g + 3) & 3], W[g & 3]);
      if (g >= 2 && g <= 17) W[(g + 2) & 3] = _mm_xor_si128(W[(g + 2) & 3], W[g & 3]);
    }
    E0 = _mm_sha1nexte_epu32(E[0], E0_SAVE);
    ABCD = _mm_add_epi32(ABCD, ABCD_SAVE);
    p += 64;
  }
  _mm_storeu_si128((__m128i *)st, _mm_shuffle_epi32(ABCD, 0x1B));
  st[4] = (uint32_t)_mm_extract_epi32(E0, 3);
}
#endif

typedef void (*c32_fn)(uint32_t *, const uint8_t *, size_t);
typedef void (*c64_fn)(uint64_t *, const uint8_t *, size_t);
static c32_fn sha1_compress = sha1_sw, sha256_compress = sha256_sw;

/* Merkle–Damgård over head ‖ data (hl < 64), state already past `prelen` bytes; big-endian length. */
static void md32(c32_fn f, uint32_t *st, uint64_t prelen, const uint8_t *head, size_t hl, const uint8_t *d, size_t dl) {
  uint8_t buf[64];
  size_t fill;
  uint64_t bits = (prelen + hl + dl) * 8;
  memcpy(buf, head, hl);
  if (dl >= 64 - hl) {
    size_t take = 64 - hl;
    memcpy(buf + hl, d, take);
    f(st, buf, 1);
    d += take, dl -= take;
    if (dl >= 64) f(st, d, dl / 64);
    d += dl & ~(size_t)63, dl &= 63;
    memcpy(buf, d, dl);
    fill = dl;
  } else {
    memcpy(buf + hl, d, dl);
    fill = hl + dl;
  }
  buf[fill++] = 0x80;
  if (fill > 56) {
    memset(buf + fill, 0, 64 - fill);
    f(st, buf, 1);
    fill = 0;
  }
  memset(buf + fill, 0, 56 - fill);
  st64be(buf + 56, bits);
  f(st, buf, 1);
}

static void md64(c64_fn f, uint64_t *st, uint64_t prelen, const uint8_t *head, size_t hl, const uint8_t *d, size_t dl) {
  uint8_t buf[128];
  size_t fill;
  uint64_t bits = (prelen + hl + dl) * 8;
  memcpy(buf, head, hl);
  if (dl >= 128 - hl) {
    size_t take = 128 - hl;
    memcpy(buf + hl, d, take);
    f(st, buf, 1);
    d += take, dl -= take;
    if (dl >= 128) f(st, d, dl / 128);
    d += dl & ~(size_t)127, dl &= 127;
    memcpy(buf, d, dl);
    fill = dl;
  } else {
    memcpy(buf + hl, d, dl);
    fill = hl + dl;
  }
  buf[fill++] = 0x80;
  if (fill > 112) {
    memset(buf + fill, 0, 128 - fill);
    f(st, buf, 1);
    fill = 0;
  }
  memset(buf + fill, 0, 120 - fill);
  st64be(buf + 120, bits);
  f(st, buf, 1);
}

/* ------------------------------------------------------------------- OpenSSL (sha512), resolved at run time */
typedef int (*ossl_init)(void *);
typedef int (*ossl_update)(void *, const void *, size_t);
typedef int (*ossl_final)(unsigned char *, void *);
static struct { ossl_init init; ossl_update update; ossl_final final; } ossl512, ossl256, ossl1;

static void resolve_openssl(void) {
#if HAVE_DLSYM
  ossl512.init = (ossl_init)dlsym(RTLD_DEFAULT, "SHA512_Init");
  ossl512.update = (ossl_update)dlsym(RTLD_DEFAULT, "SHA512_Update");
  ossl512.final = (ossl_final)dlsym(RTLD_DEFAULT, "SHA512_Final");
  if (!ossl512.init || !ossl512.update || !ossl512.final) memset(&ossl512, 0, sizeof ossl512);
  ossl256.init = (ossl_init)dlsym(RTLD_DEFAULT, "SHA256_Init");
  ossl256.update = (ossl_update)dlsym(RTLD_DEFAULT, "SHA256_Update");
  ossl256.final = (ossl_final)dlsym(RTLD_DEFAULT, "SHA256_Final");
  if (!ossl256.init || !ossl256.update || !ossl256.final) memset(&ossl256, 0, sizeof ossl256);
  ossl1.init = (ossl_init)dlsym(RTLD_DEFAULT, "SHA1_Init");
  ossl1.update = (ossl_update)dlsym(RTLD_DEFAULT, "SHA1_Update");
  ossl1.final = (ossl_final)dlsym(RTLD_DEFAULT, "SHA1_Final");
  if (!ossl1.init || !ossl1.update || !ossl1.final) memset(&ossl1, 0, sizeof ossl1);
#endif
}

/* ------------------------------------------------------------------- xxhash64 */
#define XP1 11400714785074694791ull
#define XP2 14029467366897019727ull
#define XP3 1609587929392839161ull
#define XP4 9650029242287828579ull
#define XP5 2870177450012600261ull
static inline uint64_t xround(uint64_t acc, uint64_t in) { return rotl64(acc + in * XP2, 31) * XP1; }
static inline uint64_t xmerge(uint64_t acc, uint64_t v) { return (acc ^ xround(0, v)) * XP1 + XP4; }
static uint64_t xxh64(const uint8_t *p, size_t len, uint64_t seed) {
  const uint8_t *end = p + len;
  uint64_t h;
  if (len >= 32) {
    uint64_t v1 = seed + XP1 + XP2, v2 = seed + XP2, v3 = seed, v4 = seed - XP1;
    do {
      v1 = xround(v1, ld64le(p)), v2 = xround(v2, ld64le(p + 8)), v3 = xround(v3, ld64le(p + 16)), v4 = xround(v4, ld64le(p + 24));
      p += 32;
    } while (p + 32 <= end);
    h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
    h = xmerge(h, v1), h = xmerge(h, v2), h = xmerge(h, v3), h = xmerge(h, v4);
  } else {
    h = seed + XP5;
  }
  h += len;
  for (; p + 8 <= end; p += 8) h = rotl64(h ^ xround(0, ld64le(p)), 27) * XP1 + XP4;
  if (p + 4 <= end) h = rotl64(h ^ (uint64_t)ld32le(p) * XP1, 23) * XP2 + XP3, p += 4;
  for (; p < end; p++) h = rotl64(h ^ (uint64_t)*p * XP5, 11) * XP1;
  h ^= h >> 33, h *= XP2, h ^= h >> 29, h *= XP3, h ^= h >> 32;
  return h;
}

/* ------------------------------------------------------------------- BLAKE2b-256 (RFC 7693) */
static const uint8_t SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};
#define G(a, b, c, d, x, y)                 \
  do {                                      \
    v[a] = v[a] + v[b] + (x);               \
    v[d] = rotr64(v[d] ^ v[a], 32);         \
    v[c] = v[c] + v[d];                     \
    v[b] = rotr64(v[b] ^ v[c], 24);         \
    v[a] = v[a] + v[b] + (y);               \
    v[d] = rotr64(v[d] ^ v[a], 16);         \
    v[c] = v[c] + v[d];                     \
    v[b] = rotr64(v[b] ^ v[c], 63);         \
  } while (0)
static void blake2b_compress(uint64_t h[8], const uint8_t *blk, uint64_t t, int last) {
  uint64_t m[16], v[16];
  for (int i = 0; i < 16; i++) m[i] = ld64le(blk + 8 * i);
  for (int i = 0; i < 8; i++) v[i] = h[i], v[i + 8] = IV512[i];
  v[12] ^= t;
  if (last) v[14] = ~v[14];
  for (int r = 0; r < 12; r++) {
    const uint8_t *s = SIGMA[r];
    G(0, 4, 8, 12, m[s[0]], m[s[1]]);
    G(1, 5, 9, 13, m[s[2]], m[s[3]]);
    G(2, 6, 10, 14, m[s[4]], m[s[5]]);
    G(3, 7, 11, 15, m[s[6]], m[s[7]]);
    G(0, 5, 10, 15, m[s[8]], m[s[9]]);
    G(1, 6, 11, 12, m[s[10]], m[s[11]]);
    G(2, 7, 8, 13, m[s[12]], m[s[13]]);
    G(3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}
static void blake2b256(const uint8_t *p, size_t len, uint8_t out[32]) {
  uint64_t h[8];
  uint8_t last[128];
  memcpy(h, IV512, 64);
  h[0] ^= 0x01010000ull ^ 32;
  uint64_t t = 0;
  while (len > 128) {
    t += 128;
    blake2b_compress(h, p, t, 0);
    p += 128, len -= 128;
  }
  memset(last, 0, 128);
  memcpy(last, p, len);
  t += len;
  blake2b_compress(h, last, t, 1);
  for (int i = 0; i < 4; i++) st64le(out + 8 * i, h[i]);
}

/* ------------------------------------------------------------------- hashers */
static const struct { const char *name; int alg; uint32_t digest; uint32_t hblock; } ALGS[] = {
    {"crc32c", A_CRC32C, 4, 0}, {"crc32", A_CRC32, 4, 0}, {"xxhash64", A_XXH64, 8, 0}, {"sha1", A_SHA1, 20, 64},
    {"sha256", A_SHA256, 32, 64}, {"sha512", A_SHA512, 64, 128}, {"blake2b-256", A_BLAKE2B, 32, 0},
    {"hmac-sha1", A_HMAC_SHA1, 20, 64}, {"hmac-sha256", A_HMAC_SHA256, 32, 64}, {"hmac-sha512", A_HMAC_SHA512, 64, 128},
};

static void plain_init(int base, uint32_t *s32, uint64_t *s64) {
  static const uint32_t IV1[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
  if (base == A_SHA1) memcpy(s32, IV1, 20);
  else if (base == A_SHA256) memcpy(s32, IV256, 32);
  else memcpy(s64, IV512, 64);
}

static int base_of(int alg) {
  return alg == A_HMAC_SHA1 ? A_SHA1 : alg == A_HMAC_SHA256 ? A_SHA256 : alg == A_HMAC_SHA512 ? A_SHA512 : alg;
}

/* hash `block_pad` (a whole hash block) into a fresh state: the HMAC pads */
static void absorb_pad(hasher *h, const uint8_t *pad, uint32_t *s32, uint64_t *s64, uint8_t *octx) {
  plain_init(h->base, s32, s64);
  if (h->ossl) {
    h->ossl_init(octx);
    h->ossl_update(octx, pad, h->hblock);
  } else if (h->base == A_SHA1) sha1_compress(s32, pad, 1);
  else if (h->base == A_SHA256) sha256_compress(s32, pad, 1);
  else sha512_sw(s64, pad, 1);
}

static void digest_plain(int base, const uint8_t *key, size_t klen, uint8_t *out) {
  uint32_t s32[8];
  uint64_t s64[8];
  plain_init(base, s32, s64);
  if (base == A_SHA1) md32(sha1_sw, s32, 0, NULL, 0, key, klen);
  else if (base == A_SHA256) md32(sha256_sw, s32, 0, NULL, 0, key, klen);
  else md64(sha512_sw, s64, 0, NULL, 0, key, klen);
  if (base == A_SHA512) for (int i = 0; i < 8; i++) st64be(out + 8 * i, s64[i]);
  else for (int i = 0; i < (base == A_SHA1 ? 5 : 8); i++) st32be(out + 4 * i, s32[i]);
}

const char *hasher_init(hasher *h, const char *name, const uint8_t *key, size_t klen, const uint8_t *salt, size_t slen,
                        uint32_t tag_size, uint32_t block_size, int impl) {
  memset(h, 0, sizeof *h);
  h->alg = -1;
  for (size_t i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++)
    if (!strcmp(ALGS[i].name, name)) h->alg = ALGS[i].alg, h->digest = ALGS[i].digest, h->hblock = ALGS[i].hblock;
  if (h->alg < 0) return "unsupported algorithm";
  if (slen > 32) return "salt longer than 32 bytes";
  if (block_size < 512 || block_size > 4096 || (block_size & (block_size - 1))) return "block size must be a power of two in 512..4096";
  if (tag_size < 1 || tag_size > 255) return "tag size must be 1..255";
  h->base = base_of(h->alg);
  h->tag_size = tag_size;
  h->block_size = block_size;
  h->salt_len = (uint32_t)slen;
  if (slen) memcpy(h->head, salt, slen);
  int keyed = h->alg >= A_HMAC_SHA1;
  if (keyed && !klen) return "keyed algorithm needs a key";
  if (!keyed && klen) return "algorithm takes no key";
  /* OpenSSL for sha512 by default (no SHA-512 instructions; its AVX2 code is faster than portable C); for
   * sha1/sha256 only when asked (impl 2), to measure it against the SHA extensions */
  int want_ossl = h->base == A_SHA512 ? impl != 1 : (h->base == A_SHA1 || h->base == A_SHA256) && impl == 2;
  if (want_ossl && !force_portable) {
    if (h->base == A_SHA512 && ossl512.init) h->ossl_init = ossl512.init, h->ossl_update = ossl512.update, h->ossl_final = ossl512.final;
    if (h->base == A_SHA256 && ossl256.init) h->ossl_init = ossl256.init, h->ossl_update = ossl256.update, h->ossl_final = ossl256.final;
    if (h->base == A_SHA1 && ossl1.init) h->ossl_init = ossl1.init, h->ossl_update = ossl1.update, h->ossl_final = ossl1.final;
    h->ossl = h->ossl_init != NULL;
  }
  if (h->alg == A_CRC32C) {
    uint32_t c = 0xffffffffu;
#if IS_X86
    if (cpu_sse42) c = crc32c_hw(c, salt, slen);
    else
#endif
      c = crc_sw(T32C, c, salt, slen);
    h->crc_head = c;
  } else if (h->alg == A_CRC32) {
    h->crc_head = crc_sw(T32, 0, salt, slen);
  }
  if (h->base == A_SHA1 || h->base == A_SHA256 || h->base == A_SHA512) {
    if (keyed) {
      uint8_t k[128] = {0}, ipad[128], opad[128];
      if (klen > h->hblock) digest_plain(h->base, key, klen, k);
      else memcpy(k, key, klen);
      for (uint32_t i = 0; i < h->hblock; i++) ipad[i] = k[i] ^ 0x36, opad[i] = k[i] ^ 0x5c;
      absorb_pad(h, ipad, h->i32, h->i64, h->ictx);
      absorb_pad(h, opad, h->o32, h->o64, h->octx);
      memset(k, 0, sizeof k), memset(ipad, 0, sizeof ipad), memset(opad, 0, sizeof opad);
    } else {
      plain_init(h->base, h->i32, h->i64);
      if (h->ossl) h->ossl_init(h->ictx);
    }
  }
  return NULL;
}

void hasher_wipe(hasher *h) {
  volatile uint8_t *p = (volatile uint8_t *)h;
  for (size_t i = 0; i < sizeof *h; i++) p[i] = 0;
}

static inline void put_tag(const hasher *h, const uint8_t *d, uint8_t *out) {
  uint32_t n = h->tag_size < h->digest ? h->tag_size : h->digest;
  memcpy(out, d, n);
  if (n < h->tag_size) memset(out + n, 0, h->tag_size - n);
}

/* one tag: head = salt ‖ le64(sector) */
static void tag_one(const hasher *h, uint64_t sector, const uint8_t *blk, uint8_t *out) {
  uint8_t head[48], d[64];
  size_t hl = h->salt_len + 8;
  uint32_t bs = h->block_size;
  memcpy(head, h->head, h->salt_len);
  st64le(head + h->salt_len, sector);
  switch (h->alg) {
    case A_CRC32C: {
      uint32_t c;
#if IS_X86
      if (cpu_sse42) c = crc32c_hw(crc32c_hw(h->crc_head, head + h->salt_len, 8), blk, bs);
      else
#endif
        c = crc_sw(T32C, crc_sw(T32C, h->crc_head, head + h->salt_len, 8), blk, bs);
      c = ~c;
      memcpy(d, &c, 4);
      break;
    }
    case A_CRC32: {
      uint32_t c = crc_sw(T32, h->crc_head, head + h->salt_len, 8);
#if IS_X86
      if (cpu_pclmul) c = crc32_pclmul(c, blk, bs);
      else
#endif
        c = crc_sw(T32, c, blk, bs);
      memcpy(d, &c, 4);
      break;
    }
    case A_XXH64:
    case A_BLAKE2B: {
      uint8_t msg[48 + 4096];
      memcpy(msg, head, hl);
      memcpy(msg + hl, blk, bs);
      if (h->alg == A_XXH64) {
        uint64_t v = xxh64(msg, hl + bs, 0);
        memcpy(d, &v, 8);
      } else {
        blake2b256(msg, hl + bs, d);
      }
      break;
    }
    default: {
      int keyed = h->alg >= A_HMAC_SHA1;
      uint64_t pre = keyed ? h->hblock : 0;
      if (h->ossl) {
        uint8_t ctx[512] __attribute__((aligned(16)));
        memcpy(ctx, h->ictx, sizeof h->ictx);
        h->ossl_update(ctx, head, hl);
        h->ossl_update(ctx, blk, bs);
        h->ossl_final(d, ctx);
        if (keyed) {
          memcpy(ctx, h->octx, sizeof h->octx);
          h->ossl_update(ctx, d, h->digest);
          h->ossl_final(d, ctx);
        }
      } else if (h->base == A_SHA512) {
        uint64_t s[8];
        memcpy(s, h->i64, 64);
        md64(sha512_sw, s, pre, head, hl, blk, bs);
        for (int i = 0; i < 8; i++) st64be(d + 8 * i, s[i]);
        if (keyed) {
          memcpy(s, h->o64, 64);
          md64(sha512_sw, s, 128, d, 64, NULL, 0);
          for (int i = 0; i < 8; i++) st64be(d + 8 * i, s[i]);
        }
      } else {
        c32_fn f = h->base == A_SHA1 ? sha1_compress : sha256_compress;
        int words = h->base == A_SHA1 ? 5 : 8;
        uint32_t s[8];
        memcpy(s, h->i32, 32);
        md32(f, s, pre, head, hl, blk, bs);
        for (int i = 0; i < words; i++) st32be(d + 4 * i, s[i]);
        if (keyed) {
          memcpy(s, h->o32, 32);
          md32(f, s, 64, d, h->digest, NULL, 0);
          for (int i = 0; i < words; i++) st32be(d + 4 * i, s[i]);
        }
      }
    }
  }
  put_tag(h, d, out);
}

void hasher_run(const hasher *h, const uint8_t *data, uint64_t sector, uint32_t from, uint32_t to, uint8_t *out) {
  uint32_t bs = h->block_size, spb = bs / 512, ts = h->tag_size;
  uint32_t b = from;
#if IS_X86
  if (h->alg == A_CRC32C && cpu_sse42) {
    for (; b + 3 <= to; b += 3) {
      uint32_t c[3];
      uint64_t s = sector + (uint64_t)b * spb;
      crc32c_hw_x3(h->crc_head, data + (size_t)b * bs, data + (size_t)(b + 1) * bs, data + (size_t)(b + 2) * bs, s, s + spb,
                   s + 2 * spb, bs, c);
      for (int k = 0; k < 3; k++) {
        uint8_t d[4];
        uint32_t v = ~c[k];
        memcpy(d, &v, 4);
        put_tag(h, d, out + (size_t)(b + k) * ts);
      }
    }
  }
#endif
  for (; b < to; b++) tag_one(h, sector + (uint64_t)b * spb, data + (size_t)b * bs, out + (size_t)b * ts);
}

/* A self-test of each hardware path against the portable C on fixed inputs: a CPU or compiler that gets one
 * wrong loses that path, never a tag. */
static int self_test(void) {
  uint8_t buf[4096 + 64];
  for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + 7);
  int ok = 1;
#if IS_X86
  if (cpu_sse42 && crc32c_hw(0x12345678u, buf, 1000) != crc_sw(T32C, 0x12345678u, buf, 1000)) cpu_sse42 = 0, ok = 0;
  if (cpu_pclmul && crc32_pclmul(0x9abcdefu, buf, 4096) != crc_sw(T32, 0x9abcdefu, buf, 4096)) cpu_pclmul = 0, ok = 0;
  if (cpu_sha) {
    uint32_t a[8], b[8];
    memcpy(a, IV256, 32), memcpy(b, IV256, 32);
    sha256_ni(a, buf, 5), sha256_sw(b, buf, 5);
    uint32_t c[5] = {1, 2, 3, 4, 5}, e[5] = {1, 2, 3, 4, 5};
    sha1_ni(c, buf, 5), sha1_sw(e, buf, 5);
    if (memcmp(a, b, 32) || memcmp(c, e, 20)) cpu_sha = 0, ok = 0;
  }
#endif
  return ok;
}

int hashes_setup(int portable) {
  make_tables(T32C, 0x82f63b78u);
  make_tables(T32, 0xedb88320u);
  force_portable = portable;
#if IS_X86
  if (!portable) {
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
      cpu_sse42 = !!(c & (1u << 20));
      cpu_pclmul = !!(c & (1u << 1)) && !!(c & (1u << 19));
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) cpu_sha = !!(b & (1u << 29)) && cpu_sse42;
  }
#endif
  if (cpu_sha) sha1_compress = sha1_ni, sha256_compress = sha256_ni;
  int ok = self_test();
  if (!cpu_sha) sha1_compress = sha1_sw, sha256_compress = sha256_sw;
  if (!portable) resolve_openssl();
  sha512_impl = ossl512.init ? "OpenSSL (the process's own)" : "portable C";
  return ok;
}

const char *hashes_sha512_impl(void) { return sha512_impl; }
int hashes_openssl(void) { return ossl256.init != NULL; }

/* The bare crc32 instruction over `len` bytes as three independent streams: the crc32c ceiling of one core. */
uint32_t crc32c_probe(const uint8_t *p, size_t len) {
#if IS_X86
  if (cpu_sse42) {
    size_t third = (len / 3) & ~(size_t)15;
    uint32_t c[3];
    crc32c_hw_x3(0xffffffffu, p, p + third, p + 2 * third, 0, 0, 0, third, c);
    return c[0] ^ c[1] ^ c[2];
  }
#endif
  return crc_sw(T32C, 0xffffffffu, p, len);
}
