/* hung_change_test.c: a code_change that does not return within the
 * transaction's deadline (issue 15, point 5): the load is answered at the
 * deadline, nothing changed, and when the code_change finally returns its
 * scheduler drops what it built and the actor runs on, on the old code,
 * ready for the next load. It used to leave the command unanswered. The
 * transaction's copies outlive the command, which ASan checks here. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "testutil.h"

TestSuite(hung_change, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

static void expect_running(const char* vsn) {
  cJSON* j = ct_json("inspect slow");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "vsn")->valuestring, vsn);
  cJSON_Delete(j);
}

Test(hung_change, a_code_change_past_the_deadline_is_answered_and_abandoned_and_the_actor_runs_on) {
  char wdir[4200];
  snprintf(wdir, sizeof(wdir), "%s/watch", ct_home);
  cr_assert_eq(mkdir(wdir, 0700), 0);
  ct_start_dev("--module", MOLT_FIXTURE_DIR "/slow-1.0.0.so", "--watch", wdir, (char*)NULL);

  double t0 = tu_now_ms();
  char* out = NULL;
  int rc = ct_molt("load --no-rehearsal --extra hang " MOLT_FIXTURE_DIR "/slow-2.0.0.so", &out);
  double ms = tu_now_ms() - t0;
  cr_expect_eq(rc, 1, "%s", out);
  cr_expect(strstr(out, "did not finish its actors' code_change within 5000 ms; nothing changed, and scheduler"),
            "%s", out);
  cr_log_info("a hung code_change: the load answered in %.0f ms: %s", ms, out);
  free(out);
  cr_expect_lt(ms, 8000);
  cr_expect_eq(ct_log_count("code_change returns after hanging"), 0, "the code_change did not hang");

  cJSON* st = ct_json("status");
  cJSON* m = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "modules"), 0);
  cr_expect_str_eq(cJSON_GetObjectItem(m, "name")->valuestring, "slow");
  cr_expect_str_eq(cJSON_GetObjectItem(m, "current")->valuestring, "1.0.0");
  cJSON_Delete(st);

  /* It returns at last: the abort is applied there, on the transaction's
   * own copies, and the actor answers again, on 1.0.0. */
  cr_assert(ct_wait_log("code_change returns after hanging", 15000), "%s", ct_log);
  expect_running("1.0.0");
  cJSON* j = ct_json("load " MOLT_FIXTURE_DIR "/slow-2.0.0.so");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "mode")->valuestring, "code_change");
  cJSON_Delete(j);
  expect_running("2.0.0");
}
