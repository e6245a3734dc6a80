/* http_server.c: the listener, its thread and its connections: accept
 * within the connection bound, parse one request with libhttp-parser
 * within the size bound and the deadline, answer it through the handler,
 * close. Not what is served (the container's observe.c). */
#include "http_server.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <uv.h>

#include "errmsg.h"
#include "molt/errno.h"

#define BACKLOG 64
#define URL_MAX 1024u

struct molt_http_server {
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_async_t stop;
  uv_thread_t thread;
  molt_http_handler_cb cb;
  void* data;
  unsigned port;
  unsigned nconns;
};

typedef struct conn {
  uv_tcp_t tcp;
  uv_timer_t deadline;
  uv_write_t write;
  molt_http_server_t* srv;
  http_parser parser;
  char in[2048];
  size_t got;      /* request bytes read so far */
  char url[URL_MAX + 1];
  size_t url_len;
  int status;      /* non-zero once the request is judged: the reply's status */
  bool complete;   /* a whole request was parsed */
  bool answered;   /* a reply is being written; reading stopped */
  char* out;       /* the reply being written */
  int open_handles;
} conn_t;

const char* molt__http_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Error";
}

int molt__http_addr_parse(const char* text, struct sockaddr_storage* addr) {
  const char* colon = text ? strrchr(text, ':') : NULL;
  if (!colon || colon == text || !colon[1]) return MOLT_EINVAL;
  char* end;
  unsigned long port = strtoul(colon + 1, &end, 10);
  if (*end || port > 65535 || colon[1] < '0' || colon[1] > '9') return MOLT_EINVAL;
  char host[64];
  size_t n = (size_t)(colon - text);
  if (n >= sizeof host) return MOLT_EINVAL;
  memcpy(host, text, n);
  host[n] = 0;
  memset(addr, 0, sizeof *addr);
  if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
    host[n - 1] = 0;
    return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6*)addr) ? MOLT_EINVAL : 0;
  }
  return uv_ip4_addr(host, (int)port, (struct sockaddr_in*)addr) ? MOLT_EINVAL : 0;
}

static void on_handle_closed(uv_handle_t* h) {
  conn_t* c = h->data;
  if (--c->open_handles) return;
  c->srv->nconns--;
  free(c->out);
  free(c);
}

static void conn_close(conn_t* c) {
  if (uv_is_closing((uv_handle_t*)&c->tcp)) return;
  uv_close((uv_handle_t*)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t*)&c->deadline, on_handle_closed);
}

static void on_written(uv_write_t* w, int status) {
  (void)status; /* a peer gone meanwhile changes nothing: we close either way */
  conn_close(w->data);
}

/* Status line, headers and (but for HEAD) the body, in one buffer. */
static void respond(conn_t* c, molt_http_reply_t* r) {
  bool head = c->complete && c->parser.method == HTTP_HEAD;
  const char* type = r->type ? r->type : "text/plain; charset=utf-8";
  char hdr[512];
  int n = snprintf(hdr, sizeof hdr,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sCache-Control: no-store\r\n"
                   "Connection: close\r\n\r\n",
                   r->status, molt__http_reason(r->status), type, r->len,
                   r->status == 405 ? "Allow: GET, HEAD\r\n" : "");
  size_t body = head ? 0 : r->len;
  c->out = malloc((size_t)n + body);
  if (!c->out) {
    free(r->body);
    conn_close(c);
    return;
  }
  memcpy(c->out, hdr, (size_t)n);
  if (body) memcpy(c->out + n, r->body, body);
  free(r->body);
  c->answered = true;
  uv_read_stop((uv_stream_t*)&c->tcp);
  uv_buf_t buf = uv_buf_init(c->out, (unsigned)((size_t)n + body));
  c->write.data = c;
  if (uv_write(&c->write, (uv_stream_t*)&c->tcp, &buf, 1, on_written) != 0) conn_close(c);
}

/* A refusal: the status and its reason phrase as the body. */
static void refuse(conn_t* c, int status) {
  const char* reason = molt__http_reason(status);
  size_t len = strlen(reason);
  molt_http_reply_t r = {status, NULL, malloc(len + 1), len + 1};
  if (r.body) {
    memcpy(r.body, reason, len);
    r.body[len] = '\n';
  } else {
    r.len = 0;
  }
  respond(c, &r);
}

static void answer(conn_t* c) {
  if (c->parser.method != HTTP_GET && c->parser.method != HTTP_HEAD) {
    refuse(c, 405);
    return;
  }
  char* q = strchr(c->url, '?');
  if (q) *q = 0;
  molt_http_reply_t r = {404, NULL, NULL, 0};
  c->srv->cb(c->url, &r, c->srv->data);
  respond(c, &r);
}

static int on_url(http_parser* p, const char* at, size_t len) {
  conn_t* c = p->data;
  if (c->url_len + len > URL_MAX) {
    c->status = 414;
    return 1; /* stops the parser */
  }
  memcpy(c->url + c->url_len, at, len);
  c->url_len += len;
  c->url[c->url_len] = 0;
  return 0;
}

static int on_message_complete(http_parser* p) {
  conn_t* c = p->data;
  c->complete = true;
  http_parser_pause(p, 1); /* one request per connection: the rest is ignored */
  return 0;
}

static const http_parser_settings settings = {.on_url = on_url, .on_message_complete = on_message_complete};

static void on_alloc(uv_handle_t* h, size_t hint, uv_buf_t* buf) {
  (void)hint;
  conn_t* c = h->data;
  *buf = uv_buf_init(c->in, sizeof c->in);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  conn_t* c = s->data;
  if (c->answered) return;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->got += (size_t)n;
  size_t used = http_parser_execute(&c->parser, &settings, buf->base, (size_t)n);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->complete)
    answer(c);
  else if (c->status)
    refuse(c, c->status);
  else if ((e != HPE_OK && e != HPE_PAUSED) || used != (size_t)n)
    refuse(c, 400);
  else if (c->got > MOLT_HTTP_MAX_REQUEST)
    refuse(c, 431);
}

static void on_deadline(uv_timer_t* t) { conn_close(t->data); }

static void on_connection(uv_stream_t* l, int status) {
  molt_http_server_t* srv = l->data;
  if (status < 0) return;
  conn_t* c = calloc(1, sizeof *c);
  if (!c) return; /* the peer waits in the backlog; the next accept may have memory */
  c->srv = srv;
  uv_tcp_init(&srv->loop, &c->tcp);
  uv_timer_init(&srv->loop, &c->deadline);
  c->tcp.data = c->deadline.data = c;
  c->open_handles = 2;
  srv->nconns++;
  if (uv_accept(l, (uv_stream_t*)&c->tcp) != 0 || srv->nconns > MOLT_HTTP_MAX_CONNS) {
    conn_close(c);
    return;
  }
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  uv_timer_start(&c->deadline, on_deadline, MOLT_HTTP_DEADLINE_MS, 0);
  if (uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read) != 0) conn_close(c);
}

static void close_any(uv_handle_t* h, void* arg) {
  molt_http_server_t* srv = arg;
  if (uv_is_closing(h)) return;
  if (h == (uv_handle_t*)&srv->listener || h == (uv_handle_t*)&srv->stop)
    uv_close(h, NULL);
  else
    conn_close(h->data);
}

static void on_stop(uv_async_t* a) { uv_walk(a->loop, close_any, a->data); }

static void serve(void* arg) {
  molt_http_server_t* srv = arg;
  /* As on the control thread: a peer that hung up makes the write fail
   * with EPIPE here rather than raise SIGPIPE in the process. */
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, NULL);
  uv_run(&srv->loop, UV_RUN_DEFAULT);
}

int molt__http_start(const char* text, molt_http_handler_cb cb, void* data, molt_http_server_t** out,
                     char* err, size_t errlen) {
  *out = NULL;
  struct sockaddr_storage addr;
  if (molt__http_addr_parse(text, &addr) != 0)
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "expected ADDR:PORT, got \"%s\"", text);
  molt_http_server_t* srv = calloc(1, sizeof *srv);
  if (!srv) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  srv->cb = cb;
  srv->data = data;
  int rc = uv_loop_init(&srv->loop);
  if (rc < 0) {
    free(srv);
    return molt__errmsg_set(err, errlen, rc, "%s: %s", text, uv_strerror(rc));
  }
  uv_tcp_init(&srv->loop, &srv->listener);
  uv_async_init(&srv->loop, &srv->stop, on_stop);
  srv->listener.data = srv->stop.data = srv;
  const char* step = "bind";
  rc = uv_tcp_bind(&srv->listener, (const struct sockaddr*)&addr, 0);
  if (rc == 0) {
    step = "listen";
    rc = uv_listen((uv_stream_t*)&srv->listener, BACKLOG, on_connection);
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  if (rc == 0) rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr*)&bound, &blen);
  if (rc == 0) {
    srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6*)&bound)->sin6_port
                                                  : ((struct sockaddr_in*)&bound)->sin_port);
    step = "thread";
    rc = uv_thread_create(&srv->thread, serve, srv);
  }
  if (rc < 0) {
    molt__errmsg_set(err, errlen, rc, "%s: cannot %s: %s", text, step, uv_strerror(rc));
    uv_walk(&srv->loop, close_any, srv);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    uv_loop_close(&srv->loop);
    free(srv);
    return rc;
  }
  *out = srv;
  return 0;
}

unsigned molt__http_port(const molt_http_server_t* s) { return s->port; }

void molt__http_stop(molt_http_server_t* s) {
  if (!s) return;
  uv_async_send(&s->stop);
  uv_thread_join(&s->thread);
  uv_loop_close(&s->loop);
  free(s);
}
