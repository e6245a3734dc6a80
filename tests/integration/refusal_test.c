/* refusal_test.c: a refused upgrade or load tells the user why, through
 * the molt command on a real container: a release upgrade refused for a
 * module file quotes the loader's reason as `molt load` does, and loading
 * an older state layout without --down says that --down does it. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "testutil.h"

TestSuite(refusal, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

static char* home_path(const char* rel) {
  char* p = NULL;
  cr_assert_geq(asprintf(&p, "%s/%s", ct_home, rel), 0);
  return p;
}

/* Bundle fx <vsn> into <home>/fx-<vsn>: one module, counter <mvsn> from
 * file (in <home>/mods), running one counter actor. molt-bundle's exit
 * status, its output in *out. */
static int bundle_fx(const char* vsn, const char* mvsn, const char* file, char** out) {
  char *text = NULL, *mods = NULL, name[64];
  cr_assert_geq(asprintf(&text,
                         "{\"name\": \"fx\", \"version\": \"%s\", \"modules\": [{\"name\": \"counter\", "
                         "\"vsn\": \"%s\", \"file\": \"%s\"}], \"supervisor\": {\"name\": \"fx_sup\", "
                         "\"strategy\": \"one_for_one\", \"intensity\": 5, \"period_ms\": 1000, "
                         "\"children\": [{\"id\": \"counter\", \"module\": \"counter\", "
                         "\"args\": {\"name\": \"counter\"}}]}}\n",
                         vsn, mvsn, file),
                0);
  cr_assert_geq(asprintf(&mods, "%s/mods", ct_home), 0);
  snprintf(name, sizeof(name), "fx-%s", vsn);
  int rc = ct_bundle(name, text, mods, out);
  free(mods);
  free(text);
  return rc;
}

static void bundle(const char* vsn, const char* mvsn, const char* file) {
  char* out = NULL;
  cr_assert_eq(bundle_fx(vsn, mvsn, file, &out), 0, "%s", out);
  free(out);
}

/* fx 1.0.0 runs counter 1.0.0; fx 2.0.0 updates it to a counter 2.0.0
 * with an unresolved symbol: its descriptor is sound, so the bundler and
 * unpack (which read descriptors from the file, running no module code)
 * accept it, and only dlopen refuses it. A counter 2.0.0 whose descriptor
 * has no handle never gets that far: the bundler refuses it, quoting the
 * loader's check. */
static void start_with_bad_upgrades(void) {
  ct_mods_add(MOLT_MODULE_DIR "/counter-1.0.0.so");
  ct_mods_add(MOLT_FIXTURE_DIR "/unresolved_counter-2.0.0.so");
  ct_mods_add(MOLT_FIXTURE_DIR "/null_handle_counter-2.0.0.so");
  bundle("1.0.0", "1.0.0", "counter-1.0.0.so");
  bundle("2.0.0", "2.0.0", "unresolved_counter-2.0.0.so");
  char *path = home_path("fx-1.0.0"), args[4096];
  ct_start(path);
  free(path);
  snprintf(args, sizeof args, "unpack '%s/fx-2.0.0'", ct_home);
  cr_assert_eq(ct_json_ok(args), 0, "%s", args);
}

/* Bundling fx 3.0.0 with the handle-less counter fails, giving reason. */
static void bundle_refused_saying(const char* reason) {
  char* out = NULL;
  cr_expect_neq(bundle_fx("3.0.0", "2.0.0", "null_handle_counter-2.0.0.so", &out), 0, "%s", out);
  cr_expect(strstr(out, reason), "molt-bundle: \"%s\" lacks the reason \"%s\"", out, reason);
  free(out);
}

/* `molt <args>` fails in one line that gives reason. */
static void refused_saying(const char* args, const char* reason) {
  char* out = NULL;
  cr_expect_eq(ct_molt(args, &out), 1, "molt %s: %s", args, out);
  cr_expect(strstr(out, reason), "molt %s: \"%s\" lacks the reason \"%s\"", args, out, reason);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
  free(out);
}

static void expect_running(const char* vsn) {
  cJSON* j = ct_json("status");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "release"), "version")->valuestring, vsn);
  cJSON_Delete(j);
  j = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, "1.0.0");
  cJSON_Delete(j);
}

/* The file is refused while the upgrade plans (the state layout of the
 * counter it would run comes from its descriptor): the planner used to
 * replace the loader's reason by its code's text, "dlopen failed" or
 * "invalid module descriptor". */
Test(refusal, an_upgrade_refused_for_a_module_file_quotes_the_loader) {
  start_with_bad_upgrades();
  const char* undefined = "undefined symbol: molt_this_does_not_exist";
  const char* no_handle = "null_handle_counter-2.0.0.so: handle: expected a function, found NULL";
  refused_saying("upgrade 2.0.0 --check", undefined);
  refused_saying("upgrade 2.0.0", undefined);
  bundle_refused_saying("handle: expected a function, found NULL");
  expect_running("1.0.0");

  /* The same reasons as `molt load` gives for the same files. */
  refused_saying("load " MOLT_FIXTURE_DIR "/unresolved_counter-2.0.0.so", undefined);
  refused_saying("load " MOLT_FIXTURE_DIR "/null_handle_counter-2.0.0.so", no_handle);
  expect_running("1.0.0");
}

/* counter 2.0.0 keeps its counts in state layout 2, 1.0.0 in layout 1.
 * Without --down the load used to fail inside the transaction with
 * "counter 1.0.0 has no code_change", which did not say what to do. */
Test(refusal, loading_an_older_layout_without_down_says_to_use_down) {
  ct_start(MOLT_RELEASE_DIR "/demo-1.0.0");
  cr_assert_eq(ct_json_ok("load " MOLT_MODULE_DIR "/counter-2.0.0.so"), 0);
  refused_saying("load " MOLT_MODULE_DIR "/counter-1.0.0.so",
                  "counter 1.0.0 has state layout 1, older than the running 2.0.0's 2: loading it "
                  "would take the state down; use --down");
  cJSON* j = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, "2.0.0");
  cJSON_Delete(j);
  j = ct_json("load --down " MOLT_MODULE_DIR "/counter-1.0.0.so");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "mode")->valuestring, "code_change");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "direction")->valuestring, "down");
  cJSON_Delete(j);
  /* --down to a newer layout says to leave it out, and changes nothing. */
  refused_saying("load --down " MOLT_MODULE_DIR "/counter-2.0.0.so",
                 "counter 2.0.0 has state layout 2, newer than the running 1.0.0's 1: --down would take the "
                 "state up; load it without --down");
  j = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, "1.0.0");
  cJSON_Delete(j);
  /* The same layout again, and a newer one, need no --down. */
  cr_expect_eq(ct_json_ok("load " MOLT_MODULE_DIR "/counter-1.0.0.so"), 0);
  cr_expect_eq(ct_json_ok("load " MOLT_MODULE_DIR "/counter-2.0.0.so"), 0);
}
