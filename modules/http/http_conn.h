/* http_conn.h: one HTTP/1.1 connection, as every http version serves it:
 * parse with libhttp-parser, route, answer in request order (pipelining
 * and keep-alive), and ask the key store for /keys/<k>. What a version
 * says in its answers comes from its http_ops_t; how a connection works
 * lives here once.
 *
 *   GET /             200, a greeting naming the version
 *   GET /stats        200, this connection's request count
 *   GET /keys/<k>     200, the key's count (from the store: the counter)
 *   PUT|POST /keys/<k> 200, adds the body's integer (default 1), then the count
 *   other paths       404; other methods on /keys 405; a bad key or body 400
 *   malformed         400, then the connection is closed
 *   store down        503
 *   head too large    431, then closed: the URL, header names and values
 *                     of one request add up past max_header_bytes
 *   half a request    408, then closed: a request begun but not complete
 *                     (head or body) and nothing received for
 *                     idle_timeout_ms (http_idle.h)
 *   idle between requests for idle_timeout_ms: closed without an answer
 *                     (a 408 there would race the client's next request)
 *
 * A request waiting for the store is not idle. Answers before a 431 or
 * 408 on the same connection go out first, in order.
 *
 * Every answer carries X-Molt-Version: <vsn>, so a client can tell which
 * code answered. */
#ifndef DEMO_HTTP_CONN_H
#define DEMO_HTTP_CONN_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../counter/counter_common.h"
#include "http_idle.h"
#include "http_state.h"

typedef enum { HTTP_ANS_ROOT, HTTP_ANS_STATS, HTTP_ANS_KEY } http_answer_kind_t;

/* What an answer is about, handed to a version's body(). */
typedef struct {
  http_answer_kind_t kind;
  const char* key; /* HTTP_ANS_KEY */
  int64_t count;   /* HTTP_ANS_KEY: the key's count after this request */
  bool put;        /* HTTP_ANS_KEY: the request added to it */
} http_answer_t;

/* What differs between versions. A const table in the module image; the
 * state never points at it. */
typedef struct {
  const char* vsn;
  /* The body of a 200 answer into buf (snprintf's contract). */
  int (*body)(const void* state, const http_answer_t* a, char* buf, size_t len);
  /* Extra header lines, each ending in \r\n (snprintf's contract). May be NULL. */
  int (*headers)(const void* state, char* buf, size_t len);
  /* n bytes arrived on the connection. May be NULL. */
  void (*received)(void* state, size_t n);
} http_ops_t;

/* Answers made while handling one message are gathered here and written
 * with one molt_tcp_write: a pipelined burst costs one write, not one per
 * request. Lives on the handler's stack, never in the state. */
#define HTTP_OUT_MAX 16384
typedef struct {
  const http_ops_t* ops;
  void* state;
  char buf[HTTP_OUT_MAX];
  size_t len;
  bool failed; /* a write was refused: the connection is closed */
} http_call_t;

static inline http_core_t* http_core(http_call_t* k) { return k->state; }

static inline void http_flush(http_call_t* k) {
  if (!k->len || k->failed) return;
  int rc = molt_tcp_write(http_core(k)->sock, k->buf, k->len);
  /* ENOBUFS: a client with 4 MiB of unread answers. Reading pauses at
   * 1 MiB, so only a huge pipelined burst gets here; drop the client
   * rather than grow without bound. */
  if (rc) k->failed = true;
  k->len = 0;
}

/* Queue one answer; keep says whether the connection stays open. */
static inline void http_respond(http_call_t* k, int status, const char* reason, const char* body, size_t blen,
                                bool keep) {
  http_core_t* c = http_core(k);
  char extra[256] = "";
  if (status == 200 && k->ops->headers) {
    int n = k->ops->headers(k->state, extra, sizeof(extra));
    if (n < 0 || (size_t)n >= sizeof(extra)) extra[0] = '\0';
  }
  if (k->len + 512 + sizeof(extra) + blen > HTTP_OUT_MAX) http_flush(k);
  int n = snprintf(k->buf + k->len, HTTP_OUT_MAX - k->len,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nX-Molt-Version: %s\r\n"
                   "%sConnection: %s\r\n\r\n",
                   status, reason, blen, k->ops->vsn, extra, keep ? "keep-alive" : "close");
  k->len += (size_t)n;
  if (blen > HTTP_OUT_MAX - k->len) blen = HTTP_OUT_MAX - k->len; /* bodies are far smaller */
  memcpy(k->buf + k->len, body, blen);
  k->len += blen;
  c->requests++;
  if (!keep) c->close_after = true;
}

static inline void http_respond_text(http_call_t* k, int status, const char* reason, const char* text, bool keep) {
  char body[160];
  int n = snprintf(body, sizeof(body), "http %s: %s\n", k->ops->vsn, text);
  http_respond(k, status, reason, body, (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1, keep);
}

static inline void http_respond_ok(http_call_t* k, const http_answer_t* a, bool keep) {
  char body[512];
  int n = k->ops->body(k->state, a, body, sizeof(body));
  if (n < 0) n = 0;
  http_respond(k, 200, "OK", body, (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1, keep);
}

/* The key store (the counter) is asked INCR then GET: both go from this
 * actor to that one, so they arrive in order and the GET sees the INCR.
 * The store is monitored once per store pid, so a store that dies while
 * we wait gets the client a 503 instead of a hang. */
static inline int http_store_ask(http_core_t* c, const char* key, bool put, int64_t by) {
  molt_pid_t pid = molt_whereis(c->store);
  if (pid == MOLT_PID_NONE) return MOLT_ESRCH;
  if (pid != c->store_pid) {
    if (c->store_mon) molt_demonitor(c->store_mon);
    c->store_pid = pid;
    c->store_mon = 0;
    molt_monitor(pid, &c->store_mon);
  }
  if (put) {
    counter_incr_t in = {.by = by};
    snprintf(in.key, sizeof(in.key), "%s", key);
    int rc = molt_send(pid, COUNTER_INCR, &in, sizeof(in));
    if (rc) return rc;
  }
  counter_key_t q = {{0}};
  snprintf(q.key, sizeof(q.key), "%s", key);
  uint64_t ref = molt_make_ref();
  int rc = molt_send_ref(pid, COUNTER_GET, ref, &q, sizeof(q));
  if (rc) return rc;
  c->wait_ref = ref;
  c->wait_put = put;
  snprintf(c->wait_key, sizeof(c->wait_key), "%s", key);
  return 0;
}

/* The increment a PUT's body asks for: empty means 1. */
static inline bool http_parse_by(const http_core_t* c, int64_t* by) {
  if (c->body_too_long) return false;
  if (c->body_len == 0) {
    *by = 1;
    return true;
  }
  char text[HTTP_BODY_MAX + 1];
  memcpy(text, c->body, c->body_len);
  text[c->body_len] = '\0';
  char* end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  while (*end == ' ' || *end == '\r' || *end == '\n' || *end == '\t') end++;
  if (errno || end == text || *end) return false;
  *by = v;
  return true;
}

/* /keys/<k>: answered now (400, 405, 503), or asked of the store and the
 * parser paused until its answer (http_conn_stored). */
static inline void http_route_key(http_call_t* k, http_parser* p, const char* key, bool keep) {
  http_core_t* c = http_core(k);
  bool put = p->method == HTTP_PUT || p->method == HTTP_POST;
  int64_t by = 1;
  char name[COUNTER_KEY_MAX] = "";
  size_t klen = strlen(key);
  if (klen < sizeof(name)) memcpy(name, key, klen + 1);
  if (!put && p->method != HTTP_GET) {
    http_respond_text(k, 405, "Method Not Allowed", "GET, PUT or POST", keep);
  } else if (klen >= sizeof(name) || !counter_valid_key(name)) {
    http_respond_text(k, 400, "Bad Request", "bad key", keep);
  } else if (put && !http_parse_by(c, &by)) {
    http_respond_text(k, 400, "Bad Request", "bad increment", keep);
  } else if (http_store_ask(c, name, put, by) != 0) {
    http_respond_text(k, 503, "Service Unavailable", "key store unavailable", keep);
  } else {
    c->wait_keep = keep;
    http_parser_pause(p, 1);
  }
}

static inline int http_on_message_begin(http_parser* p) {
  http_core_t* c = http_core(p->data);
  c->url_len = 0;
  c->body_len = 0;
  c->body_too_long = false;
  c->in_request = true;
  c->head_bytes = 0;
  return 0;
}

/* len more bytes of the request's head (URL, a header's name or value).
 * Past max_header_bytes the callback fails, which stops the parser there;
 * http_feed answers 431. */
static inline int http_count_head(http_core_t* c, size_t len) {
  c->head_bytes += len;
  if (!c->max_header_bytes || c->head_bytes <= c->max_header_bytes) return 0;
  c->head_too_big = true;
  return 1;
}

static inline int http_on_header_part(http_parser* p, const char* at, size_t len) {
  (void)at;
  return http_count_head(http_core(p->data), len);
}

static inline int http_on_url(http_parser* p, const char* at, size_t len) {
  http_core_t* c = http_core(p->data);
  if (http_count_head(c, len)) return 1;
  size_t room = HTTP_URL_MAX - 1 - c->url_len;
  if (len > room) len = room; /* a longer URL is answered as its prefix: 404 */
  memcpy(c->url + c->url_len, at, len);
  c->url_len += len;
  return 0;
}

static inline int http_on_body(http_parser* p, const char* at, size_t len) {
  http_core_t* c = http_core(p->data);
  if (len > HTTP_BODY_MAX - c->body_len) {
    c->body_too_long = true;
    return 0;
  }
  memcpy(c->body + c->body_len, at, len);
  c->body_len += len;
  return 0;
}

static inline int http_on_message_complete(http_parser* p) {
  http_call_t* k = p->data;
  http_core_t* c = http_core(k);
  c->in_request = false;
  c->url[c->url_len] = '\0';
  bool keep = http_should_keep_alive(p) != 0;
  if (strncmp(c->url, "/keys/", 6) == 0) {
    http_route_key(k, p, c->url + 6, keep);
  } else if (p->method == HTTP_GET && strcmp(c->url, "/") == 0) {
    http_respond_ok(k, &(http_answer_t){.kind = HTTP_ANS_ROOT}, keep);
  } else if (p->method == HTTP_GET && strcmp(c->url, "/stats") == 0) {
    http_respond_ok(k, &(http_answer_t){.kind = HTTP_ANS_STATS}, keep);
  } else {
    http_respond_text(k, 404, "Not Found", "not found", keep);
  }
  /* Nothing after a request that closes the connection is read. */
  if (!keep) http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings http_settings = {
    .on_message_begin = http_on_message_begin,
    .on_url = http_on_url,
    .on_header_field = http_on_header_part,
    .on_header_value = http_on_header_part,
    .on_body = http_on_body,
    .on_message_complete = http_on_message_complete,
};

/* Keep bytes the paused parser has not read, after what is kept already. */
static inline bool http_keep_input(http_core_t* c, const char* data, size_t len) {
  if (!len) return true;
  if (c->in_len + len > HTTP_INBUF_MAX) return false;
  if (c->in_len + len > c->in_cap) {
    size_t cap = c->in_cap ? c->in_cap : 4096;
    while (cap < c->in_len + len) cap *= 2;
    char* nb = molt_realloc(c->inbuf, cap);
    if (!nb) return false;
    c->inbuf = nb;
    c->in_cap = cap;
  }
  memcpy(c->inbuf + c->in_len, data, len);
  c->in_len += len;
  return true;
}

/* Parse len bytes unless a request waits for the store. MOLT_OK to go on,
 * MOLT_STOP once the connection is closed. */
static inline int http_feed(http_call_t* k, const char* data, size_t len) {
  http_core_t* c = http_core(k);
  if (c->wait_ref) {
    if (http_keep_input(c, data, len)) return MOLT_OK;
    /* Answering now would answer out of order: just close. */
    molt_log("closing a connection that pipelined more than %u bytes behind a store request", HTTP_INBUF_MAX);
    return MOLT_STOP;
  }
  c->parser.data = k;
  size_t done = http_parser_execute(&c->parser, &http_settings, data, len);
  c->parser.data = NULL;
  enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
  if (c->close_after) return MOLT_STOP;
  if (err == HPE_PAUSED && c->wait_ref) return http_feed(k, data + done, len - done);
  /* Our own count, or the parser's (its compiled-in limit, 80 KiB in
   * Debian's build, for a max_header_bytes of 0 or above it). */
  if (c->head_too_big || err == HPE_HEADER_OVERFLOW) {
    http_respond_text(k, 431, "Request Header Fields Too Large", "request header fields too large", false);
    return MOLT_STOP;
  }
  if (err != HPE_OK || done != len) {
    char text[96];
    snprintf(text, sizeof(text), "bad request: %s", http_errno_name(err));
    http_respond_text(k, 400, "Bad Request", text, false);
    return MOLT_STOP;
  }
  return MOLT_OK;
}

/* End of a message's work: write what was answered; close if done. */
static inline int http_finish(http_call_t* k, int rc) {
  http_flush(k);
  if (rc == MOLT_STOP || k->failed) {
    molt_tcp_close(http_core(k)->sock);
    return MOLT_STOP;
  }
  return MOLT_OK;
}

/* The store answered (or died: count < 0 means 503): answer the waiting
 * request, then parse what was pipelined behind it. */
static inline int http_conn_stored(http_call_t* k, const counter_value_t* v) {
  http_core_t* c = http_core(k);
  c->wait_ref = 0;
  if (v) {
    http_answer_t a = {.kind = HTTP_ANS_KEY, .key = c->wait_key, .count = v->value, .put = c->wait_put};
    http_respond_ok(k, &a, c->wait_keep);
  } else {
    http_respond_text(k, 503, "Service Unavailable", "key store went away", c->wait_keep);
  }
  if (c->close_after) return http_finish(k, MOLT_STOP);
  http_parser_pause(&c->parser, 0);
  /* Take the kept bytes out first: parsing them may pause again and keep
   * their rest, which must not land in the buffer being read. */
  char* held = c->inbuf;
  size_t n = c->in_len;
  c->inbuf = NULL;
  c->in_len = c->in_cap = 0;
  int rc = http_feed(k, held, n);
  molt_free(held);
  return http_finish(k, rc);
}

/* The idle timer fired: nothing yet, a silent close between requests, or
 * a 408 for a request left half-sent. */
static inline int http_conn_idle(http_call_t* k, const molt_msg_t* m) {
  switch (http_idle_tick(http_core(k), m)) {
    case HTTP_IDLE_WAIT:
      return MOLT_OK;
    case HTTP_IDLE_CLOSE:
      return http_finish(k, MOLT_STOP);
    case HTTP_IDLE_TIMEOUT:
      http_respond(k, 408, "Request Timeout", "", 0, false);
      return http_finish(k, MOLT_STOP);
  }
  return MOLT_OK;
}

/* One message to a connection actor. */
static inline int http_conn_handle(http_call_t* k, const molt_msg_t* m) {
  http_core_t* c = http_core(k);
  switch (m->kind) {
    case MOLT_MSG_TCP_DATA:
      if (m->ref != c->sock) return MOLT_OK;
      if (k->ops->received) k->ops->received(k->state, m->size);
      http_idle_touch(c);
      return http_finish(k, http_feed(k, m->data, m->size));
    case MOLT_MSG_TCP_CLOSED:
      return MOLT_STOP; /* the client went away */
    case MOLT_MSG_USER:
      if (m->tag == HTTP_IDLE_TICK) return http_conn_idle(k, m);
      if (m->tag == COUNTER_VALUE && c->wait_ref && m->ref == c->wait_ref && m->size == sizeof(counter_value_t)) {
        http_idle_touch(c);
        return http_conn_stored(k, m->data);
      }
      return MOLT_OK;
    case MOLT_MSG_DOWN:
      if (m->ref != c->store_mon) return MOLT_OK;
      c->store_pid = MOLT_PID_NONE;
      c->store_mon = 0;
      if (!c->wait_ref) return MOLT_OK;
      http_idle_touch(c);
      return http_conn_stored(k, NULL);
  }
  return MOLT_OK;
}

#endif
