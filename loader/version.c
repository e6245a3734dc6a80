/* version.c: one loaded module version, a dlopen'd private copy of a module
 * file that passed every check. Not the slots (code_server.c) nor actors. */
#include "version.h"

#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callsite.h"
#include "descriptor.h"
#include "elf_check.h"
#include "errmsg.h"
#include "module_file.h"
#include "module_probe.h"
#include "sha256.h"

/* Memory here comes from plain malloc, not molt_alloc: the allocator
 * belongs to the runtime, and the loader builds and is tested without it. */

static int sys_fail(char* err, size_t errlen, const char* path, const char* what, int e) {
  return molt__errmsg_set(err, errlen, -e, "%s: %s: %s", path, what, strerror(e));
}

static int write_all(int fd, const unsigned char* bytes, size_t len) {
  while (len > 0) {
    ssize_t put = write(fd, bytes, len);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) return errno;
    bytes += put;
    len -= (size_t)put;
  }
  return 0;
}

/* glibc caches dlopen by path and by inode: a module rebuilt in place would
 * come back as the old code. So every version is dlopen'd from a copy at a
 * name no other version ever had, <copy_dir>/<basename>.<pid>.<n>.so. O_EXCL
 * means a leftover of a crashed process that had our pid is skipped, never
 * reused; mode 0600 in a 0700 directory means nobody else can swap the bytes
 * between this write and dlopen. */
static atomic_uint copy_seq;

static int write_copy(const char* copy_dir, const char* path, const unsigned char* bytes,
                      size_t len, char** out, char* err, size_t errlen) {
  const char* slash = strrchr(path, '/');
  const char* base = slash ? slash + 1 : path;
  for (int attempt = 0; attempt < 100; attempt++) {
    char* priv = NULL;
    if (asprintf(&priv, "%s/%s.%ld.%u.so", copy_dir, base, (long)getpid(),
                 atomic_fetch_add(&copy_seq, 1) + 1) < 0)
      return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: private copy: out of memory",
                              path);
    int fd = open(priv, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
      free(priv);
      continue;
    }
    int e = fd < 0 ? errno : write_all(fd, bytes, len);
    if (fd >= 0 && close(fd) != 0 && e == 0) e = errno;
    if (e != 0) {
      int rc = sys_fail(err, errlen, priv, "private copy", e);
      if (fd >= 0) unlink(priv);
      free(priv);
      return rc;
    }
    *out = priv;
    return 0;
  }
  return molt__errmsg_set(err, errlen, MOLT_EEXIST,
                          "%s: private copy: every name tried already exists", copy_dir);
}

/* Copy out of the descriptor what outlives a look at it. Callbacks past
 * free_state are optional: read only if the module's descriptor is long
 * enough to hold them, else NULL. */
static int take_descriptor(molt_version_t* v, const molt_module_t* d) {
  v->desc = d;
  v->state_vsn = d->state_vsn;
  v->init = d->init;
  v->handle = d->handle;
  v->free_state = d->free_state;
  v->terminate = MOLT_HAS_FIELD(d, terminate) ? d->terminate : NULL;
  v->code_change = MOLT_HAS_FIELD(d, code_change) ? d->code_change : NULL;
  v->format_state = MOLT_HAS_FIELD(d, format_state) ? d->format_state : NULL;
  v->name = strdup(d->name);
  v->vsn = strdup(d->vsn);
  snprintf(v->label, sizeof(v->label), "%s", d->vsn); /* until installed */
  atomic_init(&v->refs, 1);
  atomic_init(&v->actors, 0);
  return v->name && v->vsn ? 0 : MOLT_ENOMEM;
}

static molt_version_t* new_version(void) {
  molt_version_t* v = calloc(1, sizeof *v);
  if (v) pthread_mutex_init(&v->hash_lock, NULL);
  return v;
}

static void free_version(molt_version_t* v) {
  pthread_mutex_destroy(&v->hash_lock);
  free(v->name);
  free(v->vsn);
  free(v->src_path);
  free(v->priv_path);
  free(v);
}

int molt__version_open(const char* path, const char* expect_name, const char* copy_dir,
                       molt_version_t** out, char* err, size_t errlen) {
  unsigned char* bytes = NULL;
  size_t len = 0;
  molt_version_t* v = NULL;
  const molt_module_t* desc = NULL;
  /* Read once: everything after works on these bytes (ELF check, private
   * copy), so what was verified is exactly what gets loaded even if
   * someone rewrites the file meanwhile. */
  int rc = molt__module_file_read(path, &bytes, &len, err, errlen);
  if (rc != 0) return rc;
  rc = molt__elf_check(bytes, len, path, err, errlen);
  if (rc != 0) goto fail_bytes;

  v = new_version();
  if (!v) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: out of memory", path);
    goto fail_bytes;
  }
  rc = write_copy(copy_dir, path, bytes, len, &v->priv_path, err, errlen);
  if (rc != 0) goto fail_version;
  /* The file's code runs first in the probe's child, never here if it
   * exits, crashes or hangs there. */
  if ((rc = molt__probe_check(v->priv_path, path, err, errlen)) != 0) goto fail_unlink;

  /* The module's constructors run inside dlopen: a crash there is
   * reported as the constructor of this file. */
  molt_callsite_t prev = molt__callsite_enter(NULL, NULL, "constructor");
  molt__callsite.file = path;
  v->dl = dlopen(v->priv_path, RTLD_NOW | RTLD_LOCAL);
  molt__callsite_leave(prev);
  if (!v->dl) {
    /* dlerror names the private copy and what failed, e.g. "undefined
     * symbol: x": the message carries both paths. */
    rc = molt__errmsg_set(err, errlen, MOLT_EDLOPEN, "%s: dlopen: %s", path, dlerror());
    goto fail_unlink;
  }
  desc = dlsym(v->dl, MOLT_DESCRIPTOR_SYMBOL);
  if (!desc) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENODESC,
                          "%s: %s: expected an exported module descriptor, found none", path,
                          MOLT_DESCRIPTOR_SYMBOL);
    goto fail_dlclose;
  }
  rc = molt__descriptor_check(desc, path, expect_name, err, errlen);
  if (rc != 0) goto fail_dlclose;
  v->src_path = strdup(path);
  if (take_descriptor(v, desc) != 0 || !v->src_path) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: out of memory", path);
    goto fail_dlclose;
  }
  free(bytes);
  *out = v;
  return 0;

fail_dlclose:
  dlclose(v->dl);
fail_unlink:
  unlink(v->priv_path);
fail_version:
  free_version(v);
fail_bytes:
  free(bytes);
  return rc;
}

int molt__version_builtin(const molt_module_t* desc, molt_version_t** out) {
  int rc = molt__descriptor_check(desc, "(builtin)", NULL, NULL, 0);
  if (rc != 0) return rc;
  molt_version_t* v = new_version();
  if (!v) return MOLT_ENOMEM;
  if (take_descriptor(v, desc) != 0) {
    free_version(v);
    return MOLT_ENOMEM;
  }
  v->builtin = true;
  *out = v;
  return 0;
}

int molt__version_sha256(molt_version_t* v, uint8_t out[32]) {
  if (v->builtin || !v->priv_path) return MOLT_EINVAL;
  pthread_mutex_lock(&v->hash_lock);
  int rc = v->hashed ? 0 : molt__sha256_file(v->priv_path, v->sha256);
  if (rc == 0) {
    v->hashed = true;
    memcpy(out, v->sha256, sizeof v->sha256);
  }
  pthread_mutex_unlock(&v->hash_lock);
  return rc;
}

void molt__version_ref(molt_version_t* v) { molt__version_ref_n(v, 1); }

void molt__version_ref_n(molt_version_t* v, long n) {
  long before = atomic_fetch_add_explicit(&v->refs, n, memory_order_relaxed);
  assert(before > 0 && "ref of a closed version");
  (void)before;
}

static pthread_rwlock_t readers = PTHREAD_RWLOCK_INITIALIZER;

void molt__version_readers_enter(void) { pthread_rwlock_rdlock(&readers); }
void molt__version_readers_leave(void) { pthread_rwlock_unlock(&readers); }

void molt__version_unref(molt_version_t* v) { molt__version_unref_n(v, 1); }

/* acq_rel: whoever drops the last reference must see every other holder's
 * writes to the version before it frees it. */
void molt__version_unref_n(molt_version_t* v, long n) {
  long before = atomic_fetch_sub_explicit(&v->refs, n, memory_order_acq_rel);
  assert(before >= n && "unref of a closed version");
  if (before != n) return;
  /* Readers on other threads (ps, top, alarms: runtime/actor/vitals.c)
   * may be reading this version's name through an actor slot whose actor
   * has just dropped it; they read only inside molt__version_readers_*,
   * and the free waits for them. A version's last reference goes rarely
   * (a purge), so the write lock costs nothing on any message path. */
  pthread_rwlock_wrlock(&readers);
  pthread_rwlock_unlock(&readers);
  /* The mapping goes before the file, so no moment exists where a mapped
   * version has no private copy on disk to inspect. A builtin has neither. */
  if (v->dl && !v->builtin) dlclose(v->dl);
  if (v->priv_path) unlink(v->priv_path);
  free_version(v);
}
