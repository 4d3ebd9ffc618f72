// Tag hashers of native/src/hashes.c (see there).
#pragma once
#include <stddef.h>
#include <stdint.h>

enum { A_CRC32C, A_CRC32, A_XXH64, A_SHA1, A_SHA256, A_SHA512, A_BLAKE2B, A_HMAC_SHA1, A_HMAC_SHA256, A_HMAC_SHA512 };

typedef struct hasher {
  int alg, base, ossl;
  uint32_t tag_size, digest, hblock, block_size, salt_len;
  uint32_t crc_head;
  uint8_t head[32];
  /* SHA states after the HMAC inner/outer pad block (or the IV for plain SHA) */
  uint32_t i32[8], o32[8];
  uint64_t i64[8], o64[8];
  /* the same as OpenSSL contexts when OpenSSL computes this digest */
  uint8_t ictx[256] __attribute__((aligned(16)));
  uint8_t octx[256] __attribute__((aligned(16)));
  int (*ossl_init)(void *);
  int (*ossl_update)(void *, const void *, size_t);
  int (*ossl_final)(unsigned char *, void *);
} hasher;

extern int cpu_sse42, cpu_pclmul, cpu_sha;
/* once per process: tables, CPU features (none when portable), OpenSSL lookup; returns 0 if a self-test failed */
int hashes_setup(int portable);
const char *hasher_init(hasher *h, const char *name, const uint8_t *key, size_t klen, const uint8_t *salt, size_t slen,
                        uint32_t tag_size, uint32_t block_size, int impl);
void hasher_wipe(hasher *h);
/* tags of blocks [from, to) of data (block 0 at `sector`) into out (tag_size bytes per block, block 0 at out) */
void hasher_run(const hasher *h, const uint8_t *data, uint64_t sector, uint32_t from, uint32_t to, uint8_t *out);
const char *hashes_sha512_impl(void);
int hashes_openssl(void);
uint32_t crc32c_probe(const uint8_t *p, size_t len);
