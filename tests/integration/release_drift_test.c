/* release_drift_test.c: a release change after `molt load` outside any
 * release, through the real molt command: the plan starts from what the
 * actors run, not from the manifest of the release the container believes
 * it runs, and status and releases show where the two differ. The module
 * is the blob fixture, whose 1.0.0 (state_vsn 1) and 2.0.0/3.0.0 (state_vsn
 * 2) layouts are far apart: 3.0.0's handler on a layout-1 state overflows
 * the heap (ASan reports it in the container's log; without ASan the
 * container corrupts its heap or the state reads as garbage). */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define BLOB(v) MOLT_FIXTURE_DIR "/blob-" v ".so"

TestSuite(release_drift, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

/* Bundle release "blob" vsn into <home>/blob-<vsn>: module blob vsn, one
 * registered actor; extra ("" or ", \"upgrade\": [...]") goes into the
 * source manifest's top level. */
static void write_bundle(const char* vsn, const char* extra) {
  char text[4096], name[64], *log = NULL;
  snprintf(text, sizeof(text),
           "{\"name\": \"blob\", \"version\": \"%s\", "
           "\"modules\": [{\"name\": \"blob\", \"vsn\": \"%s\", \"file\": \"blob-%s.so\"}], "
           "\"supervisor\": {\"children\": [{\"id\": \"blob\", \"module\": \"blob\", "
           "\"args\": {\"name\": \"blob\"}}]}%s}",
           vsn, vsn, vsn, extra);
  snprintf(name, sizeof(name), "blob-%s", vsn);
  cr_assert_eq(ct_bundle(name, text, MOLT_FIXTURE_DIR, &log), 0, "%s", log);
  free(log);
}

static void start_on(const char* vsn) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/blob-%s", ct_home, vsn);
  ct_start(path);
}

static void unpack(const char* vsn) {
  char args[8192];
  snprintf(args, sizeof(args), "unpack '%s/blob-%s'", ct_home, vsn);
  cJSON_Delete(ct_json(args));
}

/* The blob actor's state as its format_state shows it. */
typedef struct {
  char vsn[16], from[16];
  bool layout_ok;
  double count;
} blob_state_t;

static blob_state_t blob_state(void) {
  cJSON* j = ct_json("inspect blob");
  const cJSON* s = cJSON_GetObjectItem(j, "state");
  cr_assert(cJSON_IsObject(s), "no state");
  blob_state_t b = {.layout_ok = cJSON_IsTrue(cJSON_GetObjectItem(s, "layout_ok")),
                    .count = cJSON_GetObjectItem(s, "count")->valuedouble};
  snprintf(b.vsn, sizeof(b.vsn), "%s", cJSON_GetObjectItem(s, "vsn")->valuestring);
  snprintf(b.from, sizeof(b.from), "%s", cJSON_GetObjectItem(s, "from")->valuestring);
  cJSON_Delete(j);
  return b;
}

/* The reproducer's first two steps: 2.0.0 runs by the release, then
 * blob 1.0.0 by hand (state back to layout 1; the release still says
 * 2.0.0). */
static void release_2_then_load_1_down(void) {
  write_bundle("1.0.0", "");
  write_bundle("2.0.0", "");
  start_on("1.0.0");
  unpack("2.0.0");
  cJSON* r = ct_json("upgrade 2.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "plan")->valuestring,
                   "1.0.0 -> 2.0.0: update blob 1.0.0 -> 2.0.0 (code_change)\n");
  cJSON_Delete(r);
  r = ct_json("load " BLOB("1.0.0") " --down");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "mode")->valuestring, "code_change");
  cr_expect_eq(cJSON_GetObjectItem(r, "revision")->valueint, 3);
  cJSON_Delete(r);
  blob_state_t b = blob_state();
  cr_assert_str_eq(b.vsn, "1.0.0");
  cr_assert(b.layout_ok);
}

/* A clean stop, so that an ASan build of the container reports what it
 * saw (overflows, leaks) into its log, which ct_teardown reads. */
static void stop(void) {
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
}

static const char* const PLAN_3 =
    "2.0.0 -> 3.0.0: update blob 1.0.0 -> 3.0.0 (code_change; running rev 3, not release 2.0.0's 2.0.0)\n";

/* The reproducer. Before, the plan was "soft blob 2.0.0 -> 3.0.0"
 * and 3.0.0's handler ran on the layout-1 state. */
Test(release_drift, an_upgrade_after_a_load_outside_the_release_code_changes_from_what_runs) {
  release_2_then_load_1_down();
  write_bundle("3.0.0", "");
  unpack("3.0.0");

  cJSON* r = ct_json("upgrade 3.0.0 --check");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "plan")->valuestring, PLAN_3);
  cJSON_Delete(r);
  char* out = NULL;
  cr_assert_eq(ct_molt("upgrade 3.0.0 --check", &out), 0, "%s", out);
  cr_expect_str_eq(out, PLAN_3);
  free(out);

  blob_state_t before = blob_state();
  r = ct_json("upgrade 3.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "plan")->valuestring, PLAN_3);
  cr_expect_str_eq(cJSON_GetObjectItem(r, "state")->valuestring, "current");
  cr_expect_eq(cJSON_GetObjectItem(r, "actors")->valueint, 1);
  cJSON_Delete(r);
  /* 3.0.0's code_change took the state up from what ran, 1.0.0, layout 1,
   * keeping its count, and the handler has been running on it since. */
  usleep(100000);
  blob_state_t after = blob_state();
  cr_expect_str_eq(after.vsn, "3.0.0");
  cr_expect(after.layout_ok, "the state is not in 3.0.0's layout");
  cr_expect_str_eq(after.from, "1.0.0");
  cr_expect_geq(after.count, before.count, "count %.0f, was %.0f", after.count, before.count);
  cr_expect_lt(after.count, before.count + 1000, "count %.0f is garbage (was %.0f)", after.count, before.count);
  cJSON* st = ct_json("status");
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(st, "drift")), 0, "what runs is 3.0.0's code now");
  cJSON_Delete(st);
  stop();
}

/* Back to the permanent 1.0.0 while blob 1.0.0 runs by hand: what runs is
 * already 1.0.0's code, so the module needs no step. Before, the plan was
 * "update blob 2.0.0 -> 1.0.0 (code_change down)", run on 1.0.0. */
Test(release_drift, a_rollback_after_a_load_outside_the_release_plans_from_what_runs) {
  release_2_then_load_1_down();
  blob_state_t before = blob_state();
  cJSON* r = ct_json("rollback");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "plan")->valuestring, "2.0.0 -> 1.0.0: no module changes\n");
  cr_expect_str_eq(cJSON_GetObjectItem(r, "to")->valuestring, "1.0.0");
  cJSON_Delete(r);
  blob_state_t after = blob_state();
  cr_expect_str_eq(after.vsn, "1.0.0");
  cr_expect(after.layout_ok);
  cr_expect_geq(after.count, before.count);
  cJSON* st = ct_json("status");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "release"), "version")->valuestring, "1.0.0");
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(st, "drift")), 0);
  cJSON_Delete(st);
  stop();
}

/* A release that asks for a soft load where what runs has another layout
 * is refused, naming the module, what runs and what the release expected,
 * and nothing changes. */
Test(release_drift, an_explicit_soft_step_over_what_runs_in_another_layout_is_refused) {
  release_2_then_load_1_down();
  write_bundle("3.0.0",
               ", \"upgrade\": [{\"from\": \"2.0.0\", \"steps\": [{\"op\": \"soft\", \"module\": \"blob\"}]}]");
  unpack("3.0.0");
  char* out = NULL;
  cr_expect_eq(ct_molt("upgrade 3.0.0", &out), 1);
  cr_expect_str_eq(out,
                   "molt upgrade: 2.0.0 -> 3.0.0: soft blob changes its state_vsn (1 -> 2; running rev 3, not "
                   "release 2.0.0's 2.0.0); it needs update\n");
  free(out);
  blob_state_t b = blob_state();
  cr_expect_str_eq(b.vsn, "1.0.0");
  cr_expect(b.layout_ok);
  stop();
}

static const cJSON* drift_of(const cJSON* arr, const char* module) {
  const cJSON* d;
  cJSON_ArrayForEach(d, arr) if (strcmp(cJSON_GetObjectItem(d, "module")->valuestring, module) == 0) return d;
  return NULL;
}

static const cJSON* running_release(const cJSON* releases) {
  const cJSON* r;
  cJSON_ArrayForEach(r, releases) if (cJSON_IsTrue(cJSON_GetObjectItem(r, "running"))) return r;
  return NULL;
}

Test(release_drift, status_and_releases_say_where_what_runs_differs_from_the_release) {
  write_bundle("1.0.0", "");
  write_bundle("2.0.0", "");
  start_on("1.0.0");
  unpack("2.0.0");
  cJSON_Delete(ct_json("upgrade 2.0.0"));
  cJSON* st = ct_json("status");
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(st, "drift")), 0);
  cJSON_Delete(st);

  cJSON_Delete(ct_json("load " BLOB("1.0.0") " --down"));
  cJSON_Delete(ct_json("load " MOLT_FIXTURE_DIR "/good-1.0.0.so"));
  st = ct_json("status");
  const cJSON* drift = cJSON_GetObjectItem(st, "drift");
  cr_expect_eq(cJSON_GetArraySize(drift), 2);
  const cJSON* d = drift_of(drift, "blob");
  cr_assert_not_null(d);
  cr_expect_str_eq(cJSON_GetObjectItem(d, "running")->valuestring, "1.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(d, "running_vsn")->valuestring, "1.0.0");
  cr_expect_eq(cJSON_GetObjectItem(d, "revision")->valueint, 3);
  cr_expect_eq(cJSON_GetObjectItem(d, "state_vsn")->valueint, 1);
  cr_expect_str_eq(cJSON_GetObjectItem(d, "release")->valuestring, "2.0.0");
  d = drift_of(drift, "good");
  cr_assert_not_null(d);
  cr_expect(cJSON_IsNull(cJSON_GetObjectItem(d, "release")), "good is in no release");
  cJSON_Delete(st);

  cJSON* rels = ct_json("releases");
  const cJSON* running = running_release(rels);
  cr_assert_not_null(running);
  cr_expect_str_eq(cJSON_GetObjectItem(running, "version")->valuestring, "2.0.0");
  d = drift_of(cJSON_GetObjectItem(running, "drift"), "blob");
  cr_assert_not_null(d);
  cr_expect_str_eq(cJSON_GetObjectItem(d, "running")->valuestring, "1.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(d, "release")->valuestring, "2.0.0");
  cJSON_Delete(rels);

  char* out = NULL;
  cr_assert_eq(ct_molt("status", &out), 0, "%s", out);
  cr_expect(strstr(out, "drift       blob runs 1.0.0 (rev 3), release 2.0.0 has 2.0.0\n"), "%s", out);
  cr_expect(strstr(out, "drift       good runs 1.0.0 (rev 1), release 2.0.0 does not list it\n"), "%s", out);
  free(out);
  cr_assert_eq(ct_molt("releases", &out), 0, "%s", out);
  cr_expect(strstr(out, "(running)\n           differs: blob runs 1.0.0 (rev 3), release 2.0.0 has 2.0.0\n"),
            "%s", out);
  free(out);

  /* The release's own code again (the same bytes, loaded by hand): no
   * drift for blob, whatever the revision. */
  cJSON_Delete(ct_json("load " BLOB("2.0.0")));
  st = ct_json("status");
  cr_expect_null(drift_of(cJSON_GetObjectItem(st, "drift"), "blob"), "blob runs 2.0.0's code again");
  cr_expect_not_null(drift_of(cJSON_GetObjectItem(st, "drift"), "good"));
  cJSON_Delete(st);
  stop();
}
