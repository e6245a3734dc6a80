/* tcp_accept.c: a listener's new connection: a slot, ownership by the
 * listener's owner, and an ACCEPT message naming the peer. Not the
 * listening socket itself (tcp_listen.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

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

void molt__tcp_on_connection(uv_stream_t* server, int status) {
  sock_t* l = server->data;
  if (status < 0 || l->closing) {
    if (status < 0) molt__log_error("tcp: accept on port %d: %s", atomic_load(&l->slot->port), uv_strerror(status));
    return;
  }
  sock_t* c = molt__calloc(1, sizeof(*c));
  molt__tcp_slot_t* slot = c ? molt__tcp_slot_new(molt__sched_current()) : NULL;
  if (!slot) {
    /* libuv stops watching a listener whose connection is not accepted,
     * so without memory the listener cannot go on: close it and let its
     * owner (or the owner's supervisor) decide. */
    molt__free(c);
    molt__log_error("tcp: out of memory accepting on port %d; closing the listener", atomic_load(&l->slot->port));
    molt__tcp_deliver(l, MOLT_MSG_TCP_CLOSED, NULL, 0, MOLT_ENOMEM);
    molt__tcp_begin_close(l, false);
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
    molt__tcp_begin_close(c, false);
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
  if (molt__tcp_deliver(c, MOLT_MSG_TCP_ACCEPT, &acc, sizeof(acc), 0) != 0) {
    molt__tcp_begin_close(c, false);
    return;
  }
  molt__tcp_update_reading(c);
}
