/* fs.h: the few careful file operations the release handler and the
 * bundler share: whole reads, durable copies and atomic replacement, and
 * the calls that write (create, write, fsync, rename, mkdir) behind one
 * fault-injection hook. Not a general file API, and nothing here knows
 * what a release is. */
#ifndef MOLT_BASE_FS_H
#define MOLT_BASE_FS_H

#include <stddef.h>
#include <sys/types.h>

/* molt__fs_replace's outcome when the new content was renamed into place
 * but its directory could not be fsync'd: in force for every reader and
 * for a reboot, but a power loss may bring back the old content. Positive,
 * because it is not a failure: the caller must not undo anything. */
#define MOLT_FS_NOT_DURABLE 1

/* The calls that write, one bit each, for molt__fs_fail_at. Every write
 * the release store makes goes through the wrappers below, so a test can
 * fail each one in turn, as SQLite's I/O error tests do. */
enum {
  MOLT_FS_CREATE = 1u << 0, /* open with O_CREAT */
  MOLT_FS_WRITE = 1u << 1,  /* one molt__fs_write_all */
  MOLT_FS_FSYNC = 1u << 2,
  MOLT_FS_RENAME = 1u << 3,
  MOLT_FS_MKDIR = 1u << 4,
  MOLT_FS_ALL = (1u << 5) - 1
};

/* Fault injection for tests, after molt__alloc_fail_at: the nth call from
 * now (1 = the next) whose kind is in kinds fails with err (a negative
 * errno such as MOLT_EIO) without being made; one shot. nth 0 disarms.
 * Returns the countdown it replaces: 0 if the injected failure happened,
 * so a test that fails the 1st, 2nd, ... call stops at the first nth the
 * operation under test no longer reaches. Any thread; disarmed, each call
 * costs one relaxed atomic load. */
unsigned long molt__fs_fail_at(unsigned kinds, unsigned long nth, int err);

/* open(path, flags | O_CREAT | O_CLOEXEC, mode): a descriptor or -errno. */
int molt__fs_create(const char* path, int flags, mode_t mode);
/* fsync(fd), rename(from, to), mkdir(path, mode): 0 or -errno (-EEXIST
 * from mkdir is the caller's to accept). */
int molt__fs_fsync(int fd);
int molt__fs_rename(const char* from, const char* to);
int molt__fs_mkdir(const char* path, mode_t mode);

/* All n bytes of buf to fd, through short writes and EINTR. 0 or -errno. */
int molt__fs_write_all(int fd, const void* buf, size_t n);

/* fsync a file or directory named by path. 0 or -errno. */
int molt__fs_fsync_path(const char* path);

/* A new file at path (never over an existing one) holding len bytes of
 * data, fsync'd so a later rename never publishes it empty. On failure the
 * message names path and a partial file may remain. */
int molt__fs_write_new(const char* path, const void* data, size_t len, mode_t mode, char* err,
                       size_t errlen);

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
 * directory. A stale "<path>.tmp" from a crash is overwritten. Returns 0;
 * a negative code when it failed before the rename (the old content is in
 * force, "<path>.tmp" removed); MOLT_FS_NOT_DURABLE when only the
 * directory's fsync failed (the new content is in force; the message says
 * a power loss may undo it). */
int molt__fs_replace(const char* path, const void* data, size_t len, mode_t mode, char* err,
                     size_t errlen);

/* rm -rf path without following symlinks out of the tree; a missing path
 * is fine. Best effort: there is nobody to report a failure to. */
void molt__fs_rmrf(const char* path);

#endif
