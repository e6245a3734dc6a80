/* root_supervisor_test.c: a release whose root supervisor gives up ends
 * the container, as OTP's node ends with a permanent application's top
 * supervisor: `molt run` exits with status 3 and logs one line naming the
 * supervisor, the child and its exit reason. A clean stop is no give-up. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "testutil.h"

#define GAVE_UP \
  "root supervisor crashy_sup gave up: child crasher exited EIO (i/o error), 2 restarts within 60000 ms"

TestSuite(root_supervisor, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

/* After the give-up: status 3 within the deadline, the line logged once,
 * molt run's own one-line reason, and nothing left serving. */
static void expect_gave_up(void) {
  int status = ct_wait_exit(10000);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert_eq(status, 3, "exit status %d:\n%s", status, log);
  cr_expect_eq(ct_log_count(GAVE_UP), 1, "%s", log);
  cr_expect(strstr(log, "molt run: root supervisor crashy_sup gave up; the container stopped\n"), "%s", log);
  free(log);
  char* out = NULL;
  cr_expect_neq(ct_molt("status", &out), 0);
  cr_expect(strstr(out, "no container is running"), "%s", out);
  free(out);
}

Test(root_supervisor, a_child_crashing_on_every_start_ends_the_serving_container_with_status_3) {
  char* bundle = ct_crashy_bundle(50);
  ct_start(bundle);
  expect_gave_up();
  free(bundle);
}

/* The crash loop starts while the container boots and may give up
 * before or after it serves (a race this test cannot pin down): either
 * way the container ends with status 3. */
Test(root_supervisor, a_child_crashing_at_once_on_every_start_ends_the_container_too) {
  char* bundle = ct_crashy_bundle(0);
  ct_launch(bundle);
  expect_gave_up();
  free(bundle);
}

Test(root_supervisor, a_clean_stop_is_not_a_give_up) {
  char* bundle = ct_crashy_bundle(600000);
  ct_start(bundle);
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  cr_expect_eq(ct_log_count("gave up"), 0);
  cr_expect_eq(ct_log_count("root supervisor"), 0);
  free(bundle);
}

/* An untrappable kill skips every terminate, the supervisor's too, where
 * the container used to learn of its root's exit: it stayed up with no
 * tree. The crasher kills the root 200 ms after it starts. */
Test(root_supervisor, a_root_killed_untrappably_ends_the_container_too) {
  char text[2048], *out = NULL;
  snprintf(text, sizeof(text),
           "{\"name\": \"crashy\", \"version\": \"1.0.0\", \"modules\": ["
           "{\"name\": \"crasher\", \"vsn\": \"1.0.0\", \"file\": \"crasher-1.0.0.so\"}],"
           "\"supervisor\": {\"name\": \"crashy_sup\", \"strategy\": \"one_for_one\", \"intensity\": 2,"
           " \"period_ms\": 60000, \"children\": ["
           "{\"id\": \"assassin\", \"module\": \"crasher\", \"args\": {\"after_ms\": 200, \"kill\": "
           "\"crashy_sup\"}}]}}");
  cr_assert_eq(ct_bundle("crashy", text, MOLT_FIXTURE_DIR, &out), 0, "%s", out);
  free(out);
  char bundle[4200];
  snprintf(bundle, sizeof(bundle), "%s/crashy", ct_home);
  ct_start(bundle);
  int status = ct_wait_exit(10000);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert_eq(status, 3, "exit status %d:\n%s", status, log);
  cr_expect_eq(ct_log_count("root supervisor crashy_sup exited: killed"), 1, "%s", log);
  cr_expect(strstr(log, "molt run: root supervisor crashy_sup exited; the container stopped\n"), "%s", log);
  free(log);
}
