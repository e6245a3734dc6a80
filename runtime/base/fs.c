/* fs.c: whole reads, durable copies, atomic replacement and removal of
 * trees, with errors as MOLT_E* codes. Not a general file API. */
#include "fs.h"

#include <errno.h>
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

int molt__fs_write_all(int fd, const void* buf, size_t n) {
  const char* p = buf;
  ssize_t w;

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
  if (fsync(fd) != 0) rc = -errno;
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
  out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0755);
  if (out < 0) {
    rc = -errno;
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
  if (fsync(out) != 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", to, molt__errmsg_strerror(rc));
  }
fail_out:
  if (close(out) != 0 && rc == 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", to, molt__errmsg_strerror(rc));
  }
fail_in:
  close(in);
  return rc;
}

int molt__fs_replace(const char* path, const void* data, size_t len, mode_t mode, char* err,
                     size_t errlen) {
  char *tmp = NULL, *dir = NULL;
  int fd, rc;

  if (asprintf(&tmp, "%s.tmp", path) < 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: %s", path, molt_strerror(MOLT_ENOMEM));
  dir = strdup(path);
  if (!dir) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: %s", path, molt_strerror(MOLT_ENOMEM));
    goto fail_alloc;
  }
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", tmp, molt__errmsg_strerror(rc));
    goto fail_alloc;
  }
  rc = molt__fs_write_all(fd, data, len);
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  if (close(fd) != 0 && rc == 0) rc = -errno;
  if (rc) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", tmp, molt__errmsg_strerror(rc));
    goto fail_tmp;
  }
  if (rename(tmp, path) != 0) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
    goto fail_tmp;
  }
  /* The rename is durable only once the directory entry is: without this
   * fsync a crash could bring back the old file after we said "saved".
   * The new content is in place whatever happens here, so a failure is
   * reported but nothing is undone. */
  if ((rc = molt__fs_fsync_path(dirname(dir))))
    molt__errmsg_set(err, errlen, rc, "%s: %s", dir, molt__errmsg_strerror(rc));
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
