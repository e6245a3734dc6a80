/* cli_strict_test.c: the molt command's verbs through the real binary:
 * each takes only its own options (a foreign one is refused with status 2
 * and nothing sent), each has --help, stop returns once the container's
 * process is gone, inspect prints text, upgrade --check --json lists the
 * steps as objects, and "no container" says where it looked and why. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

TestSuite(cli_strict, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

static const char* const verbs[] = {"run",     "dev",    "new-module", "status", "stop",  "releases", "unpack",
                                    "remove",  "upgrade", "commit",    "rollback", "load", "purge",    "ps",
                                    "inspect"};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* `molt <args>` with stdout and stderr, no --home added. */
static int molt(const char* args, char** out) {
  char cmd[16384];
  snprintf(cmd, sizeof(cmd), "%s %s 2>&1", MOLT_BIN, args);
  return tu_run(cmd, out);
}

static bool one_line(const char* s) { return s && strchr(s, '\n') == s + strlen(s) - 1; }

Test(cli_strict, every_verb_has_help_that_prints_its_usage_and_exits_0) {
  char args[256], want[128], *out = NULL, *again = NULL;
  for (size_t i = 0; i < NVERBS; i++) {
    snprintf(want, sizeof(want), "usage: molt %s", verbs[i]);
    snprintf(args, sizeof(args), "%s --help", verbs[i]);
    cr_expect_eq(molt(args, &out), 0, "molt %s: %s", args, out);
    cr_expect(out && strncmp(out, want, strlen(want)) == 0, "molt %s: %s", args, out);
    snprintf(args, sizeof(args), "%s -h", verbs[i]);
    cr_expect_eq(molt(args, &again), 0, "molt %s: %s", args, again);
    cr_expect_str_eq(again ? again : "", out ? out : "-");
    free(again);
    snprintf(args, sizeof(args), "help %s", verbs[i]);
    cr_expect_eq(molt(args, &again), 0, "molt %s: %s", args, again);
    cr_expect_str_eq(again ? again : "", out ? out : "-");
    free(again);
    free(out);
  }
  /* Help wins over anything wrong beside it. */
  cr_expect_eq(molt("rollback --check --help", &out), 0, "%s", out);
  cr_expect(out && strncmp(out, "usage: molt rollback", 20) == 0, "%s", out);
  cr_expect_null(strstr(out, "--check"), "rollback's usage offers --check: %s", out);
  free(out);
  /* The overview names every verb. */
  cr_expect_eq(molt("--help", &out), 0);
  for (size_t i = 0; i < NVERBS; i++) {
    snprintf(want, sizeof(want), "\n  %s ", verbs[i]);
    cr_expect(strstr(out, want), "molt --help lacks %s: %s", verbs[i], out);
  }
  free(out);
}

Test(cli_strict, a_foreign_option_is_refused_with_status_2_before_anything_is_sent) {
  /* No container runs here: a command that were sent would fail with
   * status 1 and "no container is running". */
  static const char* const foreign[][2] = {
      {"status", "--down"},     {"stop", "--check"},  {"releases", "--hard"},      {"unpack x", "--down"},
      {"upgrade 2.0.0", "--hard"}, {"commit", "--check"}, {"rollback", "--check"},  {"load x.so", "--check"},
      {"purge counter", "--down"}, {"ps", "--hard"},    {"inspect counter", "--down"}, {"status", "--bogus"},
      {"remove 1.0.0", "--check"}, {"remove 1.0.0", "--release"},
  };
  for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
    char args[512], *out = NULL;
    snprintf(args, sizeof(args), "%s %s", foreign[i][0], foreign[i][1]);
    cr_expect_eq(ct_molt(args, &out), 2, "molt %s: %s", args, out);
    char verb[64];
    sscanf(foreign[i][0], "%63s", verb);
    char head[128];
    snprintf(head, sizeof(head), "molt %s: ", verb);
    cr_expect(out && strncmp(out, head, strlen(head)) == 0, "molt %s: %s", args, out);
    cr_expect(out && strstr(out, foreign[i][1]), "molt %s: %s", args, out);
    cr_expect(one_line(out), "molt %s: %s", args, out);
    free(out);
  }
  /* Options of no verb, or a verb's option given to one without it. */
  char* out = NULL;
  cr_expect_eq(ct_molt("ps --limit", &out), 2, "%s", out);
  free(out);
  cr_expect_eq(ct_molt("ps --module a --module b", &out), 2, "%s", out);
  free(out);
  cr_expect_eq(ct_molt("upgrade 1.0.0 2.0.0", &out), 2, "%s", out);
  free(out);
}

static const char* running_vsn(char* buf, size_t len) {
  cJSON* j = ct_json("status");
  snprintf(buf, len, "%s", cJSON_GetObjectItem(cJSON_GetObjectItem(j, "release"), "version")->valuestring);
  cJSON_Delete(j);
  return buf;
}

Test(cli_strict, rollback_check_is_refused_and_the_release_is_unchanged) {
  char b[64], *out = NULL;
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  cr_assert_str_eq(running_vsn(b, sizeof(b)), "1.1.0");
  /* Once a real rollback: 1.1.0 is not committed, so it would go back to 1.0.0. */
  cr_expect_eq(ct_molt("rollback --check", &out), 2, "%s", out);
  cr_expect(strstr(out, "molt rollback: --check is not an option of rollback"), "%s", out);
  free(out);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.1.0");
  cr_expect_eq(ct_molt("stop --check", &out), 2, "%s", out);
  free(out);
  cr_expect_eq(ct_molt("status", NULL), 0, "the container stopped after a refused stop --check");
}

/* The container's control socket closes before it unloads its modules,
 * and this module's destructor takes half a second: a stop that returned
 * on the socket's close would return while the process still runs. */
Test(cli_strict, stop_returns_only_after_the_container_process_has_exited) {
  ct_start_dev("--module", MOLT_FIXTURE_DIR "/linger-1.0.0.so", "--watch", ct_home, NULL);
  cJSON* j = ct_json("status");
  pid_t pid = (pid_t)cJSON_GetObjectItem(j, "os_pid")->valueint;
  cJSON_Delete(j);
  char* out = NULL;
  cr_assert_eq(ct_molt("stop", &out), 0, "%s", out);
  cr_expect_str_eq(out, "stopped\n");
  free(out);
  /* The container is this process's child (ct_start): exited means it
   * can be waited for now. WNOWAIT leaves it for ct_wait_exit. */
  siginfo_t info = {0};
  cr_assert_eq(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT), 0);
  cr_expect_eq(info.si_pid, pid, "molt stop returned while the container (pid %d) still ran", (int)pid);
  cr_expect_eq(ct_wait_exit(5000), 0);
}

Test(cli_strict, inspect_prints_text_without_json_and_json_with_it) {
  ct_start(REL("1.0.0"));
  char* out = NULL;
  cr_assert_eq(ct_molt("inspect counter", &out), 0, "%s", out);
  cJSON* parsed = cJSON_Parse(out);
  cr_expect_null(parsed, "inspect printed JSON without --json: %s", out);
  cJSON_Delete(parsed);
  cr_expect(strncmp(out, "pid:        <", 13) == 0, "%s", out);
  cr_expect(strstr(out, "\nname:       counter\n"), "%s", out);
  cr_expect(strstr(out, "\nmodule:     counter 1.0.0 (rev 1)\n"), "%s", out);
  cr_expect(strstr(out, "\nstatus:     running\n"), "%s", out);
  cr_expect(strstr(out, "\nstate:\n  {\n    \"total\": "), "%s", out);
  cr_expect_null(strchr(out, '\t'), "%s", out);
  free(out);
  cJSON* j = ct_json("inspect counter");
  cr_expect_str_eq(cJSON_GetObjectItem(j, "module")->valuestring, "counter");
  cr_expect(cJSON_IsObject(cJSON_GetObjectItem(j, "state")));
  cJSON_Delete(j);
}

/* The step of module in steps, or NULL. */
static const cJSON* step_of(const cJSON* steps, const char* module) {
  const cJSON* s;
  cJSON_ArrayForEach(s, steps) if (strcmp(cJSON_GetObjectItem(s, "module")->valuestring, module) == 0) return s;
  return NULL;
}

static void expect_step(const cJSON* s, const char* op, const char* from, const char* to) {
  cr_assert(cJSON_IsObject(s));
  cr_expect_str_eq(cJSON_GetObjectItem(s, "op")->valuestring, op);
  const cJSON* f = cJSON_GetObjectItem(s, "from");
  const cJSON* t = cJSON_GetObjectItem(s, "to");
  if (from)
    cr_expect(cJSON_IsString(f) && strcmp(f->valuestring, from) == 0, "from");
  else
    cr_expect(cJSON_IsNull(f), "from is not null");
  if (to)
    cr_expect(cJSON_IsString(t) && strcmp(t->valuestring, to) == 0, "to");
  else
    cr_expect(cJSON_IsNull(t), "to is not null");
}

Test(cli_strict, upgrade_check_json_lists_the_steps_as_objects) {
  char b[64];
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("unpack " REL("2.0.0")));
  cJSON* r = ct_json("upgrade 2.0.0 --check");
  const cJSON* steps = cJSON_GetObjectItem(r, "steps");
  cr_assert(cJSON_IsArray(steps), "steps is not an array");
  cr_expect_eq(cJSON_GetArraySize(steps), 4);
  const cJSON* counter = step_of(steps, "counter");
  expect_step(counter, "update", "1.0.0", "2.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(counter, "code_change")->valuestring, "up");
  cr_expect_lt(cJSON_GetObjectItem(counter, "from_state_vsn")->valueint,
               cJSON_GetObjectItem(counter, "to_state_vsn")->valueint);
  cr_expect_str_eq(cJSON_GetObjectItem(counter, "hop_from")->valuestring, "1.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(counter, "hop_to")->valuestring, "2.0.0");
  expect_step(step_of(steps, "stats"), "add", NULL, "1.0.0");
  expect_step(step_of(steps, "heartbeat"), "remove", "1.0.0", NULL);
  cJSON_Delete(r);
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.0.0");

  /* The text stays for people: one step a line. */
  char* out = NULL;
  cr_assert_eq(ct_molt("upgrade 2.0.0 --check", &out), 0, "%s", out);
  cr_expect(strstr(out, "1.0.0 -> 2.0.0: update counter 1.0.0 -> 2.0.0 (code_change)\n"), "%s", out);
  free(out);

  /* A real move lists its steps the same way; down for a rollback. */
  cJSON_Delete(ct_json("upgrade 2.0.0"));
  r = ct_json("rollback");
  steps = cJSON_GetObjectItem(r, "steps");
  cr_assert(cJSON_IsArray(steps));
  counter = step_of(steps, "counter");
  expect_step(counter, "update", "2.0.0", "1.0.0");
  cr_expect_str_eq(cJSON_GetObjectItem(counter, "code_change")->valuestring, "down");
  expect_step(step_of(steps, "heartbeat"), "add", NULL, "1.0.0");
  cJSON_Delete(r);
}

Test(cli_strict, no_container_names_the_home_and_what_chose_it) {
  char real[PATH_MAX], args[8192], want[8192], *out = NULL;
  cr_assert(realpath(ct_home, real));
  /* --home */
  snprintf(args, sizeof(args), "status --home '%s/h'", ct_home);
  cr_expect_eq(molt(args, &out), 1, "%s", out);
  snprintf(want, sizeof(want), "molt status: no container is running in %s/h (home from --home)\n", real);
  cr_expect_str_eq(out, want);
  free(out);
  /* $MOLT_HOME, in the JSON failure too */
  snprintf(args, sizeof(args), "env MOLT_HOME='%s/e' %s releases --json 2>&1", ct_home, MOLT_BIN);
  cr_expect_eq(tu_run(args, &out), 1, "%s", out);
  cJSON* e = cJSON_Parse(out);
  cr_assert(e, "%s", out);
  cr_expect_str_eq(cJSON_GetObjectItem(e, "error")->valuestring, "ENOTRUNNING");
  snprintf(want, sizeof(want), "no container is running in %s/e (home from $MOLT_HOME", real);
  cr_expect(strstr(cJSON_GetObjectItem(e, "message")->valuestring, want), "%s", out);
  cJSON_Delete(e);
  free(out);
  /* the default, in the current directory; stop says it too */
  snprintf(args, sizeof(args), "cd '%s' && env -u MOLT_HOME %s stop 2>&1", ct_home, MOLT_BIN);
  cr_expect_eq(tu_run(args, &out), 1, "%s", out);
  snprintf(want, sizeof(want), "molt stop: no container is running in %s/molt-home (home from the default ./molt-home",
           real);
  cr_expect(out && strncmp(out, want, strlen(want)) == 0, "%s", out);
  cr_expect(strstr(out, "--home DIR or $MOLT_HOME"), "%s", out);
  cr_expect(one_line(out), "%s", out);
  free(out);
}
