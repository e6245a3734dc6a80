/* release_remove.c: deleting a release from the home: its entry in the
 * releases file, its place on the rollback path, then its bundle. Not the
 * state moves (release_store.c) and not unpacking (release_unpack.c). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "fs.h"
#include "molt/errno.h"
#include "release_store.h"

/* Where r sits in s->releases; s->nreleases if it is not there. */
static size_t index_of(const molt_store_t* s, const molt_release_t* r) {
  size_t i;

  for (i = 0; i < s->nreleases && s->releases[i] != r; i++) {
  }
  return i;
}

/* Take the entry at pos (0-based) out of an array of n, or put r back
 * there: the array never shrinks, so putting back needs no memory and an
 * undo cannot fail. */
static void take_out(molt_release_t** arr, size_t n, size_t pos) {
  memmove(arr + pos, arr + pos + 1, (n - pos - 1) * sizeof *arr);
}

static void put_back(molt_release_t** arr, size_t n, size_t pos, molt_release_t* r) {
  memmove(arr + pos + 1, arr + pos, (n - pos) * sizeof *arr);
  arr[pos] = r;
}

/* The permanent release is what boot runs and the current one what runs
 * now (an upgrade not committed): neither may lose its bundle. */
static int refuse(const molt_store_t* s, const molt_release_t* r, char* err, size_t errlen) {
  if (r->state == MOLT_REL_PERMANENT)
    return molt__errmsg_set(err, errlen, MOLT_EBUSY,
                            "release %s is permanent (what the container boots): not removed",
                            r->vsn);
  if (r == molt__store_running(s))
    return molt__errmsg_set(err, errlen, MOLT_EBUSY,
                            "release %s is running (current, not committed): not removed", r->vsn);
  return 0;
}

int molt__store_remove(molt_store_t* s, const char* vsn, char* err, size_t errlen) {
  molt_release_t* r = molt__store_find(s, vsn);
  char* name = s->name;
  size_t at, hpos;
  bool emptied;
  int rc;

  if (!r) return molt__errmsg_set(err, errlen, MOLT_ENORELEASE, "no release %s in this home", vsn);
  if ((rc = refuse(s, r, err, errlen))) return rc;
  at = index_of(s, r);
  hpos = molt__store_history_pos(s, r);
  molt__store_lock(s);
  take_out(s->releases, s->nreleases--, at);
  if (hpos) take_out(s->history, s->nhistory--, hpos - 1);
  /* A home left with no release runs none: the next unpack may name it
   * anew (a bad first boot of the wrong release, removed). */
  emptied = s->nreleases == 0;
  if (emptied) s->name = NULL;
  molt__store_unlock(s);
  /* Saved first: a crash after the save leaves a directory the file does
   * not list, which nothing reads and a later cleanup may delete; the
   * other order would leave the file listing a bundle that is gone, and
   * the store would refuse to open. */
  if ((rc = molt__store_save(s, err, errlen)) < 0) {
    molt__store_lock(s);
    s->name = name;
    if (hpos) put_back(s->history, s->nhistory++, hpos - 1, r);
    put_back(s->releases, s->nreleases++, at, r);
    molt__store_unlock(s);
    return rc;
  }
  if (emptied) free(name);
  molt__fs_rmrf(r->path);
  molt__release_free(r);
  return rc; /* 0, or MOLT_STORE_NOT_DURABLE: removed all the same */
}
