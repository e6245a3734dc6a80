/* http 1.0.0: the start of an HTTP/1.1 service. One actor listens on the
 * manifest's "address" (default 127.0.0.1) and "port" and hands each
 * connection to an actor of its own (on any scheduler), which parses
 * requests with libhttp-parser and answers them, pipelined requests in
 * order, keep-alive as the request asks:
 *
 *   GET /       200, a greeting naming the version
 *   GET /stats  200, this connection's request count
 *   other       404
 *   malformed   400, then the connection is closed
 *
 * The state holds the parser struct by value: it has no pointers into
 * this image (the callbacks are passed per call), so a soft load keeps
 * parsing a request half-way through. Bodies are read and ignored. */
#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "molt/module.h"

#define HTTP_VSN "1.0.0"
#define URL_MAX 256

enum { ROLE_LISTENER, ROLE_CONN };

typedef struct {
  int role;
  molt_tcp_t sock; /* the listener, or this actor's connection */
  http_parser parser;
  char url[URL_MAX];
  size_t url_len;
  uint64_t requests;
  bool close_after; /* answered a request that does not keep the connection */
} http_t;

static int http_init(const molt_args_t* args, void** state) {
  http_t* h = molt_calloc(1, sizeof(*h));
  if (!h) return MOLT_ENOMEM;
  int64_t conn = molt_args_int(args, "conn", 0);
  if (conn) {
    h->role = ROLE_CONN;
    h->sock = (molt_tcp_t)conn;
    http_parser_init(&h->parser, HTTP_REQUEST);
    *state = h;
    return 0;
  }
  const char* address = molt_args_str(args, "address", "127.0.0.1");
  int64_t port = molt_args_int(args, "port", 0);
  int rc = port < 0 || port > 65535 ? MOLT_EINVAL : molt_tcp_listen(address, (int)port, &h->sock);
  if (rc) {
    molt_log("cannot listen on %s:%lld: %s", address, (long long)port, molt_strerror(rc));
    molt_free(h);
    return rc;
  }
  molt_log("listening on %s:%d", address, molt_tcp_port(h->sock));
  h->role = ROLE_LISTENER;
  *state = h;
  return 0;
}

static void respond(http_t* h, int status, const char* reason, const char* body, bool keep_alive) {
  char head[256];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                   "Connection: %s\r\n\r\n",
                   status, reason, strlen(body), keep_alive ? "keep-alive" : "close");
  molt_tcp_write(h->sock, head, (size_t)n);
  molt_tcp_write(h->sock, body, strlen(body));
  if (!keep_alive) h->close_after = true;
}

static int on_message_begin(http_parser* p) {
  http_t* h = p->data;
  h->url_len = 0;
  return 0;
}

static int on_url(http_parser* p, const char* at, size_t len) {
  http_t* h = p->data;
  size_t room = URL_MAX - 1 - h->url_len;
  if (len > room) len = room; /* a longer URL is answered as its prefix: 404 */
  memcpy(h->url + h->url_len, at, len);
  h->url_len += len;
  return 0;
}

static int on_message_complete(http_parser* p) {
  http_t* h = p->data;
  h->url[h->url_len] = '\0';
  h->requests++;
  bool keep = http_should_keep_alive(p) != 0;
  char body[160];
  if (p->method == HTTP_GET && strcmp(h->url, "/") == 0) {
    snprintf(body, sizeof(body), "hello from molt (http %s)\n", HTTP_VSN);
    respond(h, 200, "OK", body, keep);
  } else if (p->method == HTTP_GET && strcmp(h->url, "/stats") == 0) {
    snprintf(body, sizeof(body), "requests %llu\n", (unsigned long long)h->requests);
    respond(h, 200, "OK", body, keep);
  } else {
    respond(h, 404, "Not Found", "not found\n", keep);
  }
  /* Nothing after a request that closes the connection is read. */
  if (!keep) http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_message_complete = on_message_complete,
};

static int on_data(http_t* h, const molt_msg_t* m) {
  h->parser.data = h;
  size_t done = http_parser_execute(&h->parser, &settings, m->data, m->size);
  enum http_errno err = HTTP_PARSER_ERRNO(&h->parser);
  if (h->close_after) {
    molt_tcp_close(h->sock);
    return MOLT_STOP;
  }
  if (err != HPE_OK || done != m->size) {
    char body[128];
    snprintf(body, sizeof(body), "bad request: %s\n", http_errno_name(err));
    respond(h, 400, "Bad Request", body, false);
    molt_tcp_close(h->sock);
    return MOLT_STOP;
  }
  return MOLT_OK;
}

static void hand_over(const molt_msg_t* m) {
  char args[64];
  snprintf(args, sizeof(args), "{\"conn\":%llu}", (unsigned long long)m->ref);
  molt_pid_t pid;
  int rc = molt_spawn_opt("http", args, MOLT_SPAWN_ANY, &pid, NULL);
  if (rc == 0) rc = molt_tcp_controlling(m->ref, pid);
  if (rc) {
    molt_log("cannot serve a connection: %s", molt_strerror(rc));
    molt_tcp_close(m->ref);
  }
}

static int http_handle(void* state, const molt_msg_t* m) {
  http_t* h = state;
  if (h->role == ROLE_LISTENER) {
    if (m->kind == MOLT_MSG_TCP_ACCEPT) hand_over(m);
    if (m->kind == MOLT_MSG_TCP_CLOSED && m->ref == h->sock) return m->reason ? m->reason : MOLT_EIO;
    return MOLT_OK;
  }
  if (m->kind == MOLT_MSG_TCP_DATA && m->ref == h->sock) return on_data(h, m);
  if (m->kind == MOLT_MSG_TCP_CLOSED) return MOLT_STOP; /* the client went away */
  return MOLT_OK;
}

static void http_terminate(void* state, int reason) {}

static void http_free_state(void* state) { molt_free(state); }

static char* http_format_state(const void* state) {
  const http_t* h = state;
  char* out = molt_alloc(96);
  if (out)
    snprintf(out, 96, "{\"role\":\"%s\",\"requests\":%llu}", h->role == ROLE_LISTENER ? "listener" : "conn",
             (unsigned long long)h->requests);
  return out;
}

#define http_code_change NULL /* state_vsn 1 only so far */
MOLT_MODULE("http", HTTP_VSN, 1, http);
