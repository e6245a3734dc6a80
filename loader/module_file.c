/* module_file.c: a module file on disk, read without trusting it: opening
 * never blocks, anything but a regular file of a sane size is refused, and
 * the ELF header is checked before the rest is read. Not the checks of the
 * whole image (elf_check.c) nor loading it (version.c). */
#include "module_file.h"

#include <errno.h>
#include <link.h> /* ElfW() */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_check.h"
#include "errmsg.h"
#include "molt/errno.h"
#include "trust.h"

/* Why each step, as measured before it was there: `molt load` of a FIFO
 * blocked in open(2) until something wrote to it, holding the one load or
 * upgrade the container runs at a time; a 3 GiB sparse file was read whole
 * (21.8 s, 2.7 GB of memory) before its first four bytes said it was not
 * ELF. Now the type and size come from fstat and the header from the first
 * bytes, so what is refused costs a few system calls whatever its size. */

/* Memory here comes from plain malloc, not molt_alloc: the loader builds and
 * is tested without the runtime's allocator (see version.c). */

static const char* type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    default: return "a file of unknown type";
  }
}

static int sys_fail(char* err, size_t errlen, const char* path, const char* what, int e) {
  return molt__errmsg_set(err, errlen, -e, "%s: %s: %s", path, what, strerror(e));
}

static int too_big(char* err, size_t errlen, const char* name, const char* found) {
  return molt__errmsg_set(err, errlen, MOLT_EMSGSIZE,
                          "%s: size: expected at most %llu MiB for a module file, found %s", name,
                          (unsigned long long)(MOLT_MODULE_FILE_MAX >> 20), found);
}

int molt__module_file_stat(int fd, const char* name, uint64_t* size, char* err,
                           size_t errlen) {
  struct stat st;
  if (fstat(fd, &st) != 0) return sys_fail(err, errlen, name, "fstat", errno);
  if (!S_ISREG(st.st_mode))
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: expected a regular file, found %s",
                            name, type_name(st.st_mode));
  /* The file is what the container runs next, as its own user. */
  int rc = molt__trust_stat(&st, name, err, errlen);
  if (rc != 0) return rc;
  if ((uint64_t)st.st_size > MOLT_MODULE_FILE_MAX) {
    char found[64];
    snprintf(found, sizeof found, "%llu bytes", (unsigned long long)st.st_size);
    return too_big(err, errlen, name, found);
  }
  *size = (uint64_t)st.st_size;
  return 0;
}

/* read(2) until len bytes or EOF: the count, or a negative errno. */
static ssize_t read_up_to(int fd, unsigned char* buf, size_t len) {
  size_t n = 0;
  while (n < len) {
    ssize_t got = read(fd, buf + n, len - n);
    if (got == 0) break;
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -errno;
    n += (size_t)got;
  }
  return (ssize_t)n;
}

/* The rest of the file after its n first bytes (already in buf, of cap
 * bytes), to EOF rather than to st_size, which a concurrent writer can
 * change: the bytes checked are then exactly the bytes loaded. cap starts
 * one past st_size, so reaching EOF needs no second allocation. */
static int read_rest(int fd, const char* path, unsigned char** buf, size_t* n, size_t cap,
                     char* err, size_t errlen) {
  for (;;) {
    if (*n == cap) {
      if (cap > MOLT_MODULE_FILE_MAX)
        return too_big(err, errlen, path, "more (the file grew while it was read)");
      size_t bigger_cap = cap * 2 > MOLT_MODULE_FILE_MAX + 1 ? MOLT_MODULE_FILE_MAX + 1 : cap * 2;
      unsigned char* bigger = realloc(*buf, bigger_cap);
      if (!bigger)
        return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: read: out of memory", path);
      *buf = bigger;
      cap = bigger_cap;
    }
    ssize_t got = read_up_to(fd, *buf + *n, cap - *n);
    if (got < 0) return sys_fail(err, errlen, path, "read", (int)-got);
    if (got == 0) return 0;
    *n += (size_t)got;
  }
}

int molt__module_file_read(const char* path, unsigned char** out, size_t* len, char* err,
                           size_t errlen) {
  unsigned char head[sizeof(ElfW(Ehdr))];
  unsigned char* buf = NULL;
  uint64_t size = 0;
  int rc, fd = open(path, MOLT_MODULE_FILE_OPEN_FLAGS);
  if (fd < 0) return sys_fail(err, errlen, path, "open", errno);
  rc = molt__module_file_stat(fd, path, &size, err, errlen);
  if (rc != 0) goto fail_close;
  ssize_t got = read_up_to(fd, head, sizeof head);
  if (got < 0) {
    rc = sys_fail(err, errlen, path, "read", (int)-got);
    goto fail_close;
  }
  rc = molt__elf_check_header(head, (size_t)got, size, path, err, errlen);
  if (rc != 0) goto fail_close;

  size_t n = (size_t)got, cap = (size > n ? (size_t)size : n) + 1;
  buf = malloc(cap);
  if (!buf) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: read: out of memory", path);
    goto fail_close;
  }
  memcpy(buf, head, n);
  rc = read_rest(fd, path, &buf, &n, cap, err, errlen);
  if (rc != 0) goto fail_buf;
  close(fd);
  *out = buf;
  *len = n;
  return 0;

fail_buf:
  free(buf);
fail_close:
  close(fd);
  return rc;
}
