/* tcp_close.c: closing a socket on its loop, gracefully (queued writes
 * get LINGER_MS to reach the peer) or at once, and every socket of a
 * stopping scheduler. Not who asks for a close (tcp_owner.c, the API). */
#include <sys/socket.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

/* How long a close waits for queued writes to reach a peer that does not
 * read, before giving up on them. */
#define LINGER_MS 5000

static void on_handle_closed(uv_handle_t* h) {
  sock_t* s = h->data;
  if (--s->handles) return;
  molt__tcp_drop_held(s);
  molt__free(s->rbuf);
  if (s->slot) molt__tcp_slot_free(s->slot);
  molt__free(s);
}

void molt__tcp_really_close(sock_t* s) {
  if (uv_is_closing((uv_handle_t*)&s->tcp)) return;
  if (s->lingering) {
    uv_timer_stop(&s->linger);
    uv_close((uv_handle_t*)&s->linger, on_handle_closed);
  }
  uv_close((uv_handle_t*)&s->tcp, on_handle_closed);
}

static void on_linger(uv_timer_t* t) { molt__tcp_really_close(t->data); }

/* graceful: give queued writes LINGER_MS to reach the peer. A second,
 * forced close of a lingering socket ends the wait. */
void molt__tcp_begin_close(sock_t* s, bool graceful) {
  if (s->closing) {
    if (!graceful && s->started) molt__tcp_really_close(s);
    return;
  }
  s->closing = true;
  atomic_store(&s->slot->state, MOLT__TCP_CLOSING);
  /* A listener its actor has yet to start (start_in_actor) or a
   * connection on its way to another loop (tcp_move.c): it closes there. */
  if (!s->started) return;
  if (s->listener) {
    /* Shutting the listening socket down stops it listening in every
     * duplicate at once: a connect from now on is refused, not left in a
     * backlog nobody accepts from. */
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t*)&s->tcp, &fd) == 0) shutdown(fd, SHUT_RD);
    molt__tcp_stop_accepting(s->h);
  }
  if (s->reading) {
    uv_read_stop((uv_stream_t*)&s->tcp);
    s->reading = false;
  }
  molt__free(s->rbuf);
  s->rbuf = NULL;
  s->rlen = s->rcap = 0;
  if (graceful && s->writes > 0) {
    uv_timer_init(s->tcp.loop, &s->linger);
    s->linger.data = s;
    s->handles++;
    s->lingering = true;
    uv_timer_start(&s->linger, on_linger, LINGER_MS, 0);
    return;
  }
  molt__tcp_really_close(s);
}

/* Close once every write issued before has been: some may still be on
 * their way from a loop the socket has left. */
void molt__tcp_task_close(void* arg) {
  bool followed;
  sock_t* s = molt__tcp_here(arg_handle(arg), molt__tcp_task_close, arg, &followed);
  if (!s) return;
  s->close_wanted = true;
  if (s->listener)
    molt__tcp_begin_close(s, true);
  else
    molt__tcp_issue_writes(s);
}

void molt__tcp_request_close(molt_tcp_t h) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (!slot) return;
  /* Always posted: this runs from inside delivery, which must not see its
   * socket closed under it. */
  if (molt__sched_post(atomic_load(&slot->sched), molt__tcp_task_close, handle_arg(h)) != 0)
    molt__log_error("tcp: out of memory: a socket whose owner is gone stays open"); /* XXX(tcp) */
}

static void close_here(molt__tcp_slot_t* slot, void* arg) {
  if (atomic_load(&slot->sched) != arg || atomic_load(&slot->state) == MOLT__TCP_FREE || !slot->sock) return;
  molt__tcp_begin_close(slot->sock, false);
}

void molt__tcp_close_all_here(molt_sched_t* s) {
  molt__tcp_close_acceptors_here();
  molt__tcp_table_foreach(close_here, s);
}
