/* release_unpack.c: a bundle taken into the home's release store: verified,
 * copied durably, verified again and only then published under its name.
 * Not the bundler (tools/molt_bundle.c), which makes bundles. */
#include <errno.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "errmsg.h"
#include "fs.h"
#include "manifest_descriptors.h"
#include "molt/errno.h"
#include "release_store.h"
#include "trust.h"

#define MSG 768

/* With the pid, makes each temporary directory name unique even when one
 * process unpacks from several threads or retries after a failure. */
static atomic_uint unpack_count;

static int nomem(char* err, size_t errlen) {
  return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
}

/* mkdir -p of the directories of file (a checked relative path) under root. */
static int make_parents(const char* root, const char* file, char* err, size_t errlen) {
  char *path = NULL, *c;
  int rc = 0;

  if (asprintf(&path, "%s/%s", root, file) < 0) return nomem(err, errlen);
  for (c = path + strlen(root) + 1; rc == 0 && (c = strchr(c, '/')); *c++ = '/') {
    *c = '\0';
    if ((rc = molt__fs_mkdir(path, 0700)) == MOLT_EEXIST)
      rc = 0;
    else if (rc)
      molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt__errmsg_strerror(rc));
  }
  free(path);
  return rc;
}

static int copy_modules(const molt_manifest_t* m, const char* bundle, const char* tmp, char* err,
                        size_t errlen) {
  char *from = NULL, *to = NULL;
  size_t i;
  int rc = 0;

  for (i = 0; i < m->nmodules && rc == 0; i++) {
    if ((rc = make_parents(tmp, m->modules[i].file, err, errlen))) break;
    if (asprintf(&from, "%s/%s", bundle, m->modules[i].file) < 0) return nomem(err, errlen);
    if (asprintf(&to, "%s/%s", tmp, m->modules[i].file) < 0)
      rc = nomem(err, errlen);
    else
      rc = molt__fs_copy(from, to, err, errlen);
    free(from);
    free(to);
    from = to = NULL;
  }
  return rc;
}

/* The manifest as the store keeps it: printed back from what was parsed
 * and verified, so the copy says exactly what was checked, whatever the
 * bundle's spelling. */
static int write_manifest(const molt_manifest_t* m, const char* tmp, char* err, size_t errlen) {
  char *text = NULL, *path = NULL;
  int rc;

  if ((rc = molt__manifest_print(m, &text)))
    return molt__errmsg_set(err, errlen, rc, "manifest: %s", molt__errmsg_strerror(rc));
  if (asprintf(&path, "%s/" MOLT_MANIFEST_FILE, tmp) < 0) {
    molt__free(text);
    return nomem(err, errlen);
  }
  rc = molt__fs_write_new(path, text, strlen(text), 0600, err, errlen);
  free(path);
  molt__free(text);
  return rc;
}

/* nftw passes no user pointer, so the walk's first fsync error waits
 * here; thread-local, as two threads may unpack into two homes. */
static _Thread_local int sync_error;

/* Files are fsync'd as they are copied; their directory entries are made
 * durable here, deepest first, so the rename publishes a complete tree. */
static int sync_dir(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  if (flag != FTW_DP) return 0;
  sync_error = molt__fs_fsync_path(path);
  return sync_error ? 1 : 0;
}

/* Read the copy back and check every digest and descriptor against it:
 * the bundle may have changed between our check and our copy, or the disk
 * lied. */
static int verify_copy(const char* tmp, molt_manifest_t** copy, char* err, size_t errlen) {
  char *path = NULL, msg[MSG];
  int rc;

  if (asprintf(&path, "%s/" MOLT_MANIFEST_FILE, tmp) < 0) return nomem(err, errlen);
  rc = molt__manifest_read(path, true, copy, msg, sizeof msg);
  free(path);
  if (rc == 0 && ((rc = molt__manifest_verify_files(*copy, tmp, msg, sizeof msg)) ||
                  (rc = molt__manifest_descriptors_check(*copy, tmp, msg, sizeof msg)))) {
    molt__manifest_free(*copy);
    *copy = NULL;
  }
  if (rc) return molt__errmsg_set(err, errlen, rc, "the copy does not verify: %s", msg);
  sync_error = 0;
  rc = nftw(tmp, sync_dir, 16, FTW_DEPTH | FTW_PHYS);
  if (rc) {
    rc = rc == -1 ? -errno : sync_error;
    return molt__errmsg_set(err, errlen, rc, "%s: %s", tmp, molt__errmsg_strerror(rc));
  }
  return 0;
}

/* A bundle made before manifests carried state_vsn says nothing of a
 * layout the stored copy records (unpack read it from the file): where the
 * file is the same by its digest, so is its layout, and that is no
 * difference of content. */
static void layouts_from(molt_manifest_t* m, const molt_manifest_t* known) {
  for (size_t i = 0; i < m->nmodules; i++) {
    molt_manifest_module_t* mod = &m->modules[i];
    const molt_manifest_module_t* k = molt__manifest_module(known, mod->name);
    if (mod->has_state_vsn || !k || !k->has_state_vsn || memcmp(k->sha256, mod->sha256, sizeof(k->sha256)) != 0)
      continue;
    mod->state_vsn = k->state_vsn;
    mod->has_state_vsn = true;
  }
}

/* Compare by content, not by bytes: both are printed the one way. */
static int same_content(const molt_manifest_t* a, const molt_manifest_t* b, bool* same) {
  char *ta = NULL, *tb = NULL;
  int rc;

  if ((rc = molt__manifest_print(a, &ta)) == 0 && (rc = molt__manifest_print(b, &tb)) == 0)
    *same = strcmp(ta, tb) == 0;
  molt__free(ta);
  molt__free(tb);
  return rc;
}

/* Copies the verified bundle to tmp and publishes it as final. On failure
 * neither is left behind. */
static int publish(const molt_manifest_t* m, const char* bundle, const char* tmp, const char* final,
                   molt_manifest_t** copy, char* err, size_t errlen) {
  char* reldir = strdup(final);
  int rc;

  if (!reldir) return nomem(err, errlen);
  *strrchr(reldir, '/') = '\0';
  if ((rc = molt__fs_mkdir(tmp, 0700))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", tmp, molt__errmsg_strerror(rc));
    goto fail_mkdir;
  }
  if ((rc = copy_modules(m, bundle, tmp, err, errlen)) ||
      (rc = write_manifest(m, tmp, err, errlen)) || (rc = verify_copy(tmp, copy, err, errlen)))
    goto fail_tmp;
  /* Not in the file, so not a release: what sits at final is an unpack
   * killed after its rename and before its save. */
  molt__fs_rmrf(final);
  if ((rc = molt__fs_rename(tmp, final))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", final, molt__errmsg_strerror(rc));
    goto fail_tmp;
  }
  /* Not recorded yet, so removing it undoes the publication whole; were
   * it left, boot would remove it as unrecorded (release_store.c). */
  if ((rc = molt__fs_fsync_path(reldir))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", reldir, molt__errmsg_strerror(rc));
    molt__fs_rmrf(final);
    goto fail_copy;
  }
  free(reldir);
  return 0;

fail_tmp:
  molt__fs_rmrf(tmp);
fail_copy:
  molt__manifest_free(*copy);
  *copy = NULL;
fail_mkdir:
  free(reldir);
  return rc;
}

static void store_remove(molt_store_t* s, const molt_release_t* rel) {
  size_t i;

  for (i = 0; i < s->nreleases && s->releases[i] != rel; i++) {
  }
  if (i == s->nreleases) return;
  memmove(s->releases + i, s->releases + i + 1, (s->nreleases - i - 1) * sizeof *s->releases);
  s->nreleases--;
}

/* The release as it will be recorded; its manifest comes from publish. */
static molt_release_t* release_new(const molt_store_t* s, const molt_manifest_t* m) {
  molt_release_t* rel = calloc(1, sizeof *rel);

  if (!rel) return NULL;
  rel->state = MOLT_REL_UNPACKED;
  /* asprintf leaves its pointer undefined on failure; keep it freeable. */
  if (asprintf(&rel->dir, MOLT_RELEASES_DIR "/%s-%s", m->name, m->version) < 0) rel->dir = NULL;
  if (rel->dir && asprintf(&rel->path, "%s/%s", s->home, rel->dir) < 0) rel->path = NULL;
  rel->vsn = strdup(m->version);
  if (rel->dir && rel->path && rel->vsn) return rel;
  molt__release_free(rel);
  return NULL;
}

/* The published bundle becomes a release of the store, saved; on failure
 * the store in memory is as it was and rel is still the caller's. When the
 * releases file is in place but not durable (MOLT_STORE_NOT_DURABLE) the
 * release is recorded: the file lists it, so memory does too. */
static int record(molt_store_t* s, molt_release_t* rel, const char* name, char* err,
                  size_t errlen) {
  bool named = s->name == NULL;
  int rc;

  molt__store_lock(s);
  if (named && !(s->name = strdup(name))) {
    molt__store_unlock(s);
    return nomem(err, errlen);
  }
  rc = molt__store_insert(s, rel);
  molt__store_unlock(s);
  if (rc != 0) {
    rc = nomem(err, errlen);
    goto fail_name;
  }
  if ((rc = molt__store_save(s, err, errlen)) >= 0) return rc;
  molt__store_lock(s);
  store_remove(s, rel);
  molt__store_unlock(s);
fail_name:
  if (named) {
    molt__store_lock(s);
    free(s->name);
    s->name = NULL;
    molt__store_unlock(s);
  }
  return rc;
}

int molt__store_unpack(molt_store_t* s, const char* bundle, molt_release_t** out, char* err,
                       size_t errlen) {
  char *path = NULL, *tmp = NULL, msg[MSG];
  molt_manifest_t* m = NULL;
  molt_release_t *known, *rel;
  bool same = false;
  int rc;

  if (asprintf(&path, "%s/" MOLT_MANIFEST_FILE, bundle) < 0) return nomem(err, errlen);
  /* The bundle is what the container boots from next: nobody else may
   * have written it, and its release.json may not lead out of it. */
  rc = molt__trust_file(path, err, errlen);
  if (!rc) rc = molt__trust_dir(bundle, false, err, errlen);
  if (!rc) rc = molt__manifest_read(path, true, &m, err, errlen);
  free(path);
  if (rc) return rc;
  if ((rc = molt__manifest_verify_files(m, bundle, msg, sizeof msg))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", bundle, msg);
    goto done;
  }
  if (s->name && strcmp(s->name, m->name) != 0) {
    rc = molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: release %s, but this home runs release %s",
                          bundle, m->name, s->name);
    goto done;
  }
  if ((known = molt__store_find(s, m->version))) {
    layouts_from(m, known->manifest);
    if ((rc = same_content(m, known->manifest, &same))) {
      nomem(err, errlen);
    } else if (!same) {
      rc = molt__errmsg_set(err, errlen, MOLT_EEXIST,
                            "%s: release %s-%s is already unpacked, with different content",
                            bundle, m->name, m->version);
    } else if (out) {
      *out = known;
    }
    goto done;
  }
  /* Each module is what its entry says, by its file's own descriptor: a
   * bundle whose manifest misnames a module (a hand edit, a file swapped)
   * is refused here, not at the upgrade that would load it. A bundle made
   * before manifests carried state_vsn is given its files'. */
  if ((rc = molt__manifest_descriptors_check(m, bundle, msg, sizeof msg))) {
    molt__errmsg_set(err, errlen, rc, "%s: %s", bundle, msg);
    goto done;
  }
  if (!(rel = release_new(s, m))) {
    rc = nomem(err, errlen);
    goto done;
  }
  if (asprintf(&tmp, "%s.tmp.%ld.%u", rel->path, (long)getpid(),
               atomic_fetch_add(&unpack_count, 1)) < 0) {
    molt__release_free(rel);
    rc = nomem(err, errlen);
    goto done;
  }
  rc = publish(m, bundle, tmp, rel->path, &rel->manifest, err, errlen);
  free(tmp);
  /* Removed only while the file does not list it: a bundle the releases
   * file names, durably or not, is what the next boot loads. */
  if (rc == 0 && (rc = record(s, rel, m->name, err, errlen)) < 0) molt__fs_rmrf(rel->path);
  if (rc < 0)
    molt__release_free(rel);
  else if (out)
    *out = rel;
done:
  molt__manifest_free(m);
  return rc;
}
