/* tcp_write.c: molt_tcp_write, molt_tcp_close and molt_tcp_port, the
 * calls an owner makes from any scheduler: a write is copied, counted
 * against the write queue's cap, given its place in line and run on the
 * socket's loop, at once when that is the caller's. Not reading
 * (tcp_read.c). */
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

static void wreq_drop(wreq_t* w) {
  atomic_fetch_sub(&w->slot->queued, w->size);
  molt__free(w);
}

void molt__tcp_drop_held(sock_t* s) {
  while (s->held) {
    wreq_t* w = s->held;
    s->held = w->next;
    wreq_drop(w);
  }
}

static void on_written(uv_write_t* req, int status) {
  wreq_t* w = (wreq_t*)req;
  sock_t* s = req->handle->data;
  wreq_drop(w);
  s->writes--;
  if (s->closing) {
    if (s->writes == 0) molt__tcp_really_close(s);
    return;
  }
  if (status < 0)
    molt__tcp_write_failed(s, status);
  else
    molt__tcp_pump(s);
  if (s->moving && s->writes == 0) molt__tcp_move_on(s);
}

/* With nothing queued in libuv, the write is tried at once: an answer
 * that fits the socket's buffer, the usual case, costs one write(2) and
 * no completion round, whose bookkeeping costs libuv an epoll_ctl per
 * write. What does not fit is queued as before. */
static size_t try_now(sock_t* s, wreq_t* w) {
  if (s->writes) return 0;
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->size);
  int n = uv_try_write((uv_stream_t*)&s->tcp, &buf, 1);
  if (n >= 0) return (size_t)n;
  if (n != UV_EAGAIN) {
    molt__tcp_write_failed(s, n);
    return w->size; /* the peer is gone: nothing more to write */
  }
  return 0;
}

static void issue(sock_t* s, wreq_t* w) {
  s->next_seq++;
  if (s->closing) {
    wreq_drop(w);
    return;
  }
  size_t done = try_now(s, w);
  if (done == w->size || s->closing) {
    wreq_drop(w);
    return;
  }
  uv_buf_t buf = uv_buf_init(w->data + done, (unsigned)(w->size - done));
  int rc = uv_write(&w->req, (uv_stream_t*)&s->tcp, &buf, 1, on_written);
  if (rc) {
    wreq_drop(w);
    molt__tcp_write_failed(s, rc);
    return;
  }
  s->writes++;
}

/* Writes normally arrive in order and leave at once; only around a move
 * may one arrive ahead of its turn. Places wrap at 2^32: compare them by
 * their distance from the next to issue. */
static void hold(sock_t* s, wreq_t* w) {
  wreq_t** at = &s->held;
  while (*at && (uint32_t)((*at)->seq - s->next_seq) < (uint32_t)(w->seq - s->next_seq)) at = &(*at)->next;
  w->next = *at;
  *at = w;
}

/* Every write the owners issued before the close has been: the socket
 * may close (the close itself still lets them reach the peer). */
static bool writes_all_issued(sock_t* s) { return s->next_seq == (uint32_t)atomic_load(&s->slot->wseq); }

void molt__tcp_issue_writes(sock_t* s) {
  if (!s->started || s->moving) return;
  while (s->held && s->held->seq == s->next_seq) {
    wreq_t* w = s->held;
    s->held = w->next;
    issue(s, w);
  }
  if (s->close_wanted && !s->closing && writes_all_issued(s)) {
    molt__tcp_begin_close(s, true);
    return;
  }
  molt__tcp_update_reading(s);
}

static void task_write(void* arg) {
  wreq_t* w = arg;
  bool followed;
  sock_t* s = molt__tcp_here(w->h, task_write, w, &followed);
  if (followed) return;
  if (!s || s->closing) {
    wreq_drop(w);
    return;
  }
  hold(s, w);
  molt__tcp_issue_writes(s);
}

int molt__tcp_owned_slot(molt_tcp_t h, molt__tcp_slot_t** out) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (!slot || atomic_load(&slot->state) != MOLT__TCP_OPEN) return MOLT_ENOTCONN;
  if (atomic_load(&slot->owner) != molt__actor_pid(a)) return MOLT_EPERM;
  *out = slot;
  return 0;
}

/* The owner runs on the socket's loop and nothing waits before this
 * write: write from the caller's buffer at once, with no copy. How much
 * went out, or -1 when the write must take the queued way. */
static ssize_t write_directly(molt__tcp_slot_t* slot, molt_tcp_t conn, const void* data, size_t size) {
  /* Acquire: a move sets sock before it says the socket lives here. */
  if (atomic_load_explicit(&slot->sched, memory_order_acquire) != molt__sched_current()) return -1;
  sock_t* s = slot->sock;
  if (!s || !s->started || s->moving || s->closing || s->held || s->writes) return -1;
  /* Writes on their way here from a loop the socket left go first. */
  if ((uint32_t)atomic_load(&slot->wseq) != s->next_seq) return -1;
  uint32_t seq;
  if (molt__tcp_slot_next_write(slot, conn, &seq) != 0) return -1; /* a dead handle: the queued way says so */
  s->next_seq++;
  uv_buf_t buf = uv_buf_init((char*)data, (unsigned)size);
  int n = uv_try_write((uv_stream_t*)&s->tcp, &buf, 1);
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) {
    molt__tcp_write_failed(s, n); /* the owner hears of it as CLOSED */
    return (ssize_t)size;
  }
  return n;
}

int molt_tcp_write(molt_tcp_t conn, const void* data, size_t size) {
  molt__tcp_slot_t* slot;
  int rc = molt__tcp_owned_slot(conn, &slot);
  if (rc) return rc;
  if (atomic_load(&slot->listener)) return MOLT_EINVAL;
  if (size == 0) return 0;
  if (!data || size > MOLT_TCP_WRITE_MAX) return size ? MOLT_ENOBUFS : MOLT_EINVAL;
  ssize_t direct = write_directly(slot, conn, data, size);
  if (direct == (ssize_t)size) return 0;
  if (direct > 0) {
    data = (const char*)data + direct;
    size -= (size_t)direct;
  }
  size_t before = atomic_fetch_add(&slot->queued, size);
  if (before + size > MOLT_TCP_WRITE_MAX) { /* never after a direct start: its queue was empty */
    atomic_fetch_sub(&slot->queued, size);
    return MOLT_ENOBUFS;
  }
  molt__tcp_raise_peak(&molt__tcp_peak_queued, before + size);
  wreq_t* w = molt__alloc(sizeof(*w) + size);
  if (!w) {
    atomic_fetch_sub(&slot->queued, size);
    if (direct >= 0) molt__tcp_request_close(conn); /* part of it went out: the stream cannot go on */
    return MOLT_ENOMEM;
  }
  w->slot = slot;
  w->h = conn;
  w->size = size;
  w->next = NULL;
  memcpy(w->data, data, size);
  if (direct >= 0) {
    /* The rest of a write begun at once keeps its place: first in line. */
    w->seq = slot->sock->next_seq - 1;
    slot->sock->next_seq--;
    task_write(w);
    return 0;
  }
  rc = molt__tcp_slot_next_write(slot, conn, &w->seq);
  if (rc) {
    wreq_drop(w);
    return rc;
  }
  uint32_t seq = w->seq;
  rc = molt__tcp_run_on(slot, task_write, w);
  if (rc) {
    /* A place in line that no write fills would hold back every later
     * one: give it back. Only the owner takes places, so it is the last. */
    wreq_drop(w);
    molt__tcp_slot_give_back(slot, conn, seq);
  }
  return rc;
}

int molt_tcp_close(molt_tcp_t handle) {
  molt__tcp_slot_t* slot;
  int rc = molt__tcp_owned_slot(handle, &slot);
  if (rc) return rc;
  /* Writes after this return ENOTCONN at once, not when the loop gets to
   * the close. */
  uint8_t open = MOLT__TCP_OPEN;
  if (!atomic_compare_exchange_strong(&slot->state, &open, MOLT__TCP_CLOSING)) return MOLT_ENOTCONN;
  return molt__tcp_run_on(slot, molt__tcp_task_close, handle_arg(handle));
}

int molt_tcp_port(molt_tcp_t handle) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(handle);
  return slot ? atomic_load(&slot->port) : MOLT_ENOTCONN;
}
