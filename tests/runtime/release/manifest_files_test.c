/* manifest_files_test.c: reading manifests from disk and checking module
 * files against their digests (runtime/manifest_files.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "molt/errno.h"
#include "testutil.h"

/* Two modules whose contents are the FIPS vectors "abc" and "". */
static const char BUNDLE[] =
    "{\"name\": \"demo\", \"version\": \"1.0.0\", \"modules\": [\n"
    " {\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"modules/counter-1.0.0.so\",\n"
    "  \"sha256\": \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"},\n"
    " {\"name\": \"driver\", \"vsn\": \"1.0.0\", \"file\": \"modules/driver-1.0.0.so\",\n"
    "  \"sha256\": \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}]}\n";

static char *top, *dir, *outside;
static molt_manifest_t* m;

static char* join(const char* a, const char* b) {
  char* p = NULL;

  cr_assert_geq(asprintf(&p, "%s/%s", a, b), 0);
  return p;
}

static void put(const char* base, const char* rel, const char* data) {
  char* p = join(base, rel);

  cr_assert_eq(tu_write_file(p, data, strlen(data)), 0, "writing %s", p);
  free(p);
}

/* top/bundle/{release.json,modules/...} and top/outside/. */
static void setup(void) {
  char err[512] = "";
  char* mods;

  top = tu_mkdtemp("molt-manifest-files");
  cr_assert_not_null(top);
  dir = join(top, "bundle");
  outside = join(top, "outside");
  mods = join(dir, "modules");
  cr_assert_eq(mkdir(dir, 0755), 0);
  cr_assert_eq(mkdir(outside, 0755), 0);
  cr_assert_eq(mkdir(mods, 0755), 0);
  free(mods);
  put(dir, "modules/counter-1.0.0.so", "abc");
  put(dir, "modules/driver-1.0.0.so", "");
  put(dir, MOLT_MANIFEST_FILE, BUNDLE);
  m = NULL;
  cr_assert_eq(molt__manifest_parse(BUNDLE, strlen(BUNDLE), true, &m, err, sizeof err), 0, "%s",
               err);
}

static void teardown(void) {
  molt__manifest_free(m);
  tu_rmrf(top);
  free(top);
  free(dir);
  free(outside);
}

TestSuite(manifest_files, .init = setup, .fini = teardown);

Test(manifest_files, read_then_verify_good_bundle) {
  char* path = join(dir, MOLT_MANIFEST_FILE);
  molt_manifest_t* read = NULL;
  char err[512] = "";

  cr_assert_eq(molt__manifest_read(path, true, &read, err, sizeof err), 0, "%s", err);
  cr_assert_eq(molt__manifest_verify_files(read, dir, err, sizeof err), 0, "%s", err);
  molt__manifest_free(read);
  free(path);
}

Test(manifest_files, read_prefixes_the_path) {
  char* path = join(dir, "bad.json");
  char want[1024], err[1024] = "";
  molt_manifest_t* read = NULL;

  put(dir, "bad.json", "{\"name\": \"demo\", \"version\": \"1\", \"modules\": [], \"extra\": 1}");
  cr_assert_eq(molt__manifest_read(path, true, &read, err, sizeof err), MOLT_EMANIFEST);
  snprintf(want, sizeof want, "%s: top level: unknown key \"extra\"", path);
  cr_assert_eq(strncmp(err, want, strlen(want)), 0, "%s", err);
  cr_assert_null(read);
  free(path);
}

Test(manifest_files, checksum_mismatch_names_the_file_and_digests) {
  char err[512] = "";

  put(dir, "modules/driver-1.0.0.so", "not empty");
  cr_assert_eq(molt__manifest_verify_files(m, dir, err, sizeof err), MOLT_ECHECKSUM);
  cr_assert_eq(
      strncmp(err,
              "modules/driver-1.0.0.so: sha256 expected "
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855, found ",
              strlen("modules/driver-1.0.0.so: sha256 expected e3b0c44298fc1c149afbf4c8996fb92"
                     "427ae41e4649b934ca495991b7852b855, found ")),
      0, "%s", err);
}

Test(manifest_files, missing_file) {
  char* p = join(dir, "modules/counter-1.0.0.so");
  char err[512] = "";

  cr_assert_eq(unlink(p), 0);
  cr_assert_eq(molt__manifest_verify_files(m, dir, err, sizeof err), MOLT_ENOENT);
  cr_assert_str_eq(err, "modules/counter-1.0.0.so: no such file or directory");
  free(p);
}

Test(manifest_files, missing_dir) {
  char err[512] = "";

  cr_assert_eq(molt__manifest_verify_files(m, "/nonexistent/bundle", err, sizeof err), MOLT_ENOENT);
  cr_assert_str_eq(err, "/nonexistent/bundle: no such file or directory");
}

/* The target has the right bytes: the refusal is about where it lives. */
Test(manifest_files, symlink_escaping_the_dir_is_refused) {
  char *link = join(dir, "modules/counter-1.0.0.so"), *target = join(outside, "counter.so");
  char err[1024] = "";

  put(outside, "counter.so", "abc");
  cr_assert_eq(unlink(link), 0);
  cr_assert_eq(symlink(target, link), 0);
  cr_assert_eq(molt__manifest_verify_files(m, dir, err, sizeof err), MOLT_EPERM);
  cr_assert_eq(strncmp(err, "modules/counter-1.0.0.so: resolves to ", 38), 0, "%s", err);
  cr_assert_not_null(strstr(err, ", outside "), "%s", err);
  free(link);
  free(target);
}

/* A sibling whose name starts with the bundle's ("bundle2") is outside too. */
Test(manifest_files, symlink_to_a_prefix_sibling_is_refused) {
  char *sibling = join(top, "bundle2"), *link = join(dir, "modules/counter-1.0.0.so");
  char err[1024] = "";

  cr_assert_eq(mkdir(sibling, 0755), 0);
  put(sibling, "counter.so", "abc");
  cr_assert_eq(unlink(link), 0);
  cr_assert_eq(symlink("../../bundle2/counter.so", link), 0);
  cr_assert_eq(molt__manifest_verify_files(m, dir, err, sizeof err), MOLT_EPERM, "%s", err);
  free(sibling);
  free(link);
}

Test(manifest_files, symlink_inside_the_dir_is_fine) {
  char* link = join(dir, "modules/counter-1.0.0.so");
  char err[512] = "";

  put(dir, "real-counter.so", "abc");
  cr_assert_eq(unlink(link), 0);
  cr_assert_eq(symlink("../real-counter.so", link), 0);
  cr_assert_eq(molt__manifest_verify_files(m, dir, err, sizeof err), 0, "%s", err);
  free(link);
}

Test(manifest_files, not_a_regular_file) {
  char* p = join(dir, "modules/counter-1.0.0.so");
  char err[512] = "";

  cr_assert_eq(unlink(p), 0);
  cr_assert_eq(mkfifo(p, 0600), 0);
  cr_assert_eq(molt__manifest_verify_files(m, dir, err, sizeof err), MOLT_EINVAL);
  cr_assert_str_eq(err, "modules/counter-1.0.0.so: expected a regular file, found a FIFO");
  free(p);
}

Test(manifest_files, source_form_cannot_be_verified) {
  const char* src =
      "{\"name\": \"d\", \"version\": \"1\", \"modules\": ["
      "{\"name\": \"counter\", \"vsn\": \"1\", \"file\": \"modules/counter-1.0.0.so\"}]}";
  molt_manifest_t* s = NULL;
  char err[512] = "";

  cr_assert_eq(molt__manifest_parse(src, strlen(src), false, &s, err, sizeof err), 0, "%s", err);
  cr_assert_eq(molt__manifest_verify_files(s, dir, err, sizeof err), MOLT_EINVAL);
  cr_assert_str_eq(err, "modules/counter-1.0.0.so: no sha256 to check against");
  molt__manifest_free(s);
}
