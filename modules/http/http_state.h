/* http_state.h: the state every http version shares, the "core": what a
 * listener or a connection actor keeps between messages. Each version's
 * own state starts with it (1.x: the core alone, state_vsn 1; 2.0.0: the
 * core and a field more, state_vsn 2), so the shared code in http_conn.h
 * and http_common.h works on any version's state through its first member.
 *
 * Everything here is copied by value except the input buffer, so a
 * code_change is a struct copy plus one buffer copy: the parser struct, a
 * URL or body half-read, a request waiting for the key store, and the
 * token of the pending idle timer (the timer itself is the actor's, not
 * the version's) all carry over to the new code. Static inline: each
 * image has its own copy. */
#ifndef DEMO_HTTP_STATE_H
#define DEMO_HTTP_STATE_H

#include <http_parser.h>
#include <stdbool.h>
#include <string.h>

#include "../counter/counter_proto.h"
#include "molt/module.h"

#define HTTP_URL_MAX 256
#define HTTP_BODY_MAX 32
/* Pipelined bytes a connection holds while a request waits for the key
 * store. The runtime reads on as long as we take its DATA messages, so
 * this is what bounds a client that pipelines without end; past it the
 * client gets 503 and the connection is closed. */
#define HTTP_INBUF_MAX (1u << 20)

enum { HTTP_ROLE_LISTENER = 1, HTTP_ROLE_CONN = 2 };

typedef struct {
  int role;
  molt_tcp_t sock;                   /* the listener, or this actor's connection */
  char store[MOLT_NAME_MAX + 1];     /* registered name of the counter keeping the keys */
  uint64_t requests;                 /* listener: connections accepted; conn: requests answered */
  int port;                          /* listener: the port it listens on */

  /* The request being parsed. parser.data is set for each call only. */
  http_parser parser;
  char url[HTTP_URL_MAX];
  size_t url_len;
  char body[HTTP_BODY_MAX];
  size_t body_len;
  bool body_too_long;
  bool close_after; /* answered a request that does not keep the connection */

  /* A request waiting for the store's answer (wait_ref != 0): the parser
   * is paused after it, and bytes that follow wait in inbuf (molt_alloc'd)
   * so answers go out in request order. */
  uint64_t wait_ref;
  bool wait_put, wait_keep;
  char wait_key[COUNTER_KEY_MAX];
  molt_pid_t store_pid; /* the store we monitor, so its death answers 503 instead of hanging */
  uint64_t store_mon;
  char* inbuf;
  size_t in_len, in_cap;

  /* The limits (http_common.h): the listener keeps them to hand on to
   * each connection actor, which enforces them. */
  uint64_t idle_timeout_ms;  /* 0: no idle timeout */
  uint64_t max_header_bytes; /* URL, header names and values of one request; 0: the parser's own limit */

  /* The idle timeout (http_idle.h): when bytes last came (or the store
   * last answered), and the token of the one pending timer (0: none). */
  uint64_t last_active_ms;
  uint64_t idle_token;
  /* The request being parsed, as the limits see it: between its first
   * byte and its last (a request the timeout answers with 408), and its
   * URL and header bytes so far (past max_header_bytes: 431). */
  bool in_request;
  bool head_too_big;
  uint64_t head_bytes;
} http_core_t;

/* A copy of from into to for code_change: shares no memory with from
 * (inbuf is duplicated). 0, or MOLT_ENOMEM with to holding no buffer. */
static inline int http_core_copy(http_core_t* to, const http_core_t* from) {
  *to = *from;
  to->parser.data = NULL;
  to->inbuf = NULL;
  to->in_cap = 0;
  if (from->in_len) {
    to->inbuf = molt_alloc(from->in_len);
    if (!to->inbuf) return MOLT_ENOMEM;
    memcpy(to->inbuf, from->inbuf, from->in_len);
    to->in_cap = from->in_len;
  }
  return 0;
}

static inline void http_core_close(http_core_t* c) { molt_free(c->inbuf); }

#endif
