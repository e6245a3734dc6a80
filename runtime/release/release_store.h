/* release_store.h: the releases a container's home knows (unpacked bundles
 * under <home>/releases/) and the state of each, kept durable in
 * <home>/releases/RELEASES.json. Not the upgrade itself: the store records
 * what the runtime did; the planner (upgrade_plan.h) says what to do. */
#ifndef MOLT_RELEASE_RELEASE_STORE_H
#define MOLT_RELEASE_RELEASE_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

#define MOLT_RELEASES_DIR "releases"
#define MOLT_RELEASES_FILE "RELEASES.json"

/* What is in force after an error, the one rule every change below keeps:
 * the releases file is written to RELEASES.json.tmp, fsync'd, renamed over
 * RELEASES.json, and the directory fsync'd. An error before the rename
 * leaves the old file, and the change returns a negative code with memory
 * and disk as they were. After the rename the new file is what every
 * reader and the next boot see, so the change is in force: memory keeps
 * it, a bundle it records stays, and if the directory's fsync failed the
 * change returns MOLT_STORE_NOT_DURABLE (positive: done) with a message
 * saying a power loss may bring back the previous file. The caller reports
 * the change as made, with that warning; it undoes nothing, since undoing
 * would need another write to the same failing disk. */
#define MOLT_STORE_NOT_DURABLE 1 /* MOLT_FS_NOT_DURABLE */

/* As in OTP's release_handler. unpacked: on disk, never run or no longer
 * run. current: installed by an upgrade or downgrade and not committed.
 * permanent: what the container boots; at most one. old: was permanent
 * once and is not now. The running release is the current one if any,
 * else the permanent one. */
typedef enum {
  MOLT_REL_UNPACKED,
  MOLT_REL_CURRENT,
  MOLT_REL_PERMANENT,
  MOLT_REL_OLD
} molt_rel_state_t;

/* One known release. Read-only to callers: change it through the store's
 * functions, which keep memory and the file in step. A pointer to it stays
 * valid until molt__store_close. */
typedef struct molt_release {
  char* vsn;  /* equal to manifest->version */
  char* dir;  /* its bundle, relative to the home: "releases/demo-1.1.0" */
  char* path; /* the same, absolute (the home is resolved at open) */
  molt_rel_state_t state;
  uint32_t permanent_seq;    /* the store's sequence when it last became permanent; 0: never */
  molt_manifest_t* manifest; /* its release.json */
} molt_release_t;

/* Read-only to callers, as molt_release_t. One store per home at a time:
 * open takes an exclusive lock on <home>/releases/.lock for the store's
 * lifetime. Not thread-safe; one thread (the release handler's) uses it. */
typedef struct molt_store {
  char* home;        /* absolute */
  char* name;        /* the one release name this home runs; NULL while empty */
  uint32_t sequence; /* the last permanent_seq handed out */
  size_t nreleases;
  molt_release_t** releases; /* sorted by version, oldest first */
  /* The rollback path: releases in the order they became permanent,
   * oldest first, each at most once (one made permanent again moves to
   * the end); the last is the permanent release. A release rolled back
   * from leaves it, so rollback walks it backwards. Entries point into
   * releases. */
  molt_release_t** history;
  size_t nhistory;
  int lock_fd;
  /* NULL, or a mutex the store holds while it changes its memory (never
   * while it writes the disk), for readers on other threads: they take it
   * to read the store whole, and never wait for I/O. Set by the owner
   * after open; the store's functions themselves run on one thread. */
  pthread_mutex_t* guard;
} molt_store_t;

/* Open the store of home, creating home and <home>/releases/ (0700) if
 * missing. A missing releases file is an empty store. Leftovers of
 * interrupted unpacks and saves are removed: "*.tmp.*" directories, a
 * stale RELEASES.json.tmp (a crash before its rename), and directories
 * named "<name>-<vsn>" holding a release.json that the file does not
 * record (an unpack killed after publishing its bundle, before saving);
 * nothing else under releases/ is touched. Every
 * release's release.json is read back. A release left current (the
 * container died during an uncommitted upgrade) is demoted, to old if it
 * had been permanent before, else to unpacked, and that is saved, so boot
 * runs the permanent release. Errors: MOLT_EMANIFEST for a releases file
 * or bundle manifest that is corrupt, truncated or inconsistent, the
 * message naming the file and the JSON path; MOLT_EBUSY when another
 * process has the store open; -errno from the filesystem; MOLT_ENOMEM. On
 * success *out is the caller's, closed with molt__store_close; on failure
 * it is untouched. */
int molt__store_open(const char* home, molt_store_t** out, char* err, size_t errlen);

/* Frees the store and releases its lock. NULL is fine. */
void molt__store_close(molt_store_t* s);

/* Verify the bundle at bundle_dir (its release.json, every module's
 * sha256, and every module's descriptor, read from its file without
 * loading it, against its entry: name, vsn, state_vsn), copy it to
 * <home>/releases/<name>-<vsn>/ through a temporary directory (each file
 * fsync'd, the copy verified again, then renamed into place) and record it
 * as unpacked. The stored release.json is the bundle's manifest printed
 * back (molt__manifest_print): the same content, one spelling, with each
 * module's state_vsn (read from its file if the bundle predates the
 * field). Unpacking a version already known with the same content
 * succeeds and changes nothing. MOLT_STORE_NOT_DURABLE: unpacked and
 * recorded, the bundle kept, but the record may not survive a power loss
 * (see above). Errors, with nothing left behind:
 * MOLT_EINVAL for a release of another name than this home's;
 * MOLT_EEXIST for a known version with different content; the manifest
 * reader's and verifier's codes (MOLT_EMANIFEST, MOLT_ECHECKSUM,
 * MOLT_ENOENT, ...) and the descriptor check's
 * (molt__manifest_descriptors_check) with the bundle's path in the
 * message; -errno; MOLT_ENOMEM. *out (may be NULL) is the release, owned
 * by the store. */
int molt__store_unpack(molt_store_t* s, const char* bundle_dir, molt_release_t** out, char* err,
                       size_t errlen);

/* Lookups; NULL if there is none. Owned by the store. */
molt_release_t* molt__store_find(const molt_store_t* s, const char* vsn);
molt_release_t* molt__store_running(const molt_store_t* s);
molt_release_t* molt__store_permanent(const molt_store_t* s);

/* Where `molt rollback` goes: with a current release (an upgrade or
 * downgrade not committed), back to the permanent one; without, to the
 * release that was permanent before the permanent one (the history's
 * entry before the last). NULL if there is none. */
molt_release_t* molt__store_rollback_target(const molt_store_t* s);

/* r's place in the history, 1 for the oldest; 0 if it is not there. */
size_t molt__store_history_pos(const molt_store_t* s, const molt_release_t* r);

/* The state changes. Each saves the releases file atomically before
 * returning; if saving fails before the file is in place the store in
 * memory is left as it was and the error (-errno, with the path in the
 * message) is returned; MOLT_STORE_NOT_DURABLE when the change is made
 * but its record may not survive a power loss (see above). Unknown vsn:
 * MOLT_ENORELEASE. */

/* After a successful upgrade or downgrade to vsn: it becomes current,
 * unless it is the permanent release (an uncommitted upgrade rolled
 * back). Any other current release returns to old if it had been
 * permanent before, else to unpacked. */
int molt__store_set_installed(molt_store_t* s, const char* vsn, char* err, size_t errlen);

/* The current release becomes permanent, the previous permanent one old,
 * and the current one goes to the end of the history. MOLT_EINVAL
 * "nothing to commit" without a current release. */
int molt__store_commit(molt_store_t* s, char* err, size_t errlen);

/* vsn becomes permanent (and the end of the history) and the previous
 * permanent one old; a current release other than vsn is displaced as by
 * set_installed. For the first boot of a bundle (molt run --release).
 * Already permanent: only a current release is displaced. */
int molt__store_set_permanent(molt_store_t* s, const char* vsn, char* err, size_t errlen);

/* After a successful rollback to vsn, which must be the rollback target
 * (else MOLT_EINVAL, nothing changed). With a current release, as
 * set_installed of the permanent one: the history is unchanged. Without,
 * vsn becomes permanent again and the release rolled back from becomes
 * old and leaves the history, so the next rollback goes further back,
 * never forward. */
int molt__store_rollback(molt_store_t* s, const char* vsn, char* err, size_t errlen);

/* Delete release vsn from the home: it leaves the releases file and the
 * rollback history (so rollback, which walks the history back, then skips
 * it and goes to the release permanent before it, or nowhere), the file
 * is saved, and only then is its bundle directory deleted, so a crash in
 * between leaves a directory no file lists, never a listed release
 * without its bundle. The last release removed leaves the home unnamed:
 * the next unpack may bring a release of another name. Refused with
 * MOLT_EBUSY for the permanent release and the running (current) one;
 * MOLT_ENORELEASE for an unknown vsn; a failed save (-errno, the path in
 * the message) changes nothing; MOLT_STORE_NOT_DURABLE is a remove done
 * (its bundle deleted too) whose record may not survive a power loss.
 * Pointers to the removed release dangle afterwards. */
int molt__store_remove(molt_store_t* s, const char* vsn, char* err, size_t errlen);

/* Write the releases file from memory (the mutators do this themselves).
 * 0, MOLT_STORE_NOT_DURABLE, or a negative code with the old file in
 * force. */
int molt__store_save(molt_store_t* s, char* err, size_t errlen);

/* "unpacked", "current", "permanent", "old"; "?" out of range. */
const char* molt__rel_state_name(molt_rel_state_t state);

/* Between the store's own files (release_store.c, release_file.c,
 * release_unpack.c); not for callers. */

/* Parse the releases file's text into s's name, sequence, releases
 * (vsn, dir, state and permanent_seq; path and manifest are the caller's
 * to fill) and history. On failure what was built hangs off s, for the
 * caller to free. MOLT_EMANIFEST with the JSON path, MOLT_ENOMEM. */
int molt__release_file_parse(const char* text, size_t len, molt_store_t* s, char* err,
                             size_t errlen);
/* Write s to path as the releases file, atomically (molt__fs_replace):
 * 0, MOLT_STORE_NOT_DURABLE (in place, not durable), or, with the old file
 * in force, MOLT_ENOMEM or -errno with the path in the message. */
int molt__release_file_write(const molt_store_t* s, const char* path, char* err, size_t errlen);
/* Hold and let go of s->guard (nothing without one), around a change of
 * the store's memory. */
void molt__store_lock(molt_store_t* s);
void molt__store_unlock(molt_store_t* s);
/* Insert rel at its place in version order; MOLT_ENOMEM. */
int molt__store_insert(molt_store_t* s, molt_release_t* rel);
void molt__release_free(molt_release_t* rel);

#endif
