/* upgrade_stress_test.c: release changes on a real container, repeated and
 * interrupted: 100 upgrade/downgrade cycles under load leak neither memory
 * nor module copies and lose no message; SIGKILL at varying moments of an
 * upgrade always boots the permanent release again; a second code change
 * while one runs is refused at once, and the first one completes. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "cli.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v
#define BUNDLER MOLT_BUILD_DIR "/bin/molt-bundle"

/* One suite-wide timeout: Criterion 2.4 leaks when they differ. */
TestSuite(upgrade_stress, .init = ct_setup, .fini = ct_teardown, .timeout = 240);

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static char* str_of(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItem(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char* running_vsn(char* buf, size_t len) {
  cJSON* j = ct_json("status");
  const char* v = str_of(cJSON_GetObjectItem(j, "release"), "version");
  snprintf(buf, len, "%s", v ? v : "?");
  cJSON_Delete(j);
  return buf;
}

static pid_t container_pid(void) {
  cJSON* j = ct_json("status");
  const cJSON* p = cJSON_GetObjectItem(j, "os_pid");
  cr_assert(cJSON_IsNumber(p), "status has no os_pid");
  pid_t pid = (pid_t)p->valuedouble;
  cJSON_Delete(j);
  return pid;
}

/* VmRSS of pid in KiB. */
static long rss_kib(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  char* s = tu_read_file(path, NULL);
  cr_assert(s, "cannot read %s", path);
  const char* p = strstr(s, "VmRSS:");
  cr_assert(p, "no VmRSS in %s", path);
  long kib = atol(p + strlen("VmRSS:"));
  free(s);
  return kib;
}

/* How many distinct files under <home>/code/ whose name starts with prefix
 * pid maps; their list (one per line) into list. */
static int mapped_copies(pid_t pid, const char* code_dir, const char* prefix, char* list, size_t listlen) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
  char* maps = tu_read_file(path, NULL);
  cr_assert(maps, "cannot read %s", path);
  char seen[16][PATH_MAX];
  int n = 0;
  size_t dirlen = strlen(code_dir);
  list[0] = 0;
  for (char* line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
    char* f = strstr(line, code_dir);
    if (!f || f[dirlen] != '/') continue;
    char* del = strstr(f, " (deleted)");
    if (del) *del = 0;
    if (strncmp(f + dirlen + 1, prefix, strlen(prefix)) != 0) continue;
    bool dup = false;
    for (int i = 0; i < n; i++) dup = dup || strcmp(seen[i], f) == 0;
    if (dup) continue;
    if (n < 16) snprintf(seen[n], sizeof(seen[n]), "%s", f);
    n++;
    size_t used = strlen(list);
    snprintf(list + used, listlen - used, "%s\n", f);
  }
  free(maps);
  return n;
}

/* Start `molt <args...> --home <home>` in the background, its output into
 * out_path (or /dev/null). */
static pid_t molt_bg(const char* out_path, const char* a1, const char* a2, const char* a3) {
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    /* a3 NULL ends the list early. */
    execl(MOLT_BIN, "molt", a1, a2, "--home", ct_home, a3, (char*)NULL);
    _exit(127);
  }
  return pid;
}

/* Wait for a child; its exit status, 128 if signalled, -1 on timeout. */
static int wait_child(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 5) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    usleep(5000);
  }
  return -1;
}

/* ------------------------------------------------------------------ 1 */

Test(upgrade_stress, a_hundred_release_changes_leak_nothing_and_lose_nothing) {
  char b[64];
  ct_start(REL("1.0.0"));
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("unpack " REL("2.0.0")));
  pid_t pid = container_pid();
  char code_dir[PATH_MAX + 8], home_real[PATH_MAX];
  cr_assert(realpath(ct_home, home_real));
  snprintf(code_dir, sizeof(code_dir), "%s/code", home_real);

  static char list[8192];
  long rss_base = 0;
  int max_copies = 0;
  for (int cycle = 0; cycle < 50; cycle++) {
    static const char* const to[2] = {"2.0.0", "1.1.0"};
    for (int k = 0; k < 2; k++) {
      char args[64];
      snprintf(args, sizeof(args), "upgrade %s", to[k]);
      cJSON* r = ct_json(args);
      cr_assert_str_eq(str_of(r, "to"), to[k], "cycle %d", cycle);
      cr_assert_str_eq(str_of(r, "state"), "current", "cycle %d", cycle);
      const char* plan = str_of(r, "plan");
      cr_assert(plan && strstr(plan, "counter") && strstr(plan, "code_change"), "cycle %d: plan %s", cycle,
                plan);
      cJSON_Delete(r);
      int copies = mapped_copies(pid, code_dir, "counter-", list, sizeof(list));
      if (copies > max_copies) max_copies = copies;
      cr_assert_leq(copies, 2, "cycle %d, after upgrade %s: %d private copies of counter mapped:\n%s", cycle,
                    to[k], copies, list);
      cr_assert_geq(copies, 1, "cycle %d: no private copy of counter mapped under %s", cycle, code_dir);
    }
    if (cycle == 9) rss_base = rss_kib(pid);
  }
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "1.1.0");
  long rss_end = rss_kib(pid);
  /* ASan keeps freed memory in its quarantine (256 MiB by default) and
   * reports leaks itself, into the log ct_teardown checks. */
  long bound = UNDER_ASAN ? 128 * 1024 : 8 * 1024;
  cr_expect_leq(rss_end - rss_base, bound, "RSS grew from %ld KiB after 10 cycles to %ld KiB after 50", rss_base,
                rss_end);
  cr_log_info("rss after 10 cycles %ld KiB, after 50 %ld KiB; at most %d counter copies mapped", rss_base,
              rss_end, max_copies);

  ct_stop_expect_no_loss();
}

/* ------------------------------------------------------------------ 2 */

typedef struct {
  int permanent;
  char permanent_vsn[64];
  char running_vsn[64];
  char state_2[64];
} rel_view;

static rel_view releases_view(void) {
  rel_view v = {0};
  snprintf(v.state_2, sizeof(v.state_2), "absent");
  char* out = NULL;
  int rc = ct_molt("releases --json", &out);
  cr_assert_eq(rc, 0, "molt releases: %s", out);
  cJSON* j = cJSON_Parse(out);
  cr_assert(cJSON_IsArray(j), "molt releases --json is not a JSON array: %s", out);
  free(out);
  cJSON* r;
  cJSON_ArrayForEach(r, j) {
    const char* vsn = str_of(r, "version");
    const char* state = str_of(r, "state");
    cr_assert(vsn && state, "a release without version or state");
    if (strcmp(state, "permanent") == 0) {
      v.permanent++;
      snprintf(v.permanent_vsn, sizeof(v.permanent_vsn), "%s", vsn);
    }
    if (cJSON_IsTrue(cJSON_GetObjectItem(r, "running")))
      snprintf(v.running_vsn, sizeof(v.running_vsn), "%s", vsn);
    if (strcmp(vsn, "2.0.0") == 0) snprintf(v.state_2, sizeof(v.state_2), "%s", state);
  }
  cJSON_Delete(j);
  return v;
}

Test(upgrade_stress, sigkill_at_any_moment_of_an_upgrade_boots_the_permanent_release) {
  char b[64];
  ct_start(REL("1.0.0"));
  /* A molt command takes a while to start and connect (5x longer under
   * ASan): scale the kill delays to it so that they spread from before the
   * request arrives, through the upgrade, to after it completed (0-20 ms
   * in the normal build). */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(wait_child(molt_bg(NULL, "status", "--json", NULL), 10000), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long cmd_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
  long step_us = cmd_us / 10 > 2222 ? cmd_us / 10 : 2222;
  for (int round = 0; round < 10; round++) {
    long delay_us = round * step_us;
    rel_view v = releases_view();
    if (strcmp(v.state_2, "absent") == 0) cJSON_Delete(ct_json("unpack " REL("2.0.0")));
    else cr_assert_str_eq(v.state_2, "unpacked", "round %d: 2.0.0 is %s before the upgrade", round, v.state_2);

    char up_out[4096];
    snprintf(up_out, sizeof(up_out), "%s.upgrade.out", ct_home);
    pid_t up = molt_bg(up_out, "upgrade", "2.0.0", NULL);
    usleep((useconds_t)delay_us);
    ct_signal(SIGKILL);
    cr_assert_eq(ct_wait_exit(5000), 128, "round %d: the container did not die of SIGKILL", round);
    int urc = wait_child(up, 10000);
    if (urc < 0) {
      kill(up, SIGKILL);
      waitpid(up, NULL, 0);
    }
    cr_assert_geq(urc, 0, "round %d: molt upgrade still running 10 s after the container died", round);

    char* said = tu_read_file(up_out, NULL);
    unlink(up_out);
    if (said && strchr(said, '\n')) *strchr(said, '\n') = 0;
    cr_log_info("round %d: killed after %ld us; molt upgrade exited %d: %s", round, delay_us, urc,
                said ? said : "");
    free(said);

    ct_start(NULL);
    cr_assert_str_eq(running_vsn(b, sizeof(b)), "1.0.0", "round %d (killed after %ld us, upgrade exit %d)", round,
                     delay_us, urc);
    v = releases_view();
    cr_assert_eq(v.permanent, 1, "round %d: %d permanent releases", round, v.permanent);
    cr_assert_str_eq(v.permanent_vsn, "1.0.0", "round %d", round);
    cr_assert_str_eq(v.running_vsn, "1.0.0", "round %d", round);
    cr_assert_str_eq(v.state_2, "unpacked", "round %d: after the restart 2.0.0 is %s", round, v.state_2);
  }
  /* The store is still usable: the upgrade goes through and commits. */
  cJSON_Delete(ct_json("upgrade 2.0.0"));
  cJSON_Delete(ct_json("commit"));
  cr_expect_str_eq(running_vsn(b, sizeof(b)), "2.0.0");
  rel_view v = releases_view();
  cr_expect_eq(v.permanent, 1);
  cr_expect_str_eq(v.permanent_vsn, "2.0.0");
}

/* ------------------------------------------------------------------ 3 */

static void write_slow_release(const char* vsn) {
  char src[4096], json[2048], cmd[16384];
  snprintf(src, sizeof(src), "%s/slow-src-%s.json", ct_home, vsn);
  snprintf(json, sizeof(json),
           "{\n"
           "  \"name\": \"slow\",\n"
           "  \"version\": \"%s\",\n"
           "  \"modules\": [{\"name\": \"slow\", \"vsn\": \"%s\", \"file\": \"slow-%s.so\"}],\n"
           "  \"supervisor\": {\n"
           "    \"name\": \"slow_sup\", \"strategy\": \"one_for_one\", \"intensity\": 5, \"period_ms\": 10000,\n"
           "    \"children\": [{\"id\": \"slow\", \"module\": \"slow\", \"args\": {\"name\": \"slow\"}}]\n"
           "  }\n"
           "}\n",
           vsn, vsn, vsn);
  cr_assert_eq(tu_write_file(src, json, strlen(json)), 0);
  snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s' '%s/bundle-slow-%s' 2>&1", BUNDLER, src, MOLT_FIXTURE_DIR, ct_home,
           vsn);
  char* out = NULL;
  int rc = tu_run(cmd, &out);
  cr_assert_eq(rc, 0, "molt-bundle %s: %s", vsn, out);
  free(out);
}

static int count_in_log(const char* needle) {
  char* log = tu_read_file(ct_log, NULL);
  int n = 0;
  for (const char* p = log; p && (p = strstr(p, needle)); p++) n++;
  free(log);
  return n;
}

/* Start `molt upgrade 2.0.0` from 1.0.0 in the background; once its
 * code_change has begun (it then takes 1.5 s), run args, which must be
 * refused with one line saying an upgrade is in progress; then the first
 * upgrade must complete and leave 2.0.0 running, and a rollback goes
 * back to 1.0.0. */
static void refused_while_upgrading(const char* args) {
  char b[64], first_out[4096];
  snprintf(first_out, sizeof(first_out), "%s/first-upgrade.out", ct_home);
  int began = count_in_log("slow 2.0.0: code_change up begins");
  pid_t first = molt_bg(first_out, "upgrade", "2.0.0", "--json");
  bool running = false;
  for (int i = 0; i < 1000 && !running; i++) {
    running = count_in_log("slow 2.0.0: code_change up begins") > began;
    if (!running) usleep(2000);
  }
  cr_assert(running, "the upgrade's code_change did not begin within 2 s");

  char* out = NULL;
  int rc = ct_molt(args, &out);
  int status;
  bool first_done = waitpid(first, &status, WNOHANG) == first;
  cr_assert(out, "molt %s: no output", args);
  /* A refusal saying "in progress" proves the overlap; only without one
   * does an already finished first upgrade explain the failure. */
  bool refused = rc == 1 && strstr(out, "in progress");
  cr_expect(refused || !first_done, "the first upgrade finished before molt %s ran: too slow a machine", args);
  cr_expect_eq(rc, 1, "molt %s while an upgrade runs: exit %d: %s", args, rc, out);
  cr_expect(strstr(out, "in progress"), "molt %s: %s", args, out);
  cr_expect(strlen(out) > 0 && strchr(out, '\n') == out + strlen(out) - 1, "molt %s: not one line: %s", args, out);
  free(out);
  if (first_done) {
    /* Reaped above: put its status back for the checks below. */
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  } else {
    rc = wait_child(first, 15000);
  }

  out = tu_read_file(first_out, NULL);
  cr_assert_eq(rc, 0, "the first upgrade: exit %d: %s", rc, out ? out : "");
  cJSON* r = cJSON_Parse(out);
  cr_assert(r, "the first upgrade's output is not JSON: %s", out);
  cr_expect_str_eq(str_of(r, "to"), "2.0.0");
  cr_expect_str_eq(str_of(r, "state"), "current");
  cJSON_Delete(r);
  free(out);

  bool on_2 = false;
  for (int i = 0; i < 500 && !on_2; i++) {
    on_2 = strcmp(running_vsn(b, sizeof(b)), "2.0.0") == 0;
    if (!on_2) usleep(10000);
  }
  cr_assert(on_2, "after molt %s was refused, the container still runs %s", args, b);
  /* The actor runs the new code. */
  r = ct_json("inspect slow");
  cr_expect_str_eq(str_of(r, "vsn"), "2.0.0");
  cJSON_Delete(r);
  /* Nothing is left locked: the next change goes through. */
  r = ct_json("rollback");
  cr_expect_str_eq(str_of(r, "to"), "1.0.0");
  cJSON_Delete(r);
  cr_assert_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
}

Test(upgrade_stress, a_second_code_change_while_one_runs_is_refused_clearly) {
  char b[64], arg[8192];
  write_slow_release("1.0.0");
  write_slow_release("2.0.0");
  snprintf(arg, sizeof(arg), "%s/bundle-slow-1.0.0", ct_home);
  ct_start(arg);
  cr_assert_str_eq(running_vsn(b, sizeof(b)), "1.0.0");
  snprintf(arg, sizeof(arg), "unpack '%s/bundle-slow-2.0.0'", ct_home);
  cJSON_Delete(ct_json(arg));

  refused_while_upgrading("upgrade 2.0.0");
  snprintf(arg, sizeof(arg), "load '%s/slow-2.0.0.so'", MOLT_FIXTURE_DIR);
  refused_while_upgrading(arg);
  refused_while_upgrading("rollback");
}
