/* busy_actor_test.c: an actor stuck in one handler for seconds does not
 * wedge the control plane (issue 14, point 11): `molt status` answers at
 * once, and `molt ps` answers at once too, from the runtime's figures,
 * showing the actor in its callback and for how long (issue 17); inspect
 * answers with those figures and says the state could not be read.
 * Through a real container
 * (molt dev --module) and the molt command. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include <time.h>

#include "cli.h"
#include "testutil.h"

TestSuite(busy_actor, .init = ct_setup, .fini = ct_teardown, .timeout = 90);

static double ms_since(const struct timespec* t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

Test(busy_actor, status_and_ps_answer_while_a_handler_spins) {
  ct_start_spinning();

  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cJSON* st = ct_json("status");
  double status_ms = ms_since(&t0);
  cJSON_Delete(st);

  clock_gettime(CLOCK_MONOTONIC, &t0);
  cJSON* ps = ct_json("ps");
  double ps_ms = ms_since(&t0);
  cr_assert(ct_log_count("spun") == 0, "the handler finished before ps: the test measured nothing");
  const cJSON *a = NULL, *each;
  cJSON_ArrayForEach(each, cJSON_GetObjectItemCaseSensitive(ps, "actors")) {
    const cJSON* name = cJSON_GetObjectItemCaseSensitive(each, "name");
    if (cJSON_IsString(name) && strcmp(name->valuestring, "spin") == 0) a = each;
  }
  cr_assert(a, "ps shows the busy actor");
  const cJSON* cb = cJSON_GetObjectItemCaseSensitive(a, "callback");
  cr_assert(cJSON_IsString(cb) && strcmp(cb->valuestring, "handle") == 0, "ps shows the actor in handle");
  cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(a, "callback_ms")));
  cJSON_Delete(ps);
  char* out = NULL;
  cr_assert_eq(ct_molt("ps", &out), 0);
  cr_assert(strstr(out, "spin") && strstr(out, "handle "), "%s", out);
  free(out);
  cr_log_info("while a handler spins for 4 s: status answered in %.1f ms, ps in %.1f ms", status_ms, ps_ms);
  /* Neither waits for the busy scheduler; the bounds leave room for a
   * loaded machine but not for the 4 s spin. */
  cr_assert_lt(status_ms, 1000);
  cr_assert_lt(ps_ms, 1500);
}

/* An inspect waits for the actor's turn, which the spinning handler keeps
 * from coming: at its deadline it answers with the runtime's figures and
 * says the state was not read, and the call is cancelled, so the actor
 * never runs it later (format_state logs each call). Meanwhile status
 * answers at once: inspect waits on a thread of its own, not the control
 * thread. */
static void* inspect_spin(void* arg) {
  char** out = arg;
  int rc = ct_molt("inspect spin", out);
  return (void*)(intptr_t)rc;
}

Test(busy_actor, inspect_of_a_busy_actor_answers_its_figures_at_its_deadline_and_never_runs_later) {
  ct_start_spinning();
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t t;
  char* out = NULL;
  cr_assert_eq(pthread_create(&t, NULL, inspect_spin, &out), 0);
  usleep(200 * 1000); /* the inspect is waiting */
  struct timespec s0;
  clock_gettime(CLOCK_MONOTONIC, &s0);
  cJSON* st = ct_json("status");
  double status_ms = ms_since(&s0);
  cJSON_Delete(st);
  void* rc;
  pthread_join(t, &rc);
  double inspect_ms = ms_since(&t0);
  cr_assert(ct_log_count("spun") == 0, "the handler finished before inspect's deadline: the test measured nothing");
  cr_expect_eq((int)(intptr_t)rc, 0, "%s", out);
  cr_expect(strstr(out, "not read: busy: it did not reach its turn within 1000 ms"), "%s", out);
  cr_expect(strstr(out, "callback:   handle, for "), "%s", out);
  free(out);
  cr_log_info("while a handler spins for 4 s: inspect answered without the state in %.1f ms; status, meanwhile, in %.1f ms", inspect_ms,
              status_ms);
  cr_expect_lt(status_ms, 1000);
  cr_expect_lt(inspect_ms, 3000);

  /* Once the handler returns, the cancelled call is dropped, not run. */
  cr_assert(ct_wait_log("spun", 10000), "%s", ct_log);
  usleep(300 * 1000);
  cr_expect_eq(ct_log_count("format_state called"), 0, "the cancelled inspect ran later: %s", ct_log);
  cJSON* j = ct_json("inspect spin");
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "state"), "spins")->valueint, 1);
  cJSON_Delete(j);
  cr_expect_eq(ct_log_count("format_state called"), 1);
}
