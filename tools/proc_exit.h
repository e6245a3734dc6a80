/* proc_exit.h: waiting, with a deadline, for a process that need not be
 * our child to exit: how `molt stop` knows the container is gone, not
 * only its control socket. Not a way to reap or signal it. */
#ifndef MOLT_TOOLS_PROC_EXIT_H
#define MOLT_TOOLS_PROC_EXIT_H

#include <sys/types.h>

typedef struct proc_exit {
  pid_t pid;
  int fd; /* a pidfd, or -1: then kill(pid, 0) and /proc are polled */
} proc_exit_t;

/* Start watching pid. Call it while pid is known to be the process meant
 * (it has just answered): a pidfd then stays bound to that process even
 * if its number is reused later. Never fails; a process already gone is
 * seen as exited by proc_exit_wait. */
void proc_exit_watch(proc_exit_t* w, pid_t pid);

/* 0 once the process has exited (a zombie has: only its parent's wait is
 * missing), MOLT_ETIMEDOUT if it still runs after timeout_ms. */
int proc_exit_wait(proc_exit_t* w, int timeout_ms);

void proc_exit_close(proc_exit_t* w);

#endif
