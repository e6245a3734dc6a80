/* echo: a TCP echo service. It listens on the "address" (default
 * 127.0.0.1) and "port" of its manifest arguments, and writes back every
 * byte it receives. Sockets belong to the runtime, so connections survive
 * upgrades and rollbacks of this module; one actor serves them all.
 *
 *   {"id": "echo", "module": "echo", "args": {"port": 7000}}
 *
 * "max_conns" caps the connections open at once (molt_tcp_max_conns;
 * default: the runtime's, from the descriptor limit).
 *
 * From 1.1.0 a chunk that is exactly "vsn\n" is answered with the
 * version instead of being echoed. */
#include <stdio.h>
#include <string.h>

#include "molt/module.h"

#ifndef ECHO_VSN
#define ECHO_VSN "1.0.0"
#endif

typedef struct {
  molt_tcp_t listener;
  int port;
  uint64_t accepted, open, bytes, refused;
} echo_t;

static int echo_init(const molt_args_t* args, void** state) {
  echo_t* e = molt_calloc(1, sizeof(*e));
  if (!e) return MOLT_ENOMEM;
  const char* address = molt_args_str(args, "address", "127.0.0.1");
  int64_t port = molt_args_int(args, "port", 0);
  int rc = port < 0 || port > 65535 ? MOLT_EINVAL : molt_tcp_listen(address, (int)port, &e->listener);
  if (rc) {
    molt_log("cannot listen on %s:%lld: %s", address, (long long)port, molt_strerror(rc));
    molt_free(e);
    return rc;
  }
  int64_t max_conns = molt_args_int(args, "max_conns", 0);
  if (max_conns > 0) molt_tcp_max_conns(e->listener, max_conns > UINT32_MAX ? UINT32_MAX : (uint32_t)max_conns);
  e->port = molt_tcp_port(e->listener);
  molt_log("listening on %s:%d", address, e->port);
  *state = e;
  return 0;
}

static void on_data(echo_t* e, const molt_msg_t* m) {
  const void* out = m->data;
  size_t n = m->size;
#ifdef ECHO_ANSWERS_VSN
  if (n == 4 && memcmp(m->data, "vsn\n", 4) == 0) {
    out = ECHO_VSN "\n";
    n = strlen(ECHO_VSN "\n");
  }
#endif
  int rc = molt_tcp_write(m->ref, out, n);
  if (rc == 0) {
    e->bytes += m->size;
  } else if (rc == MOLT_ENOBUFS) {
    /* Cannot happen while we only answer what we read (reading pauses
     * long before the cap), but a peer must never grow us: drop it. */
    e->refused++;
    molt_tcp_close(m->ref);
  }
}

static int echo_handle(void* state, const molt_msg_t* m) {
  echo_t* e = state;
  switch (m->kind) {
    case MOLT_MSG_TCP_ACCEPT:
      e->accepted++;
      e->open++;
      break;
    case MOLT_MSG_TCP_DATA:
      on_data(e, m);
      break;
    case MOLT_MSG_TCP_CLOSED:
      if (m->ref == e->listener) return m->reason; /* the listener failed: crash, be restarted */
      e->open--;
      break;
  }
  return MOLT_OK;
}

static void echo_terminate(void* state, int reason) {
  echo_t* e = state;
  molt_log("terminating: %llu connections, %llu bytes echoed", (unsigned long long)e->accepted,
           (unsigned long long)e->bytes);
}

static void echo_free_state(void* state) { molt_free(state); }

static char* echo_format_state(const void* state) {
  const echo_t* e = state;
  char* out = molt_alloc(160);
  if (out)
    snprintf(out, 160, "{\"port\":%d,\"accepted\":%llu,\"open\":%llu,\"bytes\":%llu,\"refused\":%llu}", e->port,
             (unsigned long long)e->accepted, (unsigned long long)e->open, (unsigned long long)e->bytes,
             (unsigned long long)e->refused);
  return out;
}

#define echo_code_change NULL /* state_vsn never changed */
MOLT_MODULE("echo", ECHO_VSN, 1, echo);
