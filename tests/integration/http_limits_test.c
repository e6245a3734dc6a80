/* http_limits_test.c: the http service's idle timeout and header-size
 * limit, in a real container started with the molt command (a release of
 * the counter and http, its listener given idle_timeout_ms and
 * max_header_bytes) and real sockets: a half-sent request gets 408 then
 * EOF, not before its time; an idle keep-alive connection is closed with
 * no bytes; a busy one never is; a head too large gets 431 after the
 * answers pipelined before it; and all of it holds for connections opened
 * before `molt upgrade 2.0.0` and `molt rollback`. Lower time bounds are
 * exact (a timer never fires early), upper ones generous. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "httpclient.h"
#include "testutil.h"

#define MAX_HEADER_BYTES 1024
/* Well under the upper bounds below, well over a busy client's pauses. */
#define IDLE_MS 600
/* Across a release change: longer than any upgrade takes here, so the
 * timer set before the change fires after it. */
#define CHANGE_IDLE_MS 4000
#define LATE_MS 10000 /* how late an answer or EOF may come */

TestSuite(http_limits, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

static int port;

/* Microseconds: whole milliseconds would lose up to one at each end, and
 * the lower bounds are exact. */
static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t ms_since(uint64_t since_us) { return (now_us() - since_us) / 1000; }

static uint64_t us(int ms) { return (uint64_t)ms * 1000; }

/* Release "lim" <vsn>: the counter and http of that version, http on port
 * with the limits. */
static void bundle(const char* vsn, int idle_ms) {
  char text[2048], name[32], *out = NULL;
  snprintf(text, sizeof(text),
           "{\"name\": \"lim\", \"version\": \"%s\", \"modules\": ["
           "{\"name\": \"counter\", \"vsn\": \"%s\", \"file\": \"counter-%s.so\"},"
           "{\"name\": \"http\", \"vsn\": \"%s\", \"file\": \"http-%s.so\"}],"
           "\"supervisor\": {\"name\": \"lim_sup\", \"strategy\": \"rest_for_one\", \"intensity\": 5,"
           "\"period_ms\": 10000, \"children\": ["
           "{\"id\": \"counter\", \"module\": \"counter\", \"args\": {\"name\": \"counter\"}},"
           "{\"id\": \"http\", \"module\": \"http\", \"args\": {\"address\": \"127.0.0.1\", \"port\": %d,"
           "\"store\": \"counter\", \"idle_timeout_ms\": %d, \"max_header_bytes\": %d}}]}}\n",
           vsn, vsn, vsn, vsn, vsn, port, idle_ms, MAX_HEADER_BYTES);
  snprintf(name, sizeof(name), "lim-%s", vsn);
  cr_assert_eq(ct_bundle(name, text, MOLT_MODULE_DIR, &out), 0, "%s", out);
  free(out);
}

/* lim 1.0.0 running, 2.0.0 unpacked when upgrades are to come. */
static void start(int idle_ms, bool with_upgrade) {
  signal(SIGPIPE, SIG_IGN);
  port = tu_free_port();
  bundle("1.0.0", idle_ms);
  char path[4096], needle[64];
  snprintf(path, sizeof(path), "%s/lim-1.0.0", ct_home);
  ct_start(path);
  snprintf(needle, sizeof(needle), "listening on 127.0.0.1:%d", port);
  cr_assert(ct_wait_log(needle, 5000), "the http listener did not start");
  if (!with_upgrade) return;
  bundle("2.0.0", idle_ms);
  char cmd[4200];
  snprintf(cmd, sizeof(cmd), "unpack '%s/lim-2.0.0'", ct_home);
  cr_assert_eq(ct_json_ok(cmd), 0);
}

static int conn(void) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  struct timeval tv = {LATE_MS / 1000, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

/* Everything fd receives until the server closes it, into buf (NUL-
 * terminated); false if it was not closed within LATE_MS. */
static bool read_to_eof(int fd, char* buf, size_t len) {
  size_t n = 0;
  for (;;) {
    ssize_t r = recv(fd, buf + n, len - 1 - n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0 || (r < 0 && errno == ECONNRESET)) break;
    if (r < 0 || n + (size_t)r >= len - 1) return false;
    n += (size_t)r;
  }
  buf[n] = '\0';
  return true;
}

/* fd, which last sent bytes (a request's beginning) after since (a
 * now_us()), gets a 408 from vsn and then EOF, no sooner than idle_ms
 * after since. */
static void expect_408(int fd, uint64_t since, int idle_ms, const char* vsn) {
  char got[4096], want[64];
  cr_assert(read_to_eof(fd, got, sizeof(got)), "no EOF within %d ms", LATE_MS);
  uint64_t waited = now_us() - since;
  cr_expect_geq(waited, us(idle_ms), "timed out after %llu us, before %d ms", (unsigned long long)waited, idle_ms);
  cr_expect_leq(waited, us(idle_ms + LATE_MS));
  cr_expect_eq(strncmp(got, "HTTP/1.1 408 Request Timeout\r\n", 30), 0, "%s", got);
  cr_expect(strstr(got, "\r\nConnection: close\r\n"), "%s", got);
  cr_expect(strstr(got, "\r\nContent-Length: 0\r\n"), "%s", got);
  snprintf(want, sizeof(want), "\r\nX-Molt-Version: %s\r\n", vsn);
  cr_expect(strstr(got, want), "%s", got);
  cr_expect(strstr(got, "\r\n\r\n") && strstr(got, "\r\n\r\n")[4] == '\0', "bytes after the 408: %s", got);
}

/* An idle keep-alive fd, whose last bytes or connect came after since (a
 * now_us()), is closed without a byte, no sooner than idle_ms after. */
static void expect_silent_close(int fd, uint64_t since, int idle_ms) {
  char got[4096];
  cr_assert(read_to_eof(fd, got, sizeof(got)), "no EOF within %d ms", LATE_MS);
  uint64_t waited = now_us() - since;
  cr_expect_geq(waited, us(idle_ms), "closed after %llu us, before %d ms", (unsigned long long)waited, idle_ms);
  cr_expect_str_eq(got, "", "an idle connection got bytes");
}

/* A head of about bytes: the request line and one long header. */
static char* big_request(size_t bytes) {
  char* pad = malloc(bytes + 1);
  memset(pad, 'a', bytes);
  pad[bytes] = '\0';
  char* req = NULL;
  cr_assert_geq(asprintf(&req, "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", pad), 0);
  free(pad);
  return req;
}

/* fd sends a small request and a head of 2000 bytes in one go: the first
 * is answered 200, the second 431, then EOF, both from vsn. */
static void expect_431_after_200(int fd, const char* vsn) {
  char* big = big_request(2000);
  char* both = NULL;
  cr_assert_geq(asprintf(&both, "%s%s", HC_GET("/"), big), 0);
  cr_assert(hc_send(fd, both));
  free(both);
  free(big);
  hc_answer_t a;
  cr_assert(hc_response(fd, &a), "the request before the big one was not answered");
  cr_expect_eq(a.status, 200);
  cr_expect_str_eq(a.vsn, vsn);
  char got[4096], want[64];
  cr_assert(read_to_eof(fd, got, sizeof(got)));
  cr_expect_eq(strncmp(got, "HTTP/1.1 431 Request Header Fields Too Large\r\n", 46), 0, "%s", got);
  cr_expect(strstr(got, "\r\nConnection: close\r\n"), "%s", got);
  snprintf(want, sizeof(want), "\r\nX-Molt-Version: %s\r\n", vsn);
  cr_expect(strstr(got, want), "%s", got);
}

Test(http_limits, a_half_sent_request_gets_408_then_eof) {
  start(IDLE_MS, false);
  int head = conn(), body = conn();
  uint64_t t0 = now_us();
  cr_assert(hc_send(head, "GET / HTTP/1.1\r\nHost: x\r\n"));
  cr_assert(hc_send(body, "PUT /keys/half HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n12"));
  expect_408(head, t0, IDLE_MS, "1.0.0");
  expect_408(body, t0, IDLE_MS, "1.0.0");
  close(head);
  close(body);
  /* The half PUT never counted. */
  int fd = conn();
  hc_answer_t a = hc_ask(fd, HC_GET("/keys/half"));
  cr_expect_str_eq(a.body, "http 1.0.0: half = 0\n");
  close(fd);
}

Test(http_limits, an_idle_keep_alive_connection_is_closed_without_a_byte) {
  start(IDLE_MS, false);
  int fd = conn();
  uint64_t t0 = now_us(); /* before the request: its arrival starts the idle time */
  cr_assert_eq(hc_ask(fd, HC_GET("/")).status, 200);
  expect_silent_close(fd, t0, IDLE_MS);
  close(fd);
  /* One that never sent a byte too. */
  t0 = now_us();
  fd = conn();
  expect_silent_close(fd, t0, IDLE_MS);
  close(fd);
}

Test(http_limits, a_busy_connection_is_never_timed_out) {
  start(IDLE_MS, false);
  int fd = conn();
  uint64_t start = now_us();
  int n = 0;
  while (ms_since(start) < 4 * IDLE_MS) {
    hc_answer_t a = hc_ask(fd, HC_GET("/stats"));
    cr_assert_eq(a.status, 200, "request %d, %llu ms in, not answered", n, (unsigned long long)ms_since(start));
    n++;
    usleep(150000);
  }
  cr_expect_geq(n, 10);
  close(fd);
}

Test(http_limits, a_head_too_large_gets_431_after_what_was_pipelined_before) {
  start(IDLE_MS, false);
  int fd = conn();
  /* Under the limit: answered, and the connection stays. */
  char* fits = big_request(MAX_HEADER_BYTES - 100);
  cr_expect_eq(hc_ask(fd, fits).status, 200);
  free(fits);
  expect_431_after_200(fd, "1.0.0");
  close(fd);
  /* A head sent in pieces is counted across them. */
  fd = conn();
  char* big = big_request(2000);
  cr_assert(tc_send(fd, big, 700));
  usleep(50000);
  cr_assert(tc_send(fd, big + 700, 700));
  free(big);
  char got[4096];
  cr_assert(read_to_eof(fd, got, sizeof(got)));
  cr_expect_eq(strncmp(got, "HTTP/1.1 431 ", 13), 0, "%s", got);
  close(fd);
}

/* After a release change to vsn: a connection that began a request
 * before the change, and goes on with it after, gets its 408 from vsn; a
 * connection from before the change and a new one still get 431; a new
 * idle one is closed silently. */
static void expect_limits_across(const char* change, const char* vsn) {
  int half = conn(), old = conn();
  cr_assert_eq(hc_ask(old, HC_GET("/")).status, 200);
  cr_assert(hc_send(half, "GET / HTTP/1.1\r\n"));
  cr_assert_eq(ct_json_ok(change), 0, "molt %s failed", change);
  uint64_t t0 = now_us();
  cr_assert(hc_send(half, "Host: x\r\n")); /* progress: the timer set before the change must see it */
  uint64_t t1 = now_us();
  int fresh = conn(), idle = conn();
  expect_431_after_200(old, vsn);
  expect_431_after_200(fresh, vsn);
  expect_408(half, t0, CHANGE_IDLE_MS, vsn);
  expect_silent_close(idle, t1, CHANGE_IDLE_MS);
  close(half);
  close(old);
  close(fresh);
  close(idle);
}

Test(http_limits, the_limits_hold_across_upgrade_and_rollback) {
  start(CHANGE_IDLE_MS, true);
  expect_limits_across("upgrade 2.0.0", "2.0.0");
  expect_limits_across("rollback", "1.0.0");
}
