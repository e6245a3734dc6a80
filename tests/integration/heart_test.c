/* heart_test.c: `molt run --heart` (issue 15, point 6) through the real
 * molt command: a container whose root supervisor gives up is restarted
 * with backoff until the restart limit, then the heart gives up with the
 * container's status; a container killed with SIGKILL comes back on the
 * home's permanent release; molt stop and SIGTERM end both processes with
 * status 0 and no restart. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

static pid_t heart = -1;

static void teardown(void) {
  if (heart > 0) {
    kill(heart, SIGTERM); /* forwarded: the container stops too */
    for (int i = 0; i < 1500 && waitpid(heart, NULL, WNOHANG) == 0; i++) usleep(10000);
    kill(heart, SIGKILL); /* and the child gets SIGTERM (PR_SET_PDEATHSIG) */
    waitpid(heart, NULL, 0);
  }
  heart = -1;
  ct_teardown();
}

TestSuite(heart, .init = ct_setup, .fini = teardown, .timeout = 120);

/* molt run --heart --home <home> --release <release> --schedulers 2
 * <extra...> (NULL-terminated), its output appended to the log. */
static void launch(const char* release, ...) {
  const char* argv[32] = {"molt", "run", "--heart", "--home", ct_home, "--release", release, "--schedulers", "2"};
  int n = 9;
  va_list ap;
  va_start(ap, release);
  for (const char* a = va_arg(ap, const char*); a && n < 31; a = va_arg(ap, const char*)) argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  heart = ct_spawn(argv);
}

/* The heart's exit status within ms (128 + signal if killed), -1 if it
 * still runs. */
static int wait_heart(int ms) {
  for (int waited = 0; waited < ms; waited += 10) {
    int status;
    if (waitpid(heart, &status, WNOHANG) == heart) {
      heart = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10000);
  }
  return -1;
}

/* Wait until a container serves the home; its status (the caller frees). */
static cJSON* wait_serving(int ms) {
  for (int waited = 0; waited < ms; waited += 20) {
    char* out = NULL;
    int rc = ct_molt("status --json", &out);
    cJSON* j = rc == 0 ? cJSON_Parse(out) : NULL;
    free(out);
    if (j) return j;
    usleep(20000);
  }
  char* log = tu_read_file(ct_log, NULL);
  cr_assert_fail("no container served within %d ms:\n%s", ms, log);
  return NULL;
}

static pid_t os_pid(const cJSON* status) {
  return (pid_t)cJSON_GetObjectItem(status, "os_pid")->valuedouble;
}

static const char* version(const cJSON* status) {
  return cJSON_GetObjectItem(cJSON_GetObjectItem(status, "release"), "version")->valuestring;
}

Test(heart, a_root_that_gives_up_is_restarted_with_backoff_until_the_limit) {
  char* bundle = ct_crashy_bundle(50);
  launch(bundle, "--max-restarts", "3", "--restart-window", "60", (char*)NULL);
  int status = wait_heart(60000);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert_eq(status, 3, "exit status %d:\n%s", status, log);
  cr_expect_eq(ct_log_count("molt run: root supervisor crashy_sup gave up"), 4, "%s", log);
  cr_expect(strstr(log, "heart: container exited with status 3; restart 1 of 3 in 60 s, in 100 ms\n"), "%s", log);
  cr_expect(strstr(log, "heart: container exited with status 3; restart 2 of 3 in 60 s, in 200 ms\n"), "%s", log);
  cr_expect(strstr(log, "heart: container exited with status 3; restart 3 of 3 in 60 s, in 400 ms\n"), "%s", log);
  cr_expect(strstr(log, "heart: container exited with status 3; 3 restarts in 60 s already, giving up\n"), "%s", log);
  cr_expect_eq(ct_log_count("heart: container restarted (pid "), 3, "%s", log);
  free(log);
  char* out = NULL;
  cr_expect_neq(ct_molt("status", &out), 0);
  free(out);
  free(bundle);
}

Test(heart, a_container_killed_comes_back_on_the_permanent_release) {
  launch(REL("1.0.0"), (char*)NULL);
  cJSON* st = wait_serving(15000);
  pid_t first = os_pid(st);
  cr_assert_neq(first, heart, "the container runs in a child of the heart");
  cJSON_Delete(st);
  /* An upgrade not committed: the permanent release stays 1.0.0. */
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  st = ct_json("status");
  cr_assert_str_eq(version(st), "1.1.0");
  cJSON_Delete(st);

  cr_assert_eq(kill(first, SIGKILL), 0);
  cr_assert(ct_wait_log("heart: container exited by SIGKILL; restart 1 of 5 in 60 s, in 100 ms", 10000), "%s",
            ct_log);
  st = NULL;
  for (int i = 0; i < 750; i++) { /* the old one's socket may answer no more, the new one's not yet */
    cJSON_Delete(st);
    st = wait_serving(15000);
    if (os_pid(st) != first) break;
    usleep(20000);
  }
  cr_expect_neq(os_pid(st), first);
  cr_expect_str_eq(version(st), "1.0.0", "a restart boots the permanent release");
  cJSON_Delete(st);
  char b[32];
  cr_expect_str_eq(ct_release_state("1.0.0", b, sizeof(b)), "permanent");

  char* out = NULL;
  cr_assert_eq(ct_molt("stop", &out), 0, "%s", out);
  free(out);
  cr_expect_eq(wait_heart(15000), 0);
  cr_expect_eq(ct_log_count("restart 2 of"), 0);
}

Test(heart, molt_stop_ends_both_processes_with_status_0_and_no_restart) {
  launch(REL("1.0.0"), (char*)NULL);
  cJSON* st = wait_serving(15000);
  pid_t child = os_pid(st);
  cJSON_Delete(st);
  char* out = NULL;
  cr_assert_eq(ct_molt("stop", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(wait_heart(15000), 0, "%s", ct_log);
  cr_expect(kill(child, 0) != 0 && errno == ESRCH, "the container is gone");
  cr_expect_eq(ct_log_count("heart: container exited"), 0);
  cr_expect_eq(ct_log_count("heart: container restarted"), 0);
}

Test(heart, sigterm_to_the_heart_stops_the_container_cleanly) {
  launch(REL("1.0.0"), (char*)NULL);
  cJSON* st = wait_serving(15000);
  pid_t child = os_pid(st);
  cJSON_Delete(st);
  kill(heart, SIGTERM);
  cr_assert_eq(wait_heart(15000), 0, "%s", ct_log);
  cr_expect(kill(child, 0) != 0 && errno == ESRCH, "the container is gone");
  cr_expect(ct_wait_log("received SIGTERM, stopping", 100));
  cr_expect_eq(ct_log_count("heart: container restarted"), 0);
}

Test(heart, its_options_go_with_heart_only) {
  char* out = NULL;
  cr_expect_eq(ct_molt("run --max-restarts 3", &out), 2);
  cr_expect(strstr(out, "molt run: --max-restarts and --restart-window go with --heart"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("status --heart", &out), 2);
  cr_expect(strstr(out, "--heart is not an option of status"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("run --heart --max-restarts x", &out), 2);
  cr_expect(strstr(out, "--max-restarts: expected a count"), "%s", out);
  free(out);
}
