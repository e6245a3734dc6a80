/* tcp_deliver.c: what a socket's owner sees next: DATA from the receive
 * buffer when none is in flight, CLOSED once the peer is done and every
 * byte was handled. Also where a socket lives (its loop) and the peaks
 * tests read. Not reading from the socket (tcp_read.c). */
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

atomic_size_t molt__tcp_peak_queued, molt__tcp_peak_rbuf;

void molt__tcp_raise_peak(atomic_size_t* peak, size_t v) {
  size_t cur = atomic_load_explicit(peak, memory_order_relaxed);
  while (v > cur && !atomic_compare_exchange_weak(peak, &cur, v)) {
  }
}

void molt__tcp_peaks(molt__tcp_peaks_t* out) {
  out->queued = atomic_load(&molt__tcp_peak_queued);
  out->rbuf = atomic_load(&molt__tcp_peak_rbuf);
}

void molt__tcp_peaks_reset(void) {
  atomic_store(&molt__tcp_peak_queued, 0);
  atomic_store(&molt__tcp_peak_rbuf, 0);
}

sock_t* molt__tcp_here(molt_tcp_t h, void (*task)(void*), void* arg, bool* followed) {
  *followed = false;
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (!slot) return NULL;
  molt_sched_t* where = atomic_load(&slot->sched);
  if (where == molt__sched_current()) return slot->sock;
  /* The socket moved on (tcp_move.c) after the task was posted: follow it.
   * At a stop the task may run off every loop; then it is dropped. */
  if (molt__sched_current() && molt__sched_post(where, task, arg) == 0) *followed = true;
  return NULL;
}

int molt__tcp_run_on(molt__tcp_slot_t* slot, void (*fn)(void*), void* arg) {
  molt_sched_t* s = atomic_load(&slot->sched);
  if (s == molt__sched_current()) {
    fn(arg);
    return 0;
  }
  return molt__sched_post(s, fn, arg);
}

int molt__tcp_deliver(sock_t* s, uint32_t kind, const void* data, size_t size, int reason) {
  molt__msg_t* m = molt__msg_new(kind, 0, data, size);
  if (!m) return MOLT_ENOMEM;
  m->pub.ref = s->h;
  m->pub.reason = reason;
  molt__deliver(atomic_load(&s->slot->owner), m);
  return 0;
}

static void push(sock_t* s);

/* May the owner get DATA now? Not while one is in flight, and, while the
 * peer is not reading our answers, not at all: the owner would only
 * answer into the queue. */
static bool may_deliver(const sock_t* s) {
  return !s->in_flight && !s->closing && !(s->write_paused && !s->write_failed);
}

bool molt__tcp_deliver_now(sock_t* s, const char* data, size_t n) {
  if (s->rlen || !may_deliver(s) || molt__tcp_deliver(s, MOLT_MSG_TCP_DATA, data, n, 0) != 0) return false;
  s->in_flight = true;
  return true;
}

/* Deliver what may be delivered, and read if reading is allowed. */
void molt__tcp_pump(sock_t* s) {
  molt__tcp_update_reading(s);
  push(s);
  molt__tcp_update_reading(s);
}

/* Send what the owner should see next: the buffered bytes if no DATA is
 * in flight, else nothing; once the peer is done and every byte has been
 * handled, CLOSED, and the socket goes. */
static void push(sock_t* s) {
  if (!may_deliver(s)) return;
  if (s->rlen) {
    if (molt__tcp_deliver(s, MOLT_MSG_TCP_DATA, s->rbuf, s->rlen, 0) != 0) {
      s->peer_done = true;
      s->reason = MOLT_ENOMEM;
      s->rlen = 0;
      molt__log_error("tcp: out of memory delivering data; closing the connection");
      push(s);
      return;
    }
    s->in_flight = true;
    s->rlen = 0;
    /* Idle connections should not keep a read buffer. */
    molt__free(s->rbuf);
    s->rbuf = NULL;
    s->rcap = 0;
    return;
  }
  if (s->peer_done) {
    molt__tcp_deliver(s, MOLT_MSG_TCP_CLOSED, NULL, 0, s->reason);
    molt__tcp_begin_close(s, !s->write_failed);
  }
}

/* Writing failed: the peer is gone. Queued answers no longer hold back
 * delivery, and the close will not wait for them. */
void molt__tcp_write_failed(sock_t* s, int err) {
  s->write_failed = true;
  if (!s->peer_done) {
    s->peer_done = true;
    s->reason = err;
  }
  molt__tcp_pump(s);
}

/* The peer side is finished (EOF or an error): deliver what is left, then
 * CLOSED. */
void molt__tcp_peer_done(sock_t* s, int reason) {
  if (s->closing || s->peer_done) return;
  s->peer_done = true;
  s->reason = reason;
  molt__tcp_pump(s);
}
