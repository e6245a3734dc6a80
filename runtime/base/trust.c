/* trust.c: whether a file or directory may hold what the container runs or
 * boots from: nobody but root and the container's own user can change it.
 * Not permissions in general, and not the files' contents. */
#include "trust.h"

#include <errno.h>
#include <unistd.h>

#include "errmsg.h"
#include "fs.h"
#include "molt/errno.h"

/* Why refuse rather than warn: a home another local user can write is a
 * release they choose. They swap releases/ (or a module file, or the
 * release.json a bundle boots from) between two boots, and the container
 * runs their code as its own user, with nothing to show for it. Measured
 * before this check: a 0777 home, a home owned by another user and a
 * releases/ symlinked to a 0777 directory all started normally. Only the
 * path itself is checked, not its parents: a home under /tmp (1777, where
 * the sticky bit keeps others from renaming it) is fine. */

int molt__trust_stat(const struct stat* st, const char* path, char* err, size_t errlen) {
  if (st->st_mode & (S_IWGRP | S_IWOTH))
    return molt__errmsg_set(err, errlen, MOLT_EACCES,
                            "%s: writable by group or others (mode %04o): another user could "
                            "change what the container runs; chmod go-w %s",
                            path, (unsigned)(st->st_mode & 07777), path);
  if (st->st_uid != 0 && st->st_uid != geteuid())
    return molt__errmsg_set(err, errlen, MOLT_EACCES,
                            "%s: owned by uid %u, neither root nor this container's uid %u: "
                            "another user could change what the container runs",
                            path, (unsigned)st->st_uid, (unsigned)geteuid());
  return 0;
}

int molt__trust_dir(const char* path, bool make, char* err, size_t errlen) {
  struct stat st;
  int rc = make ? molt__fs_mkdir(path, 0700) : 0;
  if (rc == MOLT_EEXIST) rc = 0;
  if (rc == 0 && stat(path, &st) != 0) rc = -errno;
  if (rc == 0 && !S_ISDIR(st.st_mode)) rc = MOLT_ENOTDIR;
  if (rc) return molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  return molt__trust_stat(&st, path, err, errlen);
}

int molt__trust_file(const char* path, char* err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    int rc = -errno;
    return molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  }
  if (S_ISLNK(st.st_mode))
    return molt__errmsg_set(err, errlen, MOLT_EINVAL,
                            "%s: a symbolic link: it could lead out of the bundle; copy the file "
                            "in instead", path);
  if (!S_ISREG(st.st_mode))
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: expected a regular file", path);
  return molt__trust_stat(&st, path, err, errlen);
}
