/* control_sock.c: the control socket's path and the dialling shared by the
 * server's stale-socket probe and the client. Not the protocol. */
#include "control_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "errmsg.h"
#include "molt/errno.h"

int molt__control_sockpath(const char* home, char path[MOLT_CONTROL_PATH_MAX], char* err,
                           size_t errlen) {
  if (!home || !*home) return molt__errmsg_set(err, errlen, MOLT_EINVAL, "no home directory given");
  int n = snprintf(path, MOLT_CONTROL_PATH_MAX, "%s/%s", home, MOLT_CONTROL_SOCKET);
  if (n < 0 || (size_t)n >= MOLT_CONTROL_PATH_MAX)
    return molt__errmsg_set(err, errlen, MOLT_ENAMETOOLONG,
                            "%s/%s: path too long for a Unix socket (%d bytes, at most %zu)", home,
                            MOLT_CONTROL_SOCKET, n, MOLT_CONTROL_PATH_MAX - 1);
  return 0;
}

int molt__control_dial(const char* path, uint32_t timeout_ms, int* fd) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t len = strlen(path);
  if (len >= sizeof sa.sun_path) return MOLT_ENAMETOOLONG;
  memcpy(sa.sun_path, path, len);

  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;

  /* A Unix stream connect never "progresses" like TCP: it succeeds, fails,
   * or waits for room in the listener's backlog. A blocking connect with a
   * send timeout bounds that wait (the kernel then says EAGAIN); a
   * non-blocking one would say EAGAIN at once and leave us polling for a
   * state poll(2) cannot report. A zero timeval means forever, hence >= 1. */
  if (timeout_ms == 0) timeout_ms = 1;
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  int rc = 0;
  if (setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    rc = -errno;
    goto fail;
  }
  while (connect(s, (struct sockaddr*)&sa, sizeof sa) != 0) {
    if (errno == EINTR) continue;
    rc = (errno == EAGAIN || errno == EINPROGRESS) ? MOLT_ETIMEDOUT : -errno;
    goto fail;
  }
  int flags = fcntl(s, F_GETFL);
  if (flags < 0 || fcntl(s, F_SETFL, flags | O_NONBLOCK) != 0) {
    rc = -errno;
    goto fail;
  }
  *fd = s;
  return 0;

fail:
  close(s);
  return rc;
}

int molt__control_path_check(const char* path, char* err, size_t errlen) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT) return 0;
    int rc = -errno;
    return molt__errmsg_set(err, errlen, rc, "%s: %s", path, molt_strerror(rc));
  }
  if (!S_ISSOCK(st.st_mode))
    return molt__errmsg_set(err, errlen, MOLT_EEXIST, "%s: exists and is not a socket; not replacing it", path);
  return 0;
}

int molt__control_in_use(const char* home, uint32_t timeout_ms, char* err, size_t errlen) {
  char path[MOLT_CONTROL_PATH_MAX];
  int rc = molt__control_sockpath(home, path, err, errlen);
  if (rc || (rc = molt__control_path_check(path, err, errlen))) return rc;
  int fd;
  rc = molt__control_dial(path, timeout_ms, &fd);
  if (rc == 0) close(fd);
  if (rc == 0 || rc == MOLT_ETIMEDOUT)
    return molt__errmsg_set(err, errlen, MOLT_EADDRINUSE,
                            "%s: another container is running in this home", home);
  if (rc == MOLT_ENOENT || rc == MOLT_ECONNREFUSED) return 0;
  return molt__errmsg_set(err, errlen, rc, "%s: cannot tell whether a container is running: %s",
                          path, molt_strerror(rc));
}
