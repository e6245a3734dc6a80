/* trace_test.c: `molt trace` on a real container serving the demo
 * release under its drivers' load: the counter's trace shows an upgrade's
 * code change between two of its messages; the rate is honoured and what
 * is over it reported as dropped; --max and Ctrl-C end it cleanly; bad
 * targets are refused in one line. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define DEMO MOLT_RELEASE_DIR "/demo-1.0.0"
#define DEMO2 MOLT_RELEASE_DIR "/demo-2.0.0"

TestSuite(trace, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

static char out_path[4096];

/* Start `molt trace <args...> --home <home>` (NULL-terminated), its
 * stdout and stderr into out_path; its pid. */
static pid_t trace_start(const char* arg, ...) {
  const char* argv[32] = {"molt", "trace"};
  int n = 2;
  va_list ap;
  va_start(ap, arg);
  for (const char* a = arg; a && n < 28; a = va_arg(ap, const char*)) argv[n++] = a;
  va_end(ap);
  argv[n++] = "--home";
  argv[n++] = ct_home;
  argv[n] = NULL;
  snprintf(out_path, sizeof(out_path), "%s/trace.out", ct_home);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  cr_assert_eq(posix_spawn(&pid, MOLT_BIN, &fa, NULL, (char* const*)argv, NULL), 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

/* Its exit status, once it exited (the test fails if not within 15 s). */
static int trace_wait(pid_t pid) {
  for (int i = 0; i < 1500; i++) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_assert_fail("molt trace did not end");
  return -1;
}

static int count_lines(const char* text, const char* needle) {
  int n = 0;
  for (const char* p = text; (p = strstr(p, needle)) != NULL; p++) n++;
  return n;
}

/* The JSON lines of out, parsed, in an array (the caller deletes it). */
static cJSON* json_lines(const char* out) {
  cJSON* arr = cJSON_CreateArray();
  const char* p = out;
  while (*p) {
    const char* nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len && *p == '{') {
      char* line = strndup(p, len);
      cJSON* o = cJSON_Parse(line);
      cr_assert_not_null(o, "not JSON: %s", line);
      cJSON_AddItemToArray(arr, o);
      free(line);
    }
    p += len + (nl ? 1 : 0);
  }
  return arr;
}

static const char* s(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItem(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

Test(trace, the_counters_trace_shows_the_code_change_between_two_messages) {
  ct_start(DEMO);
  cr_assert_eq(ct_json_ok("unpack " DEMO2), 0);
  pid_t t = trace_start("counter", "--json", "--rate", "100000", "--duration", "3s", NULL);
  usleep(1000000);
  cr_assert_eq(ct_json_ok("upgrade 2.0.0"), 0);
  cr_assert_eq(trace_wait(t), 0);
  char* out = tu_read_file(out_path, NULL);
  cJSON* lines = json_lines(out);
  int n = cJSON_GetArraySize(lines), change = -1, recv_before = 0, recv_after = 0;
  for (int i = 0; i < n; i++) {
    const cJSON* e = cJSON_GetArrayItem(lines, i);
    if (strcmp(s(e, "event"), "code_change") == 0) {
      cr_assert_eq(change, -1, "one code change");
      change = i;
      cr_expect_str_eq(s(e, "from"), "1.0.0");
      cr_expect_str_eq(s(e, "to"), "2.0.0");
      cr_expect_str_eq(s(e, "module"), "counter");
    } else if (strcmp(s(e, "event"), "recv") == 0) {
      cr_expect_str_eq(s(e, "name"), "counter");
      if (change < 0)
        recv_before++;
      else
        recv_after++;
    }
  }
  cr_assert_geq(change, 0, "no code_change in the trace:\n%.2000s", out);
  cr_expect_gt(recv_before, 0);
  cr_expect_gt(recv_after, 0, "the counter's messages go on after the change");
  const cJSON* last = cJSON_GetArrayItem(lines, n - 1);
  cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(last, "events")), "the summary ends it");
  cJSON_Delete(lines);
  free(out);
}

Test(trace, the_rate_is_honoured_and_what_is_over_it_reported_dropped) {
  ct_start(DEMO);
  /* The drivers together send thousands of messages a second. */
  pid_t t = trace_start("--module", "driver", "--rate", "5/s", "--duration", "1500ms", NULL);
  cr_assert_eq(trace_wait(t), 0);
  char* out = tu_read_file(out_path, NULL);
  int events = count_lines(out, "Z <"), drop_lines = count_lines(out, " dropped ");
  /* 5 at once, then 5 a second for 1.5 s: 12 at most, with slack for the
   * last read. */
  cr_expect_gt(events, 0, "%s", out);
  cr_expect_leq(events, 14, "%d events at 5/s:\n%s", events, out);
  cr_expect_gt(drop_lines, 0, "no drop reported:\n%s", out);
  long shown = -1;
  double dropped = -1;
  const char* sum = strstr(out, "molt trace: ");
  while (sum && strstr(sum + 1, "molt trace: ")) sum = strstr(sum + 1, "molt trace: ");
  cr_assert(sum && sscanf(sum, "molt trace: %ld events, %lf dropped", &shown, &dropped) == 2, "%s", out);
  cr_expect_eq(shown, events);
  cr_expect_gt(dropped, 100, "the drivers' traffic is far above 5/s: %s", out);
  free(out);
}

Test(trace, max_ends_the_trace_and_ctrl_c_stops_it_cleanly) {
  ct_start(DEMO);
  pid_t t = trace_start("counter", "--max", "3", NULL);
  cr_assert_eq(trace_wait(t), 0);
  char* out = tu_read_file(out_path, NULL);
  cr_expect_eq(count_lines(out, " recv from <"), 3, "%s", out);
  cr_expect(strstr(out, "molt trace: 3 events"), "%s", out);
  free(out);

  t = trace_start("heartbeat", NULL);
  usleep(500000);
  kill(t, SIGINT);
  cr_assert_eq(trace_wait(t), 0, "Ctrl-C is how a trace ends: not a failure");
  out = tu_read_file(out_path, NULL);
  cr_expect(strstr(out, "molt trace: tracing <"), "%s", out);
  cr_expect(strstr(out, " events, 0 dropped"), "%s", out);
  free(out);
  /* Its session was stopped: all MOLT_TRACE_SESSIONS (4) start again. */
  for (int i = 0; i < 4; i++) {
    pid_t u = trace_start("counter", "--max", "1", NULL);
    cr_assert_eq(trace_wait(u), 0);
  }
}

Test(trace, a_bad_target_is_refused_in_one_line) {
  ct_start(DEMO);
  char* out = NULL;
  cr_expect_eq(ct_molt("trace nosuchname", &out), 1, "%s", out);
  cr_expect(strstr(out, "no actor named or numbered \"nosuchname\"") && strchr(out, '\n') == out + strlen(out) - 1,
            "%s", out);
  free(out);
  cr_expect_eq(ct_molt("trace --module nosuchmodule", &out), 1, "%s", out);
  cr_expect(strstr(out, "no module \"nosuchmodule\" is loaded"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("trace counter --module counter", &out), 2, "%s", out);
  free(out);
  cr_expect_eq(ct_molt("trace", &out), 2, "%s", out);
  free(out);
  cr_expect_eq(ct_molt("trace counter --rate 0", &out), 2, "%s", out);
  free(out);
  cr_expect_eq(ct_molt("trace counter --rate 5/m", &out), 2, "%s", out);
  free(out);
}
