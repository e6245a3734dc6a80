/* molt_bundle.c: molt-bundle, which turns a source manifest and the built
 * module files it names into a self-contained, relocatable release bundle
 * directory, each module held against its entry by the descriptor in its
 * file (read, never loaded or run). Not an installer: it never talks to a
 * running container. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "errmsg.h"
#include "fs.h"
#include "jsonpath.h"
#include "manifest.h"
#include "manifest_descriptors.h"
#include "sha256.h"
#include "molt/errno.h"
#include "molt/module.h"
#include "molt/version.h"

#define ERRLEN 1024
/* Beside release.json: which molt-bundle made the bundle. */
#define BUILT_BY_FILE "BUILT_BY"

static const char usage[] = "usage: molt-bundle SOURCE_MANIFEST MODULE_DIR OUT_DIR\n";

static int fail_sys(char* err, const char* what, int rc) {
  return molt__errmsg_set(err, ERRLEN, rc, "%s: %s", what, molt__errmsg_strerror(rc));
}

static int fsync_path(const char* path, char* err) {
  int rc = molt__fs_fsync_path(path);

  return rc ? fail_sys(err, path, rc) : 0;
}

static int write_text(const char* path, const char* text, char* err) {
  int fd, rc;

  fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail_sys(err, path, -errno);
  rc = molt__fs_write_all(fd, text, strlen(text));
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  if (close(fd) != 0 && rc == 0) rc = -errno;
  return rc ? fail_sys(err, path, rc) : 0;
}

static const char* base_name(const char* file) {
  const char* slash = strrchr(file, '/');

  return slash ? slash + 1 : file;
}

/* The source form names files relative to wherever they were built; a
 * bundle keeps them all in modules/ by basename, so two modules whose
 * files share a basename would overwrite each other. */
static int check_basenames(const molt_manifest_t* m, const char* src, char* err) {
  const char** names;
  size_t i, a, b;
  int rc;

  if (m->nmodules < 2) return 0;
  names = malloc(m->nmodules * sizeof *names);
  if (!names) return MOLT_ENOMEM;
  for (i = 0; i < m->nmodules; i++) names[i] = base_name(m->modules[i].file);
  rc = molt__jsonpath_dups(names, m->nmodules, &a, &b);
  if (rc == 1) {
    snprintf(err, ERRLEN, "%s: modules[%zu].file: basename \"%s\" is also that of modules[%zu]",
             src, b, names[b], a);
    rc = MOLT_EMANIFEST;
  }
  free(names);
  return rc;
}

/* Copy module index of the source manifest src into tmp/modules/, fill in
 * its digest (checking the one the source gave, if any) and its state_vsn
 * (checking the source's likewise), check that the copy's descriptor is
 * the module the entry names, and point its file at the copy. */
static int add_module(molt_manifest_module_t* mod, size_t index, const char* src, const char* moddir,
                      const char* tmp, char* err) {
  char *from = NULL, *to = NULL, *file = NULL;
  char want[65], got_hex[65], why[ERRLEN - 64];
  uint8_t got[32];
  const char* b = base_name(mod->file);
  int rc = MOLT_ENOMEM;

  if (asprintf(&from, "%s/%s", moddir, b) < 0) goto fail_from;
  if (asprintf(&to, "%s/modules/%s", tmp, b) < 0) goto fail_to;
  if (asprintf(&file, "modules/%s", b) < 0) goto fail_file;
  if ((rc = molt__fs_copy(from, to, err, ERRLEN))) goto fail_copy;
  if ((rc = molt__sha256_file(to, got))) {
    fail_sys(err, to, rc);
    goto fail_copy;
  }
  if (mod->has_sha256 && memcmp(got, mod->sha256, sizeof got) != 0) {
    molt__sha256_hex(mod->sha256, want);
    molt__sha256_hex(got, got_hex);
    snprintf(err, ERRLEN, "%s: sha256 expected %s, found %s", from, want, got_hex);
    rc = MOLT_ECHECKSUM;
    goto fail_copy;
  }
  /* The copy is what the bundle will hold and what its digest is of, so
   * the copy is what is read; the message names the file the user gave. */
  if ((rc = molt__manifest_descriptor_check(mod, index, to, from, why, sizeof why))) {
    snprintf(err, ERRLEN, "%s: %s", src, why);
    goto fail_copy;
  }
  memcpy(mod->sha256, got, sizeof got);
  mod->has_sha256 = true;
  free(mod->file);
  mod->file = file;
  file = NULL;
fail_copy:
  free(file);
fail_file:
  free(to);
fail_to:
  free(from);
fail_from:
  if (rc == MOLT_ENOMEM) snprintf(err, ERRLEN, "out of memory");
  return rc;
}

/* Parse back what was written and verify it against the copies, digests
 * and descriptors, the same checks the release handler makes on unpack: a
 * bundle that would be refused there is never published here. */
static int self_check(const char* tmp, const char* manifest, char* err) {
  molt_manifest_t* m;
  char msg[ERRLEN - 64];
  int rc;

  rc = molt__manifest_read(manifest, true, &m, msg, sizeof msg);
  if (rc == 0) {
    if ((rc = molt__manifest_verify_files(m, tmp, msg, sizeof msg)) == 0)
      rc = molt__manifest_descriptors_check(m, tmp, msg, sizeof msg);
    molt__manifest_free(m);
  }
  if (rc) snprintf(err, ERRLEN, "the bundle written does not check: %s", msg);
  return rc;
}

static bool dir_empty(const char* path) {
  DIR* d = opendir(path);
  struct dirent* e;
  bool empty = d != NULL;

  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
  if (d) closedir(d);
  return empty;
}

/* OUT_DIR is replaced whole, so it must be a bundle or an empty directory,
 * never a directory someone pointed us at by mistake. */
static int check_out(const char* out, bool* exists, char* err) {
  struct stat st;
  char* manifest;
  int rc = 0;

  *exists = lstat(out, &st) == 0;
  if (!*exists) return errno == ENOENT ? 0 : fail_sys(err, out, -errno);
  if (!S_ISDIR(st.st_mode)) {
    snprintf(err, ERRLEN, "%s: exists and is not a directory", out);
    return MOLT_EEXIST;
  }
  if (asprintf(&manifest, "%s/%s", out, MOLT_MANIFEST_FILE) < 0) return MOLT_ENOMEM;
  if (access(manifest, F_OK) != 0 && !dir_empty(out)) {
    snprintf(err, ERRLEN, "%s: exists and is not a release bundle; not replacing it", out);
    rc = MOLT_EEXIST;
  }
  free(manifest);
  return rc;
}

/* Publish tmp as out: a plain rename when out is absent, else an exchange
 * (renameat2) so that out is at every moment a whole bundle, old or new;
 * the old one, now at tmp, is then removed. A filesystem without
 * RENAME_EXCHANGE gets remove-then-rename: a moment with no bundle, but
 * still never half of one. */
static int publish(const char* tmp, const char* out, bool exists, char* err) {
  char* parent;
  int rc;

  if (exists && renameat2(AT_FDCWD, tmp, AT_FDCWD, out, RENAME_EXCHANGE) == 0) {
    molt__fs_rmrf(tmp);
  } else {
    if (exists && errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
      return fail_sys(err, out, -errno);
    if (exists) molt__fs_rmrf(out);
    if (rename(tmp, out) != 0) return fail_sys(err, out, -errno);
  }
  parent = strdup(out);
  if (!parent) return 0; /* published; only the parent's fsync is skipped */
  rc = fsync_path(dirname(parent), err);
  free(parent);
  return rc;
}

static int bundle(const char* src, const char* moddir, const char* out, char* err) {
  char *tmp = NULL, *sub = NULL, *manifest = NULL, *text = NULL, *built_by = NULL;
  molt_manifest_t* m;
  bool exists;
  size_t i;
  int rc;

  if ((rc = molt__manifest_read(src, false, &m, err, ERRLEN))) return rc;
  if ((rc = check_basenames(m, src, err)) || (rc = check_out(out, &exists, err)))
    goto fail_manifest;
  rc = MOLT_ENOMEM;
  if (asprintf(&tmp, "%s.tmp", out) < 0) goto fail_alloc;
  if (asprintf(&sub, "%s/modules", tmp) < 0) goto fail_alloc;
  if (asprintf(&manifest, "%s/%s", tmp, MOLT_MANIFEST_FILE) < 0) goto fail_alloc;

  /* A .tmp left by a run that was killed is ours to clear. */
  molt__fs_rmrf(tmp);
  if (mkdir(tmp, 0755) != 0) {
    rc = fail_sys(err, tmp, -errno);
    goto fail_alloc;
  }
  if (mkdir(sub, 0755) != 0) {
    rc = fail_sys(err, sub, -errno);
    goto fail_tmp;
  }
  for (i = 0; i < m->nmodules; i++)
    if ((rc = add_module(&m->modules[i], i, src, moddir, tmp, err))) goto fail_tmp;
  if ((rc = molt__manifest_print(m, &text))) {
    fail_sys(err, "printing the bundle manifest", rc);
    goto fail_tmp;
  }
  /* Which molt made it, beside the manifest rather than in it: release.json
   * is compared by content at unpack, and read by older molts that refuse
   * keys they do not know. Unpack copies only what the manifest names. */
  if (asprintf(&built_by, "%s/" BUILT_BY_FILE, tmp) < 0) {
    rc = MOLT_ENOMEM;
    goto fail_tmp;
  }
  char who[96];
  snprintf(who, sizeof(who), "molt-bundle %s (module ABI %u)\n", MOLT_VERSION_STRING, (unsigned)MOLT_ABI_VERSION);
  if ((rc = write_text(built_by, who, err))) goto fail_tmp;
  if ((rc = write_text(manifest, text, err)) == 0 && (rc = self_check(tmp, manifest, err)) == 0 &&
      (rc = fsync_path(sub, err)) == 0 && (rc = fsync_path(tmp, err)) == 0)
    rc = publish(tmp, out, exists, err);

fail_tmp:
  if (rc)
    molt__fs_rmrf(tmp); /* on success it is gone already: renamed, or the old bundle removed */
fail_alloc:
  if (rc == MOLT_ENOMEM && !*err) snprintf(err, ERRLEN, "out of memory");
  molt__free(text);
  free(built_by);
  free(manifest);
  free(sub);
  free(tmp);
fail_manifest:
  molt__manifest_free(m);
  return rc;
}

/* OUT_DIR without trailing slashes, so that "<out>.tmp" is its sibling
 * ("out/" would give "out/.tmp", inside the very directory it replaces),
 * and naming a directory we may create: not "/", "." or "..". */
static int out_path(const char* arg, char** out, char* err) {
  size_t n = strlen(arg);
  const char* base;

  while (n > 1 && arg[n - 1] == '/') n--;
  *out = strndup(arg, n);
  if (!*out) return MOLT_ENOMEM;
  base = base_name(*out);
  if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
    snprintf(err, ERRLEN, "%s: OUT_DIR must name the directory to create", arg);
    free(*out);
    return MOLT_EINVAL;
  }
  return 0;
}

int main(int argc, char** argv) {
  char err[ERRLEN] = "";
  char* out;
  int rc;

  if (argc != 4) {
    fputs(usage, stderr);
    return 1;
  }
  rc = out_path(argv[3], &out, err);
  if (rc == 0) {
    rc = bundle(argv[1], argv[2], out, err);
    free(out);
  }
  if (rc != 0) {
    fprintf(stderr, "molt-bundle: %s\n", *err ? err : molt_strerror(rc));
    return 1;
  }
  return 0;
}
