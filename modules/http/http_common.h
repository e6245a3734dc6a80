/* http_common.h: the http module's actors, shared by every version. One
 * actor (the manifest's child) listens and hands each connection to an
 * actor of its own, spawned on any scheduler, which serves it
 * (http_conn.h). A version supplies its state size and its http_ops_t;
 * init, handle and free work on any version's state through its leading
 * http_core_t.
 *
 * Listener arguments: "address" (default 127.0.0.1), "port" (0: any free
 * port; logged as "listening on ADDR:PORT"), "port_env" (the name of an
 * environment variable that, when set, overrides "port": the demo release
 * fixes a port for people and lets tests and scripts choose their own),
 * "store" (registered name of the counter keeping the keys, default
 * "counter"), "max_conns" (the connections open at once, past which
 * accepting pauses; default: the runtime's, from the descriptor limit,
 * see molt_tcp_max_conns), and the limits each connection is held to:
 * "idle_timeout_ms" (default 60000; 0: none), how long a connection may
 * go without receiving a byte (408 mid-request, else a silent close), and
 * "max_header_bytes" (default 8192; 0: only libhttp-parser's own 80 KiB),
 * how many bytes of URL, header names and values one request may have
 * (431). A connection actor gets {"conn": handle, "store": name,
 * "idle_timeout_ms": ms, "max_header_bytes": n}: the listener's values. */
#ifndef DEMO_HTTP_COMMON_H
#define DEMO_HTTP_COMMON_H

#include <stdlib.h>

#include "http_conn.h"

#define HTTP_IDLE_TIMEOUT_MS_DEFAULT 60000
#define HTTP_MAX_HEADER_BYTES_DEFAULT 8192

/* The limits, a negative value read as the default: the listener's from
 * the manifest, a connection's from the listener. */
static inline void http_read_limits(http_core_t* c, const molt_args_t* args) {
  int64_t idle = molt_args_int(args, "idle_timeout_ms", HTTP_IDLE_TIMEOUT_MS_DEFAULT);
  int64_t head = molt_args_int(args, "max_header_bytes", HTTP_MAX_HEADER_BYTES_DEFAULT);
  c->idle_timeout_ms = (uint64_t)(idle < 0 ? HTTP_IDLE_TIMEOUT_MS_DEFAULT : idle);
  c->max_header_bytes = (uint64_t)(head < 0 ? HTTP_MAX_HEADER_BYTES_DEFAULT : head);
}

static inline int http_listen(http_core_t* c, const molt_args_t* args) {
  const char* address = molt_args_str(args, "address", "127.0.0.1");
  int64_t port = molt_args_int(args, "port", 0);
  const char* env = molt_args_str(args, "port_env", NULL);
  const char* over = env ? getenv(env) : NULL;
  if (over && *over) port = strtoll(over, NULL, 10);
  int rc = port < 0 || port > 65535 ? MOLT_EINVAL : molt_tcp_listen(address, (int)port, &c->sock);
  if (rc) {
    molt_log("cannot listen on %s:%lld: %s", address, (long long)port, molt_strerror(rc));
    return rc;
  }
  int64_t max_conns = molt_args_int(args, "max_conns", 0);
  if (max_conns > 0) molt_tcp_max_conns(c->sock, max_conns > UINT32_MAX ? UINT32_MAX : (uint32_t)max_conns);
  c->role = HTTP_ROLE_LISTENER;
  c->port = molt_tcp_port(c->sock);
  molt_log("listening on %s:%d", address, c->port);
  return 0;
}

/* size: the version's state size (at least sizeof(http_core_t)). */
static inline int http_init_state(const molt_args_t* args, size_t size, void** state) {
  http_core_t* c = molt_calloc(1, size);
  if (!c) return MOLT_ENOMEM;
  snprintf(c->store, sizeof(c->store), "%s", molt_args_str(args, "store", "counter"));
  http_read_limits(c, args);
  int64_t conn = molt_args_int(args, "conn", 0);
  if (conn) {
    c->role = HTTP_ROLE_CONN;
    c->sock = (molt_tcp_t)conn;
    http_parser_init(&c->parser, HTTP_REQUEST);
    http_idle_start(c);
  } else {
    int rc = http_listen(c, args);
    if (rc) {
      molt_free(c);
      return rc;
    }
  }
  *state = c;
  return 0;
}

/* A new connection gets an actor of its own, which then owns it; the
 * current version serves it, whichever that is. */
static inline void http_hand_over(http_core_t* c, const molt_msg_t* m) {
  char args[MOLT_NAME_MAX + 160];
  snprintf(args, sizeof(args), "{\"conn\":%llu,\"store\":\"%s\",\"idle_timeout_ms\":%llu,\"max_header_bytes\":%llu}",
           (unsigned long long)m->ref, c->store, (unsigned long long)c->idle_timeout_ms,
           (unsigned long long)c->max_header_bytes);
  molt_pid_t pid;
  int rc = molt_spawn_opt("http", args, MOLT_SPAWN_ANY, &pid, NULL);
  if (rc == 0) rc = molt_tcp_controlling(m->ref, pid);
  if (rc) {
    molt_log("cannot serve a connection: %s", molt_strerror(rc));
    molt_tcp_close(m->ref);
    return;
  }
  c->requests++;
}

static inline int http_handle_any(const http_ops_t* ops, void* state, const molt_msg_t* m) {
  http_core_t* c = state;
  if (c->role == HTTP_ROLE_LISTENER) {
    if (m->kind == MOLT_MSG_TCP_ACCEPT) http_hand_over(c, m);
    /* The listener failed: crash, and be restarted by the supervisor. */
    if (m->kind == MOLT_MSG_TCP_CLOSED && m->ref == c->sock) return m->reason ? m->reason : MOLT_EIO;
    return MOLT_OK;
  }
  /* Not an initializer: that would zero the 16 KiB buffer on every
   * message, a tenth of what a request costs here. */
  http_call_t k;
  k.ops = ops;
  k.state = state;
  k.len = 0;
  k.failed = false;
  return http_conn_handle(&k, m);
}

static inline void http_free_any(void* state) {
  http_core_close(state);
  molt_free(state);
}

/* format_state: the role and counts; extra is a version's own JSON
 * members (",\"key\":value..." or ""). */
static inline char* http_format_any(const void* state, const char* vsn, const char* extra) {
  const http_core_t* c = state;
  char* out = molt_alloc(256);
  if (!out) return NULL;
  if (c->role == HTTP_ROLE_LISTENER)
    snprintf(out, 256, "{\"vsn\":\"%s\",\"role\":\"listener\",\"port\":%d,\"accepted\":%llu%s}", vsn, c->port,
             (unsigned long long)c->requests, extra);
  else
    snprintf(out, 256, "{\"vsn\":\"%s\",\"role\":\"conn\",\"requests\":%llu,\"waiting\":%s,\"held\":%zu%s}", vsn,
             (unsigned long long)c->requests, c->wait_ref ? "true" : "false", c->in_len, extra);
  return out;
}

#endif
