/* stuck_limit_test.c: a scheduler inside one callback past the hard limit
 * is a fatal fault (issue 15, point 5): the container dies by SIGABRT
 * raised on the stuck thread, with a crash report that names the actor
 * and the callback, for what supervises it to restart. Through the real
 * `molt run --stuck-limit 2`. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "testutil.h"

TestSuite(stuck_limit, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

Test(stuck_limit, a_handler_past_the_hard_limit_ends_the_container_with_a_report) {
  char text[2048], *out = NULL, bundle[4200];
  snprintf(text, sizeof(text),
           "{\"name\": \"spinner\", \"version\": \"1.0.0\", \"modules\": ["
           "{\"name\": \"spin\", \"vsn\": \"1.0.0\", \"file\": \"spin-1.0.0.so\"}],"
           "\"supervisor\": {\"name\": \"spinner_sup\", \"strategy\": \"one_for_one\", \"intensity\": 2,"
           " \"period_ms\": 60000, \"children\": ["
           "{\"id\": \"spin\", \"module\": \"spin\", \"args\": {\"spin_ms\": 600000}}]}}");
  cr_assert_eq(ct_bundle("spinner", text, MOLT_FIXTURE_DIR, &out), 0, "%s", out);
  free(out);
  snprintf(bundle, sizeof(bundle), "%s/spinner", ct_home);
  ct_start_run("--release", bundle, "--stuck-limit", "2", (char*)NULL);
  int status = ct_wait_status(20000);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "status %d:\n%s", status, log);
  cr_expect(strstr(log, "has been inside one callback for over 2 s, the hard limit: a fatal fault"), "%s", log);
  cr_expect(strstr(log, "molt crash: SIGABRT in spin 1.0.0 (handle) of actor <"), "%s", log);
  cr_expect(strstr(log, "\"spin\""), "%s", log);
  free(log);
}
