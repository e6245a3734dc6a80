/* aborted_change_test.c: a change refused halfway leaves no code behind,
 * through the molt command on a real container: an upgrade whose added
 * module's child fails init unloads that module again, and a module
 * loaded by hand that nothing uses is removed by `molt purge --unload`. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "testutil.h"

TestSuite(aborted_change, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

static const char* const counter_child =
    "{\"id\": \"counter\", \"module\": \"counter\", \"args\": {\"name\": \"counter\"}}";
/* echo starts (listening on a port of its own), then refuser refuses: the tree is refused with one added
 * module's actor already running. */
static const char* const added_children =
    "{\"id\": \"echo\", \"module\": \"echo\"}, {\"id\": \"refuser\", \"module\": \"refuser\"}";

/* Bundle fx <vsn> into <home>/fx-<vsn>: counter 1.0.0, and with_refuser
 * adds the echo and refuser modules and a child of each. */
static void bundle_fx(const char* vsn, bool with_refuser) {
  char sup[1024];
  snprintf(sup, sizeof(sup),
           "{\"name\": \"fx_sup\", \"strategy\": \"one_for_one\", \"intensity\": 5, \"period_ms\": 1000, "
           "\"children\": [%s%s%s]}",
           counter_child, with_refuser ? ", " : "", with_refuser ? added_children : "");
  ct_bundle_fx(vsn,
               with_refuser ? "{\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"counter-1.0.0.so\"}, "
                              "{\"name\": \"echo\", \"vsn\": \"1.0.0\", \"file\": \"echo-1.0.0.so\"}, "
                              "{\"name\": \"refuser\", \"vsn\": \"1.0.0\", \"file\": \"refuser-1.0.0.so\"}"
                            : "{\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"counter-1.0.0.so\"}",
               sup, NULL);
}

static void start_fx(void) {
  ct_mods_add(MOLT_MODULE_DIR "/counter-1.0.0.so");
  ct_mods_add(MOLT_FIXTURE_DIR "/refuser-1.0.0.so");
  ct_mods_add(MOLT_MODULE_DIR "/echo-1.0.0.so");
  bundle_fx("1.0.0", false);
  bundle_fx("2.0.0", true);
  char path[4096];
  snprintf(path, sizeof path, "%s/fx-1.0.0", ct_home);
  ct_start(path);
  snprintf(path, sizeof path, "unpack '%s/fx-2.0.0'", ct_home);
  cr_assert_eq(ct_json_ok(path), 0, "%s", path);
}

/* The entry of module in `molt status`'s module list, or NULL. */
static cJSON* status_module(cJSON* status, const char* module) {
  cJSON* m;
  cJSON_ArrayForEach(m, cJSON_GetObjectItem(status, "modules")) {
    if (strcmp(cJSON_GetObjectItem(m, "name")->valuestring, module) == 0) return m;
  }
  return NULL;
}

static bool loaded(const char* module) {
  cJSON* j = ct_json("status");
  bool found = status_module(j, module) != NULL;
  cJSON_Delete(j);
  return found;
}

/* `molt <args>` fails in one line that gives reason. */
static void refused_saying(const char* args, const char* reason) {
  char* out = NULL;
  cr_expect_eq(ct_molt(args, &out), 1, "molt %s: %s", args, out);
  cr_expect(strstr(out, reason), "molt %s: \"%s\" lacks the reason \"%s\"", args, out, reason);
  free(out);
}

/* The upgrade used to leave echo loaded with 0 actors: the refused tree's
 * echo child had not finished exiting when the handler tried to unload
 * its module, and the unload's refusal was dropped. */
Test(aborted_change, an_upgrade_whose_added_child_fails_init_unloads_the_added_module) {
  start_fx();
  char* out = NULL;
  cr_expect_eq(ct_molt("upgrade 2.0.0", &out), 1, "%s", out);
  cr_expect(strstr(out, "refuser"), "the refusal names the child: %s", out);
  free(out);
  cr_expect(!loaded("refuser"), "refuser is still loaded after the refused upgrade");
  cr_expect(!loaded("echo"), "echo is still loaded after the refused upgrade");
  cJSON* j = ct_json("status");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "release"), "version")->valuestring, "1.0.0");
  cJSON_Delete(j);
  j = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, "1.0.0");
  cJSON_Delete(j);
  /* Refused again the same way: nothing of the first attempt is in its way. */
  cr_expect_eq(ct_molt("upgrade 2.0.0", &out), 1, "%s", out);
  cr_expect(strstr(out, "refuser"), "the second refusal names the child: %s", out);
  free(out);
  cr_expect(!loaded("refuser"));
  cr_expect(!loaded("echo"));
}

Test(aborted_change, purge_unload_removes_a_module_nothing_uses) {
  start_fx();
  cr_assert_eq(ct_json_ok("load " MOLT_FIXTURE_DIR "/good-1.0.0.so"), 0);
  cr_assert(loaded("good"));
  cJSON* j = ct_json("purge good --unload");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "module")->valuestring, "good");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "unloaded")->valuestring, "1.0.0");
  cJSON_Delete(j);
  cr_expect(!loaded("good"), "good is still loaded after purge --unload");
  /* Loaded and unloaded again: its revisions go on counting. */
  j = ct_json("load " MOLT_FIXTURE_DIR "/good-1.0.0.so");
  cr_expect_eq(cJSON_GetObjectItem(j, "revision")->valueint, 2);
  cJSON_Delete(j);
  cr_expect_eq(ct_json_ok("purge good --unload"), 0);

  /* Never code that runs or that the running release lists. */
  refused_saying("purge counter --unload", "counter: the running release fx 1.0.0 lists it");
  refused_saying("purge nosuch --unload", "nosuch: no such module");
  cr_expect(loaded("counter"));
  j = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, "1.0.0");
  cJSON_Delete(j);
}

/* Another release's module loaded by hand (the demo's stats) is not in
 * use until a release adds it: it can go. */
Test(aborted_change, purge_unload_takes_a_module_loaded_by_hand_only) {
  ct_start(MOLT_RELEASE_DIR "/demo-1.0.0");
  refused_saying("purge counter --unload", "counter: the running release demo 1.0.0 lists it");
  cr_assert_eq(ct_json_ok("load " MOLT_MODULE_DIR "/stats-1.0.0.so"), 0);
  cr_expect_eq(ct_json_ok("purge stats --unload"), 0);
  cr_expect(!loaded("stats"));
  cr_expect(loaded("counter"));
}
