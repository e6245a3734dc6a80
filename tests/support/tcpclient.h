/* tcpclient.h: a blocking TCP client on 127.0.0.1 for tests of the
 * runtime's sockets (header-only so the plain stress programs can use it
 * too). Every call gives up after a few seconds instead of hanging. */
#ifndef MOLT_TEST_TCPCLIENT_H
#define MOLT_TEST_TCPCLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TC_TIMEOUT_S 5

static inline int tc_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv = {TC_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static inline bool tc_send(int fd, const void* data, size_t n) {
  const char* p = data;
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static inline bool tc_recv(int fd, void* buf, size_t n) {
  char* p = buf;
  while (n) {
    ssize_t r = recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= (size_t)r;
  }
  return true;
}

/* Send s and expect exactly want back. */
static inline bool tc_roundtrip(int fd, const char* s, const char* want) {
  char buf[4096];
  size_t n = strlen(want);
  if (n > sizeof(buf) || !tc_send(fd, s, strlen(s)) || !tc_recv(fd, buf, n)) return false;
  return memcmp(buf, want, n) == 0;
}

/* True when the server closed the connection (EOF or reset) in time. */
static inline bool tc_closed_by_peer(int fd) {
  char c;
  for (;;) {
    ssize_t r = recv(fd, &c, 1, 0);
    if (r == 0) return true;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno == ECONNRESET;
  }
}

#endif
