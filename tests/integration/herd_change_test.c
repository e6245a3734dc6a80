/* herd_change_test.c: a code_change that fails on one of 1,000 actors
 * (issue 15's tests). The rehearsal refuses the change naming that actor,
 * before anything froze; without the rehearsal the transaction itself
 * fails on it and puts the other 999 back. Either way every actor runs
 * 1.0.0 afterwards with the state it had, and a clean change then moves
 * all 1,000. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "testutil.h"

#define HERD_SIZE 1000
#define FAIL_AT 700

TestSuite(herd_change, .init = ct_setup, .fini = ct_teardown, .timeout = 180);

static void start(void) {
  char wdir[4200];
  snprintf(wdir, sizeof(wdir), "%s/watch", ct_home);
  cr_assert_eq(mkdir(wdir, 0700), 0);
  ct_start_dev("--module", MOLT_FIXTURE_DIR "/herd-1.0.0.so", "--watch", wdir, (char*)NULL);
  cr_assert(ct_wait_log("herd 1.0.0: 1000 actors", 20000), "the herd never grew: %s", ct_log);
}

/* The herd as ps lists it: each actor's pid and vsn, in ps's order (the
 * table's), and for every SAMPLE-th one the number its state holds. */
#define SAMPLE 25
typedef struct {
  char pid[24];
  char vsn[16];
  long number; /* -1: not sampled */
} member_t;

static long number_of(const char* pid) {
  char cmd[64];
  snprintf(cmd, sizeof(cmd), "inspect '%s'", pid);
  cJSON* one = ct_json(cmd);
  long n = (long)cJSON_GetObjectItem(cJSON_GetObjectItem(one, "state"), "number")->valuedouble;
  cJSON_Delete(one);
  return n;
}

static void census(member_t* herd) {
  cJSON* ps = ct_json("ps --module herd --limit 2000");
  cr_assert_eq(cJSON_GetObjectItem(ps, "total")->valueint, HERD_SIZE);
  int i = 0;
  const cJSON* a;
  cJSON_ArrayForEach(a, cJSON_GetObjectItem(ps, "actors")) {
    snprintf(herd[i].pid, sizeof(herd[i].pid), "%s", cJSON_GetObjectItem(a, "pid")->valuestring);
    snprintf(herd[i].vsn, sizeof(herd[i].vsn), "%s", cJSON_GetObjectItem(a, "vsn")->valuestring);
    herd[i].number = i % SAMPLE == 0 ? number_of(herd[i].pid) : -1;
    i++;
  }
  cr_assert_eq(i, HERD_SIZE);
  cJSON_Delete(ps);
}

/* After a refused change: the same 1,000 actors, all on 1.0.0, the
 * sampled ones holding the numbers they held. */
static void expect_herd_untouched(const member_t* before, const char* what) {
  static member_t after[HERD_SIZE];
  census(after);
  for (int i = 0; i < HERD_SIZE; i++) {
    cr_expect_str_eq(after[i].pid, before[i].pid, "%s: actor %d", what, i);
    cr_expect_str_eq(after[i].vsn, "1.0.0", "%s: %s runs %s", what, after[i].pid, after[i].vsn);
    cr_expect_eq(after[i].number, before[i].number, "%s: %s's state", what, after[i].pid);
  }
}

/* The command is refused in one line naming the actor whose number is
 * FAIL_AT, and saying want. */
static void expect_refused(const char* cmd, const char* want) {
  char* out = NULL;
  int rc = ct_molt(cmd, &out);
  cr_log_info("%s: %s", cmd, out);
  cr_expect_eq(rc, 1, "%s", out);
  const char* named = strstr(out, "actor <");
  cr_assert(named, "no actor named: %s", out);
  char pid[24];
  cr_assert_eq(sscanf(named, "actor %23[^ ]", pid), 1);
  cr_expect_eq(number_of(pid), FAIL_AT, "the line names %s, not number %d's actor: %s", pid, FAIL_AT, out);
  cr_expect(strstr(out, "(herd 1.0.0 -> 2.0.0)"), "%s", out);
  cr_expect(strstr(out, want), "want \"%s\" in: %s", want, out);
  cr_expect(strchr(out, '\n') == out + strlen(out) - 1, "not one line: %s", out);
  free(out);
}

Test(herd_change, a_code_change_failing_on_one_of_1000_actors_changes_none_of_them) {
  static member_t herd[HERD_SIZE];
  start();
  census(herd);

  expect_refused("load --extra fail-at:700 " MOLT_FIXTURE_DIR "/herd-2.0.0.so", "rehearsal refused the change");
  expect_herd_untouched(herd, "rehearsed");

  expect_refused("load --no-rehearsal --extra fail-at:700 " MOLT_FIXTURE_DIR "/herd-2.0.0.so", "code_change");
  expect_herd_untouched(herd, "not rehearsed");

  /* The same change without the failing actor moves all of them. */
  cJSON* j = ct_json("load " MOLT_FIXTURE_DIR "/herd-2.0.0.so");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "mode")->valuestring, "code_change");
  cJSON_Delete(j);
  static member_t after[HERD_SIZE];
  census(after);
  for (int i = 0; i < HERD_SIZE; i++) cr_expect_str_eq(after[i].vsn, "2.0.0", "number %d", i);
}
