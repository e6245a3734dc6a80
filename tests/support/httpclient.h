/* httpclient.h: just enough HTTP/1.1 client, over tcpclient.h, to test the
 * demo's http module: send a request, read one answer (status, the
 * X-Molt-Version and X-Molt-Conn headers, a Content-Length body).
 * Header-only, like tcpclient.h. */
#ifndef MOLT_TEST_HTTPCLIENT_H
#define MOLT_TEST_HTTPCLIENT_H

#include <stdio.h>
#include <stdlib.h>

#include "tcpclient.h"

typedef struct {
  int status;
  char vsn[16];  /* X-Molt-Version */
  char conn[96]; /* X-Molt-Conn (2.0.0), "" if absent */
  char body[512];
} hc_answer_t;

static inline void hc_header(const char* head, const char* name, char* out, size_t len) {
  const char* h = strstr(head, name);
  out[0] = '\0';
  if (!h) return;
  h += strlen(name);
  size_t n = strcspn(h, "\r");
  if (n >= len) n = len - 1;
  memcpy(out, h, n);
  out[n] = '\0';
}

/* Read one answer; false if the connection ended (or timed out) first. */
static inline bool hc_response(int fd, hc_answer_t* a) {
  char head[1024];
  size_t n = 0;
  memset(a, 0, sizeof(*a));
  while (n < sizeof(head) - 1) {
    if (!tc_recv(fd, head + n, 1)) return false;
    n++;
    if (n >= 4 && memcmp(head + n - 4, "\r\n\r\n", 4) == 0) break;
  }
  head[n] = '\0';
  if (sscanf(head, "HTTP/1.1 %d", &a->status) != 1) return false;
  char cl[32];
  hc_header(head, "Content-Length: ", cl, sizeof(cl));
  hc_header(head, "X-Molt-Version: ", a->vsn, sizeof(a->vsn));
  hc_header(head, "X-Molt-Conn: ", a->conn, sizeof(a->conn));
  size_t blen = strtoul(cl, NULL, 10);
  if (blen >= sizeof(a->body) || !tc_recv(fd, a->body, blen)) return false;
  a->body[blen] = '\0';
  return true;
}

static inline bool hc_send(int fd, const char* s) { return tc_send(fd, s, strlen(s)); }

/* Send req and read its answer; status -1 if none came. */
static inline hc_answer_t hc_ask(int fd, const char* req) {
  hc_answer_t a;
  if (!hc_send(fd, req) || !hc_response(fd, &a)) a.status = -1;
  return a;
}

#define HC_GET(path) "GET " path " HTTP/1.1\r\nHost: x\r\n\r\n"
#define HC_PUT(path, body) "PUT " path " HTTP/1.1\r\nHost: x\r\nContent-Length: " #body "\r\n\r\n"

#endif
