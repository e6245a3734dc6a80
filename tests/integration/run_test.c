/* run_test.c: a real container, driven the way a user drives it: `molt run`
 * on the demo bundle in a temporary home, then `molt status`, `molt stop`
 * and bad input, all through build/bin/molt. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define DEMO MOLT_RELEASE_DIR "/demo-1.0.0"

static void start_demo(void) { ct_start(DEMO); }

TestSuite(run, .init = ct_setup, .fini = ct_teardown, .timeout = 60);

Test(run, status_json_reports_release_actors_and_modules) {
  start_demo();
  cJSON* j = ct_json("status");
  cJSON* rel = cJSON_GetObjectItem(j, "release");
  cr_expect_str_eq(cJSON_GetObjectItem(rel, "name")->valuestring, "demo");
  cr_expect_str_eq(cJSON_GetObjectItem(rel, "version")->valuestring, "1.0.0");
  /* The root supervisor, the counter, four drivers, the http listener
   * and the heartbeat. */
  cr_expect_eq(cJSON_GetObjectItem(j, "actors")->valueint, 8);
  cr_expect_eq(cJSON_GetObjectItem(j, "schedulers")->valueint, 2);
  cJSON* mods = cJSON_GetObjectItem(j, "modules");
  cr_assert_eq(cJSON_GetArraySize(mods), 4);
  cJSON* m;
  int seen = 0;
  cJSON_ArrayForEach(m, mods) {
    const char* name = cJSON_GetObjectItem(m, "name")->valuestring;
    cr_expect(strcmp(name, "counter") == 0 || strcmp(name, "driver") == 0 || strcmp(name, "heartbeat") == 0 ||
                  strcmp(name, "http") == 0,
              "module %s", name);
    cr_expect_str_eq(cJSON_GetObjectItem(m, "current")->valuestring, "1.0.0");
    cr_expect(cJSON_IsNull(cJSON_GetObjectItem(m, "old")));
    seen++;
  }
  cr_expect_eq(seen, 4);
  cJSON_Delete(j);
}

Test(run, human_status_and_clean_stop_runs_every_terminate) {
  start_demo();
  usleep(300000); /* let the drivers send and check for a while */
  char* out = NULL;
  cr_assert_eq(ct_molt("status", &out), 0, "%s", out);
  cr_expect(strstr(out, "release     demo 1.0.0"), "%s", out);
  cr_expect(strstr(out, "actors      8"), "%s", out);
  free(out);

  cr_assert_eq(ct_molt("stop", &out), 0, "%s", out);
  cr_expect(strstr(out, "stopped"), "%s", out);
  free(out);
  cr_assert_eq(ct_wait_exit(15000), 0);

  char* log = tu_read_file(ct_log, NULL);
  cr_assert(log);
  /* Every actor's terminate ran: the counter and four drivers. */
  int drivers = 0;
  for (const char* p = log; (p = strstr(p, "driver: terminating")); p++) drivers++;
  cr_expect_eq(drivers, 4, "%s", log);
  cr_expect(strstr(log, "counter: terminating"), "%s", log);
  cr_expect(strstr(log, "mismatches 0"), "%s", log);
  cr_expect_null(strstr(log, "mismatch on"), "%s", log);
  free(log);
  /* The socket is gone: status says nothing runs. */
  cr_expect_neq(ct_molt("status", &out), 0);
  cr_expect(strstr(out, "no container is running"), "%s", out);
  free(out);
}

Test(run, second_container_in_the_same_home_is_refused) {
  start_demo();
  char cmd[8192];
  char* out = NULL;
  snprintf(cmd, sizeof(cmd), "%s run --home '%s' --release '%s' 2>&1", MOLT_BIN, ct_home, DEMO);
  cr_expect_eq(tu_run(cmd, &out), 1);
  cr_expect(strstr(out, "another container is running"), "%s", out);
  free(out);
  cJSON* j = ct_json("status"); /* the first one still serves */
  cJSON_Delete(j);
}

Test(run, corrupt_module_is_refused_before_anything_runs) {
  char bundle[4096], cmd[16384], so[8192];
  snprintf(bundle, sizeof(bundle), "%s/bundle", ct_home);
  snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", DEMO, bundle);
  cr_assert_eq(system(cmd), 0);
  snprintf(so, sizeof(so), "%s/modules/counter-1.0.0.so", bundle);
  size_t len;
  char* bytes = tu_read_file(so, &len);
  cr_assert(bytes && len > 100);
  bytes[len / 2] ^= 0x5a;
  cr_assert_eq(tu_write_file(so, bytes, len), 0);
  free(bytes);

  char* out = NULL;
  snprintf(cmd, sizeof(cmd), "%s run --home '%s/h' --release '%s' 2>&1", MOLT_BIN, ct_home, bundle);
  cr_expect_eq(tu_run(cmd, &out), 1);
  cr_expect(strstr(out, "counter-1.0.0.so"), "%s", out);
  cr_expect(strstr(out, "sha256"), "%s", out);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "not one line: %s", out);
  free(out);
}

/* What would refuse the container later refuses it first: it used to
 * start seven actors and bind the HTTP port before the socket path was
 * found taken. Nothing of the release runs: no actor logs a line, nothing
 * is left in the store. */
Test(run, a_non_socket_at_the_socket_path_or_a_file_as_watch_dir_is_refused_before_anything_runs) {
  char path[4096], cmd[16384];
  snprintf(path, sizeof(path), "%s/molt.sock", ct_home);
  cr_assert_eq(tu_write_file(path, "not a socket\n", 13), 0);
  char* out = NULL;
  snprintf(cmd, sizeof(cmd), "%s run --home '%s' --release '%s' 2>&1", MOLT_BIN, ct_home, DEMO);
  cr_expect_eq(tu_run(cmd, &out), 1);
  cr_expect(strstr(out, "molt.sock: exists and is not a socket; not replacing it"), "%s", out);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "a line of the release ran: %s", out);
  free(out);
  cr_expect_eq(unlink(path), 0, "the file at the socket path was replaced");

  /* A watch directory that is not one: it may be created later, but a
   * file in its place never holds a build. */
  snprintf(path, sizeof(path), "%s/builds", ct_home);
  cr_assert_eq(tu_write_file(path, "x", 1), 0);
  snprintf(cmd, sizeof(cmd), "timeout 20 %s dev --home '%s' --release '%s' --watch '%s' 2>&1", MOLT_BIN, ct_home,
           DEMO, path);
  cr_expect_eq(tu_run(cmd, &out), 1);
  cr_expect(strstr(out, "builds: not a directory"), "%s", out);
  cr_expect_eq(strchr(out, '\n'), out + strlen(out) - 1, "a line of the release ran: %s", out);
  free(out);
}

Test(run, missing_release_and_unknown_command_fail_clearly) {
  char* out = NULL;
  char cmd[8192];
  snprintf(cmd, sizeof(cmd), "%s run --home '%s' --release /nonexistent/bundle 2>&1", MOLT_BIN, ct_home);
  cr_expect_eq(tu_run(cmd, &out), 1);
  cr_expect(strstr(out, "/nonexistent/bundle"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("frobnicate", &out), 2);
  cr_expect(strstr(out, "unknown command"), "%s", out);
  free(out);
  cr_expect_eq(ct_molt("status --bogus", &out), 2);
  free(out);
  cr_expect_eq(ct_molt("status --json", &out), 1);
  cr_expect(strstr(out, "ENOTRUNNING"), "%s", out);
  free(out);
}

/* Raw bytes on the control socket of a live container. */
static char* raw_request(const char* bytes) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/molt.sock", ct_home);
  cr_assert_eq(connect(fd, (struct sockaddr*)&sa, sizeof(sa)), 0);
  cr_assert_eq(write(fd, bytes, strlen(bytes)), (ssize_t)strlen(bytes));
  char* reply = calloc(1, 4096);
  size_t n = 0;
  while (n < 4095 && !strchr(reply, '\n')) {
    ssize_t r = read(fd, reply + n, 4095 - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  return reply;
}

Test(run, garbage_on_the_control_socket_gets_an_error_and_the_container_serves_on) {
  start_demo();
  const char* bad[] = {"not json at all\n", "[1,2,3]\n", "{\"cmd\":42}\n", "{\"cmd\":\"status\",\"args\":7}\n",
                       "{\"cmd\":\"launch-missiles\"}\n", "\x01\x02\xff\xfe\n"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char* reply = raw_request(bad[i]);
    cr_expect(strstr(reply, "\"ok\":false"), "request %zu: %s", i, reply);
    free(reply);
  }
  cJSON* j = ct_json("status");
  cr_expect_eq(cJSON_GetObjectItem(j, "actors")->valueint, 8);
  cJSON_Delete(j);
}

Test(run, sigterm_stops_cleanly) {
  start_demo();
  ct_signal(SIGTERM);
  cr_assert_eq(ct_wait_exit(15000), 0);
  cr_expect(ct_wait_log("counter: terminating", 100));
}
