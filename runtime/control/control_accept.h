/* control_accept.h: taking connections off the control socket's listener
 * by hand rather than through libuv's uv_listen, so that the one the fd
 * table has no room for is answered, not dropped: libuv closes such
 * connections unseen, and every `molt` command then got "closed the
 * connection without a reply" while the container logged nothing. Not the
 * connections themselves (control_conn.c). */
#ifndef MOLT_CONTROL_CONTROL_ACCEPT_H
#define MOLT_CONTROL_CONTROL_ACCEPT_H

#include <stdbool.h>

#include <uv.h>

#include "control_conn.h"

typedef struct molt__control_acceptor {
  uv_poll_t readable; /* the listener has connections waiting */
  uv_timer_t resume;  /* watch it again after a pause (no spare fd) */
  int listen_fd;
  int spare_fd;           /* held to be given up for one accept when the table is full; -1: none */
  bool full;              /* in a spell of a full fd table */
  unsigned long refused;  /* connections answered "full" in this spell */
  molt__control_conf_t* conf;
} molt__control_acceptor_t;

/* Listen on listener's bound socket (backlog) and serve what arrives, on
 * loop (the control thread's). 0, or a libuv error with the handles it
 * opened already closing (the loop's next run ends them). */
int molt__control_accept_start(molt__control_acceptor_t* a, uv_loop_t* loop, uv_pipe_t* listener, int backlog,
                               molt__control_conf_t* conf);

/* Close the acceptor's handles (before the listener's) and its spare fd.
 * Control thread. */
void molt__control_accept_close(molt__control_acceptor_t* a);

#endif
