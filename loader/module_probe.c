/* module_probe.c: the container's side of the module probe: one helper process,
 * started once and again if it dies, asked about each file before the
 * loader maps it. Not the helper's side (module_probe_serve.c). */
#include "module_probe.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"
#include "molt/errno.h"

extern char** environ;

/* On top of the constructor's deadline: the helper's own fork and reply. */
#define REPLY_SLACK_MS 1000

static struct {
  pthread_mutex_t lock;
  char exe[4096];
  bool on;
  pid_t pid; /* the helper, or 0 */
  int fd;    /* our end of its stdin/stdout; -1 */
} pr = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

/* Under the lock. A socket, not pipes: a send to a helper that died fails
 * with EPIPE (MSG_NOSIGNAL) instead of killing the container. */
static int spawn_helper(char* err, size_t errlen) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return molt__errmsg_set(err, errlen, -errno, "module probe: socketpair: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  char* argv[] = {"molt", "__probe", NULL};
  int rc = posix_spawn(&pr.pid, pr.exe, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    pr.pid = 0;
    return molt__errmsg_set(err, errlen, -rc, "module probe: %s: %s", pr.exe, strerror(rc));
  }
  pr.fd = sv[0];
  return 0;
}

static void reap_helper(void) {
  if (pr.fd >= 0) close(pr.fd);
  pr.fd = -1;
  if (pr.pid > 0) {
    kill(pr.pid, SIGKILL);
    waitpid(pr.pid, NULL, 0);
  }
  pr.pid = 0;
}

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* One request and its one-line reply (without the newline). 0, or
 * MOLT_ETIMEDOUT / MOLT_EPIPE (the helper is gone or wedged). */
static int ask(const char* path, char* reply, size_t len) {
  char req[4200];
  int n = snprintf(req, sizeof req, "%s\n", path);
  if (n < 0 || (size_t)n >= sizeof req) return MOLT_ENAMETOOLONG;
  if (send(pr.fd, req, (size_t)n, MSG_NOSIGNAL) != n) return MOLT_EPIPE;
  uint64_t deadline = now_ms() + MOLT_PROBE_DEADLINE_MS + REPLY_SLACK_MS;
  size_t got = 0;
  for (;;) {
    uint64_t now = now_ms();
    if (now >= deadline) return MOLT_ETIMEDOUT;
    struct pollfd p = {pr.fd, POLLIN, 0};
    int r = poll(&p, 1, (int)(deadline - now));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return MOLT_ETIMEDOUT;
    ssize_t k = recv(pr.fd, reply + got, len - 1 - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return MOLT_EPIPE;
    got += (size_t)k;
    reply[got] = '\0';
    char* nl = strchr(reply, '\n');
    if (nl) {
      *nl = '\0';
      return 0;
    }
    if (got == len - 1) return MOLT_EPIPE; /* not our protocol */
  }
}

int molt__probe_start(const char* exe, char* err, size_t errlen) {
  pthread_mutex_lock(&pr.lock);
  snprintf(pr.exe, sizeof pr.exe, "%s", exe);
  int rc = spawn_helper(err, errlen);
  pr.on = rc == 0;
  pthread_mutex_unlock(&pr.lock);
  return rc;
}

void molt__probe_stop(void) {
  pthread_mutex_lock(&pr.lock);
  reap_helper();
  pr.on = false;
  pthread_mutex_unlock(&pr.lock);
}

int molt__probe_check(const char* path, const char* src, char* err, size_t errlen) {
  char reply[1024] = "";
  int rc = 0;
  if (strchr(path, '\n'))
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: a file name with a newline cannot be probed", src);
  pthread_mutex_lock(&pr.lock);
  /* A helper that died or wedged (killed from outside, or a bug) is
   * started again, once per file. */
  for (int attempt = 0; pr.on && attempt < 2; attempt++) {
    if (!pr.pid && (rc = spawn_helper(err, errlen))) break;
    if ((rc = ask(path, reply, sizeof reply)) == 0) break;
    reap_helper();
  }
  bool on = pr.on;
  pthread_mutex_unlock(&pr.lock);
  if (!on) return 0;
  if (rc == MOLT_ETIMEDOUT || rc == MOLT_EPIPE)
    return molt__errmsg_set(err, errlen, MOLT_EPROBE, "%s: the module probe did not answer (%s)", src,
                            molt_strerror(rc));
  if (rc) return rc; /* spawn's, with its message */
  if (strcmp(reply, "ok") == 0) return 0;
  return molt__errmsg_set(err, errlen, MOLT_EPROBE, "%s: %s",  src,
                          strncmp(reply, "error ", 6) == 0 ? reply + 6 : reply);
}
