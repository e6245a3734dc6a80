/* cli.c: the real-container harness behind cli.h. */
#include "cli.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

char* ct_home;
char ct_log[4096];
long ct_nofile;
static pid_t container = -1;

void ct_setup(void) {
  ct_home = tu_mkdtemp("molt-it");
  cr_assert(ct_home);
  snprintf(ct_log, sizeof(ct_log), "%s.log", ct_home);
  ct_nofile = 0;
  /* The demo release's http listener reads its port from here when set
   * ("port_env"): 0 takes any free port, so containers of tests running
   * side by side never fight over the demo's fixed one. A test that
   * talks to it sets a port of its own before ct_start. */
  setenv("MOLT_HTTP_PORT", "0", 1);
}

void ct_teardown(void) {
  /* A sanitizer build of the container reports into its own log, which
   * CTest never sees: check it here. */
  char* log = tu_read_file(ct_log, NULL);
  if (log) {
    cr_expect_null(strstr(log, "Sanitizer"), "%s", log);
    cr_expect_null(strstr(log, "runtime error"), "%s", log);
    free(log);
  }
  if (container > 0) {
    kill(container, SIGKILL);
    waitpid(container, NULL, 0);
  }
  container = -1;
  tu_rmrf(ct_home);
  unlink(ct_log);
  free(ct_home);
}

pid_t ct_spawn(const char* const* argv) {
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int fd = open(ct_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    if (ct_nofile > 0) {
      struct rlimit rl = {.rlim_cur = (rlim_t)ct_nofile, .rlim_max = (rlim_t)ct_nofile};
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        dprintf(2, "ct_spawn: cannot set RLIMIT_NOFILE to %ld: %s\n", ct_nofile, strerror(errno));
        _exit(126);
      }
    }
    execv(MOLT_BIN, (char* const*)argv);
    _exit(127);
  }
  return pid;
}

void ct_launch(const char* release) {
  const char* with[] = {"molt", "run", "--home", ct_home, "--release", release, "--schedulers", "2", NULL};
  const char* without[] = {"molt", "run", "--home", ct_home, "--schedulers", "2", NULL};
  container = ct_spawn(release ? with : without);
}

void ct_start(const char* release) {
  ct_launch(release);
  char* log = NULL;
  if (!ct_wait_log("molt: running release", 10000)) log = tu_read_file(ct_log, NULL);
  /* A restart in the same home appends to the log: wait for the socket. */
  for (int i = 0; i < 500 && ct_molt("status", NULL) != 0; i++) usleep(10000);
  cr_assert_null(log, "the container did not start: %s", log);
}

/* Start `molt <verb> --home <home> --schedulers 2 <args...>` and wait
 * until it serves. */
static void start_verb(const char* verb, const char* arg, va_list ap) {
  const char* argv[64] = {"molt", verb, "--home", ct_home, "--schedulers", "2"};
  int n = 6;
  for (const char* a = arg; a && n < 63; a = va_arg(ap, const char*)) argv[n++] = a;
  argv[n] = NULL;
  container = ct_spawn(argv);
  char* log = NULL;
  if (!ct_wait_log("molt: running", 20000)) log = tu_read_file(ct_log, NULL);
  for (int i = 0; i < 500 && ct_molt("status", NULL) != 0; i++) usleep(10000);
  cr_assert_null(log, "molt %s did not start: %s", verb, log);
}

void ct_start_dev(const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  start_verb("dev", arg, ap);
  va_end(ap);
}

void ct_start_run(const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  start_verb("run", arg, ap);
  va_end(ap);
}

int ct_log_count(const char* needle) {
  char* log = tu_read_file(ct_log, NULL);
  int n = 0;
  for (const char* p = log; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
  free(log);
  return n;
}

bool ct_wait_log_count(const char* needle, int n, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (ct_log_count(needle) >= n) return true;
    usleep(20000);
  }
  return false;
}

void ct_signal(int sig) {
  cr_assert(container > 0);
  kill(container, sig);
}

bool ct_wait_log(const char* needle, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    char* log = tu_read_file(ct_log, NULL);
    bool found = log && strstr(log, needle);
    free(log);
    if (found) return true;
    usleep(20000);
  }
  return false;
}

int ct_wait_status(int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    int status;
    if (waitpid(container, &status, WNOHANG) == container) {
      container = -1;
      return status;
    }
    usleep(10000);
  }
  return -1;
}

int ct_wait_exit(int timeout_ms) {
  int status = ct_wait_status(timeout_ms);
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int ct_molt(const char* args, char** out) {
  char cmd[8192];
  snprintf(cmd, sizeof(cmd), "%s %s --home '%s' 2>&1", MOLT_BIN, args, ct_home);
  return tu_run(cmd, out);
}

cJSON* ct_json(const char* args) {
  char a[4096], *out = NULL;
  snprintf(a, sizeof(a), "%s --json", args);
  int rc = ct_molt(a, &out);
  cr_assert_eq(rc, 0, "molt %s: %s", a, out);
  cJSON* j = cJSON_Parse(out);
  cr_assert(j, "not JSON: %s", out);
  free(out);
  return j;
}

const char* ct_release_state(const char* vsn, char* buf, size_t len) {
  cJSON* j = ct_json("releases");
  const cJSON* r;
  snprintf(buf, len, "-");
  cJSON_ArrayForEach(r, j) if (strcmp(cJSON_GetObjectItem(r, "version")->valuestring, vsn) == 0)
      snprintf(buf, len, "%s", cJSON_GetObjectItem(r, "state")->valuestring);
  cJSON_Delete(j);
  return buf;
}

int ct_json_ok(const char* args) {
  char a[4096], *out = NULL;
  snprintf(a, sizeof(a), "%s --json", args);
  int rc = ct_molt(a, &out);
  free(out);
  return rc;
}

long long ct_log_sum(const char* log, const char* line, const char* label) {
  long long sum = 0;
  for (const char* p = log; (p = strstr(p, line)); p++) {
    const char* n = strstr(p, label);
    const char* eol = strchr(p, '\n');
    if (n && (!eol || n < eol)) sum += atoll(n + strlen(label));
  }
  return sum;
}

void ct_stop_expect_no_loss(void) {
  char* out = NULL;
  cr_assert_eq(ct_molt("stop", &out), 0, "%s", out);
  free(out);
  cr_assert_eq(ct_wait_exit(15000), 0);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert(log);
  long long sent = ct_log_sum(log, "driver: terminating", "sent ");
  long long counted = ct_log_sum(log, "counter: terminating", "total ");
  cr_expect_gt(sent, 0);
  cr_expect_eq(sent, counted, "sent %lld, counted %lld:\n%s", sent, counted, log);
  cr_expect_null(strstr(log, "mismatch on"), "a driver saw a lost message:\n%s", log);
  free(log);
}

int ct_bundle(const char* name, const char* text, const char* module_dir, char** out) {
  char src[4096], cmd[16384], mods[4096];
  if (!module_dir) {
    snprintf(mods, sizeof(mods), "%s/mods", ct_home);
    module_dir = mods;
  }
  snprintf(src, sizeof(src), "%s/%s.json", ct_home, name);
  cr_assert_eq(tu_write_file(src, text, strlen(text)), 0, "%s", src);
  snprintf(cmd, sizeof(cmd), "'%s' '%s' '%s' '%s/%s' 2>&1", MOLT_BUILD_DIR "/bin/molt-bundle", src, module_dir,
           ct_home, name);
  char* log = NULL;
  int rc = tu_run(cmd, &log);
  if (out)
    *out = log;
  else
    free(log);
  return rc;
}

void ct_bundle_fx(const char* vsn, const char* modules, const char* sup, const char* more) {
  char *text = NULL, *out = NULL, name[64];
  cr_assert_geq(asprintf(&text, "{\"name\": \"fx\", \"version\": \"%s\", \"modules\": [%s], \"supervisor\": %s%s}\n",
                         vsn, modules, sup, more ? more : ""),
                0);
  snprintf(name, sizeof(name), "fx-%s", vsn);
  cr_assert_eq(ct_bundle(name, text, NULL, &out), 0, "%s", out);
  free(out);
  free(text);
}

pid_t ct_strace(const char* trace, const char* inject) {
  cJSON* st = ct_json("status");
  int os_pid = (int)cJSON_GetObjectItem(st, "os_pid")->valuedouble;
  cJSON_Delete(st);
  char *log = NULL, pid[32];
  cr_assert_geq(asprintf(&log, "%s/strace.log", ct_home), 0);
  snprintf(pid, sizeof(pid), "%d", os_pid);
  unlink(log);
  pid_t tracer = fork();
  cr_assert_geq(tracer, 0);
  if (tracer == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    execlp("strace", "strace", "-f", "-p", pid, "-e", trace, "-e", inject, "-o", "/dev/null", (char*)NULL);
    _exit(127);
  }
  for (int i = 0; i < 500; i++) {
    char* text = tu_read_file(log, NULL);
    bool attached = text && strstr(text, "attached");
    free(text);
    if (attached) break;
    usleep(10000);
  }
  usleep(200000); /* the other threads' "attached" lines */
  free(log);
  return tracer;
}

void ct_strace_stop(pid_t tracer) {
  kill(tracer, SIGTERM);
  waitpid(tracer, NULL, 0);
}

bool ct_have_strace(void) {
  char* out = NULL;
  int rc = tu_run("strace -V 2>&1", &out);
  free(out);
  return rc == 0;
}

void ct_mods_add(const char* from) {
  char *dir = NULL, *to = NULL;
  const char* slash = strrchr(from, '/');
  cr_assert_geq(asprintf(&dir, "%s/mods", ct_home), 0);
  mkdir(dir, 0700);
  cr_assert_geq(asprintf(&to, "%s/%s", dir, slash ? slash + 1 : from), 0);
  cr_assert_eq(tu_copy_file(from, to), 0, "%s -> %s", from, to);
  free(to);
  free(dir);
}

char* ct_crashy_bundle(int after_ms) {
  char text[2048], *out = NULL;
  snprintf(text, sizeof(text),
           "{\"name\": \"crashy\", \"version\": \"1.0.0\", \"modules\": ["
           "{\"name\": \"tally\", \"vsn\": \"1.0.0\", \"file\": \"tally-a-1.0.0.so\"},"
           "{\"name\": \"crasher\", \"vsn\": \"1.0.0\", \"file\": \"crasher-1.0.0.so\"}],"
           "\"supervisor\": {\"name\": \"crashy_sup\", \"strategy\": \"one_for_one\", \"intensity\": 2,"
           " \"period_ms\": 60000, \"children\": ["
           "{\"id\": \"steady\", \"module\": \"tally\"},"
           "{\"id\": \"crasher\", \"module\": \"crasher\", \"args\": {\"after_ms\": %d}}]}}",
           after_ms);
  cr_assert_eq(ct_bundle("crashy", text, MOLT_FIXTURE_DIR, &out), 0, "%s", out);
  free(out);
  char* bundle = NULL;
  cr_assert_geq(asprintf(&bundle, "%s/crashy", ct_home), 0);
  return bundle;
}

void ct_start_spinning(void) {
  char wdir[4200];
  snprintf(wdir, sizeof(wdir), "%s/watch", ct_home);
  cr_assert_eq(mkdir(wdir, 0700), 0);
  ct_start_dev("--module", MOLT_FIXTURE_DIR "/spin-1.0.0.so", "--watch", wdir, (char*)NULL);
  cr_assert(ct_wait_log("spinning for", 10000), "%s", ct_log);
}
