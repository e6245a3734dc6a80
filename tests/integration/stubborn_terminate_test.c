/* stubborn_terminate_test.c: a terminate that does not return within its
 * child's shutdown_ms (issue 15, point 5) blocks neither the upgrade that
 * removes the child nor a stop: the upgrade answers within the child's
 * shutdown_ms and the supervisor's grace after its kill, the stop within
 * the longest shutdown_ms in the tree and that grace, while the terminate
 * still runs. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "testutil.h"

TestSuite(stubborn_terminate, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

#define SHUTDOWN_MS 300
#define TERMINATE_MS 8000

/* Bundle fx <vsn> into <home>/fx-<vsn>: counter 1.0.0 and, with_stubborn,
 * a stubborn child whose terminate holds on for TERMINATE_MS. */
static void bundle_fx(const char* vsn, bool with_stubborn) {
  char sup[1024];
  snprintf(sup, sizeof(sup),
           "{\"name\": \"fx_sup\", \"strategy\": \"one_for_one\", \"intensity\": 5, \"period_ms\": 1000, "
           "\"children\": [{\"id\": \"counter\", \"module\": \"counter\", \"shutdown_ms\": 500, \"args\": "
           "{\"name\": \"counter\"}}%s]}",
           with_stubborn ? ", {\"id\": \"stubborn\", \"module\": \"stubborn\", \"shutdown_ms\": 300, \"args\": "
                           "{\"terminate_ms\": 8000}}"
                         : "");
  ct_bundle_fx(vsn,
               with_stubborn ? "{\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"counter-1.0.0.so\"}, "
                               "{\"name\": \"stubborn\", \"vsn\": \"1.0.0\", \"file\": \"stubborn-1.0.0.so\"}"
                             : "{\"name\": \"counter\", \"vsn\": \"1.0.0\", \"file\": \"counter-1.0.0.so\"}",
               sup, NULL);
}

static void start_fx(void) {
  ct_mods_add(MOLT_MODULE_DIR "/counter-1.0.0.so");
  ct_mods_add(MOLT_FIXTURE_DIR "/stubborn-1.0.0.so");
  bundle_fx("1.0.0", true);
  bundle_fx("2.0.0", false);
  char path[4096];
  snprintf(path, sizeof path, "%s/fx-1.0.0", ct_home);
  ct_start(path);
  snprintf(path, sizeof path, "unpack '%s/fx-2.0.0'", ct_home);
  cr_assert_eq(ct_json_ok(path), 0, "%s", path);
}

Test(stubborn_terminate, an_upgrade_removing_the_child_answers_without_waiting_for_its_terminate) {
  start_fx();
  double t0 = tu_now_ms();
  char* out = NULL;
  int rc = ct_molt("upgrade 2.0.0", &out);
  double ms = tu_now_ms() - t0;
  cr_log_info("upgrade 2.0.0 answered in %.0f ms: %s", ms, out);
  cr_expect_eq(rc, 0, "%s", out);
  cr_expect(ct_log_count("stubborn: terminate holds on") == 1, "%s", ct_log);
  cr_expect_eq(ct_log_count("stubborn: terminate returns"), 0, "the upgrade waited for the terminate: %s", ct_log);
  if (ms >= TERMINATE_MS - 2000) cr_log_error("the container's log:\n%s", tu_read_file(ct_log, NULL));
  cr_expect_lt(ms, TERMINATE_MS - 2000, "the upgrade took %.0f ms", ms);
  free(out);
  /* The container answers while the terminate still runs. */
  cJSON* st = ct_json("status");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(st, "release"), "version")->valuestring, "2.0.0");
  cJSON_Delete(st);
}

Test(stubborn_terminate, a_stop_does_not_wait_for_the_terminate) {
  start_fx();
  double t0 = tu_now_ms();
  char* out = NULL;
  int rc = ct_molt("stop", &out);
  double ms = tu_now_ms() - t0;
  cr_log_info("stop answered in %.0f ms: %s", ms, out);
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  cr_expect_geq(ct_wait_exit(10000), 0, "the container outlived its stop: %s", ct_log);
  ms = tu_now_ms() - t0;
  cr_log_info("the container exited %.0f ms after the stop", ms);
  if (ms >= TERMINATE_MS) cr_log_error("the container's log:\n%s", tu_read_file(ct_log, NULL));
  cr_expect_lt(ms, TERMINATE_MS, "the stop waited for the terminate");
}
