/* http_server_test.c: the runtime-owned HTTP listener on its own: the
 * handler's answer, 404/405/400/431, HEAD, the connection bound, and a
 * port in use. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_server.h"
#include "molt/errno.h"
#include "tcpclient.h"

static void handler(const char* path, molt_http_reply_t* r, void* data) {
  (void)data;
  if (strcmp(path, "/hello") != 0) return; /* 404, no body */
  r->status = 200;
  r->body = strdup("hi\n");
  r->len = 3;
}

static molt_http_server_t* srv;

static void start(void) {
  char err[256];
  cr_assert_eq(molt__http_start("127.0.0.1:0", handler, NULL, &srv, err, sizeof err), 0, "%s", err);
}

static void stop(void) { molt__http_stop(srv); }

TestSuite(http_server, .init = start, .fini = stop, .timeout = 20);

/* Send req, read the whole answer (the server closes after it). */
static char* ask(const char* req, size_t len) {
  int fd = tc_connect((int)molt__http_port(srv));
  cr_assert_geq(fd, 0);
  tc_send(fd, req, len);
  char* buf = calloc(1, 4096);
  size_t n = 0;
  ssize_t r;
  while (n < 4095 && (r = recv(fd, buf + n, 4095 - n, 0)) > 0) n += (size_t)r;
  close(fd);
  return buf;
}

static char* ask_str(const char* req) { return ask(req, strlen(req)); }

Test(http_server, answers_get_with_the_handlers_body) {
  char* a = ask_str("GET /hello?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  cr_expect(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", a);
  cr_expect(strstr(a, "Content-Length: 3\r\n"));
  cr_expect(strstr(a, "Connection: close\r\n"));
  cr_expect(strstr(a, "\r\n\r\nhi\n"));
  free(a);
}

Test(http_server, head_has_no_body) {
  char* a = ask_str("HEAD /hello HTTP/1.1\r\n\r\n");
  cr_expect(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", a);
  cr_expect(strstr(a, "Content-Length: 3\r\n"));
  cr_expect_str_eq(strstr(a, "\r\n\r\n"), "\r\n\r\n");
  free(a);
}

Test(http_server, refuses_with_the_right_status) {
  char* a = ask_str("GET /nope HTTP/1.1\r\n\r\n");
  cr_expect(strncmp(a, "HTTP/1.1 404 ", 13) == 0, "%s", a);
  free(a);
  a = ask_str("DELETE /hello HTTP/1.1\r\n\r\n");
  cr_expect(strncmp(a, "HTTP/1.1 405 ", 13) == 0, "%s", a);
  cr_expect(strstr(a, "Allow: GET, HEAD\r\n"));
  free(a);
  a = ask_str("NOT HTTP AT ALL\r\n\r\n");
  cr_expect(strncmp(a, "HTTP/1.1 400 ", 13) == 0, "%s", a);
  free(a);
  size_t big = MOLT_HTTP_MAX_REQUEST + 4096;
  char* req = malloc(big);
  memset(req, 'a', big);
  memcpy(req, "GET /hello HTTP/1.1\r\nX: ", 24);
  a = ask(req, big);
  cr_expect(strncmp(a, "HTTP/1.1 431 ", 13) == 0, "%s", a);
  free(a);
  free(req);
}

Test(http_server, connections_beyond_the_bound_are_closed) {
  int fds[MOLT_HTTP_MAX_CONNS];
  for (unsigned i = 0; i < MOLT_HTTP_MAX_CONNS; i++) cr_assert_geq(fds[i] = tc_connect((int)molt__http_port(srv)), 0);
  usleep(100000); /* all accepted */
  int extra = tc_connect((int)molt__http_port(srv));
  cr_assert_geq(extra, 0);
  cr_expect(tc_closed_by_peer(extra));
  close(extra);
  for (unsigned i = 0; i < MOLT_HTTP_MAX_CONNS; i++) close(fds[i]);
  usleep(100000);
  char* a = ask_str("GET /hello HTTP/1.1\r\n\r\n");
  cr_expect(strncmp(a, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", a);
  free(a);
}

Test(http_server, port_in_use_and_bad_address) {
  char addr[64], err[256];
  snprintf(addr, sizeof addr, "127.0.0.1:%u", molt__http_port(srv));
  molt_http_server_t* other;
  cr_expect_eq(molt__http_start(addr, handler, NULL, &other, err, sizeof err), MOLT_EADDRINUSE, "%s", err);
  cr_expect_eq(molt__http_start("localhost:80", handler, NULL, &other, err, sizeof err), MOLT_EINVAL);
  struct sockaddr_storage ss;
  cr_expect_eq(molt__http_addr_parse("[::1]:9100", &ss), 0);
  cr_expect_eq(molt__http_addr_parse("127.0.0.1:65536", &ss), MOLT_EINVAL);
  cr_expect_eq(molt__http_addr_parse("127.0.0.1:", &ss), MOLT_EINVAL);
  cr_expect_eq(molt__http_addr_parse("127.0.0.1:-1", &ss), MOLT_EINVAL);
}
