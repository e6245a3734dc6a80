/* tcp.c: listeners and connections on the scheduler loops: listen, accept,
 * read into a bounded buffer, deliver as messages, write and close. Not
 * who owns a socket or where its messages go (tcp_owner.c), nor handles
 * (tcp_table.c).
 *
 * A socket lives on one scheduler's uv loop for its whole life: the loop
 * of the actor that listened (a listener) or of its listener (a
 * connection). Handing a connection to an actor on another scheduler
 * does not move it; that actor's writes and closes are posted to the
 * socket's loop as tasks, in order. Moving the fd between loops would
 * save a hop per write but race with reads in flight; not worth it yet.
 *
 * Flow control (the contract is in molt/module.h). Reading is on only
 * while all of these hold: the peer has not finished, the socket is not
 * closing, the receive buffer is under MOLT_TCP_RECV_HIGH, and the write
 * queue has not passed MOLT_TCP_WRITE_HIGH (or has since fallen under
 * MOLT_TCP_WRITE_LOW). One DATA message at most is in the owner's
 * mailbox; bytes read meanwhile wait in the receive buffer and go out as
 * one message when the owner has handled the last. That bounds what a
 * connection can hold whatever the peer or the actor does: the receive
 * buffer plus one read, one message, and the write queue's hard cap. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "alloc.h"
#include "log.h"
#include "sched.h"
#include "tcp.h"

#define BACKLOG 4096
/* How long a close waits for queued writes to reach a peer that does not
 * read, before giving up on them. */
#define LINGER_MS 5000

typedef struct molt__tcp_sock {
  uv_tcp_t tcp;
  uv_timer_t linger;
  molt__tcp_slot_t* slot;
  molt_tcp_t h;
  int fd; /* a listener's socket until its loop adopts it */
  char* rbuf;
  size_t rlen, rcap;
  int reason;       /* why the peer side finished: 0 (EOF) or MOLT_E* */
  unsigned handles; /* uv handles not yet closed; the sock is freed at 0 */
  unsigned writes;  /* uv writes not yet completed */
  bool listener, started, reading, in_flight, peer_done, write_paused, write_failed, closing, lingering;
} sock_t;

typedef struct {
  uv_write_t req;
  molt__tcp_slot_t* slot;
  molt_tcp_t h;
  size_t size;
  char data[];
} wreq_t;

static atomic_size_t peak_queued, peak_rbuf;

static void raise_peak(atomic_size_t* peak, size_t v) {
  size_t cur = atomic_load_explicit(peak, memory_order_relaxed);
  while (v > cur && !atomic_compare_exchange_weak(peak, &cur, v)) {
  }
}

void molt__tcp_peaks(molt__tcp_peaks_t* out) {
  out->queued = atomic_load(&peak_queued);
  out->rbuf = atomic_load(&peak_rbuf);
}

void molt__tcp_peaks_reset(void) {
  atomic_store(&peak_queued, 0);
  atomic_store(&peak_rbuf, 0);
}

/* The socket of h if it is live and lives on the calling thread's loop. */
static sock_t* here(molt_tcp_t h) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (!slot || atomic_load(&slot->sched) != molt__sched_current()) return NULL;
  return slot->sock;
}

/* Run fn on slot's loop: now if that is the calling thread, else posted. */
static int run_on(molt__tcp_slot_t* slot, void (*fn)(void*), void* arg) {
  molt_sched_t* s = atomic_load(&slot->sched);
  if (s == molt__sched_current()) {
    fn(arg);
    return 0;
  }
  return molt__sched_post(s, fn, arg);
}

static void* handle_arg(molt_tcp_t h) { return (void*)(uintptr_t)h; }
static molt_tcp_t arg_handle(void* arg) { return (molt_tcp_t)(uintptr_t)arg; }
_Static_assert(sizeof(uintptr_t) >= sizeof(molt_tcp_t), "handles travel as task arguments");

/* ---- delivery */

static int deliver(sock_t* s, uint32_t kind, const void* data, size_t size, int reason) {
  molt__msg_t* m = molt__msg_new(kind, 0, data, size);
  if (!m) return MOLT_ENOMEM;
  m->pub.ref = s->h;
  m->pub.reason = reason;
  molt__deliver(atomic_load(&s->slot->owner), m);
  return 0;
}

static void begin_close(sock_t* s, bool graceful);
static void update_reading(sock_t* s);
static void push(sock_t* s);

/* Deliver what may be delivered, and read if reading is allowed. */
static void pump(sock_t* s) {
  update_reading(s);
  push(s);
  update_reading(s);
}

/* Send what the owner should see next: the buffered bytes if no DATA is
 * in flight, else nothing; once the peer is done and every byte has been
 * handled, CLOSED, and the socket goes. */
static void push(sock_t* s) {
  /* While the peer is not reading our answers, the owner gets no more
   * requests either: it would only answer them into the queue. */
  if (s->in_flight || s->closing || (s->write_paused && !s->write_failed)) return;
  if (s->rlen) {
    if (deliver(s, MOLT_MSG_TCP_DATA, s->rbuf, s->rlen, 0) != 0) {
      s->peer_done = true;
      s->reason = MOLT_ENOMEM;
      s->rlen = 0;
      molt__log("tcp: out of memory delivering data; closing the connection");
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
    deliver(s, MOLT_MSG_TCP_CLOSED, NULL, 0, s->reason);
    begin_close(s, !s->write_failed);
  }
}

/* Writing failed: the peer is gone. Queued answers no longer hold back
 * delivery, and the close will not wait for them. */
static void write_failed(sock_t* s, int err) {
  s->write_failed = true;
  if (!s->peer_done) {
    s->peer_done = true;
    s->reason = err;
  }
  pump(s);
}

/* The peer side is finished (EOF or an error): deliver what is left, then
 * CLOSED. */
static void peer_done(sock_t* s, int reason) {
  if (s->closing || s->peer_done) return;
  s->peer_done = true;
  s->reason = reason;
  pump(s);
}

/* ---- reading */

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  sock_t* s = h->data;
  size_t need = s->rlen + suggested;
  if (s->rcap < need) {
    char* bigger = molt_realloc(s->rbuf, need);
    if (!bigger) {
      *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
      return;
    }
    s->rbuf = bigger;
    s->rcap = need;
    raise_peak(&peak_rbuf, need);
  }
  *buf = uv_buf_init(s->rbuf + s->rlen, (unsigned)suggested);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  sock_t* s = stream->data;
  if (nread > 0) {
    s->rlen += (size_t)nread;
    pump(s);
  } else if (nread < 0) {
    peer_done(s, nread == UV_EOF ? 0 : nread == UV_ENOBUFS ? MOLT_ENOMEM : (int)nread);
  }
}

static void update_reading(sock_t* s) {
  if (s->listener || !s->started) return;
  size_t q = atomic_load(&s->slot->queued);
  if (q > MOLT_TCP_WRITE_HIGH)
    s->write_paused = true;
  else if (q < MOLT_TCP_WRITE_LOW)
    s->write_paused = false;
  bool want = !s->closing && !s->peer_done && s->rlen < MOLT_TCP_RECV_HIGH && !s->write_paused;
  if (want && !s->reading) {
    int rc = uv_read_start((uv_stream_t*)&s->tcp, on_alloc, on_read);
    if (rc) {
      peer_done(s, rc);
      return;
    }
    s->reading = true;
  } else if (!want && s->reading) {
    uv_read_stop((uv_stream_t*)&s->tcp);
    s->reading = false;
  }
}

static void task_consumed(void* arg) {
  sock_t* s = here(arg_handle(arg));
  if (!s) return;
  s->in_flight = false;
  pump(s);
}

void molt__tcp_consumed(molt_tcp_t h) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (slot && run_on(slot, task_consumed, handle_arg(h)) != 0)
    molt__log("tcp: out of memory: a connection may stop reading"); /* XXX(tcp): preallocate */
}

/* ---- closing */

static void on_handle_closed(uv_handle_t* h) {
  sock_t* s = h->data;
  if (--s->handles) return;
  molt__free(s->rbuf);
  if (s->slot) molt__tcp_slot_free(s->slot);
  molt__free(s);
}

static void really_close(sock_t* s) {
  if (uv_is_closing((uv_handle_t*)&s->tcp)) return;
  if (s->lingering) {
    uv_timer_stop(&s->linger);
    uv_close((uv_handle_t*)&s->linger, on_handle_closed);
  }
  uv_close((uv_handle_t*)&s->tcp, on_handle_closed);
}

static void on_linger(uv_timer_t* t) { really_close(t->data); }

/* graceful: give queued writes LINGER_MS to reach the peer. A second,
 * forced close of a lingering socket ends the wait. */
static void begin_close(sock_t* s, bool graceful) {
  if (s->closing) {
    if (!graceful && s->started) really_close(s);
    return;
  }
  s->closing = true;
  atomic_store(&s->slot->state, MOLT__TCP_CLOSING);
  if (!s->started) return; /* a listener its actor has yet to start: see start_in_actor */
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
  really_close(s);
}

static void task_close(void* arg) {
  sock_t* s = here(arg_handle(arg));
  if (s) begin_close(s, true);
}

void molt__tcp_request_close(molt_tcp_t h) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (!slot) return;
  /* Always posted: this runs from inside delivery, which must not see its
   * socket closed under it. */
  if (molt__sched_post(atomic_load(&slot->sched), task_close, handle_arg(h)) != 0)
    molt__log("tcp: out of memory: a socket whose owner is gone stays open"); /* XXX(tcp) */
}

static void close_here(molt__tcp_slot_t* slot, void* arg) {
  if (atomic_load(&slot->sched) != arg || atomic_load(&slot->state) == MOLT__TCP_FREE) return;
  begin_close(slot->sock, false);
}

void molt__tcp_close_all_here(molt_sched_t* s) { molt__tcp_table_foreach(close_here, s); }

/* ---- writing */

static void wreq_drop(wreq_t* w) {
  atomic_fetch_sub(&w->slot->queued, w->size);
  molt__free(w);
}

static void on_written(uv_write_t* req, int status) {
  wreq_t* w = (wreq_t*)req;
  sock_t* s = req->handle->data;
  wreq_drop(w);
  s->writes--;
  if (s->closing) {
    if (s->writes == 0) really_close(s);
    return;
  }
  if (status < 0)
    write_failed(s, status);
  else
    pump(s);
}

static void task_write(void* arg) {
  wreq_t* w = arg;
  sock_t* s = here(w->h);
  if (!s || s->closing) {
    wreq_drop(w);
    return;
  }
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->size);
  int rc = uv_write(&w->req, (uv_stream_t*)&s->tcp, &buf, 1, on_written);
  if (rc) {
    wreq_drop(w);
    write_failed(s, rc);
    return;
  }
  s->writes++;
  update_reading(s);
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

int molt_tcp_write(molt_tcp_t conn, const void* data, size_t size) {
  molt__tcp_slot_t* slot;
  int rc = molt__tcp_owned_slot(conn, &slot);
  if (rc) return rc;
  if (atomic_load(&slot->listener)) return MOLT_EINVAL;
  if (size == 0) return 0;
  if (!data || size > MOLT_TCP_WRITE_MAX) return size ? MOLT_ENOBUFS : MOLT_EINVAL;
  size_t before = atomic_fetch_add(&slot->queued, size);
  if (before + size > MOLT_TCP_WRITE_MAX) {
    atomic_fetch_sub(&slot->queued, size);
    return MOLT_ENOBUFS;
  }
  raise_peak(&peak_queued, before + size);
  wreq_t* w = molt__alloc(sizeof(*w) + size);
  if (!w) {
    atomic_fetch_sub(&slot->queued, size);
    return MOLT_ENOMEM;
  }
  w->slot = slot;
  w->h = conn;
  w->size = size;
  memcpy(w->data, data, size);
  rc = run_on(slot, task_write, w);
  if (rc) wreq_drop(w);
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
  return run_on(slot, task_close, handle_arg(handle));
}

int molt_tcp_port(molt_tcp_t handle) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(handle);
  return slot ? atomic_load(&slot->port) : MOLT_ENOTCONN;
}

/* ---- accepting */

static void format_peer(const struct sockaddr_storage* sa, char* out, size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
    uv_ip4_name(in, ip, sizeof(ip));
    port = ntohs(in->sin_port);
    snprintf(out, len, "%s:%d", ip, port);
  } else {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
    uv_ip6_name(in6, ip, sizeof(ip));
    port = ntohs(in6->sin6_port);
    snprintf(out, len, "[%s]:%d", ip, port);
  }
}

static int local_port(uv_tcp_t* tcp) {
  struct sockaddr_storage sa;
  int len = sizeof(sa);
  if (uv_tcp_getsockname(tcp, (struct sockaddr*)&sa, &len) != 0) return 0;
  return ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in*)&sa)->sin_port
                                       : ((struct sockaddr_in6*)&sa)->sin6_port);
}

static void on_connection(uv_stream_t* server, int status) {
  sock_t* l = server->data;
  if (status < 0 || l->closing) {
    if (status < 0) molt__log("tcp: accept on port %d: %s", atomic_load(&l->slot->port), uv_strerror(status));
    return;
  }
  sock_t* c = molt__calloc(1, sizeof(*c));
  molt__tcp_slot_t* slot = c ? molt__tcp_slot_new(molt__sched_current()) : NULL;
  if (!slot) {
    /* libuv stops watching a listener whose connection is not accepted,
     * so without memory the listener cannot go on: close it and let its
     * owner (or the owner's supervisor) decide. */
    molt__free(c);
    molt__log("tcp: out of memory accepting on port %d; closing the listener", atomic_load(&l->slot->port));
    deliver(l, MOLT_MSG_TCP_CLOSED, NULL, 0, MOLT_ENOMEM);
    begin_close(l, false);
    return;
  }
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  c->handles = 1;
  c->started = true;
  c->slot = slot;
  c->h = molt__tcp_handle(slot);
  slot->sock = c;
  molt_pid_t owner = atomic_load(&l->slot->owner);
  atomic_store(&slot->owner, owner);
  if (uv_accept(server, (uv_stream_t*)&c->tcp) != 0 || molt__tcp_adopt(owner, c->h) != 0) {
    begin_close(c, false);
    return;
  }
  atomic_store(&slot->port, local_port(&c->tcp));
  uv_tcp_nodelay(&c->tcp, 1); /* request/response traffic: do not wait on Nagle */
  molt_tcp_accept_t acc;
  memset(&acc, 0, sizeof(acc));
  acc.listener = l->h;
  struct sockaddr_storage peer;
  int plen = sizeof(peer);
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr*)&peer, &plen) == 0)
    format_peer(&peer, acc.peer, sizeof(acc.peer));
  if (deliver(c, MOLT_MSG_TCP_ACCEPT, &acc, sizeof(acc), 0) != 0) {
    begin_close(c, false);
    return;
  }
  update_reading(c);
}

/* ---- listening */

/* The socket is made, bound and put in listening state on the caller's
 * thread with plain calls, so that bind errors (EADDRINUSE, a bad
 * address) and the chosen port come back synchronously even from an init
 * running off the actor's scheduler; the loop adopts the fd afterwards. */
static int open_listen_fd(const char* address, int port, int* fd_out, int* port_out) {
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof(sa));
  socklen_t salen;
  if (uv_ip4_addr(address, port, (struct sockaddr_in*)&sa) == 0)
    salen = sizeof(struct sockaddr_in);
  else if (uv_ip6_addr(address, port, (struct sockaddr_in6*)&sa) == 0)
    salen = sizeof(struct sockaddr_in6);
  else
    return MOLT_EINVAL;
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int on = 1;
  /* Rebinding a port in TIME_WAIT after a restart must work. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (bind(fd, (struct sockaddr*)&sa, salen) != 0 || listen(fd, BACKLOG) != 0) {
    int rc = -errno;
    close(fd);
    return rc;
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, (struct sockaddr*)&sa, &len);
  *port_out = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in*)&sa)->sin_port
                                            : ((struct sockaddr_in6*)&sa)->sin6_port);
  *fd_out = fd;
  return 0;
}

static int listener_start(sock_t* s, molt_sched_t* sched) {
  uv_tcp_init(&sched->loop, &s->tcp);
  s->tcp.data = s;
  s->handles = 1;
  s->started = true;
  int rc = uv_tcp_open(&s->tcp, s->fd);
  if (rc)
    close(s->fd);
  else
    rc = uv_listen((uv_stream_t*)&s->tcp, BACKLOG, on_connection);
  s->fd = -1;
  return rc;
}

static void discard_unstarted(sock_t* s) {
  close(s->fd);
  molt__tcp_slot_free(s->slot);
  molt__free(s);
}

/* The first work of an actor whose init listened on another thread. */
static void start_in_actor(molt_actor_t* a, void* arg) {
  sock_t* s = arg;
  if (!a || s->closing) {
    discard_unstarted(s);
    return;
  }
  int rc = listener_start(s, a->sched);
  if (rc) {
    molt__log("tcp: listen on port %d: %s", atomic_load(&s->slot->port), uv_strerror(rc));
    deliver(s, MOLT_MSG_TCP_CLOSED, NULL, 0, rc);
    begin_close(s, false);
  }
}

static sock_t* listener_new(molt_actor_t* a, int fd, int port) {
  sock_t* s = molt__calloc(1, sizeof(*s));
  molt__tcp_slot_t* slot = s ? molt__tcp_slot_new(a->sched) : NULL;
  if (!slot) {
    molt__free(s);
    return NULL;
  }
  s->listener = true;
  s->fd = fd;
  s->slot = slot;
  s->h = molt__tcp_handle(slot);
  slot->sock = s;
  atomic_store(&slot->listener, true);
  atomic_store(&slot->owner, molt__actor_pid(a));
  atomic_store(&slot->port, port);
  return s;
}

int molt_tcp_listen(const char* address, int port, molt_tcp_t* listener) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  if (!listener || port < 0 || port > 65535) return MOLT_EINVAL;
  int fd = -1, bound = 0;
  int rc = open_listen_fd(address ? address : "127.0.0.1", port, &fd, &bound);
  if (rc) return rc;
  sock_t* s = listener_new(a, fd, bound);
  if (!s) {
    close(fd);
    return MOLT_ENOMEM;
  }
  rc = molt__tcp_own(a, s->h);
  if (rc) goto fail_own;
  if (a->sched == molt__sched_current()) {
    rc = listener_start(s, a->sched);
    if (rc) {
      begin_close(s, false); /* the ownership record goes stale; harmless */
      return rc;
    }
  } else {
    /* init on another scheduler's thread: the loop is not ours to touch.
     * The actor's first work, on its own loop, starts the listener. */
    molt__msg_t* m = molt__msg_call(start_in_actor, s);
    if (!m) {
      rc = MOLT_ENOMEM;
      goto fail_own;
    }
    molt__deliver(molt__actor_pid(a), m);
  }
  *listener = s->h;
  return 0;

fail_own:
  discard_unstarted(s);
  return rc;
}
