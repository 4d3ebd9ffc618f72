// Node-API binding of the tag hashers, and a process-wide pool of helper threads (one per core but the
// caller's) that share the blocks of a run with the calling thread. begin() hands a run to the helpers and
// returns at once, so the caller can read the next chunk while they hash; finish() makes the caller hash the
// blocks nobody has taken yet, then waits for the helpers' last batches. Node-API only (ABI-stable): the same
// binary loads in every Node >= 18 and in Electron.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <dlfcn.h>
#include <errno.h>
#ifndef READ_BATCH_KIB
#define READ_BATCH_KIB 64
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "hashes.h"

typedef struct job {
  const hasher *h;
  uint8_t *data;
  uint8_t *out;
  uint64_t sector;
  uint32_t n, batch;
  atomic_uint next;
  int pooled;
  /* read runs (beginRead): each thread preads its batch from fd at pos + batch offset into data, then hashes it, so
   * both the page-cache copy and the hashing run on every core. err: the first failed read's errno (-1: end of
   * file); once set, the threads stop taking batches and finish() reports it (the caller reads the run again its
   * own way, which raises the error as its device names it) */
  int fd;
  int64_t pos;
  atomic_int err;
} job;

typedef struct handle {
  hasher h;
  job j;
  int busy;
} handle;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_work = PTHREAD_COND_INITIALIZER, cv_idle = PTHREAD_COND_INITIALIZER;
static job *cur;
static uint64_t cur_gen;
static int active, nthreads, selftest_ok;
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* process-wide counters for the benchmark's breakdown: runs handed to the helpers or not, blocks hashed by the
 * helpers and by the callers, and the time callers waited in finish() for the helpers' last batches */
static atomic_ullong st_pooled, st_alone, st_helper_blocks, st_caller_blocks, st_wait_ns;

/* reads blocks [b, e) of a read run into place; 0, or errno (-1 at end of file) */
static int read_batch(job *j, uint32_t b, uint32_t e) {
  size_t bs = j->h->block_size, want = (size_t)(e - b) * bs, got = 0;
  uint8_t *p = j->data + (size_t)b * bs;
  int64_t at = j->pos + (int64_t)b * (int64_t)bs;
  while (got < want) {
    ssize_t r = pread(j->fd, p + got, want - got, at + (int64_t)got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno ? errno : EIO;
    }
    if (r == 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static uint64_t work(job *j) {
  uint64_t done = 0;
  for (;;) {
    if (j->fd >= 0 && atomic_load_explicit(&j->err, memory_order_relaxed)) return done;
    uint32_t b = atomic_fetch_add_explicit(&j->next, j->batch, memory_order_relaxed);
    if (b >= j->n) return done;
    uint32_t e = b + j->batch < j->n ? b + j->batch : j->n;
    if (j->fd >= 0) {
      int rc = read_batch(j, b, e);
      if (rc) {
        int zero = 0;
        atomic_compare_exchange_strong(&j->err, &zero, rc);
        return done;
      }
    }
    hasher_run(j->h, j->data, j->sector, b, e, j->out);
    done += e - b;
  }
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *helper(void *arg) {
  (void)arg;
  uint64_t seen = 0;
  pthread_mutex_lock(&mu);
  for (;;) {
    while (!cur || cur_gen == seen) pthread_cond_wait(&cv_work, &mu);
    job *j = cur;
    seen = cur_gen;
    active++;
    pthread_mutex_unlock(&mu);
    atomic_fetch_add_explicit(&st_helper_blocks, work(j), memory_order_relaxed);
    pthread_mutex_lock(&mu);
    if (--active == 0) pthread_cond_broadcast(&cv_idle);
  }
  return NULL;
}

/* Keeps this library mapped for the life of the process. Node unloads an addon when the last environment that
 * loaded it ends (a job's worker thread exits): the helper threads would then sleep on a condition variable in
 * unmapped memory, and the next load would initialise the same statics again under the old helpers (seen as a
 * job worker hung in pthread_cond_broadcast, and as a second job hashing on one core). */
static void pin_library(void) {
#ifdef RTLD_NODELETE
  Dl_info di;
  if (dladdr((void *)&pin_library, &di) && di.dli_fname) (void)dlopen(di.dli_fname, RTLD_NOW | RTLD_NODELETE);
#endif
}

static void init_once(void) {
  pin_library();
  const char *p = getenv("INTEGRITY_STUDIO_NATIVE_PORTABLE");
  selftest_ok = hashes_setup(p && *p && strcmp(p, "0"));
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const char *t = getenv("INTEGRITY_STUDIO_HASH_THREADS");
  long want = t && *t ? atol(t) : cores;
  if (want < 1) want = 1;
  if (want > 64) want = 64;
  for (long i = 0; i < want - 1; i++) {
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 256 * 1024);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, helper, NULL) == 0) nthreads++;
    pthread_attr_destroy(&at);
  }
}

static void job_begin(job *j) {
  j->pooled = 0;
  atomic_store(&j->next, 0);
  atomic_store(&j->err, 0);
  if (nthreads && j->n >= 2 * j->batch) {
    pthread_mutex_lock(&mu);
    if (!cur) {
      cur = j;
      cur_gen++;
      j->pooled = 1;
      pthread_cond_broadcast(&cv_work);
    }
    pthread_mutex_unlock(&mu);
  }
  atomic_fetch_add_explicit(j->pooled ? &st_pooled : &st_alone, 1, memory_order_relaxed);
}

static void job_finish(job *j) {
  atomic_fetch_add_explicit(&st_caller_blocks, work(j), memory_order_relaxed);
  if (j->pooled) {
    uint64_t t0 = now_ns();
    pthread_mutex_lock(&mu);
    cur = NULL;
    while (active > 0) pthread_cond_wait(&cv_idle, &mu);
    pthread_mutex_unlock(&mu);
    j->pooled = 0;
    atomic_fetch_add_explicit(&st_wait_ns, now_ns() - t0, memory_order_relaxed);
  }
}

/* ------------------------------------------------------------------ N-API glue */
#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "integrity-studio native: " #call);      \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static int bytes_of(napi_env env, napi_value v, uint8_t **p, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type t;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, &data, &ab, &off) != napi_ok || t != napi_uint8_array) return 0;
  *p = data;
  return 1;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env, (void)hint;
  handle *hd = data;
  if (hd->busy) job_finish(&hd->j);
  hasher_wipe(&hd->h);
  free(hd);
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char name[32];
  size_t nl;
  if (argc < 6 || napi_get_value_string_utf8(env, a[0], name, sizeof name, &nl) != napi_ok) {
    napi_throw_type_error(env, NULL, "create(name, key, salt, tagSize, blockSize, impl)");
    return NULL;
  }
  uint8_t *key = NULL, *salt = NULL;
  size_t kl = 0, sl = 0;
  napi_valuetype vt;
  napi_typeof(env, a[1], &vt);
  if (vt != napi_null && vt != napi_undefined && !bytes_of(env, a[1], &key, &kl)) {
    napi_throw_type_error(env, NULL, "key must be a Uint8Array or null");
    return NULL;
  }
  napi_typeof(env, a[2], &vt);
  if (vt != napi_null && vt != napi_undefined && !bytes_of(env, a[2], &salt, &sl)) {
    napi_throw_type_error(env, NULL, "salt must be a Uint8Array or null");
    return NULL;
  }
  uint32_t ts, bs;
  int32_t impl;
  CHECK(napi_get_value_uint32(env, a[3], &ts));
  CHECK(napi_get_value_uint32(env, a[4], &bs));
  CHECK(napi_get_value_int32(env, a[5], &impl));
  handle *hd = calloc(1, sizeof *hd);
  if (!hd) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  const char *err = hasher_init(&hd->h, name, key, kl, salt, sl, ts, bs, impl);
  if (err) {
    free(hd);
    napi_throw_error(env, NULL, err);
    return NULL;
  }
  hd->j.h = &hd->h;
  napi_value ext;
  CHECK(napi_create_external(env, hd, finalize, NULL, &ext));
  return ext;
}

/* args: handle, data (Uint8Array, whole blocks), sector (number), out (Uint8Array, nblocks × tag size); for a read
 * run (`read`), handle, fd, pos (byte offset of the first block in fd), then data, sector, out. Checks them and fills
 * *j (fd -1 unless a read run); throws and returns NULL when they are wrong or a run is in progress. */
static handle *run_args(napi_env env, napi_callback_info info, job *j, int read) {
  size_t argc = read ? 6 : 4;
  napi_value a[6];
  handle *hd;
  int32_t fd = -1;
  int64_t pos = 0;
  uint8_t *data, *out;
  size_t dl, ol;
  double sector;
  const size_t k = read ? 2 : 0; /* where data, sector and out start */
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < (read ? 6u : 4u) || napi_get_value_external(env, a[0], (void **)&hd) != napi_ok ||
      (read && (napi_get_value_int32(env, a[1], &fd) != napi_ok || napi_get_value_int64(env, a[2], &pos) != napi_ok)) ||
      !bytes_of(env, a[k + 1], &data, &dl) || napi_get_value_double(env, a[k + 2], &sector) != napi_ok || !bytes_of(env, a[k + 3], &out, &ol)) {
    napi_throw_type_error(env, NULL, read ? "(handle, fd: number, pos: number, data: Uint8Array, sector: number, out: Uint8Array)"
                                          : "(handle, data: Uint8Array, sector: number, out: Uint8Array)");
    return NULL;
  }
  if (hd->busy) {
    napi_throw_error(env, NULL, "a run is already in progress on this hasher (call finish first)");
    return NULL;
  }
  uint32_t bs = hd->h.block_size;
  if ((read && (fd < 0 || pos < 0)) || dl % bs || (dl / bs) * hd->h.tag_size > ol || dl / bs > 0xffffffffu || sector < 0 ||
      sector > 9007199254740991.0) {
    napi_throw_range_error(env, NULL, read ? "fd and pos must be valid, data whole blocks, and out must hold their tags"
                                           : "data must be whole blocks and out must hold their tags");
    return NULL;
  }
  *j = hd->j;
  j->fd = fd;
  j->pos = pos;
  j->data = data;
  j->out = out;
  j->sector = (uint64_t)sector;
  j->n = (uint32_t)(dl / bs);
  return hd;
}

static napi_value js_tags(napi_env env, napi_callback_info info) {
  job tmp;
  handle *hd = run_args(env, info, &tmp, 0);
  if (!hd) return NULL;
  hasher_run(&hd->h, tmp.data, tmp.sector, 0, tmp.n, tmp.out);
  return NULL;
}

/* begin() and beginRead(): the run in tmp handed to the helper threads in batches of `batch_bytes`; true when
 * they took it */
static napi_value start_run(napi_env env, handle *hd, const job *tmp, size_t batch_bytes) {
  hd->j.data = tmp->data, hd->j.out = tmp->out, hd->j.sector = tmp->sector, hd->j.n = tmp->n, hd->j.fd = tmp->fd, hd->j.pos = tmp->pos;
  hd->j.batch = batch_bytes / hd->h.block_size ? (uint32_t)(batch_bytes / hd->h.block_size) : 1;
  hd->busy = 1;
  job_begin(&hd->j);
  napi_value r;
  napi_get_boolean(env, hd->j.pooled, &r);
  return r;
}

static napi_value js_begin(napi_env env, napi_callback_info info) {
  job tmp;
  handle *hd = run_args(env, info, &tmp, 0);
  /* batches of about 64 KiB of data: small enough to balance two threads over a 4 MiB chunk */
  return hd ? start_run(env, hd, &tmp, 65536) : NULL;
}

/* Bytes each thread preads and then hashes at a time in a read run (INTEGRITY_STUDIO_READ_BATCH_KIB, for
 * measuring): large enough that the syscall costs little next to the copy, small enough that the batch is still in
 * the core's L2 cache when it is hashed. */
static size_t read_batch_bytes(void) {
  static size_t v;
  if (!v) {
    const char *e = getenv("INTEGRITY_STUDIO_READ_BATCH_KIB");
    long k = e ? strtol(e, NULL, 10) : 0;
    v = (k > 0 && k <= 65536 ? (size_t)k : READ_BATCH_KIB) * 1024;
  }
  return v;
}

/* args: handle, fd, pos, data, sector, out: begin() of a read run, whose blocks the threads pread into data
 * before hashing them */
static napi_value js_begin_read(napi_env env, napi_callback_info info) {
  job tmp;
  handle *hd = run_args(env, info, &tmp, 1);
  return hd ? start_run(env, hd, &tmp, read_batch_bytes()) : NULL;
}

static napi_value js_finish(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  handle *hd;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_external(env, a[0], (void **)&hd) != napi_ok) {
    napi_throw_type_error(env, NULL, "finish(handle)");
    return NULL;
  }
  int err = 0;
  if (hd->busy) {
    job_finish(&hd->j);
    if (hd->j.fd >= 0) err = atomic_load(&hd->j.err);
    hd->j.fd = -1;
  }
  hd->busy = 0;
  napi_value r;
  CHECK(napi_create_int32(env, err, &r));
  return r;
}

static napi_value js_probe(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], r;
  uint8_t *p;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, a, NULL, NULL) != napi_ok || argc < 1 || !bytes_of(env, a[0], &p, &len)) {
    napi_throw_type_error(env, NULL, "crc32cProbe(buf: Uint8Array)");
    return NULL;
  }
  CHECK(napi_create_uint32(env, crc32c_probe(p, len), &r));
  return r;
}

static void set_bool(napi_env env, napi_value o, const char *k, int v) {
  napi_value b;
  napi_get_boolean(env, v, &b);
  napi_set_named_property(env, o, k, b);
}

static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, s, n;
  CHECK(napi_create_object(env, &o));
  set_bool(env, o, "sse42", cpu_sse42);
  set_bool(env, o, "pclmul", cpu_pclmul);
  set_bool(env, o, "sha_ni", cpu_sha);
  set_bool(env, o, "openssl", hashes_openssl());
  set_bool(env, o, "selftest", selftest_ok);
  napi_create_string_utf8(env, hashes_sha512_impl(), NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, o, "sha512", s);
  napi_create_uint32(env, (uint32_t)nthreads, &n);
  napi_set_named_property(env, o, "helpers", n);
  return o;
}

static void set_num(napi_env env, napi_value o, const char *k, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, o, k, n);
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  CHECK(napi_create_object(env, &o));
  set_num(env, o, "pooled_runs", (double)atomic_load(&st_pooled));
  set_num(env, o, "alone_runs", (double)atomic_load(&st_alone));
  set_num(env, o, "helper_blocks", (double)atomic_load(&st_helper_blocks));
  set_num(env, o, "caller_blocks", (double)atomic_load(&st_caller_blocks));
  set_num(env, o, "wait_ms", (double)atomic_load(&st_wait_ns) / 1e6);
  return o;
}

static napi_value init(napi_env env, napi_value exports) {
  pthread_once(&once, init_once);
  napi_property_descriptor d[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"tags", NULL, js_tags, NULL, NULL, NULL, napi_default, NULL},
      {"begin", NULL, js_begin, NULL, NULL, NULL, napi_default, NULL},
      {"finish", NULL, js_finish, NULL, NULL, NULL, napi_default, NULL},
      {"beginRead", NULL, js_begin_read, NULL, NULL, NULL, napi_default, NULL},
      {"crc32cProbe", NULL, js_probe, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
