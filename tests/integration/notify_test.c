/* notify_test.c: `molt run` speaks systemd's notify protocol (issue 15,
 * point 6), checked without systemd: the test binds the AF_UNIX datagram
 * socket systemd would, passes it in NOTIFY_SOCKET (and WATCHDOG_USEC),
 * and reads what a real container sends: READY=1 once it serves, STATUS=
 * as its release changes, WATCHDOG=1 while every scheduler makes
 * progress and none while one spins in a handler, STOPPING=1. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

static int sock = -1;

/* A fresh home, and the notify socket in it. */
static void setup(void) {
  ct_setup();
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  cr_assert_lt(snprintf(a.sun_path, sizeof(a.sun_path), "%s/notify", ct_home), (int)sizeof(a.sun_path));
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  cr_assert_geq(sock, 0);
  cr_assert_eq(bind(sock, (struct sockaddr*)&a, sizeof(a)), 0, "%s", strerror(errno));
  setenv("NOTIFY_SOCKET", a.sun_path, 1);
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

static void teardown(void) {
  ct_teardown();
  if (sock >= 0) close(sock);
  sock = -1;
}

TestSuite(notify, .init = setup, .fini = teardown, .timeout = 90);

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The next datagram within ms, into buf; false on timeout. */
static bool next_msg(char* buf, size_t len, int ms) {
  struct pollfd p = {.fd = sock, .events = POLLIN};
  if (poll(&p, 1, ms) <= 0) return false;
  ssize_t n = recv(sock, buf, len - 1, 0);
  if (n < 0) return false;
  buf[n] = 0;
  return true;
}

/* Read datagrams until one equals want, within ms; everything read
 * before it is dropped. */
static bool expect_msg(const char* want, int ms) {
  char buf[1024];
  long long until = now_ms() + ms;
  for (long long left = ms; left > 0; left = until - now_ms())
    if (next_msg(buf, sizeof(buf), (int)left) && strcmp(buf, want) == 0) return true;
  return false;
}

/* How many datagrams starting with what arrive within ms. */
static int count_msgs(const char* what, int ms) {
  char buf[1024];
  int n = 0;
  long long until = now_ms() + ms;
  for (long long left = ms; left > 0; left = until - now_ms())
    if (next_msg(buf, sizeof(buf), (int)left) && strncmp(buf, what, strlen(what)) == 0) n++;
  return n;
}

Test(notify, ready_once_it_serves_then_status_for_each_release_change_and_stopping) {
  ct_launch(REL("1.0.0"));
  cr_assert(expect_msg("READY=1\nSTATUS=running release demo 1.0.0", 15000), "no READY=1:\n%s", ct_log);
  /* READY=1 comes after the control socket serves: no retry needed. */
  char* out = NULL;
  cr_assert_eq(ct_molt("status", &out), 0, "%s", out);
  free(out);
  cJSON_Delete(ct_json("unpack " REL("1.1.0")));
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  cr_expect(expect_msg("STATUS=running release demo 1.1.0 (upgraded, not committed)", 5000));
  cJSON_Delete(ct_json("rollback"));
  cr_expect(expect_msg("STATUS=running release demo 1.0.0 (rolled back)", 5000));
  cJSON_Delete(ct_json("upgrade 1.1.0"));
  cJSON_Delete(ct_json("commit"));
  cr_expect(expect_msg("STATUS=running release demo 1.1.0 (committed)", 5000));
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_expect(expect_msg("STOPPING=1", 5000));
  cr_assert_eq(ct_wait_exit(15000), 0);
}

Test(notify, watchdog_pings_every_half_interval_while_idle) {
  setenv("WATCHDOG_USEC", "400000", 1);
  ct_start(REL("1.0.0"));
  int n = count_msgs("WATCHDOG=1", 1500);
  /* Every 200 ms: about 7; a loaded machine may delay a few. */
  cr_expect_geq(n, 4, "%d WATCHDOG=1 in 1.5 s:\n%s", n, ct_log);
  cr_expect(ct_wait_log("watchdog: every 200 ms", 1000), "%s", ct_log);
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
}

Test(notify, watchdog_is_for_the_pid_systemd_names_only) {
  setenv("WATCHDOG_USEC", "400000", 1);
  setenv("WATCHDOG_PID", "1", 1); /* not the container */
  ct_start(REL("1.0.0"));
  cr_expect_eq(count_msgs("WATCHDOG=1", 1000), 0);
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
}

Test(notify, watchdog_stops_while_a_handler_spins_and_resumes_after) {
  setenv("WATCHDOG_USEC", "1000000", 1); /* checks every 500 ms */
  ct_start_spinning();
  /* Within two checks of the spin's start the scheduler is seen stuck:
   * drop what was sent until then, then listen for 2 s of the 4 s spin. */
  cr_assert(ct_wait_log("WATCHDOG=1 withheld", 2000), "%s", ct_log);
  count_msgs("WATCHDOG=1", 100);
  int during = count_msgs("WATCHDOG=1", 2000);
  cr_assert_eq(ct_log_count("spun"), 0, "the spin ended before the test listened: it measured nothing");
  cr_expect_eq(during, 0, "%d WATCHDOG=1 while a handler spun", during);
  cr_assert(ct_wait_log("spun", 5000), "%s", ct_log);
  /* The first one after a stall puts the release's status back. */
  cr_expect(expect_msg("WATCHDOG=1\nSTATUS=running release dev 0.0.0", 2000), "no WATCHDOG=1 after the spin:\n%s",
            ct_log);
  cr_expect(expect_msg("WATCHDOG=1", 2000));
  cr_expect(ct_wait_log("WATCHDOG=1 resumes", 2000), "%s", ct_log);
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
}
