/* http_test.c: the http module as built, on real sockets, with a real
 * counter as its key store: a request and its answer, pipelining (store
 * requests included) and keep-alive, HTTP/1.0 closing, a malformed request
 * answered 400 and closed, a client gone mid-request while the others are
 * served, a request split across many small writes, the keys, a missing
 * store; then live code changes under an open connection with a request
 * half-read (1.0.0 -> 1.1.0 soft, -> 2.0.0 code_change up, back down), and
 * 2.0.0's code_change called directly on a state holding pipelined input. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "code_load.h"
#include "modules_util.h"
#include "runtime.h"
#include "httpclient.h"
#include "testutil.h"

#include "../../modules/http/http_state.h"

static int port;

static void listen_on(int p, const char* store) {
  char args[128];
  snprintf(args, sizeof(args), "{\"port\":%d,\"store\":\"%s\"}", p, store);
  rt_spawn("http", args);
}

static void setup(void) {
  signal(SIGPIPE, SIG_IGN);
  mu_setup();
  mu_load("counter", "1.1.0");
  mu_load("http", "1.0.0");
  rt_spawn("counter", "{\"name\":\"counter\"}");
  port = tu_free_port();
  listen_on(port, "counter");
}

TestSuite(http, .init = setup, .fini = mu_teardown, .timeout = 60);

/* Send req and read its answer: the test fails if none comes. */
static hc_answer_t ask(int fd, const char* req) {
  hc_answer_t a = hc_ask(fd, req);
  cr_assert_neq(a.status, -1, "no answer to %s", req);
  return a;
}

#define GET HC_GET
#define PUT HC_PUT

Test(http, get_root_answers_with_a_greeting_and_keeps_the_connection) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  for (int i = 0; i < 3; i++) {
    hc_answer_t a = ask(fd, GET("/"));
    cr_expect_eq(a.status, 200);
    cr_expect_str_eq(a.vsn, "1.0.0");
    cr_expect_str_eq(a.body, "hello from molt http 1.0.0\n");
  }
  close(fd);
}

Test(http, pipelined_requests_are_answered_in_order) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  const char* reqs = GET("/nope") PUT("/keys/p", 0) GET("/") GET("/keys/p") PUT("/keys/p", 0) GET("/stats");
  cr_assert(tc_send(fd, reqs, strlen(reqs)));
  hc_answer_t a;
  cr_assert(hc_response(fd, &a));
  cr_expect_eq(a.status, 404);
  cr_assert(hc_response(fd, &a));
  cr_expect_str_eq(a.body, "http 1.0.0: p = 1\n");
  cr_assert(hc_response(fd, &a));
  cr_expect_str_eq(a.body, "hello from molt http 1.0.0\n");
  cr_assert(hc_response(fd, &a));
  cr_expect_str_eq(a.body, "http 1.0.0: p = 1\n");
  cr_assert(hc_response(fd, &a));
  cr_expect_str_eq(a.body, "http 1.0.0: p = 2\n");
  cr_assert(hc_response(fd, &a));
  cr_expect_str_eq(a.body, "http 1.0.0: requests 6\n");
  close(fd);
}

Test(http, http_1_0_closes_after_the_answer) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  hc_answer_t a = ask(fd, "GET / HTTP/1.0\r\n\r\n");
  cr_expect_eq(a.status, 200);
  cr_expect(tc_closed_by_peer(fd));
  close(fd);
}

Test(http, a_malformed_request_gets_400_and_the_others_are_served) {
  int bad = tc_connect(port), good = tc_connect(port);
  cr_assert(bad >= 0 && good >= 0);
  hc_answer_t a = ask(bad, "BLAH\x01 / HTTP/9\r\n\r\n");
  cr_expect_eq(a.status, 400);
  cr_expect(strstr(a.body, "bad request"), "%s", a.body);
  cr_expect(tc_closed_by_peer(bad));
  /* A client gone half-way through its request. */
  int gone = tc_connect(port);
  cr_assert(gone >= 0);
  tc_send(gone, "GET / HTTP/1.1\r\nHo", 18);
  close(gone);
  cr_expect_eq(ask(good, GET("/")).status, 200);
  close(bad);
  close(good);
}

Test(http, a_request_in_one_byte_writes_is_parsed_whole) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  const char* req = "PUT /keys/slow HTTP/1.1\r\nHost: example\r\nContent-Length: 2\r\n\r\n41";
  for (size_t i = 0; req[i]; i++) {
    cr_assert(tc_send(fd, req + i, 1));
    if (i % 8 == 0) usleep(1000);
  }
  hc_answer_t a;
  cr_assert(hc_response(fd, &a));
  cr_expect_str_eq(a.body, "http 1.0.0: slow = 41\n");
  close(fd);
}

Test(http, keys_count_per_key_across_connections) {
  int a = tc_connect(port), b = tc_connect(port);
  cr_assert(a >= 0 && b >= 0);
  cr_expect_str_eq(ask(a, GET("/keys/k1")).body, "http 1.0.0: k1 = 0\n");
  cr_expect_str_eq(ask(a, PUT("/keys/k1", 0)).body, "http 1.0.0: k1 = 1\n");
  cr_expect_str_eq(ask(b, PUT("/keys/k1", 2) "10").body, "http 1.0.0: k1 = 11\n");
  cr_expect_str_eq(ask(b, "POST /keys/k1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n-3").body, "http 1.0.0: k1 = 8\n");
  cr_expect_str_eq(ask(a, GET("/keys/k2")).body, "http 1.0.0: k2 = 0\n");
  cr_expect_str_eq(ask(a, GET("/keys/k1")).body, "http 1.0.0: k1 = 8\n");
  cr_expect_eq(ask(a, GET("/keys/bad%20key")).status, 400);
  cr_expect_eq(ask(a, GET("/keys/")).status, 400);
  cr_expect_eq(ask(a, GET("/keys/0123456789012345678901234567890123")).status, 400);
  cr_expect_eq(ask(a, PUT("/keys/k1", 3) "abc").status, 400);
  cr_expect_eq(ask(a, "DELETE /keys/k1 HTTP/1.1\r\n\r\n").status, 405);
  cr_expect_str_eq(ask(b, GET("/keys/k1")).body, "http 1.0.0: k1 = 8\n", "a refused request changed the count");
  close(a);
  close(b);
}

Test(http, keys_without_a_store_get_503_and_the_connection_goes_on) {
  int p = tu_free_port();
  listen_on(p, "nobody");
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; i++) { /* the listener is spawned: give it a moment */
    fd = tc_connect(p);
    if (fd < 0) usleep(10000);
  }
  cr_assert(fd >= 0);
  hc_answer_t a = ask(fd, GET("/keys/x"));
  cr_expect_eq(a.status, 503);
  cr_expect_eq(ask(fd, GET("/")).status, 200);
  close(fd);
}

/* A request waiting for the store is the store's delay: the idle timeout
 * leaves it alone (here the store, a heartbeat under the store's name,
 * never answers), while an idle connection to the same listener is
 * closed. */
Test(http, a_request_waiting_for_the_store_is_not_idle) {
  mu_load("heartbeat", "1.0.0");
  rt_spawn("heartbeat", "{\"name\":\"silent\"}");
  int p = tu_free_port();
  char args[160];
  snprintf(args, sizeof(args), "{\"port\":%d,\"store\":\"silent\",\"idle_timeout_ms\":300}", p);
  rt_spawn("http", args);
  int waiting = -1;
  for (int i = 0; i < 200 && waiting < 0; i++) {
    waiting = tc_connect(p);
    if (waiting < 0) usleep(10000);
  }
  cr_assert(waiting >= 0);
  int idle = tc_connect(p);
  cr_assert(idle >= 0);
  cr_assert(hc_send(waiting, GET("/keys/x")));
  cr_expect(tc_closed_by_peer(idle), "the idle connection was not closed");
  struct timeval tv = {1, 500000}; /* five timeouts */
  setsockopt(waiting, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char c;
  ssize_t r = recv(waiting, &c, 1, 0);
  cr_expect(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "recv %zd (errno %d): timed out while waiting", r,
            errno);
  close(idle);
  close(waiting);
}

/* Make build/modules/http-<vsn>.so current under the running actors, as
 * `molt load` does: a soft load or code_change (down: back to vsn). */
static void live_load(const char* vsn, bool down) {
  char path[1024], err[512] = "";
  snprintf(path, sizeof(path), "%s/http-%s.so", MOLT_MODULE_DIR, vsn);
  cr_assert(molt__upgrade_begin());
  molt_version_t* v = NULL;
  int rc = molt__code_prepare(path, "http", &v, err, sizeof(err));
  cr_assert_eq(rc, 0, "%s", err);
  molt_load_result_t r;
  rc = molt__code_load_prepared(v, down, NULL, true, molt__now_ns(), &r, err, sizeof(err));
  molt__version_unref(v);
  molt__upgrade_end();
  cr_assert_eq(rc, 0, "load %s: %s", vsn, err);
}

Test(http, a_connection_keeps_its_half_read_request_across_code_changes) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_expect_str_eq(ask(fd, PUT("/keys/live", 0)).body, "http 1.0.0: live = 1\n");

  cr_assert(hc_send(fd, "GET /keys/li"));
  usleep(20000); /* let the actor read it; either way the answer is the same */
  live_load("1.1.0", false);
  hc_answer_t a = ask(fd, "ve HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_expect_str_eq(a.vsn, "1.1.0");
  cr_expect_str_eq(a.body, "{\"vsn\":\"1.1.0\",\"key\":\"live\",\"count\":1}\n");

  cr_assert(hc_send(fd, "PUT /keys/live HTTP/1.1\r\nContent-Length: 1\r\n\r\n"));
  usleep(20000);
  live_load("2.0.0", false);
  a = ask(fd, "5");
  cr_expect_str_eq(a.vsn, "2.0.0");
  cr_expect_str_eq(a.body, "{\"vsn\":\"2.0.0\",\"key\":\"live\",\"count\":6,\"added\":true}\n");
  cr_expect(strstr(a.conn, "requests=3 bytes_in="), "%s", a.conn);
  a = ask(fd, GET("/stats"));
  cr_expect(strstr(a.body, "\"requests\":4,\"bytes_in\":"), "%s", a.body);

  cr_assert(hc_send(fd, "GET /st"));
  usleep(20000);
  live_load("1.1.0", true);
  a = ask(fd, "ats HTTP/1.1\r\n\r\n");
  cr_expect_str_eq(a.vsn, "1.1.0");
  cr_expect_str_eq(a.body, "{\"vsn\":\"1.1.0\",\"requests\":5}\n");
  cr_expect_str_eq(a.conn, "");

  int fresh = tc_connect(port);
  cr_assert(fresh >= 0, "the listener did not survive");
  cr_expect_str_eq(ask(fresh, GET("/")).vsn, "1.1.0");
  close(fresh);
  close(fd);
}

/* A 1.x state as a connection holds it while a request waits for the
 * store with more requests pipelined behind it. */
static http_core_t* waiting_state(const molt_version_t* v1) {
  /* No timer: init runs on the test thread here, outside any actor. */
  http_core_t* c = mu_init(v1, "{\"conn\":12345,\"idle_timeout_ms\":0}");
  c->wait_ref = 77;
  c->wait_put = true;
  snprintf(c->wait_key, sizeof(c->wait_key), "abc");
  c->inbuf = molt_alloc(32);
  memcpy(c->inbuf, "GET / HTTP/1.1\r\n", 16);
  c->in_len = 16;
  c->in_cap = 32;
  c->requests = 9;
  c->idle_timeout_ms = 1234;
  c->max_header_bytes = 567;
  c->last_active_ms = 42;
  c->idle_token = 99;
  c->in_request = true;
  c->head_bytes = 89;
  return c;
}

TestSuite(http_code_change, .init = mu_setup, .fini = mu_teardown, .timeout = 60);

Test(http_code_change, copies_a_waiting_request_and_its_input_both_ways) {
  molt_version_t* v1 = mu_load("http", "1.1.0");
  molt_version_t* v2 = mu_load("http", "2.0.0");
  http_core_t* old = waiting_state(v1);
  void* up = NULL;
  cr_assert_eq(v2->code_change(MOLT_UP, "1.1.0", 1, old, NULL, &up), 0);
  http_core_t* c = up;
  cr_expect_eq(c->wait_ref, 77);
  cr_expect(c->wait_put);
  cr_expect_str_eq(c->wait_key, "abc");
  cr_expect_eq(c->requests, 9);
  cr_expect_eq(c->in_len, 16);
  cr_expect_neq(c->inbuf, old->inbuf, "the new state shares the input buffer");
  cr_expect_eq(memcmp(c->inbuf, "GET / HTTP/1.1\r\n", 16), 0);
  cr_expect_eq(old->in_len, 16, "code_change touched the old state");
  /* The limits and the pending idle timer's token: a timer set by the old
   * code is answered by the new. */
  cr_expect_eq(c->idle_timeout_ms, 1234);
  cr_expect_eq(c->max_header_bytes, 567);
  cr_expect_eq(c->last_active_ms, 42);
  cr_expect_eq(c->idle_token, 99);
  cr_expect(c->in_request);
  cr_expect_eq(c->head_bytes, 89);

  void* down = NULL;
  cr_assert_eq(v2->code_change(MOLT_DOWN, "1.1.0", 1, up, NULL, &down), 0);
  http_core_t* d = down;
  cr_expect_eq(d->wait_ref, 77);
  cr_expect_neq(d->inbuf, c->inbuf);
  cr_expect_eq(memcmp(d->inbuf, "GET / HTTP/1.1\r\n", 16), 0);
  cr_expect_eq(d->idle_token, 99);
  cr_expect_eq(d->max_header_bytes, 567);
  cr_expect(d->in_request);

  void* none = NULL;
  cr_expect_eq(v2->code_change(MOLT_UP, "0.9.0", 3, old, NULL, &none), MOLT_EINVAL);
  cr_expect_null(none);
  v2->free_state(up);
  v1->free_state(down);
  v1->free_state(old);
}
