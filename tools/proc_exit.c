/* proc_exit.c: waiting for another process's exit. A pidfd (Linux 5.3)
 * becomes readable when the process exits and names that process, not
 * its number; where pidfd_open is missing or filtered (old kernels, some
 * seccomp profiles) the number is polled instead. */
#include "proc_exit.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "molt/errno.h"

#define POLL_MS 2

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void proc_exit_watch(proc_exit_t* w, pid_t pid) {
  w->pid = pid;
  w->fd = -1;
#ifdef SYS_pidfd_open
  w->fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (w->fd < 0 && errno == ESRCH) w->pid = 0; /* gone already (and reaped) */
#endif
}

/* kill(pid, 0) succeeds on a zombie, which has exited all the same: its
 * state in /proc says so. */
static bool gone_by_number(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  char path[64], state = 0;
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return errno == ENOENT;
  /* pid (comm) state ...: comm may hold spaces and parentheses, so read
   * the state after the last ')'. */
  char line[512];
  size_t n = fread(line, 1, sizeof(line) - 1, f);
  fclose(f);
  line[n] = '\0';
  for (size_t i = n; i > 0; i--)
    if (line[i - 1] == ')') {
      sscanf(line + i, " %c", &state);
      break;
    }
  return state == 'Z' || state == 'X';
}

int proc_exit_wait(proc_exit_t* w, int timeout_ms) {
  if (w->pid <= 0) return 0;
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (w->fd >= 0) {
      struct pollfd p = {.fd = w->fd, .events = POLLIN};
      int n = poll(&p, 1, left > 0 ? (int)left : 0);
      if (n > 0) return 0;
      if (n < 0 && errno != EINTR) {
        close(w->fd); /* cannot happen with a valid pidfd; carry on by number */
        w->fd = -1;
      }
    } else if (gone_by_number(w->pid)) {
      return 0;
    } else if (left > 0) {
      usleep(POLL_MS * 1000);
    }
    if (left <= 0) return MOLT_ETIMEDOUT;
  }
}

void proc_exit_close(proc_exit_t* w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
}
