/* bundle_test.c: the built molt-bundle (tools/molt_bundle.c) run on a
 * source manifest and module files: layout, digests, relocation, modules
 * held against their entries, and refusals that leave nothing behind. */
#include <criterion/criterion.h>

#include "molt/module.h"
#include "molt/version.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "sha256.h"
#include "molt/errno.h"
#include "testutil.h"

#define BUNDLER MOLT_BUILD_DIR "/bin/molt-bundle"
#define COUNTER MOLT_FIXTURE_DIR "/ident/counter-1.0.0.so"
#define DRIVER MOLT_FIXTURE_DIR "/ident/driver-1.0.0.so"

/* Source form: files by basename, the digest given for one module only
 * (the %s: counter's). */
static const char SOURCE[] =
    "{\"name\": \"demo\", \"version\": \"1.0.0\", \"modules\": [\n"
    " {\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"counter-1.0.0.so\",\n"
    "  \"sha256\": \"%s\"},\n"
    " {\"name\": \"driver\", \"vsn\": \"1.0.0\", \"file\": \"driver-1.0.0.so\"}],\n"
    " \"supervisor\": {\"children\": [\n"
    "  {\"id\": \"counter\", \"module\": \"counter\", \"args\": {\"name\": \"counter\"}},\n"
    "  {\"id\": \"drivers\", \"module\": \"driver\", \"count\": 4}]}}\n";

static char *top, *mods, *src, *out;
static char counter_sha[65], driver_sha[65];

static void sha_of(const char* file, char hex[65]) {
  uint8_t d[32];
  cr_assert_eq(molt__sha256_file(file, d), 0, "%s", file);
  molt__sha256_hex(d, hex);
}

static char* path(const char* fmt, ...) {
  va_list ap;
  char *rel = NULL, *p = NULL;

  va_start(ap, fmt);
  cr_assert_geq(vasprintf(&rel, fmt, ap), 0);
  va_end(ap);
  cr_assert_geq(asprintf(&p, "%s/%s", top, rel), 0);
  free(rel);
  return p;
}

static void put(const char* rel, const char* data) {
  char* p = path("%s", rel);

  cr_assert_eq(tu_write_file(p, data, strlen(data)), 0, "writing %s", p);
  free(p);
}

static bool exists(const char* p) {
  struct stat st;

  return lstat(p, &st) == 0;
}

/* Runs molt-bundle with stderr captured; returns the exit status. */
static int bundle(const char* source, const char* dest, char** output) {
  char* cmd = NULL;
  int rc;

  cr_assert_geq(asprintf(&cmd, "'%s' '%s' '%s' '%s' 2>&1", BUNDLER, source, mods, dest), 0);
  rc = tu_run(cmd, output);
  free(cmd);
  return rc;
}

static void setup(void) {
  top = tu_mkdtemp("molt-bundle");
  cr_assert_not_null(top);
  mods = path("build-modules");
  src = path("demo.json");
  out = path("demo-1.0.0");
  cr_assert_eq(mkdir(mods, 0755), 0);
  char *c = path("build-modules/counter-1.0.0.so"), *d = path("build-modules/driver-1.0.0.so"), *text = NULL;
  cr_assert_eq(tu_copy_file(COUNTER, c), 0);
  cr_assert_eq(tu_copy_file(DRIVER, d), 0);
  sha_of(COUNTER, counter_sha);
  sha_of(DRIVER, driver_sha);
  put("build-modules/unrelated.so", "not in the release");
  cr_assert_geq(asprintf(&text, SOURCE, counter_sha), 0);
  put("demo.json", text);
  free(text);
  free(c);
  free(d);
}

static void teardown(void) {
  tu_rmrf(top);
  free(top);
  free(mods);
  free(src);
  free(out);
}

TestSuite(bundle, .init = setup, .fini = teardown, .timeout = 60);

static molt_manifest_t* read_bundle(const char* dir) {
  char* p = NULL;
  char err[1024] = "";
  molt_manifest_t* m = NULL;

  cr_assert_geq(asprintf(&p, "%s/%s", dir, MOLT_MANIFEST_FILE), 0);
  cr_assert_eq(molt__manifest_read(p, true, &m, err, sizeof err), 0, "%s", err);
  free(p);
  return m;
}

Test(bundle, layout_and_checksums) {
  char *output = NULL, *tmp = path("demo-1.0.0.tmp"),
       *copy = path("demo-1.0.0/modules/counter-1.0.0.so");
  char *extra = path("demo-1.0.0/modules/unrelated.so"), *data, *want;
  char hex[65], err[1024] = "";
  size_t len = 0, want_len = 0;
  molt_manifest_t* m;

  cr_assert_eq(bundle(src, out, &output), 0, "%s", output);
  cr_assert_str_eq(output, "");
  cr_assert_not(exists(tmp), "the .tmp directory was left behind");
  cr_assert_not(exists(extra), "a module not in the release was copied");
  data = tu_read_file(copy, &len);
  want = tu_read_file(COUNTER, &want_len);
  cr_assert(data && want && len == want_len && memcmp(data, want, len) == 0, "the copy differs");
  free(want);

  m = read_bundle(out);
  cr_assert_str_eq(m->name, "demo");
  cr_assert_eq(m->nmodules, 2);
  cr_assert_str_eq(m->modules[0].file, "modules/counter-1.0.0.so");
  cr_assert_str_eq(m->modules[1].file, "modules/driver-1.0.0.so");
  molt__sha256_hex(m->modules[0].sha256, hex);
  cr_assert_str_eq(hex, counter_sha);
  molt__sha256_hex(m->modules[1].sha256, hex);
  cr_assert_str_eq(hex, driver_sha);
  /* Each module's layout, read from its file, is recorded. */
  cr_assert(m->modules[0].has_state_vsn && m->modules[1].has_state_vsn);
  cr_assert_eq(m->modules[0].state_vsn, 1);
  cr_assert_eq(m->sup->children[1].count, 4);
  cr_assert_str_eq(m->sup->children[0].args_json, "{\"name\":\"counter\"}");
  cr_assert_eq(molt__manifest_verify_files(m, out, err, sizeof err), 0, "%s", err);
  molt__manifest_free(m);
  /* Which molt made it, beside the manifest. */
  char* built_by_path = path("demo-1.0.0/BUILT_BY");
  char* built_by = tu_read_file(built_by_path, NULL);
  char want_by[96];
  snprintf(want_by, sizeof(want_by), "molt-bundle %s (module ABI %u)\n", MOLT_VERSION_STRING,
           (unsigned)MOLT_ABI_VERSION);
  cr_assert(built_by && strcmp(built_by, want_by) == 0, "BUILT_BY: %s", built_by ? built_by : "(missing)");
  free(built_by);
  free(built_by_path);
  free(data);
  free(output);
  free(tmp);
  free(copy);
  free(extra);
}

Test(bundle, is_relocatable) {
  char *output = NULL, *moved = path("elsewhere/moved"), *parent = path("elsewhere");
  char *manifest = path("elsewhere/moved/release.json"), *text;
  char err[1024] = "";
  molt_manifest_t* m;

  cr_assert_eq(bundle(src, out, &output), 0, "%s", output);
  cr_assert_eq(mkdir(parent, 0755), 0);
  cr_assert_eq(rename(out, moved), 0);
  /* Nothing in it names where it was built. */
  text = tu_read_file(manifest, NULL);
  cr_assert_null(strstr(text, top), "%s", text);
  m = read_bundle(moved);
  cr_assert_eq(molt__manifest_verify_files(m, moved, err, sizeof err), 0, "%s", err);
  molt__manifest_free(m);
  free(text);
  free(output);
  free(moved);
  free(parent);
  free(manifest);
}

static void assert_nothing_left(void) {
  char* tmp = path("demo-1.0.0.tmp");

  cr_assert_not(exists(out), "%s was left behind", out);
  cr_assert_not(exists(tmp), "%s was left behind", tmp);
  free(tmp);
}

Test(bundle, missing_module_leaves_nothing) {
  char *output = NULL, *gone = path("build-modules/driver-1.0.0.so");
  char want[4096];

  cr_assert_eq(unlink(gone), 0);
  cr_assert_eq(bundle(src, out, &output), 1);
  snprintf(want, sizeof want, "molt-bundle: %s: no such file or directory\n", gone);
  cr_assert_str_eq(output, want);
  assert_nothing_left();
  free(output);
  free(gone);
}

Test(bundle, wrong_digest_in_source_leaves_nothing) {
  char* output = NULL;

  char want[128];
  put("build-modules/counter-1.0.0.so", "abd");
  cr_assert_eq(bundle(src, out, &output), 1);
  snprintf(want, sizeof want, "counter-1.0.0.so: sha256 expected %s, found ", counter_sha);
  cr_assert_not_null(strstr(output, want), "%s", output);
  cr_assert_eq(strchr(output, '\n'), output + strlen(output) - 1, "not one line: %s", output);
  assert_nothing_left();
  free(output);
}

Test(bundle, bad_source_manifest_names_file_and_field) {
  char *output = NULL, want[4096];

  put("demo.json",
      "{\"name\": \"demo\", \"version\": \"1.0.0\", \"modules\": [], "
      "\"supervisor\": {\"children\": [{\"id\": \"a\", \"module\": \"countr\"}]}}");
  cr_assert_eq(bundle(src, out, &output), 1);
  snprintf(want, sizeof want,
           "molt-bundle: %s: supervisor.children[0].module: unknown module \"countr\"\n", src);
  cr_assert_str_eq(output, want);
  assert_nothing_left();
  free(output);
}

Test(bundle, same_basename_twice_is_refused) {
  char* output = NULL;

  put("demo.json",
      "{\"name\": \"demo\", \"version\": \"1\", \"modules\": ["
      "{\"name\": \"a\", \"vsn\": \"1\", \"file\": \"x/m.so\"},"
      "{\"name\": \"b\", \"vsn\": \"1\", \"file\": \"y/m.so\"}]}");
  cr_assert_eq(bundle(src, out, &output), 1);
  cr_assert_not_null(
      strstr(output, "modules[1].file: basename \"m.so\" is also that of modules[0]"), "%s",
      output);
  assert_nothing_left();
  free(output);
}

/* A rerun replaces the previous bundle whole; a failed one keeps it. */
Test(bundle, rerun_replaces_old_bundle_and_failure_keeps_it) {
  char *output = NULL, *stale = path("demo-1.0.0/modules/stale.so"), *tmp = path("demo-1.0.0.tmp");
  char *gone = path("build-modules/driver-1.0.0.so"), err[1024] = "";
  molt_manifest_t* m;

  cr_assert_eq(bundle(src, out, &output), 0, "%s", output);
  free(output);
  put("demo-1.0.0/modules/stale.so", "old");
  put("demo-1.0.0.tmp", "left by a killed run");
  cr_assert_eq(bundle(src, out, &output), 0, "%s", output);
  free(output);
  cr_assert_not(exists(stale));
  cr_assert_not(exists(tmp));

  cr_assert_eq(unlink(gone), 0);
  cr_assert_eq(bundle(src, out, &output), 1);
  m = read_bundle(out);
  cr_assert_eq(molt__manifest_verify_files(m, out, err, sizeof err), 0, "%s", err);
  cr_assert_not(exists(tmp));
  molt__manifest_free(m);
  free(output);
  free(stale);
  free(tmp);
  free(gone);
}

Test(bundle, will_not_replace_a_directory_that_is_not_a_bundle) {
  char *output = NULL, *precious = path("demo-1.0.0/precious.txt"), *data;

  cr_assert_eq(mkdir(out, 0755), 0);
  put("demo-1.0.0/precious.txt", "keep me");
  cr_assert_eq(bundle(src, out, &output), 1);
  cr_assert_not_null(strstr(output, "exists and is not a release bundle"), "%s", output);
  data = tu_read_file(precious, NULL);
  cr_assert_str_eq(data, "keep me");
  free(data);
  free(output);
  free(precious);
}

/* "out/" must not become "out/.tmp", inside the bundle it replaces. */
Test(bundle, trailing_slash_on_out_dir) {
  char *output = NULL, *slashed = NULL, *tmp = path("demo-1.0.0.tmp");
  char err[1024] = "";
  molt_manifest_t* m;

  cr_assert_geq(asprintf(&slashed, "%s//", out), 0);
  cr_assert_eq(bundle(src, slashed, &output), 0, "%s", output);
  free(output);
  cr_assert_eq(bundle(src, slashed, &output), 0, "%s", output);
  m = read_bundle(out);
  cr_assert_eq(molt__manifest_verify_files(m, out, err, sizeof err), 0, "%s", err);
  cr_assert_not(exists(tmp));
  molt__manifest_free(m);
  free(output);
  free(slashed);
  free(tmp);
}

Test(bundle, out_dir_must_name_a_directory) {
  char* output = NULL;

  cr_assert_eq(bundle(src, "..", &output), 1);
  cr_assert_str_eq(output, "molt-bundle: ..: OUT_DIR must name the directory to create\n");
  free(output);
  cr_assert_eq(bundle(src, "/", &output), 1);
  free(output);
}

Test(bundle, usage) {
  char* output = NULL;

  cr_assert_eq(tu_run("'" BUNDLER "' only-one 2>&1", &output), 1);
  cr_assert_not_null(strstr(output, "usage: molt-bundle SOURCE_MANIFEST MODULE_DIR OUT_DIR"));
  free(output);
}

/* The demo source with a second module entry (JSON text), the file of
 * fixture copied into the module dir as file. */
static void second_module(const char* fixture, const char* file, const char* entry) {
  char *to = path("build-modules/%s", file), *text = NULL;
  if (fixture)
    cr_assert_eq(tu_copy_file(fixture, to), 0);
  else
    put("build-modules/stats.so", "not a module\n");
  cr_assert_geq(asprintf(&text,
                         "{\"name\": \"demo\", \"version\": \"1.0.0\", \"modules\": ["
                         "{\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"counter-1.0.0.so\"}, %s]}",
                         entry),
                0);
  put("demo.json", text);
  free(text);
  free(to);
}

static void refused_exactly(const char* what) {
  char *output = NULL, want[8192];
  cr_assert_eq(bundle(src, out, &output), 1, "%s", output);
  snprintf(want, sizeof want, "molt-bundle: %s: %s\n", src, what);
  cr_expect_str_eq(output, want);
  assert_nothing_left();
  free(output);
}

/* Before, a "vsn": "1.0.0" entry pointing at a 2.0.0 file made a bundle,
 * and the upgrade that loaded it failed as "state_vsn of blob 1.0.0:
 * invalid release manifest". */
Test(bundle, a_module_that_is_not_what_its_entry_says_is_refused_with_path_and_both_values) {
  char want[8192];
  second_module(MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                "{\"name\": \"blob\", \"vsn\": \"1.0.0\", \"file\": \"blob-2.0.0.so\"}");
  snprintf(want, sizeof want, "modules[1].vsn: the manifest says \"1.0.0\", %s/blob-2.0.0.so says \"2.0.0\"", mods);
  refused_exactly(want);

  second_module(MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                "{\"name\": \"blob\", \"vsn\": \"2.0.0\", \"state_vsn\": 1, \"file\": \"blob-2.0.0.so\"}");
  snprintf(want, sizeof want, "modules[1].state_vsn: the manifest says 1, %s/blob-2.0.0.so says 2", mods);
  refused_exactly(want);

  second_module(MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                "{\"name\": \"stats\", \"vsn\": \"2.0.0\", \"file\": \"blob-2.0.0.so\"}");
  snprintf(want, sizeof want, "modules[1].name: the manifest says \"stats\", %s/blob-2.0.0.so says \"blob\"", mods);
  refused_exactly(want);

  /* Not a module: the loader's refusal, under the entry's path. */
  char* output = NULL;
  second_module(NULL, "stats.so", "{\"name\": \"stats\", \"vsn\": \"1.0.0\", \"file\": \"stats.so\"}");
  cr_assert_eq(bundle(src, out, &output), 1, "%s", output);
  cr_expect_not_null(strstr(output, "modules[1].file: "), "%s", output);
  cr_expect_not_null(strstr(output, "/stats.so: EI_MAG: expected 7f 45 4c 46"), "%s", output);
  assert_nothing_left();
  free(output);
}

Test(bundle, a_stated_layout_that_is_right_is_kept) {
  char *output = NULL;
  molt_manifest_t* m;
  second_module(MOLT_FIXTURE_DIR "/blob-2.0.0.so", "blob-2.0.0.so",
                "{\"name\": \"blob\", \"vsn\": \"2.0.0\", \"state_vsn\": 2, \"file\": \"blob-2.0.0.so\"}");
  cr_assert_eq(bundle(src, out, &output), 0, "%s", output);
  m = read_bundle(out);
  cr_expect(m->modules[1].has_state_vsn && m->modules[1].state_vsn == 2);
  molt__manifest_free(m);
  free(output);
}
