/* http_test.c: the http module as built, on real sockets: a request and
 * its answer, pipelining and keep-alive, HTTP/1.0 closing, a malformed
 * request answered 400 and closed, a client gone mid-request while the
 * others are served, and a request split across many small writes. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "modules_util.h"
#include "tcpclient.h"

static int port;

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  cr_assert(bind(fd, (struct sockaddr*)&sa, sizeof(sa)) == 0);
  getsockname(fd, (struct sockaddr*)&sa, &len);
  close(fd);
  return ntohs(sa.sin_port);
}

static void setup(void) {
  signal(SIGPIPE, SIG_IGN);
  mu_setup();
  mu_load("http", "1.0.0");
  port = free_port();
  char args[64];
  snprintf(args, sizeof(args), "{\"port\":%d}", port);
  rt_spawn("http", args);
}

TestSuite(http, .init = setup, .fini = mu_teardown, .timeout = 60);

/* Read one response: its status and body (into body, NUL-terminated). */
static int response(int fd, char* body, size_t len) {
  char head[1024];
  size_t n = 0;
  while (n < sizeof(head) - 1) {
    if (!tc_recv(fd, head + n, 1)) return -1;
    n++;
    if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0) break;
  }
  head[n] = '\0';
  int status = 0;
  if (sscanf(head, "HTTP/1.1 %d", &status) != 1) return -1;
  const char* cl = strstr(head, "Content-Length: ");
  size_t blen = cl ? strtoul(cl + 16, NULL, 10) : 0;
  if (blen >= len || !tc_recv(fd, body, blen)) return -1;
  body[blen] = '\0';
  return status;
}

Test(http, get_root_answers_with_a_greeting_and_keeps_the_connection) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  char body[256];
  for (int i = 0; i < 3; i++) {
    cr_assert(tc_send(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27));
    cr_expect_eq(response(fd, body, sizeof(body)), 200);
    cr_expect_str_eq(body, "hello from molt (http 1.0.0)\n");
  }
  close(fd);
}

Test(http, pipelined_requests_are_answered_in_order) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  const char* reqs = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n";
  cr_assert(tc_send(fd, reqs, strlen(reqs)));
  char body[256];
  cr_expect_eq(response(fd, body, sizeof(body)), 404);
  cr_expect_eq(response(fd, body, sizeof(body)), 200);
  cr_expect_eq(response(fd, body, sizeof(body)), 200);
  cr_expect_str_eq(body, "requests 3\n");
  close(fd);
}

Test(http, http_1_0_closes_after_the_answer) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  cr_assert(tc_send(fd, "GET / HTTP/1.0\r\n\r\n", 18));
  char body[256];
  cr_expect_eq(response(fd, body, sizeof(body)), 200);
  cr_expect(tc_closed_by_peer(fd));
  close(fd);
}

Test(http, a_malformed_request_gets_400_and_the_others_are_served) {
  int bad = tc_connect(port), good = tc_connect(port);
  cr_assert(bad >= 0 && good >= 0);
  cr_assert(tc_send(bad, "BLAH\x01 / HTTP/9\r\n\r\n", 18));
  char body[256];
  cr_expect_eq(response(bad, body, sizeof(body)), 400);
  cr_expect(strstr(body, "bad request"), "%s", body);
  cr_expect(tc_closed_by_peer(bad));
  /* A client gone half-way through its request. */
  int gone = tc_connect(port);
  cr_assert(gone >= 0);
  tc_send(gone, "GET / HTTP/1.1\r\nHo", 18);
  close(gone);
  cr_assert(tc_send(good, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27));
  cr_expect_eq(response(good, body, sizeof(body)), 200);
  close(bad);
  close(good);
}

Test(http, a_request_in_one_byte_writes_is_parsed_whole) {
  int fd = tc_connect(port);
  cr_assert(fd >= 0);
  const char* req = "GET /stats HTTP/1.1\r\nHost: example\r\n\r\n";
  for (size_t i = 0; req[i]; i++) {
    cr_assert(tc_send(fd, req + i, 1));
    if (i % 8 == 0) usleep(1000);
  }
  char body[256];
  cr_expect_eq(response(fd, body, sizeof(body)), 200);
  cr_expect_str_eq(body, "requests 1\n");
  close(fd);
}
