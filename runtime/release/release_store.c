/* release_store.c: the releases a home knows and the moves between their
 * states (OTP's release_handler bookkeeping), each saved before it counts.
 * Not unpacking (release_unpack.c) and not the file's format (release_file.c). */
#include "release_store.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "fs.h"
#include "errmsg.h"
#include "log.h"
#include "molt/errno.h"
#include "trust.h"

/* The file lists a handful of releases; anything near this is not ours. */
#define FILE_MAX_BYTES (1u << 20)

void molt__release_free(molt_release_t* r) {
  if (!r) return;
  molt__manifest_free(r->manifest);
  free(r->vsn);
  free(r->dir);
  free(r->path);
  free(r);
}

void molt__store_close(molt_store_t* s) {
  size_t i;

  if (!s) return;
  for (i = 0; i < s->nreleases; i++) molt__release_free(s->releases[i]);
  molt__free(s->releases);
  molt__free(s->history);
  free(s->name);
  free(s->home);
  if (s->lock_fd >= 0) close(s->lock_fd); /* drops the flock */
  free(s);
}

int molt__store_insert(molt_store_t* s, molt_release_t* rel) {
  molt_release_t** grown = molt__realloc(s->releases, (s->nreleases + 1) * sizeof *grown);
  size_t at = s->nreleases;

  if (!grown) return MOLT_ENOMEM;
  s->releases = grown;
  while (at > 0 && molt__manifest_version_cmp(grown[at - 1]->vsn, rel->vsn) > 0) at--;
  memmove(grown + at + 1, grown + at, (s->nreleases - at) * sizeof *grown);
  grown[at] = rel;
  s->nreleases++;
  return 0;
}

molt_release_t* molt__store_find(const molt_store_t* s, const char* vsn) {
  size_t i;

  for (i = 0; vsn && i < s->nreleases; i++)
    if (strcmp(s->releases[i]->vsn, vsn) == 0) return s->releases[i];
  return NULL;
}

static molt_release_t* in_state(const molt_store_t* s, molt_rel_state_t state) {
  size_t i;

  for (i = 0; i < s->nreleases; i++)
    if (s->releases[i]->state == state) return s->releases[i];
  return NULL;
}

molt_release_t* molt__store_permanent(const molt_store_t* s) {
  return in_state(s, MOLT_REL_PERMANENT);
}

molt_release_t* molt__store_running(const molt_store_t* s) {
  molt_release_t* cur = in_state(s, MOLT_REL_CURRENT);

  return cur ? cur : molt__store_permanent(s);
}

/* Not the old release permanent most recently: after a rollback that is
 * the one just rolled back from, and a second rollback would go forward
 * again. The history remembers the way back. */
molt_release_t* molt__store_rollback_target(const molt_store_t* s) {
  if (in_state(s, MOLT_REL_CURRENT)) return molt__store_permanent(s);
  return s->nhistory >= 2 ? s->history[s->nhistory - 2] : NULL;
}

size_t molt__store_history_pos(const molt_store_t* s, const molt_release_t* r) {
  size_t i;

  for (i = 0; i < s->nhistory; i++)
    if (s->history[i] == r) return i + 1;
  return 0;
}

/* Where a release goes when it stops being current without becoming
 * permanent. OTP sends it to unpacked; a release that has been permanent
 * goes back to old instead, so that "old" keeps meaning "was permanent"
 * and it stays a rollback target. */
static void displace_current(molt_store_t* s, const molt_release_t* except) {
  molt_release_t* r;
  size_t i;

  for (i = 0; i < s->nreleases; i++) {
    r = s->releases[i];
    if (r->state == MOLT_REL_CURRENT && r != except)
      r->state = r->permanent_seq ? MOLT_REL_OLD : MOLT_REL_UNPACKED;
  }
}

int molt__store_save(molt_store_t* s, char* err, size_t errlen) {
  char* path = NULL;
  int rc;

  if (asprintf(&path, "%s/" MOLT_RELEASES_DIR "/" MOLT_RELEASES_FILE, s->home) < 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  rc = molt__release_file_write(s, path, err, errlen);
  free(path);
  return rc;
}

void molt__store_lock(molt_store_t* s) {
  if (s->guard) pthread_mutex_lock(s->guard);
}

void molt__store_unlock(molt_store_t* s) {
  if (s->guard) pthread_mutex_unlock(s->guard);
}

/* Every mutation is made in memory, saved, and undone if the save fails
 * before the file is renamed into place, so memory never claims a state
 * the file does not hold. Once it is in place the file holds the new
 * state whatever the directory's fsync said (MOLT_STORE_NOT_DURABLE), and
 * so does memory. The guard is held while memory changes, never while
 * the file is written: a reader never waits for the disk, and may see a
 * change while it is being saved. */
typedef struct {
  molt_rel_state_t state;
  uint32_t permanent_seq;
} saved_t;

typedef struct {
  saved_t* rels;
  molt_release_t** history;
  size_t nhistory;
  uint32_t sequence;
} snapshot_t;

/* Also makes room for one more history entry, so that the mutation that
 * follows cannot fail halfway. */
static int snapshot_take(molt_store_t* s, snapshot_t* snap, char* err, size_t errlen) {
  molt_release_t** grown;
  size_t i;

  molt__store_lock(s); /* the realloc may move what a reader walks */
  grown = molt__realloc(s->history, (s->nhistory + 1) * sizeof *grown);
  if (grown) s->history = grown;
  molt__store_unlock(s);
  snap->sequence = s->sequence;
  snap->nhistory = s->nhistory;
  snap->rels = malloc((s->nreleases ? s->nreleases : 1) * sizeof *snap->rels);
  snap->history = malloc((s->nhistory + 1) * sizeof *snap->history);
  if (!grown || !snap->rels || !snap->history) {
    free(snap->rels);
    free(snap->history);
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  }
  for (i = 0; i < s->nreleases; i++) {
    snap->rels[i].state = s->releases[i]->state;
    snap->rels[i].permanent_seq = s->releases[i]->permanent_seq;
  }
  if (s->nhistory) memcpy(snap->history, s->history, s->nhistory * sizeof *snap->history);
  return 0;
}

static int save_or_undo(molt_store_t* s, snapshot_t* snap, char* err, size_t errlen) {
  int rc = molt__store_save(s, err, errlen);
  size_t i;

  if (rc < 0) {
    molt__store_lock(s);
    s->sequence = snap->sequence;
    for (i = 0; i < s->nreleases; i++) {
      s->releases[i]->state = snap->rels[i].state;
      s->releases[i]->permanent_seq = snap->rels[i].permanent_seq;
    }
    /* The history only ever shrinks or grows by one into the room the
     * snapshot made, so the old entries fit back. */
    if (snap->nhistory) memcpy(s->history, snap->history, snap->nhistory * sizeof *s->history);
    s->nhistory = snap->nhistory;
    molt__store_unlock(s);
  }
  free(snap->rels);
  free(snap->history);
  return rc;
}

static molt_release_t* find_or_fail(const molt_store_t* s, const char* vsn, int* rc, char* err,
                                    size_t errlen) {
  molt_release_t* r = molt__store_find(s, vsn);

  if (!r) *rc = molt__errmsg_set(err, errlen, MOLT_ENORELEASE, "no release %s in this home", vsn);
  return r;
}

/* The sequence orders permanence; 2^32 commits will not happen, but a
 * wrapped counter would silently pick the wrong rollback target. */
static int sequence_check(const molt_store_t* s, char* err, size_t errlen) {
  if (s->sequence < UINT32_MAX) return 0;
  return molt__errmsg_set(err, errlen, MOLT_EINVAL, "the store's permanent sequence is exhausted");
}

/* r to the end of the history, out of its earlier place if it had one:
 * each release once, so the history is bounded by the releases known,
 * however often two of them take turns. Room was made by snapshot_take. */
static void history_push(molt_store_t* s, molt_release_t* r) {
  size_t at = molt__store_history_pos(s, r);

  if (at) {
    memmove(s->history + at - 1, s->history + at, (s->nhistory - at) * sizeof *s->history);
    s->nhistory--;
  }
  s->history[s->nhistory++] = r;
}

static void make_permanent(molt_store_t* s, molt_release_t* r) {
  molt_release_t* prev = molt__store_permanent(s);

  if (prev && prev != r) prev->state = MOLT_REL_OLD;
  r->state = MOLT_REL_PERMANENT;
  r->permanent_seq = ++s->sequence;
  history_push(s, r);
}

int molt__store_set_installed(molt_store_t* s, const char* vsn, char* err, size_t errlen) {
  snapshot_t snap;
  molt_release_t* r;
  int rc = 0;

  if (!(r = find_or_fail(s, vsn, &rc, err, errlen))) return rc;
  if ((rc = snapshot_take(s, &snap, err, errlen))) return rc;
  molt__store_lock(s);
  displace_current(s, r);
  if (r->state != MOLT_REL_PERMANENT) r->state = MOLT_REL_CURRENT;
  molt__store_unlock(s);
  return save_or_undo(s, &snap, err, errlen);
}

int molt__store_commit(molt_store_t* s, char* err, size_t errlen) {
  molt_release_t* cur = in_state(s, MOLT_REL_CURRENT);
  snapshot_t snap;
  int rc;

  if (!cur)
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "nothing to commit: no release is current");
  if ((rc = sequence_check(s, err, errlen)) || (rc = snapshot_take(s, &snap, err, errlen)))
    return rc;
  molt__store_lock(s);
  make_permanent(s, cur);
  molt__store_unlock(s);
  return save_or_undo(s, &snap, err, errlen);
}

int molt__store_set_permanent(molt_store_t* s, const char* vsn, char* err, size_t errlen) {
  snapshot_t snap;
  molt_release_t* r;
  int rc = 0;

  if (!(r = find_or_fail(s, vsn, &rc, err, errlen))) return rc;
  if ((rc = sequence_check(s, err, errlen)) || (rc = snapshot_take(s, &snap, err, errlen)))
    return rc;
  molt__store_lock(s);
  displace_current(s, r);
  if (r->state != MOLT_REL_PERMANENT) make_permanent(s, r);
  molt__store_unlock(s);
  return save_or_undo(s, &snap, err, errlen);
}

int molt__store_rollback(molt_store_t* s, const char* vsn, char* err, size_t errlen) {
  molt_release_t *r, *target = molt__store_rollback_target(s);
  snapshot_t snap;
  int rc = 0;

  if (!(r = find_or_fail(s, vsn, &rc, err, errlen))) return rc;
  if (r != target)
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "rollback goes to %s, not %s",
                            target ? target->vsn : "no release", vsn);
  if (in_state(s, MOLT_REL_CURRENT)) return molt__store_set_installed(s, vsn, err, errlen);
  if ((rc = sequence_check(s, err, errlen)) || (rc = snapshot_take(s, &snap, err, errlen)))
    return rc;
  /* The permanent release is the history's last entry and r the one
   * before it: the permanent one leaves (make_permanent makes it old) and
   * r is then the end already. */
  molt__store_lock(s);
  s->nhistory--;
  make_permanent(s, r);
  molt__store_unlock(s);
  return save_or_undo(s, &snap, err, errlen);
}

/* The lock makes "a *.tmp.* directory is a leftover" true: no other
 * process can be unpacking into this home while we hold it. */
static int lock_home(molt_store_t* s, const char* reldir, char* err, size_t errlen) {
  char* path = NULL;
  int rc = 0;

  if (asprintf(&path, "%s/.lock", reldir) < 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  s->lock_fd = molt__fs_create(path, O_RDWR | O_NOFOLLOW, 0600);
  if (s->lock_fd < 0) {
    rc = s->lock_fd;
    molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  } else if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    rc = -errno;
    if (rc == -EWOULDBLOCK)
      rc = molt__errmsg_set(err, errlen, MOLT_EBUSY,
                            "%s: another process has this home's releases open", reldir);
    else
      molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  }
  free(path);
  return rc;
}

/* "<name>-<vsn>.tmp.<pid>.<n>" is what release_unpack.c writes before its
 * rename, and RELEASES.json.tmp what a save writes before its own:
 * whatever is left of either was never published. */
static void clean_leftovers(const char* reldir) {
  DIR* d = opendir(reldir);
  struct dirent* e;
  char* path;

  while (d && (e = readdir(d))) {
    if (!strstr(e->d_name, ".tmp.") && strcmp(e->d_name, MOLT_RELEASES_FILE ".tmp") != 0) continue;
    if (asprintf(&path, "%s/%s", reldir, e->d_name) < 0) break;
    molt__fs_rmrf(path);
    free(path);
  }
  if (d) closedir(d);
}

/* Whether some release's dir is releases/<entry> or lies under it. */
static bool recorded(const molt_store_t* s, const char* entry) {
  const size_t skip = strlen(MOLT_RELEASES_DIR "/"), n = strlen(entry);
  const char* dir;
  size_t i;

  for (i = 0; i < s->nreleases; i++) {
    dir = s->releases[i]->dir;
    if (strncmp(dir, MOLT_RELEASES_DIR "/", skip) == 0 && strncmp(dir + skip, entry, n) == 0 &&
        (dir[skip + n] == '\0' || dir[skip + n] == '/'))
      return true;
  }
  return false;
}

/* "<name>-<vsn>" as release_unpack.c names what it publishes: this home's
 * name if it has one, else any a release may have. */
static bool bundle_name(const molt_store_t* s, const char* entry) {
  const char* dash;
  size_t n;

  if (s->name) {
    n = strlen(s->name);
    return strncmp(entry, s->name, n) == 0 && entry[n] == '-' &&
           molt__manifest_version_ok(entry + n + 1);
  }
  for (dash = strchr(entry, '-'); dash; dash = strchr(dash + 1, '-')) {
    char* name = strndup(entry, (size_t)(dash - entry));
    bool ok = name && molt__manifest_release_name_ok(name) && molt__manifest_version_ok(dash + 1);
    free(name);
    if (ok) return true;
  }
  return false;
}

/* A directory named as a bundle, with a release.json, that the file does
 * not list: an unpack killed after publishing it and before saving the
 * file that records it. Nothing refers to it and nothing will, and a later
 * unpack of that version would remove it anyway; removed now, the home
 * holds what the file says and no more. Anything else (a user's notes, a
 * symlink, the lock, the file itself) is left alone. */
static void clean_unrecorded(const molt_store_t* s, const char* reldir) {
  DIR* d = opendir(reldir);
  struct dirent* e;
  struct stat st;
  char *path, *manifest;
  bool bundle;

  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.' || recorded(s, e->d_name) || !bundle_name(s, e->d_name)) continue;
    if (asprintf(&path, "%s/%s", reldir, e->d_name) < 0) break;
    if (asprintf(&manifest, "%s/" MOLT_MANIFEST_FILE, path) < 0) {
      free(path);
      break;
    }
    bundle = lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && lstat(manifest, &st) == 0 &&
             S_ISREG(st.st_mode);
    if (bundle) {
      molt__log_warn("%s: a bundle %s does not record, left by an interrupted unpack; removed", path,
                MOLT_RELEASES_FILE);
      molt__fs_rmrf(path);
    }
    free(manifest);
    free(path);
  }
  if (d) closedir(d);
}

static int read_file(molt_store_t* s, const char* reldir, char* err, size_t errlen) {
  char *path = NULL, *text = NULL, msg[512] = "";
  size_t len = 0;
  int rc;

  if (asprintf(&path, "%s/" MOLT_RELEASES_FILE, reldir) < 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  rc = molt__fs_read(path, FILE_MAX_BYTES, &text, &len);
  if (rc == MOLT_ENOENT) {
    rc = 0; /* a new home: no releases yet */
  } else if (rc == MOLT_EMSGSIZE) {
    rc = molt__errmsg_set(err, errlen, MOLT_EMANIFEST, "%s: larger than 1 MiB", path);
  } else if (rc == MOLT_EINVAL) {
    rc = molt__errmsg_set(err, errlen, MOLT_EMANIFEST, "%s: not a regular file", path);
  } else if (rc) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  } else {
    rc = molt__release_file_parse(text, len, s, msg, sizeof msg);
    if (rc) molt__errmsg_set(err, errlen, rc, "%s: %s", path, msg);
    free(text);
  }
  free(path);
  return rc;
}

/* Each bundle's own manifest, checked against what the file says of it:
 * a bundle swapped or damaged by hand is refused here, not at boot. */
static int load_bundles(molt_store_t* s, char* err, size_t errlen) {
  molt_release_t* r;
  char *dir, *file;
  size_t i;
  int rc = 0;

  for (i = 0; i < s->nreleases && rc == 0; i++) {
    r = s->releases[i];
    /* asprintf leaves its pointer undefined on failure; r->path must stay
     * freeable. */
    if (asprintf(&dir, "%s/%s", s->home, r->dir) < 0)
      return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
    r->path = dir;
    if (asprintf(&file, "%s/" MOLT_MANIFEST_FILE, r->path) < 0)
      return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
    rc = molt__manifest_read(file, true, &r->manifest, err, errlen);
    if (rc == 0 && (strcmp(r->manifest->name, s->name) || strcmp(r->manifest->version, r->vsn)))
      rc = molt__errmsg_set(err, errlen, MOLT_EMANIFEST,
                            "%s: is release %s-%s, not %s-%s as %s says", file, r->manifest->name,
                            r->manifest->version, s->name, r->vsn, MOLT_RELEASES_FILE);
    free(file);
  }
  return rc;
}

int molt__store_open(const char* home, molt_store_t** out, char* err, size_t errlen) {
  molt_store_t* s;
  char* reldir = NULL;
  int rc;

  s = calloc(1, sizeof *s);
  if (!s) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  s->lock_fd = -1;
  if ((rc = molt__trust_dir(home, true, err, errlen))) goto fail;
  /* Resolved once: paths handed out stay right if the process chdirs. */
  s->home = realpath(home, NULL);
  if (!s->home) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", home, molt__errmsg_strerror(rc));
    goto fail;
  }
  if (asprintf(&reldir, "%s/" MOLT_RELEASES_DIR, s->home) < 0) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = molt__trust_dir(reldir, true, err, errlen)) || (rc = lock_home(s, reldir, err, errlen))) goto fail;
  clean_leftovers(reldir);
  if ((rc = read_file(s, reldir, err, errlen))) goto fail;
  clean_unrecorded(s, reldir);
  if ((rc = load_bundles(s, err, errlen))) goto fail;
  /* A current release is an upgrade that was never committed: the
   * container died, or was stopped, before `molt commit`. Boot runs the
   * permanent release, and the file must say so before anything else
   * happens, or a rollback would plan from the wrong release. */
  if (in_state(s, MOLT_REL_CURRENT)) {
    displace_current(s, NULL);
    /* Not durable is good enough here: were the demotion lost to a power
     * cut, the next boot would find the release current and demote it
     * again. */
    if ((rc = molt__store_save(s, err, errlen)) < 0) goto fail;
  }
  free(reldir);
  *out = s;
  return 0;

fail:
  free(reldir);
  molt__store_close(s);
  return rc;
}
