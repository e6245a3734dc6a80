/* tcp_listen.c: molt_tcp_listen: the listening socket, bound on the
 * caller's thread so errors come back at once, then adopted by the
 * owner's loop. Not accepting (tcp_accept.c). */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

#define BACKLOG 4096

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

/* The listener's own handle holds the listening socket (and closes it);
 * the acceptors on every scheduler watch duplicates of it. */
static int listener_start(sock_t* s, molt_sched_t* sched) {
  uv_tcp_init(&sched->loop, &s->tcp);
  s->tcp.data = s;
  s->handles = 1;
  s->started = true;
  int fd = s->fd;
  s->fd = -1;
  int rc = uv_tcp_open(&s->tcp, fd);
  if (rc) {
    close(fd);
    return rc;
  }
  return molt__tcp_accept_everywhere(s, fd);
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
    molt__log_error("tcp: listen on port %d: %s", atomic_load(&s->slot->port), uv_strerror(rc));
    molt__tcp_deliver(s, MOLT_MSG_TCP_CLOSED, NULL, 0, rc);
    molt__tcp_begin_close(s, false);
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
  atomic_store(&slot->max_conns, molt__tcp_default_max_conns());
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
      molt__tcp_begin_close(s, false); /* the ownership record goes stale; harmless */
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
