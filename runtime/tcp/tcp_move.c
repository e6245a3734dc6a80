/* tcp_move.c: a connection follows its owner to the owner's scheduler, so
 * that its reads and writes run on the thread that handles them instead
 * of costing two hops between threads each. Not who owns what
 * (tcp_owner.c).
 *
 * A uv handle belongs to one loop, so a move is a new handle on the new
 * loop for the same socket:
 *   1. the old loop stops reading and holds new writes (moving) until the
 *      writes in progress end, since closing a handle cancels them;
 *   2. it duplicates the fd, gives the receive buffer, the held writes and
 *      the flow-control state to a new sock that is not yet started,
 *      points the slot at it, posts the attach to the new loop, and only
 *      then says in the slot that the socket lives there: a task posted by
 *      anyone who saw that lands after the attach;
 *   3. it closes its handle (the duplicate keeps the connection open);
 *   4. the new loop opens a handle on the duplicate, issues the held
 *      writes in order and reads again.
 * Tasks that reach the old loop afterwards follow the socket
 * (molt__tcp_here), and writes carry their place in line, so nothing is
 * lost or reordered. A move that cannot be made (no descriptor for the
 * duplicate, no memory) leaves the socket where it is, working as before.
 * Listeners do not move. */
#include <fcntl.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

static void task_attach(void* arg) {
  sock_t* s = arg;
  molt_sched_t* here = molt__sched_current();
  if (!here || s->closing) {
    /* Closed on the way (a stopping scheduler), or run off every loop at
     * a stop: nothing was opened, so close what the move carried. */
    close(s->fd);
    molt__tcp_drop_held(s);
    molt__free(s->rbuf);
    if (here) molt__tcp_slot_free(s->slot); /* off every loop, at a stop, the table goes whole */
    molt__free(s);
    return;
  }
  uv_tcp_init(&here->loop, &s->tcp);
  s->tcp.data = s;
  s->handles = 1;
  int rc = uv_tcp_open(&s->tcp, s->fd);
  s->fd = -1;
  s->started = true;
  if (rc) {
    molt__log_error("tcp: moving a connection to scheduler %u: %s; closing it", here->id, uv_strerror(rc));
    molt__tcp_peer_done(s, rc);
    return;
  }
  molt__tcp_issue_writes(s);
  if (!s->closing) molt__tcp_pump(s);
}

/* The new loop's sock: everything the connection carries but its handle. */
static sock_t* carry(sock_t* s, int fd) {
  sock_t* n = molt__calloc(1, sizeof(*n));
  if (!n) return NULL;
  n->slot = s->slot;
  n->h = s->h;
  n->fd = fd;
  n->rbuf = s->rbuf;
  n->rlen = s->rlen;
  n->rcap = s->rcap;
  n->reason = s->reason;
  n->held = s->held;
  n->next_seq = s->next_seq;
  n->in_flight = s->in_flight;
  n->peer_done = s->peer_done;
  n->write_paused = s->write_paused;
  n->write_failed = s->write_failed;
  n->close_wanted = s->close_wanted;
  s->rbuf = NULL;
  s->rlen = s->rcap = 0;
  s->held = NULL;
  return n;
}

static void stay(sock_t* s) {
  s->moving = false;
  molt__tcp_issue_writes(s);
  molt__tcp_pump(s);
}

void molt__tcp_move_on(sock_t* s) {
  molt__tcp_slot_t* slot = s->slot;
  molt_sched_t* home = atomic_load(&slot->home);
  if (s->closing) return;
  /* Handed back meanwhile, or the owner's scheduler is stopping (and may
   * take no more tasks): the socket stays. */
  if (home == molt__sched_current() || atomic_load(&home->stopping)) {
    stay(s);
    return;
  }
  uv_os_fd_t fd;
  int dup = uv_fileno((uv_handle_t*)&s->tcp, &fd) == 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  sock_t* n = dup >= 0 ? carry(s, dup) : NULL;
  if (!n || molt__sched_post(home, task_attach, n) != 0) {
    if (n) { /* give everything back */
      s->rbuf = n->rbuf, s->rlen = n->rlen, s->rcap = n->rcap, s->held = n->held;
      molt__free(n);
    }
    if (dup >= 0) close(dup);
    stay(s);
    return;
  }
  slot->sock = n;
  atomic_store_explicit(&slot->sched, home, memory_order_release);
  s->slot = NULL; /* the slot lives on with n */
  molt__tcp_really_close(s);
}

static void task_move(void* arg) {
  bool followed;
  sock_t* s = molt__tcp_here(arg_handle(arg), task_move, arg, &followed);
  if (!s || !s->started || s->listener || s->closing || s->moving) return;
  if (atomic_load(&s->slot->home) == molt__sched_current()) return;
  s->moving = true;
  molt__tcp_update_reading(s);
  if (s->writes == 0) molt__tcp_move_on(s);
}

void molt__tcp_follow_owner(molt_tcp_t h, molt_sched_t* home) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (!slot || atomic_load(&slot->listener)) return;
  atomic_store(&slot->home, home);
  molt_sched_t* where = atomic_load(&slot->sched);
  if (where != home && !atomic_load(&where->stopping) && molt__sched_post(where, task_move, handle_arg(h)) != 0)
    molt__log_error("tcp: out of memory: a connection stays on scheduler %u", where->id);
}
