/* fs.h: the few careful file operations the release handler and the
 * bundler share: whole reads, durable copies and atomic replacement. Not a
 * general file API, and nothing here knows what a release is. */
#ifndef MOLT_BASE_FS_H
#define MOLT_BASE_FS_H

#include <stddef.h>
#include <sys/types.h>

/* All n bytes of buf to fd, through short writes and EINTR. 0 or -errno. */
int molt__fs_write_all(int fd, const void* buf, size_t n);

/* fsync a file or directory named by path. 0 or -errno. */
int molt__fs_fsync_path(const char* path);

/* The whole regular file at path in a malloc'd buffer (not NUL-ended; the
 * caller frees it). Reads to end of file rather than trusting st_size.
 * MOLT_EINVAL for anything but a regular file (a FIFO is refused, never
 * waited on), MOLT_EMSGSIZE beyond max bytes, MOLT_ENOMEM, -errno; *out
 * is untouched on failure. */
int molt__fs_read(const char* path, size_t max, char** out, size_t* len);

/* Copy the regular file from into a new file to (never over an existing
 * one), keeping its permission bits within 0755, and fsync the copy so a
 * later rename never publishes an empty file. On failure the message
 * names the path at fault and a partial copy may remain at to. */
int molt__fs_copy(const char* from, const char* to, char* err, size_t errlen);

/* Replace path with len bytes of data so that a reader, or the next boot
 * after a crash at any moment, sees the old content or the new, never a
 * mix: write "<path>.tmp" (mode), fsync it, rename it over path, fsync the
 * directory. A stale "<path>.tmp" from a crash is overwritten. */
int molt__fs_replace(const char* path, const void* data, size_t len, mode_t mode, char* err,
                     size_t errlen);

/* rm -rf path without following symlinks out of the tree; a missing path
 * is fine. Best effort: there is nobody to report a failure to. */
void molt__fs_rmrf(const char* path);

#endif
