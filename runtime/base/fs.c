/* fs.c: whole reads, durable copies, atomic replacement and removal of
 * trees, with errors as MOLT_E* codes, and the one place the calls that
 * write can be made to fail. Not a general file API. */
#include "fs.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "molt/errno.h"

/* fail_kinds is all a disarmed call reads (as alloc.c's armed): 0 unless
 * a test has armed injection. One shot, so that what the code does after
 * the failure (removing its temporary files, reporting) runs for real. */
static atomic_uint fail_kinds;
static atomic_ulong fail_countdown;
static atomic_int fail_err;

unsigned long molt__fs_fail_at(unsigned kinds, unsigned long nth, int err) {
  unsigned long was;

  atomic_store(&fail_kinds, 0);
  atomic_store(&fail_err, err);
  was = atomic_exchange(&fail_countdown, nth);
  if (nth) atomic_store(&fail_kinds, kinds);
  return was;
}

/* 0, or the error this call of kind must return instead of being made. */
static int injected(unsigned kind) {
  unsigned long n;

  if (!(atomic_load_explicit(&fail_kinds, memory_order_relaxed) & kind)) return 0;
  n = atomic_load(&fail_countdown);
  while (n > 0 && !atomic_compare_exchange_weak(&fail_countdown, &n, n - 1)) {
  }
  return n == 1 ? atomic_load(&fail_err) : 0;
}

int molt__fs_create(const char* path, int flags, mode_t mode) {
  int fd, rc = injected(MOLT_FS_CREATE);

  if (rc) return rc;
  fd = open(path, flags | O_CREAT | O_CLOEXEC, mode);
  return fd < 0 ? -errno : fd;
}

int molt__fs_fsync(int fd) {
  int rc = injected(MOLT_FS_FSYNC);

  if (rc) return rc;
  return fsync(fd) == 0 ? 0 : -errno;
}

int molt__fs_rename(const char* from, const char* to) {
  int rc = injected(MOLT_FS_RENAME);

  if (rc) return rc;
  return rename(from, to) == 0 ? 0 : -errno;
}

int molt__fs_mkdir(const char* path, mode_t mode) {
  int rc = injected(MOLT_FS_MKDIR);

  if (rc) return rc;
  return mkdir(path, mode) == 0 ? 0 : -errno;
}

int molt__fs_write_all(int fd, const void* buf, size_t n) {
  const char* p = buf;
  ssize_t w;
  int rc = injected(MOLT_FS_WRITE);

  if (rc) return rc;
  while (n > 0) {
    w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int molt__fs_fsync_path(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

  if (fd < 0) return -errno;
  rc = molt__fs_fsync(fd);
  close(fd);
  return rc;
}

static int read_fd(int fd, size_t max, char** out, size_t* outlen) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap), *bigger;
  ssize_t r;

  if (!buf) return MOLT_ENOMEM;
  for (;;) {
    if (n == cap) {
      if (cap > max) {
        free(buf);
        return MOLT_EMSGSIZE;
      }
      bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        return MOLT_ENOMEM;
      }
      buf = bigger;
      cap *= 2;
    }
    r = read(fd, buf + n, cap - n);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      r = -errno;
      free(buf);
      return (int)r;
    }
    n += (size_t)r;
  }
  if (n > max) {
    free(buf);
    return MOLT_EMSGSIZE;
  }
  *out = buf;
  *outlen = n;
  return 0;
}

int molt__fs_read(const char* path, size_t max, char** out, size_t* len) {
  struct stat st;
  int fd, rc;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) != 0)
    rc = -errno;
  else if (!S_ISREG(st.st_mode))
    rc = MOLT_EINVAL;
  else
    rc = read_fd(fd, max, out, len);
  close(fd);
  return rc;
}

int molt__fs_copy(const char* from, const char* to, char* err, size_t errlen) {
  char buf[64 * 1024];
  struct stat st;
  ssize_t r;
  int in, out, rc = 0;

  in = open(from, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (in < 0) {
    rc = -errno;
    return molt__errmsg_set(err, errlen, rc, "%s: %s", from, molt__errmsg_strerror(rc));
  }
  if (fstat(in, &st) != 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", from, molt__errmsg_strerror(rc));
    goto fail_in;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: not a regular file", from);
    goto fail_in;
  }
  out = molt__fs_create(to, O_WRONLY | O_EXCL, st.st_mode & 0755);
  if (out < 0) {
    rc = out;
    molt__errmsg_set(err, errlen, rc, "%s: %s", to, molt__errmsg_strerror(rc));
    goto fail_in;
  }
  for (;;) {
    r = read(in, buf, sizeof buf);
    if (r == 0) break;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = -errno;
      molt__errmsg_set(err, errlen, rc, "%s: %s", from, molt__errmsg_strerror(rc));
      goto fail_out;
    }
    if ((rc = molt__fs_write_all(out, buf, (size_t)r))) {
      molt__errmsg_set(err, errlen, rc, "%s: %s", to, molt__errmsg_strerror(rc));
      goto fail_out;
    }
  }
  if ((rc = molt__fs_fsync(out))) molt__errmsg_set(err, errlen, rc, "%s: %s", to, molt__errmsg_strerror(rc));
fail_out:
  if (close(out) != 0 && rc == 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", to, molt__errmsg_strerror(rc));
  }
fail_in:
  close(in);
  return rc;
}

/* Writes, fsyncs and closes: the first error of the three, -errno. */
static int write_synced(const char* path, int flags, const void* data, size_t len, mode_t mode) {
  int fd = molt__fs_create(path, O_WRONLY | flags, mode), rc;

  if (fd < 0) return fd;
  rc = molt__fs_write_all(fd, data, len);
  if (rc == 0) rc = molt__fs_fsync(fd);
  if (close(fd) != 0 && rc == 0) rc = -errno;
  return rc;
}

int molt__fs_write_new(const char* path, const void* data, size_t len, mode_t mode, char* err,
                       size_t errlen) {
  int rc = write_synced(path, O_EXCL, data, len, mode);

  if (rc) molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  return rc;
}

int molt__fs_replace(const char* path, const void* data, size_t len, mode_t mode, char* err,
                     size_t errlen) {
  char *tmp = NULL, *dir = NULL;
  int rc;

  if (asprintf(&tmp, "%s.tmp", path) < 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: %s", path, molt_strerror(MOLT_ENOMEM));
  dir = strdup(path);
  if (!dir) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: %s", path, molt_strerror(MOLT_ENOMEM));
    goto fail_alloc;
  }
  if ((rc = write_synced(tmp, O_TRUNC | O_NOFOLLOW, data, len, mode))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", tmp, molt__errmsg_strerror(rc));
    goto fail_tmp;
  }
  if ((rc = molt__fs_rename(tmp, path))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
    goto fail_tmp;
  }
  /* The rename is durable only once the directory entry is: without this
   * fsync a crash could bring back the old file after we said "saved".
   * But the new content is in place whatever happens here, and every
   * reader, a reboot included, sees it: calling that a failure would make
   * the caller undo in memory what the file already says. Not retried:
   * after a failed fsync Linux may drop the dirty state and report the
   * next one clean, so a retry's success would prove nothing. */
  if ((rc = molt__fs_fsync_path(dirname(dir)))) {
    molt__errmsg_set(err, errlen, rc,
                     "%s is in place, but syncing %s failed (%s): a power loss may bring back its "
                     "previous content",
                     path, dir, molt__errmsg_strerror(rc));
    rc = MOLT_FS_NOT_DURABLE;
  }
  free(dir);
  free(tmp);
  return rc;

fail_tmp:
  unlink(tmp);
fail_alloc:
  free(dir);
  free(tmp);
  return rc;
}

static int rm_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  return remove(path) == 0 ? 0 : -1;
}

void molt__fs_rmrf(const char* path) {
  struct stat st;

  if (lstat(path, &st) == 0) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
