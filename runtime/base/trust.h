/* trust.h: whether a file or directory may hold what the container runs or
 * boots from: nobody but root and the container's own user can change it.
 * Not permissions in general, and not the files' contents. */
#ifndef MOLT_BASE_TRUST_H
#define MOLT_BASE_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* st (path's, named in the message) passes if neither its group nor others
 * may write it and root or this process's effective uid owns it. Returns 0,
 * or MOLT_EACCES with one line in err (if non-NULL):
 *   "<path>: writable by group or others (mode 0777): another user could
 *    change what the container runs; chmod go-w <path>"
 *   "<path>: owned by uid 65534, neither root nor this container's uid 0:
 *    another user could change what the container runs" */
int molt__trust_stat(const struct stat* st, const char* path, char* err, size_t errlen);

/* path as a directory the container keeps what it runs in (the home, its
 * releases/ and code/) or takes it from (a bundle): made 0700 if missing
 * and make is true (molt__fs_mkdir), then it must
 * be a directory (a symlink is followed, and what it leads to is checked)
 * that passes molt__trust_stat. Only path itself: its parents may be a
 * sticky /tmp. Returns 0, MOLT_ENOTDIR, MOLT_EACCES or -errno, with one
 * line in err (if non-NULL). */
int molt__trust_dir(const char* path, bool make, char* err, size_t errlen);

/* path as a file the container reads what to run from (a bundle's
 * release.json): not a symbolic link (it could lead out of the bundle), a
 * regular file, passing molt__trust_stat. Returns 0, MOLT_EINVAL,
 * MOLT_EACCES or -errno, with one line in err (if non-NULL). */
int molt__trust_file(const char* path, char* err, size_t errlen);

#endif
