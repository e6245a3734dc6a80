/* rehearsal_test.c: code_change rehearsed on the real states in a forked
 * copy before the transaction (issue 15, point 4). Each misbehaviour of
 * slow-2.0.0's code_change up (a fault, an abort, a hang) refuses the load
 * in one line naming the actor, the module, the callback and the signal or
 * error; the actor is untouched, on 1.0.0, its state as it was; a clean
 * load still works. The way back is not rehearsed (upgrade.c says why): a
 * code_change whose way down fails, or whose round trip differs, loads. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "testutil.h"

TestSuite(rehearsal, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

static void start(void) {
  char wdir[4200];
  snprintf(wdir, sizeof(wdir), "%s/watch", ct_home);
  cr_assert_eq(mkdir(wdir, 0700), 0);
  ct_start_dev("--module", MOLT_FIXTURE_DIR "/slow-1.0.0.so", "--watch", wdir, (char*)NULL);
}

/* slow's vsn and its state as format_state shows it. */
static void expect_untouched(const char* what) {
  cJSON* j = ct_json("inspect slow");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, "1.0.0", "%s", what);
  cJSON* st = cJSON_GetObjectItem(j, "state");
  cr_expect(cJSON_IsObject(st) && cJSON_GetObjectItem(st, "hits") && !cJSON_GetObjectItem(st, "gen"),
            "%s: state %s", what, st ? cJSON_PrintUnformatted(st) : "(none)");
  cJSON_Delete(j);
}

static void refused(const char* extra, const char* want) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "load --extra %s " MOLT_FIXTURE_DIR "/slow-2.0.0.so", extra);
  char* out = NULL;
  double t0 = tu_now_ms();
  int rc = ct_molt(cmd, &out);
  double ms = tu_now_ms() - t0;
  cr_expect_eq(rc, 1, "%s: %s", extra, out);
  cr_expect(strstr(out, "rehearsal refused the change: actor <"), "%s: %s", extra, out);
  cr_expect(strstr(out, "(slow 1.0.0 -> 2.0.0)"), "%s: %s", extra, out);
  cr_expect(strstr(out, want), "%s: want \"%s\" in: %s", extra, want, out);
  cr_expect(strchr(out, '\n') == out + strlen(out) - 1, "%s: not one line: %s", extra, out);
  cr_log_info("extra %s: refused in %.0f ms: %s", extra, ms, out);
  free(out);
  expect_untouched(extra);
}

Test(rehearsal, each_misbehaving_code_change_is_refused_before_anything_changes) {
  start();
  int crashes_before = ct_log_count("fatal signal");
  refused("segv", "code_change up killed by SIGSEGV");
  refused("abort", "code_change up killed by SIGABRT");
  cr_expect_eq(ct_log_count("fatal signal"), crashes_before, "a crash report from the rehearsal: %s", ct_log);

  /* --no-rehearsal skips it: a change with a failing way back (never run
   * going up) loads without a fork. */
  cJSON* j = ct_json("load --no-rehearsal --extra fail-down " MOLT_FIXTURE_DIR "/slow-2.0.0.so");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "mode")->valuestring, "code_change");
  cr_expect_null(cJSON_GetObjectItem(j, "rehearsal_ms"));
  cJSON_Delete(j);
}

/* What the way back would do is not the change's fault: a round trip that
 * differs (the layout going down may hold less) loads, rehearsed up. */
Test(rehearsal, a_change_whose_round_trip_differs_is_not_refused) {
  start();
  cJSON* j = ct_json("load --extra mismatch " MOLT_FIXTURE_DIR "/slow-2.0.0.so");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "mode")->valuestring, "code_change");
  cr_expect(cJSON_GetObjectItem(j, "rehearsal_ms") != NULL);
  cJSON_Delete(j);
}

Test(rehearsal, a_hung_code_change_is_refused_at_the_deadline_and_nothing_froze) {
  start();
  double t0 = tu_now_ms();
  char* out = NULL;
  int rc = ct_molt("load --extra hang " MOLT_FIXTURE_DIR "/slow-2.0.0.so", &out);
  double ms = tu_now_ms() - t0;
  cr_expect_eq(rc, 1, "%s", out);
  cr_expect(strstr(out, "rehearsal refused the change: actor <"), "%s", out);
  cr_expect(strstr(out, "(slow 1.0.0 -> 2.0.0): code_change up did not return within 5000 ms"), "%s", out);
  cr_log_info("hang: refused in %.0f ms: %s", ms, out);
  cr_expect_lt(ms, 8000);
  free(out);
  expect_untouched("hang");
  /* The actor answers at once: only the child hung. */
  cJSON_Delete(ct_json("inspect slow"));
}

Test(rehearsal, a_clean_load_is_rehearsed_and_goes_through) {
  start();
  double t0 = tu_now_ms();
  cJSON* j = ct_json("load " MOLT_FIXTURE_DIR "/slow-2.0.0.so");
  double ms = tu_now_ms() - t0;
  cr_expect_str_eq(cJSON_GetObjectItem(j, "mode")->valuestring, "code_change");
  cJSON* r = cJSON_GetObjectItem(j, "rehearsal_ms");
  cr_expect(r != NULL, "no rehearsal_ms: %s", cJSON_PrintUnformatted(j));
  cr_log_info("clean load with rehearsal: %.0f ms, rehearsal %.1f ms (slow's code_change sleeps 1.5 s a call), "
              "rehearsal pause %.3f ms, transaction pause %.3f ms",
              ms, r ? r->valuedouble : -1, cJSON_GetObjectItem(j, "rehearsal_pause_ms")->valuedouble,
              cJSON_GetObjectItem(j, "pause_ms")->valuedouble);
  cJSON_Delete(j);
  j = ct_json("inspect slow");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, "2.0.0");
  cJSON_Delete(j);
}

/* A release change is rehearsed there and back: its way back is the plan
 * `molt rollback` and an observation window would run. fx 2.0.0's
 * downgrade to 1.0.0 updates slow with an extra whose code_change down
 * fails (2.0.1's: faults): the upgrade is refused, and slow runs 1.0.0
 * with its state. Without the rehearsal the upgrade goes, and then its
 * rollback fails. */
static void bundle_fx(const char* vsn, const char* slow_vsn, const char* extra) {
  char modules[256], paths[512] = "";
  snprintf(modules, sizeof(modules), "{\"name\": \"slow\", \"vsn\": \"%s\", \"file\": \"slow-%s.so\"}", slow_vsn,
           slow_vsn);
  if (extra)
    snprintf(paths, sizeof(paths),
             ", \"upgrade\": [{\"from\": \"1.0.0\", \"steps\": [{\"op\": \"update\", \"module\": \"slow\"}]}], "
             "\"downgrade\": [{\"to\": \"1.0.0\", \"steps\": [{\"op\": \"update\", \"module\": \"slow\", "
             "\"extra\": \"%s\"}]}]",
             extra);
  ct_bundle_fx(vsn, modules, "{\"name\": \"fx_sup\", \"children\": [{\"id\": \"slow\", \"module\": \"slow\"}]}",
               paths);
}

static void release_refused(const char* vsn, const char* want) {
  char cmd[64], *out = NULL;
  snprintf(cmd, sizeof(cmd), "upgrade %s", vsn);
  int rc = ct_molt(cmd, &out);
  cr_log_info("upgrade %s: %s", vsn, out);
  cr_expect_eq(rc, 1, "%s", out);
  cr_expect(strstr(out, "rehearsal refused the change: actor <"), "%s", out);
  cr_expect(strstr(out, want), "want \"%s\" in: %s", want, out);
  free(out);
  expect_untouched(vsn);
}

Test(rehearsal, a_release_change_whose_way_back_fails_is_refused) {
  ct_mods_add(MOLT_FIXTURE_DIR "/slow-1.0.0.so");
  ct_mods_add(MOLT_FIXTURE_DIR "/slow-2.0.0.so");
  bundle_fx("1.0.0", "1.0.0", NULL);
  bundle_fx("2.0.0", "2.0.0", "fail-down");
  bundle_fx("2.0.1", "2.0.0", "segv-down");
  char path[4200];
  snprintf(path, sizeof path, "%s/fx-1.0.0", ct_home);
  ct_start(path);
  for (const char* const* v = (const char* const[]){"2.0.0", "2.0.1", NULL}; *v; v++) {
    snprintf(path, sizeof path, "unpack '%s/fx-%s'", ct_home, *v);
    cr_assert_eq(ct_json_ok(path), 0, "%s", path);
  }
  release_refused("2.0.0", "code_change down (the way back a rollback would take) failed in the rehearsal: EIO");
  release_refused("2.0.1", "code_change down (the way back a rollback would take) killed by SIGSEGV");
  /* --no-rehearsal: what the refusal protected from. */
  char* out = NULL;
  cr_expect_eq(ct_molt("upgrade --no-rehearsal 2.0.0", &out), 0, "%s", out);
  free(out);
  cr_expect_neq(ct_molt("rollback", &out), 0, "%s", out);
  cr_expect(strstr(out, "EIO"), "%s", out);
  cr_log_info("the rollback the rehearsal foresaw: %s", out);
  free(out);
}
