/* upgrade_window_test.c: an upgrade that watches itself (issue 15, point
 * 7), through the molt command on a real container: `molt upgrade VSN
 * --window 3s` to a release whose new child crashes rolls back by itself,
 * through the release handler, naming the crash; a clean window with
 * --commit commits. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "testutil.h"

TestSuite(upgrade_window, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

/* fx <vsn>: counter <counter_vsn>, and with crasher a child that crashes
 * 300 ms after each start (under a supervisor patient enough not to give
 * up within the test). */
static void bundle_fx(const char* vsn, const char* counter_vsn, bool crasher) {
  char modules[512], sup[512];
  snprintf(modules, sizeof(modules), "{\"name\": \"counter\", \"vsn\": \"%s\", \"file\": \"counter-%s.so\"}%s",
           counter_vsn, counter_vsn,
           crasher ? ", {\"name\": \"crasher\", \"vsn\": \"1.0.0\", \"file\": \"crasher-1.0.0.so\"}" : "");
  snprintf(sup, sizeof(sup),
           "{\"name\": \"fx_sup\", \"strategy\": \"one_for_one\", \"intensity\": 100, \"period_ms\": 60000, "
           "\"children\": [{\"id\": \"counter\", \"module\": \"counter\", \"args\": {\"name\": \"counter\"}}%s]}",
           crasher ? ", {\"id\": \"crasher\", \"module\": \"crasher\", \"args\": {\"after_ms\": 300}}" : "");
  ct_bundle_fx(vsn, modules, sup, NULL);
}

static void start_fx(void) {
  char path[4200];
  ct_mods_add(MOLT_MODULE_DIR "/counter-1.0.0.so");
  ct_mods_add(MOLT_MODULE_DIR "/counter-1.1.0.so");
  ct_mods_add(MOLT_FIXTURE_DIR "/crasher-1.0.0.so");
  bundle_fx("1.0.0", "1.0.0", false);
  bundle_fx("1.1.0", "1.1.0", false);
  bundle_fx("2.0.0", "1.1.0", true);
  snprintf(path, sizeof path, "%s/fx-1.0.0", ct_home);
  ct_start(path);
  for (const char* v = "1.1.0"; v; v = strcmp(v, "1.1.0") == 0 ? "2.0.0" : NULL) {
    snprintf(path, sizeof path, "unpack '%s/fx-%s'", ct_home, v);
    cr_assert_eq(ct_json_ok(path), 0, "%s", path);
  }
}

Test(upgrade_window, a_crash_within_the_window_rolls_the_upgrade_back) {
  start_fx();
  char* out = NULL;
  int rc = ct_molt("upgrade 2.0.0 --window 3s", &out);
  cr_expect_eq(rc, 1, "%s", out);
  cr_expect(strstr(out, "upgrade to 2.0.0 rolled back to 1.0.0: 1 crash of the changed modules within the window "
                        "(at most 0 allowed); the first: child crasher <"),
            "%s", out);
  cr_expect(strstr(out, "(module crasher) of fx_sup exited EIO (i/o error)"), "%s", out);
  free(out);
  cJSON* st = ct_json("status");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "release"), "version")->valuestring, "1.0.0");
  cJSON* m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItem(st, "modules")) {
    cr_expect_str_neq(cJSON_GetObjectItem(m, "name")->valuestring, "crasher", "crasher still loaded");
  }
  cJSON_Delete(st);
  char b[32];
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "permanent");
  cr_expect_str_eq(ct_release_state("2.0.0", b, sizeof(b)), "unpacked");
  /* Allowed enough crashes, the same upgrade stays. */
  cJSON* j = ct_json("upgrade 2.0.0 --window 1s --max-restarts 1000");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "state")->valuestring, "current");
  cJSON_Delete(j);
}

Test(upgrade_window, a_clean_window_with_commit_commits) {
  start_fx();
  cJSON* j = ct_json("upgrade 1.1.0 --window 1s --commit");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "state")->valuestring, "permanent");
  cJSON* win = cJSON_GetObjectItem(j, "window");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(win, "committed")));
  cJSON_Delete(j);
  char b[32];
  cr_expect_str_eq(ct_release_state("1.1.0", b, sizeof(b)), "permanent");
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "old");
  char* out = NULL;
  cr_expect_eq(ct_molt("upgrade 2.0.0 --commit", &out), 2, "%s", out);
  cr_expect(strstr(out, "--commit and --max-restarts go with --window"), "%s", out);
  free(out);
}
