/* http_release_test.c: a real container running the demo release, whose
 * http service listens on a free port (MOLT_HTTP_PORT, the manifest's
 * "port_env"), driven through the molt command and real sockets on
 * 127.0.0.1: connections opened before an upgrade keep working after it
 * and after a rollback and see each version's answers, a request half-read
 * across both, the per-key counts kept by the counter across its own
 * code_change; clients that misbehave (gone mid-request, malformed, a slow
 * reader with megabytes of answers unread) while the others are served;
 * and molt-http-load checking every answer across upgrade/rollback cycles,
 * with every increment accounted for at the end. No timing assertions. */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "httpclient.h"
#include "testutil.h"

#define REL(v) MOLT_RELEASE_DIR "/demo-" v

static int port;

/* The demo, 1.0.0 running with 1.1.0 and 2.0.0 unpacked, http on port. */
static void start_demo(void) {
  signal(SIGPIPE, SIG_IGN);
  port = tu_free_port();
  char p[16], needle[64];
  snprintf(p, sizeof(p), "%d", port);
  setenv("MOLT_HTTP_PORT", p, 1); /* after ct_setup's 0: this test talks to it */
  ct_start(REL("1.0.0"));
  snprintf(needle, sizeof(needle), "listening on 127.0.0.1:%d", port);
  cr_assert(ct_wait_log(needle, 5000), "the http listener did not start");
  cr_assert_eq(ct_json_ok("unpack '" REL("1.1.0") "'"), 0);
  cr_assert_eq(ct_json_ok("unpack '" REL("2.0.0") "'"), 0);
}

static void release_change(const char* cmd) { cJSON_Delete(ct_json(cmd)); }

static hc_answer_t ask(int fd, const char* req) {
  hc_answer_t a = hc_ask(fd, req);
  cr_assert_neq(a.status, -1, "no answer to %s", req);
  return a;
}

/* Stop the container; the counter's total must be what the drivers sent
 * plus the HTTP increments the clients saw answered. */
static void stop_expect_every_increment(long long http_puts) {
  cr_assert_eq(ct_json_ok("stop"), 0);
  cr_assert_eq(ct_wait_exit(15000), 0);
  char* log = tu_read_file(ct_log, NULL);
  cr_assert(log);
  long long sent = ct_log_sum(log, "driver: terminating", "sent ");
  long long counted = ct_log_sum(log, "counter: terminating", "total ");
  cr_expect_eq(sent + http_puts, counted, "drivers %lld + http %lld != counted %lld:\n%s", sent, http_puts, counted,
               log);
  cr_expect_null(strstr(log, "mismatch on"), "a driver saw a lost message:\n%s", log);
  free(log);
}

TestSuite(http_release, .init = ct_setup, .fini = ct_teardown, .timeout = 120);

Test(http_release, connections_survive_upgrade_and_rollback_and_see_each_version) {
  start_demo();
  int a = tc_connect(port), b = tc_connect(port);
  cr_assert(a >= 0 && b >= 0);
  hc_answer_t r = ask(a, HC_PUT("/keys/it", 0));
  cr_expect_str_eq(r.vsn, "1.0.0");
  cr_expect_str_eq(r.body, "http 1.0.0: it = 1\n");
  cr_assert(hc_send(b, "GET /keys/i")); /* b's request stays half-sent across the soft load */

  release_change("upgrade 1.1.0");
  r = ask(a, HC_PUT("/keys/it", 1) "4");
  cr_expect_str_eq(r.vsn, "1.1.0");
  cr_expect_str_eq(r.body, "{\"vsn\":\"1.1.0\",\"key\":\"it\",\"count\":5}\n");
  r = ask(b, "t HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_expect_str_eq(r.body, "{\"vsn\":\"1.1.0\",\"key\":\"it\",\"count\":5}\n");
  release_change("commit");

  cr_assert(hc_send(b, "PUT /keys/it HTTP/1.1\r\nContent-Length: 2\r\n\r\n1")); /* half a body */
  release_change("upgrade 2.0.0");
  r = ask(b, "0");
  cr_expect_str_eq(r.vsn, "2.0.0");
  cr_expect_str_eq(r.body, "{\"vsn\":\"2.0.0\",\"key\":\"it\",\"count\":15,\"added\":true}\n");
  cr_expect(strstr(r.conn, "requests=2 bytes_in="), "%s", r.conn);
  r = ask(a, HC_GET("/"));
  cr_expect_str_eq(r.body, "hello from molt http 2.0.0 (state v2: per-connection bytes)\n");
  int c = tc_connect(port);
  cr_assert(c >= 0, "the listener did not survive the upgrade");
  cr_expect_str_eq(ask(c, HC_GET("/keys/it")).body, "{\"vsn\":\"2.0.0\",\"key\":\"it\",\"count\":15,\"added\":false}\n");

  cr_assert(hc_send(a, "GET /st"));
  release_change("rollback");
  r = ask(a, "ats HTTP/1.1\r\n\r\n");
  cr_expect_str_eq(r.vsn, "1.1.0");
  cr_expect_str_eq(r.body, "{\"vsn\":\"1.1.0\",\"requests\":4}\n");
  cr_expect_str_eq(r.conn, "");
  const char* want = "{\"vsn\":\"1.1.0\",\"key\":\"it\",\"count\":15}\n";
  cr_expect_str_eq(ask(b, HC_GET("/keys/it")).body, want, "the count did not survive the rollback");
  cr_expect_str_eq(ask(c, HC_GET("/keys/it")).body, want);
  close(a);
  close(b);
  close(c);
  stop_expect_every_increment(15);
}

Test(http_release, misbehaving_clients_cost_the_others_nothing) {
  start_demo();
  int good = tc_connect(port);
  cr_assert(good >= 0);
  /* Gone mid-request, and mid-body: the half PUT must not count. */
  int gone = tc_connect(port);
  cr_assert(gone >= 0);
  cr_assert(hc_send(gone, "GET / HTTP/1.1\r\nHo"));
  close(gone);
  gone = tc_connect(port);
  cr_assert(gone >= 0);
  cr_assert(hc_send(gone, "PUT /keys/half HTTP/1.1\r\nContent-Length: 3\r\n\r\n12"));
  close(gone);
  /* Malformed: 400, then closed. */
  int bad = tc_connect(port);
  cr_assert(bad >= 0);
  hc_answer_t r = ask(bad, "BLAH\x01 / HTTP/9\r\n\r\n");
  cr_expect_eq(r.status, 400);
  cr_expect(tc_closed_by_peer(bad));
  close(bad);
  cr_expect_eq(ask(good, HC_PUT("/keys/good", 0)).status, 200);
  cr_expect_str_eq(ask(good, HC_GET("/keys/half")).body, "http 1.0.0: half = 0\n");
  close(good);
  stop_expect_every_increment(1);
}

/* The slow reader: a thread pipelines N requests on one connection while
 * nobody reads the answers, until the container stops reading it (its
 * write queue is over the high-water mark) and the kernel buffers fill. */
#define SLOW_N 40000
static void* pipeline(void* arg) {
  int fd = *(int*)arg;
  static const char req[] = HC_GET("/");
  char buf[sizeof(req) * 100];
  for (int i = 0; i < 100; i++) memcpy(buf + i * (sizeof(req) - 1), req, sizeof(req) - 1);
  bool ok = true;
  for (int i = 0; i < SLOW_N / 100 && ok; i++) ok = tc_send(fd, buf, (sizeof(req) - 1) * 100);
  return ok ? arg : NULL;
}

/* Read until n answers "200 OK" came (or the connection ends): a stream
 * of identical answers read in big chunks, a status line split between two
 * reads included. */
static int count_ok(int fd, int n) {
  static const char ok[] = "HTTP/1.1 200 OK\r\n";
  const size_t k = sizeof(ok) - 1;
  char buf[65536 + sizeof(ok)];
  size_t keep = 0;
  int seen = 0;
  while (seen < n) {
    ssize_t r = recv(fd, buf + keep, 65536, 0);
    if (r <= 0) break;
    size_t len = keep + (size_t)r;
    for (const char* p = buf; (p = memmem(p, len - (size_t)(p - buf), ok, k)); p += k) seen++;
    keep = len < k - 1 ? len : k - 1; /* a status line may straddle two reads */
    memmove(buf, buf + len - keep, keep);
  }
  return seen;
}

Test(http_release, a_slow_reader_gets_every_answer_and_holds_up_nobody) {
  start_demo();
  int slow = tc_connect(port), other = tc_connect(port);
  cr_assert(slow >= 0 && other >= 0);
  /* The reader reads nothing until the others are served; its answers
   * (about 5.5 MB) are far past what the container queues per connection. */
  struct timeval tv = {60, 0};
  setsockopt(slow, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, pipeline, &slow), 0);
  usleep(200000); /* let it fill what it can; the others must be served either way */
  for (int i = 0; i < 50; i++) cr_expect_eq(ask(other, HC_PUT("/keys/other", 0)).status, 200);
  int fresh = tc_connect(port);
  cr_assert(fresh >= 0);
  cr_expect_eq(ask(fresh, HC_GET("/")).status, 200);
  int answered = count_ok(slow, SLOW_N);
  void* sent = NULL;
  pthread_join(th, &sent);
  cr_expect(sent, "the slow reader could not send its requests");
  cr_expect_eq(answered, SLOW_N);
  close(slow);
  close(other);
  close(fresh);
  stop_expect_every_increment(50);
}

/* molt-http-load, its output into file, running until SIGTERM. */
static pid_t start_load(const char* file) {
  char p[16];
  snprintf(p, sizeof(p), "%d", port);
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    execl(MOLT_BUILD_DIR "/bin/molt-http-load", "molt-http-load", "--port", p, "--conns", "16", "--threads", "1",
          "--secs", "3600", "--put-every", "5", "--versions", "1.1.0,2.0.0", (char*)NULL);
    _exit(127);
  }
  return pid;
}

static long long field(const char* text, const char* key) {
  const char* f = strstr(text, key);
  cr_assert(f, "no %s in: %s", key, text);
  return atoll(f + strlen(key));
}

Test(http_release, every_answer_is_right_across_upgrade_and_rollback_cycles) {
  start_demo();
  release_change("upgrade 1.1.0");
  release_change("commit");
  char file[4096];
  snprintf(file, sizeof(file), "%s/load.txt", ct_home);
  pid_t load = start_load(file);
  usleep(200000);
  for (int i = 0; i < 5; i++) {
    release_change("upgrade 2.0.0");
    release_change("rollback");
  }
  kill(load, SIGTERM);
  int st;
  cr_assert_eq(waitpid(load, &st, 0), load);
  char* out = tu_read_file(file, NULL);
  cr_assert(out);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "molt-http-load: %s", out);
  cr_expect_gt(field(out, " requests="), 0, "%s", out);
  cr_expect_eq(field(out, " failed="), 0, "%s", out);
  cr_expect_eq(field(out, " resets="), 0, "%s", out);
  cr_expect_eq(field(out, " eofs="), 0, "%s", out);
  cr_expect_eq(field(out, " timeouts="), 0, "%s", out);
  long long puts = field(out, " puts=");
  free(out);
  stop_expect_every_increment(puts);
}
