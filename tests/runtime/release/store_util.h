/* store_util.h: what the release store suites share: a scratch directory
 * with modules, real bundles made by the built molt-bundle, and one-line
 * summaries of a store's states, in memory and on disk. */
#ifndef MOLT_STORE_UTIL_H
#define MOLT_STORE_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "molt/errno.h"
#include "release_store.h"
#include "testutil.h"

#define SU_BUNDLER MOLT_BUILD_DIR "/bin/molt-bundle"

/* top/{mods,src,bundles,home}. The store tests never dlopen, but the
 * bundler and unpack read each module's descriptor, so a module is a real
 * one: the ident fixture built for its name and vsn. */
#define SU_IDENT(name, vsn) MOLT_FIXTURE_DIR "/ident/" name "-" vsn ".so"
static char *su_top, *su_home;

static inline char* su_path(const char* fmt, ...) {
  va_list ap;
  char *rel = NULL, *p = NULL;

  va_start(ap, fmt);
  cr_assert_geq(vasprintf(&rel, fmt, ap), 0);
  va_end(ap);
  cr_assert_geq(asprintf(&p, "%s/%s", su_top, rel), 0);
  free(rel);
  return p;
}

static inline void su_put(const char* path, const char* data) {
  cr_assert_eq(tu_write_file(path, data, strlen(data)), 0, "writing %s", path);
}

static inline bool su_exists(const char* p) {
  struct stat st;

  return lstat(p, &st) == 0;
}

static inline void su_setup(void) {
  su_top = tu_mkdtemp("molt-store");
  cr_assert_not_null(su_top);
  char *mods = su_path("mods"), *src = su_path("src"), *bundles = su_path("bundles");
  cr_assert_eq(mkdir(mods, 0755), 0);
  cr_assert_eq(mkdir(src, 0755), 0);
  cr_assert_eq(mkdir(bundles, 0755), 0);
  su_home = su_path("home");
  free(mods);
  free(src);
  free(bundles);
}

static inline void su_teardown(void) {
  tu_rmrf(su_top);
  free(su_top);
  free(su_home);
}

/* Bundle release <name>-<vsn> with mods, a space-separated list of
 * "module:vsn"; extra (may be "") is appended inside the source manifest's
 * top-level object, e.g. ", \"upgrade\": [...]". Returns the bundle's
 * path (malloc'd). */
static inline char* su_bundle_named(const char* name, const char* vsn, const char* mods,
                                    const char* extra) {
  char *list = NULL, *src = su_path("src/%s-%s.json", name, vsn);
  char *out = su_path("bundles/%s-%s", name, vsn), *cmd = NULL, *output = NULL;
  char mod[64], mvsn[64], *file;
  size_t len = 0;
  FILE* f = open_memstream(&list, &len);
  const char* p = mods;
  int n, used;

  while (sscanf(p, " %63[a-z0-9_]:%63s%n", mod, mvsn, &used) == 2) {
    file = su_path("mods/%s-%s.so", mod, mvsn);
    char* ident = NULL;
    cr_assert_geq(asprintf(&ident, MOLT_FIXTURE_DIR "/ident/%s-%s.so", mod, mvsn), 0);
    cr_assert_eq(tu_copy_file(ident, file), 0, "no %s: add %s:%s to the ident fixtures", ident, mod, mvsn);
    free(ident);
    free(file);
    fprintf(f, "%s{\"name\": \"%s\", \"vsn\": \"%s\", \"file\": \"%s-%s.so\"}",
            p == mods ? "" : ", ", mod, mvsn, mod, mvsn);
    p += used;
  }
  fclose(f);
  char* text = NULL;
  n = asprintf(&text, "{\"name\": \"%s\", \"version\": \"%s\", \"modules\": [%s]%s}\n", name, vsn,
               list, extra);
  cr_assert_geq(n, 0);
  su_put(src, text);
  char* mdir = su_path("mods");
  cr_assert_geq(asprintf(&cmd, "'%s' '%s' '%s' '%s' 2>&1", SU_BUNDLER, src, mdir, out), 0);
  cr_assert_eq(tu_run(cmd, &output), 0, "molt-bundle: %s", output);
  free(mdir);
  free(output);
  free(cmd);
  free(text);
  free(list);
  free(src);
  return out;
}

static inline char* su_bundle(const char* vsn, const char* mods) {
  return su_bundle_named("demo", vsn, mods, "");
}

static inline molt_store_t* su_open(void) {
  molt_store_t* s = NULL;
  char err[1024] = "";

  cr_assert_eq(molt__store_open(su_home, &s, err, sizeof err), 0, "open: %s", err);
  cr_assert_not_null(s);
  return s;
}

static inline molt_release_t* su_unpack(molt_store_t* s, const char* bundle) {
  molt_release_t* r = NULL;
  char err[1024] = "";

  cr_assert_eq(molt__store_unpack(s, bundle, &r, err, sizeof err), 0, "unpack %s: %s", bundle, err);
  return r;
}

/* A fresh home's store with demo 1.0.0, 1.1.0 and 2.0.0 unpacked, out of
 * version order (the store keeps them sorted). */
static inline molt_store_t* su_open_three(void) {
  char *b1 = su_bundle("1.0.0", "counter:1.0.0"), *b2 = su_bundle("1.1.0", "counter:1.1.0");
  char* b3 = su_bundle("2.0.0", "counter:2.0.0 stats:1.0.0");
  molt_store_t* s = su_open();

  su_unpack(s, b3);
  su_unpack(s, b1);
  su_unpack(s, b2);
  free(b1);
  free(b2);
  free(b3);
  return s;
}

/* s closed and the home's store opened again, as the next boot reads it. */
static inline molt_store_t* su_reopen(molt_store_t* s) {
  molt__store_close(s);
  return su_open();
}

/* Upgrade to vsn and commit it, as a container records `molt upgrade vsn`
 * and then `molt commit`. */
static inline void su_commit_to(molt_store_t* s, const char* vsn) {
  char err[512] = "";

  cr_assert_eq(molt__store_set_installed(s, vsn, err, sizeof err), 0, "install %s: %s", vsn, err);
  cr_assert_eq(molt__store_commit(s, err, sizeof err), 0, "commit %s: %s", vsn, err);
}

/* "1.0.0=permanent/1 1.1.0=current/0" in version order; malloc'd. */
static inline char* su_states(const molt_store_t* s) {
  char* out = NULL;
  size_t len = 0, i;
  FILE* f = open_memstream(&out, &len);

  for (i = 0; i < s->nreleases; i++)
    fprintf(f, "%s%s=%s/%u", i ? " " : "", s->releases[i]->vsn,
            molt__rel_state_name(s->releases[i]->state), (unsigned)s->releases[i]->permanent_seq);
  fclose(f);
  return out;
}

/* The history, "1.0.0 1.1.0", oldest first; malloc'd. */
static inline char* su_history(const molt_store_t* s) {
  char* out = NULL;
  size_t len = 0, i;
  FILE* f = open_memstream(&out, &len);

  for (i = 0; i < s->nhistory; i++) fprintf(f, "%s%s", i ? " " : "", s->history[i]->vsn);
  fclose(f);
  return out;
}

/* What RELEASES.json holds, as summary(store), read without opening the
 * store (which would demote a current release). */
static inline char* su_file_summary(char* (*summary)(const molt_store_t*)) {
  char* path = NULL;
  char *text, *out, err[512] = "";
  molt_store_t* s = calloc(1, sizeof *s);
  size_t len = 0;

  s->lock_fd = -1;
  cr_assert_geq(asprintf(&path, "%s/releases/RELEASES.json", su_home), 0);
  text = tu_read_file(path, &len);
  cr_assert_not_null(text, "no %s", path);
  cr_assert_eq(molt__release_file_parse(text, len, s, err, sizeof err), 0, "%s", err);
  out = summary(s);
  molt__store_close(s);
  free(text);
  free(path);
  return out;
}

static inline char* su_file_states(void) { return su_file_summary(su_states); }

static inline void su_assert_states(const molt_store_t* s, const char* want) {
  char *mem = su_states(s), *file = su_file_states();

  cr_assert_str_eq(mem, want, "in memory");
  cr_assert_str_eq(file, want, "in RELEASES.json");
  free(mem);
  free(file);
}

/* The history in memory and in RELEASES.json. */
static inline void su_assert_history(const molt_store_t* s, const char* want) {
  char *mem = su_history(s), *file = su_file_summary(su_history);

  cr_assert_str_eq(mem, want, "history in memory");
  cr_assert_str_eq(file, want, "history in RELEASES.json");
  free(mem);
  free(file);
}

/* The names in a directory, sorted, space-separated; malloc'd. */
static inline char* su_ls(const char* dir) {
  struct dirent** names;
  char* out = NULL;
  size_t len = 0;
  FILE* f;
  int n, i;

  n = scandir(dir, &names, NULL, alphasort);
  cr_assert_geq(n, 0, "scandir %s", dir);
  f = open_memstream(&out, &len);
  for (i = 0; i < n; i++) {
    if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
      fprintf(f, "%s%s", ftell(f) > 0 ? " " : "", names[i]->d_name);
    free(names[i]);
  }
  free(names);
  fclose(f);
  return out;
}

static inline void su_assert_ls(const char* rel_to_home, const char* want) {
  char* dir = NULL;
  char* got;

  cr_assert_geq(asprintf(&dir, "%s/%s", su_home, rel_to_home), 0);
  got = su_ls(dir);
  cr_assert_str_eq(got, want, "in %s", dir);
  free(got);
  free(dir);
}

#endif
