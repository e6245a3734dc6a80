/* tcp_accept.c: accepting a listener's connections on every scheduler,
 * within the listener's cap and the descriptor limit, and each new
 * connection: a slot on the accepting loop, ownership by the listener's
 * owner, and an ACCEPT message naming the peer. Not the listening socket
 * itself (tcp_listen.c).
 *
 * Every scheduler has an acceptor per listener: a poll on its own
 * duplicate of the listening socket, so connections are accepted by
 * whichever loop is free, and a connection then lives on the scheduler of
 * the actor it is handed to (tcp_move.c).
 *
 * We accept ourselves rather than through uv_listen: on EMFILE libuv
 * accepts and closes every pending connection without a word. Here, as in
 * nginx, accepting pauses instead when the listener has its cap of open
 * connections or the process has no descriptor left: the connections
 * wait in the backlog, the pause is logged once (at most every few
 * seconds), and accepting resumes by itself once there is room. The cap
 * keeps descriptors in reserve, so the control socket and module loads
 * keep working while a flood fills it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "runtime.h"
#include "tcp_sock.h"

/* How often a paused acceptor looks again for room. */
#define RETRY_MS 100
/* Connections accepted per wake-up before the loop runs other work. */
#define ACCEPT_BATCH 64
/* At most one "accept paused" line per listener this often. */
#define PAUSE_LOG_EVERY_NS (5ull * 1000000000ull)

typedef struct molt__tcp_acceptor {
  uv_poll_t poll;
  uv_timer_t retry;
  molt__tcp_slot_t* slot; /* the listener's: slots never move */
  molt_tcp_t listener;
  molt_sched_t* sched;
  int fd;
  unsigned handles; /* uv handles not yet closed; freed at 0 */
  bool closing;
  struct molt__tcp_acceptor* next; /* in every_acceptor */
} acceptor_t;

/* Every acceptor, for a listener's close and a scheduler's stop to find
 * theirs; each is only touched by its own loop's thread. Listeners come
 * and go rarely, so one lock will do. */
static pthread_mutex_t acceptors_lock = PTHREAD_MUTEX_INITIALIZER;
static acceptor_t* every_acceptor;

uint32_t molt__tcp_default_max_conns(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
  uint64_t limit = rl.rlim_cur;
  uint64_t reserve = limit / 10 > 64 ? limit / 10 : 64;
  uint64_t cap = limit > 2 * reserve ? limit - reserve : limit / 2;
  return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)(cap ? cap : 1);
}

static void format_peer(const struct sockaddr_storage* sa, char* out, size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)sa;
    uv_ip4_name(in, ip, sizeof(ip));
    snprintf(out, len, "%s:%d", ip, ntohs(in->sin_port));
  } else {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)sa;
    uv_ip6_name(in6, ip, sizeof(ip));
    snprintf(out, len, "[%s]:%d", ip, ntohs(in6->sin6_port));
  }
}

static bool listener_open(const acceptor_t* a) {
  return molt__tcp_slot_get(a->listener) == a->slot && atomic_load(&a->slot->state) == MOLT__TCP_OPEN;
}

/* The new connection fd, accepted on this loop, as a socket of its own. */
static void adopt_connection(acceptor_t* a, int fd, const struct sockaddr_storage* peer) {
  sock_t* c = molt__calloc(1, sizeof(*c));
  molt__tcp_slot_t* slot = c ? molt__tcp_slot_new(a->sched) : NULL;
  if (!slot) {
    molt__free(c);
    close(fd);
    molt__log_error("tcp: out of memory accepting on port %d; the connection was closed", atomic_load(&a->slot->port));
    return;
  }
  atomic_fetch_add(&a->slot->conns, 1);
  slot->from = a->listener;
  uv_tcp_init(&a->sched->loop, &c->tcp);
  c->tcp.data = c;
  c->handles = 1;
  c->started = true;
  c->slot = slot;
  c->h = molt__tcp_handle(slot);
  slot->sock = c;
  molt_pid_t owner = atomic_load(&a->slot->owner);
  atomic_store(&slot->owner, owner);
  if (uv_tcp_open(&c->tcp, fd) != 0) {
    close(fd);
    molt__tcp_begin_close(c, false);
    return;
  }
  if (molt__tcp_adopt(owner, c->h, false) != 0) { /* it follows its owner once the ACCEPT is handled */
    molt__tcp_begin_close(c, false);
    return;
  }
  atomic_store(&slot->port, atomic_load(&a->slot->port));
  uv_tcp_nodelay(&c->tcp, 1); /* request/response traffic: do not wait on Nagle */
  molt_tcp_accept_t acc;
  memset(&acc, 0, sizeof(acc));
  acc.listener = a->listener;
  format_peer(peer, acc.peer, sizeof(acc.peer));
  if (molt__tcp_deliver(c, MOLT_MSG_TCP_ACCEPT, &acc, sizeof(acc), 0) != 0) {
    molt__tcp_begin_close(c, false);
    return;
  }
  molt__tcp_update_reading(c);
}

static void log_pause(acceptor_t* a, const char* why) {
  uint64_t now = molt__now_ns(), last = atomic_load(&a->slot->pause_logged_ns);
  if (last && now - last < PAUSE_LOG_EVERY_NS) return;
  if (!atomic_compare_exchange_strong(&a->slot->pause_logged_ns, &last, now)) return; /* another loop logs it */
  atomic_store(&a->slot->pause_logged, true);
  molt__log_warn("tcp: port %d: accept paused: %u connections open, %s; connections wait in the backlog",
                 atomic_load(&a->slot->port), atomic_load(&a->slot->conns), why);
}

static void log_resume(acceptor_t* a) {
  if (atomic_exchange(&a->slot->pause_logged, false))
    molt__log_warn("tcp: port %d: accept resumed: %u connections open", atomic_load(&a->slot->port),
                   atomic_load(&a->slot->conns));
}

static void on_retry(uv_timer_t* t);
static void on_readable(uv_poll_t* p, int status, int events);

static void pause_accepting(acceptor_t* a, const char* why) {
  uv_poll_stop(&a->poll);
  uv_timer_start(&a->retry, on_retry, RETRY_MS, 0);
  log_pause(a, why);
}

static bool at_cap(const acceptor_t* a) {
  return atomic_load(&a->slot->conns) >= atomic_load(&a->slot->max_conns);
}

static void acceptor_close(acceptor_t* a);

static void accept_some(acceptor_t* a) {
  char why[96];
  for (int i = 0; i < ACCEPT_BATCH; i++) {
    if (!listener_open(a)) {
      acceptor_close(a);
      return;
    }
    if (at_cap(a)) {
      snprintf(why, sizeof(why), "the listener's cap (%u)", atomic_load(&a->slot->max_conns));
      pause_accepting(a, why);
      return;
    }
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    int fd = accept4(a->fd, (struct sockaddr*)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return;
      if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == EPERM) continue; /* that one is gone */
      snprintf(why, sizeof(why), "%s (%s)", strerror(e),
               e == EMFILE ? "the process's descriptor limit" : e == ENFILE ? "the system's file table" : "accept");
      pause_accepting(a, why);
      return;
    }
    log_resume(a);
    adopt_connection(a, fd, &peer);
  }
}

static void on_readable(uv_poll_t* p, int status, int events) {
  (void)events;
  acceptor_t* a = p->data;
  if (!listener_open(a)) { /* closed: its socket was shut down, which wakes every poll */
    acceptor_close(a);
    return;
  }
  if (status < 0) {
    molt__log_error("tcp: accept on port %d: %s", atomic_load(&a->slot->port), uv_strerror(status));
    pause_accepting(a, uv_strerror(status));
    return;
  }
  accept_some(a);
}

static void on_retry(uv_timer_t* t) {
  acceptor_t* a = t->data;
  if (!listener_open(a)) {
    acceptor_close(a);
    return;
  }
  if (at_cap(a)) {
    uv_timer_start(&a->retry, on_retry, RETRY_MS, 0);
    return;
  }
  /* Descriptors may have freed up: the next accept says. */
  if (uv_poll_start(&a->poll, UV_READABLE, on_readable) != 0) uv_timer_start(&a->retry, on_retry, RETRY_MS, 0);
}

static void on_acceptor_closed(uv_handle_t* h) {
  acceptor_t* a = h->data;
  if (--a->handles) return;
  close(a->fd);
  molt__free(a);
}

static void unlink_acceptor(acceptor_t* a) {
  pthread_mutex_lock(&acceptors_lock);
  for (acceptor_t** at = &every_acceptor; *at; at = &(*at)->next)
    if (*at == a) {
      *at = a->next;
      break;
    }
  pthread_mutex_unlock(&acceptors_lock);
}

static void acceptor_close(acceptor_t* a) {
  if (a->closing) return;
  a->closing = true;
  unlink_acceptor(a);
  uv_close((uv_handle_t*)&a->poll, on_acceptor_closed);
  uv_close((uv_handle_t*)&a->retry, on_acceptor_closed);
}

static void task_acceptor_start(void* arg) {
  acceptor_t* a = arg;
  molt_sched_t* here = molt__sched_current();
  if (here != a->sched || !listener_open(a) || uv_poll_init_socket(&here->loop, &a->poll, a->fd) != 0) {
    close(a->fd);
    molt__free(a);
    return;
  }
  uv_timer_init(&here->loop, &a->retry);
  a->poll.data = a->retry.data = a;
  a->handles = 2;
  pthread_mutex_lock(&acceptors_lock);
  a->next = every_acceptor;
  every_acceptor = a;
  pthread_mutex_unlock(&acceptors_lock);
  if (uv_poll_start(&a->poll, UV_READABLE, on_readable) != 0) pause_accepting(a, "cannot watch the socket");
}

int molt__tcp_accept_everywhere(sock_t* l, int fd) {
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    acceptor_t* a = molt__calloc(1, sizeof(*a));
    int dup = a ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (dup < 0) {
      int rc = a ? -errno : MOLT_ENOMEM;
      molt__free(a);
      return rc; /* the acceptors started close themselves with the listener */
    }
    a->fd = dup;
    a->slot = l->slot;
    a->listener = l->h;
    a->sched = &molt__rt.scheds[i];
    if (a->sched == molt__sched_current()) {
      task_acceptor_start(a);
    } else if (molt__sched_post(a->sched, task_acceptor_start, a) != 0) {
      close(dup);
      molt__free(a);
      return MOLT_ENOMEM;
    }
  }
  return 0;
}

/* Close the acceptors on this loop that match (listener, or every one). */
static void close_acceptors_here(molt_tcp_t listener) {
  molt_sched_t* here = molt__sched_current();
  for (;;) {
    acceptor_t* found = NULL;
    pthread_mutex_lock(&acceptors_lock);
    for (acceptor_t* a = every_acceptor; a && !found; a = a->next)
      if (a->sched == here && (!listener || a->listener == listener)) found = a;
    pthread_mutex_unlock(&acceptors_lock);
    if (!found) return;
    acceptor_close(found);
  }
}

static void task_acceptors_stop(void* arg) { close_acceptors_here(arg_handle(arg)); }

void molt__tcp_stop_accepting(molt_tcp_t listener) {
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    molt_sched_t* s = &molt__rt.scheds[i];
    /* A stopping scheduler closes its acceptors itself, and may no longer
     * take tasks. */
    if (atomic_load(&s->stopping)) continue;
    if (s == molt__sched_current())
      close_acceptors_here(listener);
    else if (molt__sched_post(s, task_acceptors_stop, handle_arg(listener)) != 0)
      /* It notices at its next wake-up or retry that the listener is gone. */
      molt__log_error("tcp: out of memory stopping the acceptor of port %d on scheduler %u", molt_tcp_port(listener), i);
  }
}

void molt__tcp_close_acceptors_here(void) { close_acceptors_here(MOLT_TCP_NONE); }

int molt_tcp_max_conns(molt_tcp_t listener, uint32_t max_conns) {
  molt__tcp_slot_t* slot;
  int rc = molt__tcp_owned_slot(listener, &slot);
  if (rc) return rc;
  if (!atomic_load(&slot->listener)) return MOLT_EINVAL;
  atomic_store(&slot->max_conns, max_conns ? max_conns : molt__tcp_default_max_conns());
  return 0;
}
