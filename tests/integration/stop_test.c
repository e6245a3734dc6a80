/* stop_test.c: stop is safe and truthful (issue 15, point 8): with an
 * actor spinning in its handler, `molt stop` and SIGTERM end the container
 * within the stop deadline, saying what did not stop (it used to print
 * "stopped" while the process lived on holding the home); with an inspect
 * pending, stop answers it and exits 0 (it used to abort with a
 * use-after-free). Through the real `molt` command. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

TestSuite(stop, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

/* Release "spinner" 1.0.0: two tally children and a spin child whose
 * handler, 100 ms after it starts, spins for spin_ms; started, and
 * spinning. Spawned round robin on two schedulers, the supervisor and the
 * spinner land on different ones, so the supervisor lives to see its
 * child not exit. */
static void start_spinner(long spin_ms) {
  char text[2048], *out = NULL, bundle[4200];
  snprintf(text, sizeof(text),
           "{\"name\": \"spinner\", \"version\": \"1.0.0\", \"modules\": ["
           "{\"name\": \"tally\", \"vsn\": \"1.0.0\", \"file\": \"tally-a-1.0.0.so\"},"
           "{\"name\": \"spin\", \"vsn\": \"1.0.0\", \"file\": \"spin-1.0.0.so\"}],"
           "\"supervisor\": {\"name\": \"spinner_sup\", \"strategy\": \"one_for_one\", \"intensity\": 2,"
           " \"period_ms\": 60000, \"children\": ["
           "{\"id\": \"steady\", \"module\": \"tally\"},"
           "{\"id\": \"steady2\", \"module\": \"tally\"},"
           "{\"id\": \"spin\", \"module\": \"spin\", \"shutdown_ms\": 1000, \"args\": {\"spin_ms\": %ld}}]}}",
           spin_ms);
  cr_assert_eq(ct_bundle("spinner", text, MOLT_FIXTURE_DIR, &out), 0, "%s", out);
  free(out);
  snprintf(bundle, sizeof(bundle), "%s/spinner", ct_home);
  ct_start(bundle);
  cr_assert(ct_wait_log("spinning for", 10000), "%s", ct_log);
}

static void expect_ended_saying_so(double ms) {
  int status = ct_wait_exit(60000);
  char* log = tu_read_file(ct_log, NULL);
  cr_expect_eq(status, 0, "exit status %d:\n%s", status, log);
  cr_expect(strstr(log, "is still inside an actor's callback; the container exits without it"), "%s", log);
  /* A kill is a message the stuck child never reads: its supervisor goes
   * on without it rather than wait out the whole tree's deadline. */
  cr_expect(strstr(log, "spinner_sup: child spin <"), "%s", log);
  cr_expect(strstr(log, "did not exit within 1000 ms of its kill (stuck in a callback); going on without it"), "%s",
            log);
  free(log);
  cr_expect_lt(ms, 30000, "the stop took %.0f ms", ms);
  /* The home is free again: a new container may take it at once. */
  char* out = NULL;
  cr_expect_neq(ct_molt("status", &out), 0);
  cr_expect(strstr(out, "no container is running"), "%s", out);
  free(out);
}

Test(stop, molt_stop_ends_a_container_whose_handler_never_returns) {
  start_spinner(600000);
  double t0 = tu_now_ms();
  char* out = NULL;
  int rc = ct_molt("stop", &out);
  double ms = tu_now_ms() - t0;
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  cr_log_info("molt stop with a handler spinning: returned in %.0f ms", ms);
  expect_ended_saying_so(ms);
}

Test(stop, sigterm_ends_a_container_whose_handler_never_returns) {
  start_spinner(600000);
  double t0 = tu_now_ms();
  ct_signal(SIGTERM);
  int status = ct_wait_exit(60000);
  double ms = tu_now_ms() - t0;
  cr_expect_eq(status, 0);
  cr_log_info("SIGTERM with a handler spinning: exited in %.0f ms", ms);
  cr_expect(ct_log_count("is still inside an actor's callback") == 1, "%s", ct_log);
  cr_expect_lt(ms, 30000);
}

static void* inspect_spin(void* arg) {
  char** out = arg;
  int rc = ct_molt("inspect spin", out);
  return (void*)(intptr_t)rc;
}

/* The inspect waits for the spinning actor's turn; the stop arrives
 * meanwhile. The inspect is answered (busy), the stop exits 0, and under
 * ASan the log holds no report (ct_teardown checks). */
Test(stop, stop_with_an_inspect_pending_answers_it_and_exits_0) {
  start_spinner(3000);
  pthread_t t;
  char* out = NULL;
  cr_assert_eq(pthread_create(&t, NULL, inspect_spin, &out), 0);
  usleep(200000);
  char* stop_out = NULL;
  cr_expect_eq(ct_molt("stop", &stop_out), 0, "%s", stop_out);
  free(stop_out);
  void* rc;
  pthread_join(t, &rc);
  cr_expect(strstr(out, "is busy") || strstr(out, "spin"), "the inspect got no answer: %s", out);
  cr_expect(!strstr(out, "without a reply"), "%s", out);
  free(out);
  cr_expect_eq(ct_wait_exit(30000), 0, "%s", ct_log);
}
