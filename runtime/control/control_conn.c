/* control_conn.c: one control connection: the peer check, line framing with
 * its size and time limits, request validation, and one request at a time so
 * replies keep request order. Not the listener, the thread or the commands. */
#include "control_conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errmsg.h"
#include "json_text.h"
#include "jsonpath.h"
#include "molt/errno.h"

/* A line may carry MOLT_CONTROL_MAX_REQUEST bytes of JSON plus "\r\n"; the
 * read buffer grows to that and never further. */
#define LINE_ROOM (MOLT_CONTROL_MAX_REQUEST + 2u)
#define READ_CHUNK 4096u

/* Stop serving a peer's pipelined requests while this much of our replies to
 * it is still unsent: a client that writes without reading must not make us
 * queue replies without bound. */
#define WRITE_BACKLOG (256u * 1024u)

typedef struct conn {
  uv_pipe_t pipe;
  uv_timer_t timer; /* the deadline of the request being read */
  molt__control_conf_t* conf;
  uint32_t deadline_ms;
  /* buf[start, len) is unread input; buf[start, scanned) holds no '\n', so
   * a line arriving a byte at a time is not rescanned from its start. */
  char* buf;
  size_t cap, len, start, scanned;
  molt_control_req_t* pending; /* with the dispatcher; reading stops meanwhile */
  unsigned writes;             /* uv_write requests not yet called back */
  int open_handles;            /* pipe and timer until their close callbacks */
  bool reading, eof, pumping, finishing, closing;
} conn_t;

/* A request outlives its connection when the peer hangs up (or the server
 * stops) before the dispatcher answers: closing the connection clears conn,
 * and the answer then only frees the request. */
struct molt_control_req {
  conn_t* conn;
};

typedef struct {
  uv_write_t req;
  char* text; /* cJSON_PrintUnformatted's, freed with cJSON_free */
} write_t;

static char newline[] = "\n";

static void conn_pump(conn_t* conn);

static void on_close(uv_handle_t* h) {
  conn_t* conn = h->data;
  if (--conn->open_handles > 0) return;
  free(conn->buf);
  free(conn);
}

static void conn_close(conn_t* conn) {
  if (conn->closing) return;
  conn->closing = true;
  if (conn->pending) {
    conn->pending->conn = NULL;
    conn->pending = NULL;
  }
  uv_close((uv_handle_t*)&conn->pipe, on_close);
  uv_close((uv_handle_t*)&conn->timer, on_close);
}

void molt__control_conn_close(uv_handle_t* h) { conn_close(h->data); }

static void conn_read_stop(conn_t* conn) {
  if (!conn->reading) return;
  uv_read_stop((uv_stream_t*)&conn->pipe);
  conn->reading = false;
}

static void on_linger(uv_timer_t* t) { conn_close(t->data); }

/* The connection is done: close it once every queued reply has been written,
 * since closing first would cancel the error reply that explains why. A peer
 * that never reads would keep it open for ever, so the replies get one more
 * deadline to drain. */
static void conn_finish(conn_t* conn) {
  conn->finishing = true;
  conn_read_stop(conn);
  if (conn->writes == 0)
    conn_close(conn);
  else
    uv_timer_start(&conn->timer, on_linger, conn->deadline_ms, 0);
}

static void on_write(uv_write_t* req, int status) {
  write_t* w = (write_t*)req;
  conn_t* conn = req->handle->data;
  cJSON_free(w->text);
  free(w);
  conn->writes--;
  if (conn->closing) return; /* status is UV_ECANCELED; on_close frees conn */
  if (status < 0) {
    conn_close(conn); /* the peer hung up: EPIPE, ECONNRESET */
  } else if (conn->finishing) {
    if (conn->writes == 0) conn_close(conn);
  } else if (!conn->pumping) {
    conn_pump(conn); /* it may have paused on WRITE_BACKLOG */
  }
}

/* Write msg as one compact line and delete it. NULL msg means building it
 * ran out of memory: with no way to answer, the connection is closed. */
static void conn_send(conn_t* conn, cJSON* msg) {
  char* text = msg ? cJSON_PrintUnformatted(msg) : NULL;
  cJSON_Delete(msg);
  if (conn->closing) {
    cJSON_free(text);
    return;
  }
  write_t* w = text ? malloc(sizeof *w) : NULL;
  if (!w) goto fail;
  w->text = text;
  uv_buf_t bufs[2] = {uv_buf_init(text, (unsigned)strlen(text)), uv_buf_init(newline, 1)};
  if (uv_write(&w->req, (uv_stream_t*)&conn->pipe, bufs, 2, on_write) < 0) goto fail;
  conn->writes++;
  return;

fail:
  free(w);
  cJSON_free(text);
  conn_close(conn);
}

static cJSON* error_json(int code, const char* message) {
  cJSON* o = cJSON_CreateObject();
  if (!o || !cJSON_AddFalseToObject(o, "ok") ||
      !cJSON_AddStringToObject(o, "error", molt_err_name(code)) ||
      !cJSON_AddNumberToObject(o, "code", code) ||
      !cJSON_AddStringToObject(o, "message", message ? message : molt_strerror(code))) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

/* Answer with an error and end the connection: for the limits and the peer
 * check, after which the rest of the stream cannot be trusted to frame. */
__attribute__((format(printf, 3, 4))) static void conn_refuse(conn_t* conn, int code,
                                                              const char* fmt, ...) {
  char message[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  conn_send(conn, error_json(code, message));
  if (!conn->closing) conn_finish(conn);
}

/* The deadline counts from the moment we start waiting for a request: the
 * connect, or the reply to the previous one. Counting from a request's first
 * byte instead would let a peer that sends nothing hold the connection
 * forever. */
static void on_deadline(uv_timer_t* t) {
  conn_t* conn = t->data;
  conn_refuse(conn, MOLT_ETIMEDOUT, "no complete request within %u ms", conn->deadline_ms);
}

static void conn_wait(conn_t* conn) {
  if (conn->closing || conn->finishing) return;
  uv_timer_start(&conn->timer, on_deadline, conn->deadline_ms, 0);
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* out) {
  conn_t* conn = h->data;
  /* Compact here, once per read, rather than after every line: a burst of
   * pipelined lines would otherwise move the buffer once per line. */
  if (conn->start > 0) {
    memmove(conn->buf, conn->buf + conn->start, conn->len - conn->start);
    conn->len -= conn->start;
    conn->scanned -= conn->start;
    conn->start = 0;
  }
  if (conn->cap - conn->len < READ_CHUNK && conn->cap < LINE_ROOM) {
    size_t cap = conn->cap ? conn->cap * 2 : READ_CHUNK;
    if (cap > LINE_ROOM) cap = LINE_ROOM;
    char* grown = realloc(conn->buf, cap);
    if (grown) {
      conn->buf = grown;
      conn->cap = cap;
    }
  }
  /* No room (only if realloc failed) makes libuv report UV_ENOBUFS. */
  *out = conn->buf ? uv_buf_init(conn->buf + conn->len, (unsigned)(conn->cap - conn->len))
                   : uv_buf_init(NULL, 0);
}

static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  conn_t* conn = s->data;
  if (n > 0) {
    conn->len += (size_t)n;
    conn_pump(conn);
  } else if (n == UV_EOF) {
    conn->eof = true;
    conn_read_stop(conn);
    conn_pump(conn);
  } else if (n < 0) {
    conn_close(conn); /* ECONNRESET, or ENOBUFS from on_alloc */
  }
}

static void conn_read_start(conn_t* conn) {
  if (conn->reading) return;
  if (uv_read_start((uv_stream_t*)&conn->pipe, on_alloc, on_read) < 0) {
    conn_close(conn);
    return;
  }
  conn->reading = true;
}

/* The message names what is wrong, for the EBADREQ reply. */
int molt__control_request_parse(const char* line, size_t n, cJSON** root, const char** cmd,
                                const cJSON** args, char* why, size_t whylen) {
  *root = NULL;
  *cmd = NULL;
  *args = NULL;
  if (n == 0) return molt__errmsg_set(why, whylen, MOLT_EBADREQ, "empty request line");
  /* cJSON would stop at a raw NUL and take what precedes it for the
   * request, and decodes \u0000 into a string that ends there: "stop\u0000x"
   * would be served as stop. Before parsing, so nothing cut is ever read. */
  int rc = molt__json_text_refuse_nul(line, n, MOLT_EBADREQ, why, whylen);
  if (rc) return rc;
  const char* end = NULL;
  cJSON* r = cJSON_ParseWithOpts(line, &end, 1);
  if (!r)
    return molt__errmsg_set(why, whylen, MOLT_EBADREQ, "invalid JSON at byte %zu",
                            end ? (size_t)(end - line) : (size_t)0);
  if (!cJSON_IsObject(r)) {
    molt__errmsg_set(why, whylen, MOLT_EBADREQ, "request is not a JSON object");
    goto bad;
  }
  for (const cJSON* item = r->child; item; item = item->next) {
    bool is_cmd = strcmp(item->string, "cmd") == 0;
    if (!is_cmd && strcmp(item->string, "args") != 0) {
      /* Quoted: a key may hold a newline ("\n" decoded) or any control
       * byte, and the reason must stay one line. */
      char quoted[80];
      molt__jsonpath_quote(item->string, quoted, sizeof quoted);
      molt__errmsg_set(why, whylen, MOLT_EBADREQ,
                       "unknown key %s (a request has \"cmd\" and \"args\")", quoted);
      goto bad;
    }
    /* cJSON keeps both copies of a repeated key; which one we served would
     * be an accident of its lookup order. */
    if (is_cmd ? *cmd != NULL : *args != NULL) {
      molt__errmsg_set(why, whylen, MOLT_EBADREQ, "duplicate key \"%s\"", item->string);
      goto bad;
    }
    if (is_cmd && !cJSON_IsString(item)) {
      molt__errmsg_set(why, whylen, MOLT_EBADREQ, "\"cmd\" is not a string");
      goto bad;
    }
    if (!is_cmd && !cJSON_IsObject(item)) {
      molt__errmsg_set(why, whylen, MOLT_EBADREQ, "\"args\" is not an object");
      goto bad;
    }
    if (is_cmd)
      *cmd = item->valuestring;
    else
      *args = item;
  }
  if (!*cmd) {
    molt__errmsg_set(why, whylen, MOLT_EBADREQ, "request has no \"cmd\"");
    goto bad;
  }
  *root = r;
  return 0;

bad:
  cJSON_Delete(r);
  *cmd = NULL;
  *args = NULL;
  return MOLT_EBADREQ;
}

static void conn_serve(conn_t* conn, char* line, size_t n) {
  char why[160];
  cJSON* root;
  const char* cmd;
  const cJSON* args;
  int rc = molt__control_request_parse(line, n, &root, &cmd, &args, why, sizeof why);
  molt_control_req_t* req = rc == 0 ? malloc(sizeof *req) : NULL;
  if (!req) {
    cJSON_Delete(root);
    conn_send(conn, error_json(rc ? rc : MOLT_ENOMEM, rc ? why : NULL));
    conn_wait(conn);
    return;
  }
  req->conn = conn;
  conn->pending = req;
  uv_timer_stop(&conn->timer); /* the dispatcher may take its time */
  conn->conf->cb(req, cmd, args, conn->conf->data);
  cJSON_Delete(root);
}

/* Serve complete lines from the buffer one request at a time, then decide
 * whether to read more. Replies from inside the dispatcher come back here
 * through req_answer, which only continues the loop (pumping) rather than
 * recursing once per pipelined line. */
static void conn_pump(conn_t* conn) {
  if (conn->closing || conn->finishing) return;
  conn->pumping = true;
  bool backlog = false;
  while (!conn->closing && !conn->finishing && !conn->pending) {
    backlog = uv_stream_get_write_queue_size((uv_stream_t*)&conn->pipe) >= WRITE_BACKLOG;
    if (backlog || conn->scanned == conn->len) break;
    char* nl = memchr(conn->buf + conn->scanned, '\n', conn->len - conn->scanned);
    if (!nl) {
      conn->scanned = conn->len;
      break;
    }
    char* line = conn->buf + conn->start;
    size_t n = (size_t)(nl - line);
    conn->start = conn->scanned = (size_t)(nl - conn->buf) + 1;
    if (n > 0 && line[n - 1] == '\r') n--;
    line[n] = '\0';
    if (n > MOLT_CONTROL_MAX_REQUEST) {
      conn_refuse(conn, MOLT_EMSGSIZE, "request line longer than %u bytes",
                  MOLT_CONTROL_MAX_REQUEST);
      break;
    }
    conn_serve(conn, line, n);
  }
  conn->pumping = false;
  if (conn->closing || conn->finishing) return;
  if (conn->pending || backlog) {
    conn_read_stop(conn); /* on_write or req_answer pumps again */
    return;
  }
  /* No complete line buffered. Checking the partial one here bounds the
   * buffer: it never holds more than a line's room. */
  if (conn->len - conn->start > MOLT_CONTROL_MAX_REQUEST + 1u) {
    conn_refuse(conn, MOLT_EMSGSIZE, "request line longer than %u bytes", MOLT_CONTROL_MAX_REQUEST);
  } else if (conn->eof) {
    conn_finish(conn); /* done, possibly mid-line: nobody is left to answer */
  } else {
    conn_read_start(conn);
  }
}

/* Deliver the answer to req (NULL msg: out of memory) and free req. */
static void req_answer(molt_control_req_t* req, cJSON* msg) {
  conn_t* conn = req->conn;
  free(req);
  if (!conn) {
    cJSON_Delete(msg);
    return;
  }
  conn->pending = NULL;
  conn_send(conn, msg);
  conn_wait(conn);
  if (!conn->pumping) conn_pump(conn);
}

void molt__control_reply(molt_control_req_t* req, cJSON* result) {
  cJSON* msg = cJSON_CreateObject();
  if (!result) result = cJSON_CreateObject();
  if (msg && result && cJSON_AddTrueToObject(msg, "ok") &&
      cJSON_AddItemToObject(msg, "result", result)) {
    req_answer(req, msg);
    return;
  }
  cJSON_Delete(result);
  cJSON_Delete(msg);
  req_answer(req, NULL);
}

void molt__control_fail(molt_control_req_t* req, int code, const char* message) {
  req_answer(req, error_json(code, message));
}

void molt__control_conn_refuse_fd(int fd, int code, const char* message) {
  char line[512];
  int n = snprintf(line, sizeof line, "{\"ok\":false,\"error\":\"%s\",\"code\":%d,\"message\":\"%s\"}\n",
                   molt_err_name(code), code, message);
  /* The peer's request may be unread: a close with unread data resets the
   * connection, and a reset can overtake the reply. Reading first (the
   * socket is non-blocking) lets the reply arrive whole. */
  char sink[256];
  while (read(fd, sink, sizeof sink) > 0) {
  }
  if (n > 0 && (size_t)n < sizeof line) {
    ssize_t w = send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w; /* best effort: nobody to tell */
  }
  close(fd);
}

int molt__control_conn_open(uv_loop_t* loop, int fd, molt__control_conf_t* conf) {
  conn_t* conn = calloc(1, sizeof *conn);
  if (!conn) {
    molt__control_conn_refuse_fd(fd, MOLT_ENOMEM, "the container is out of memory for a connection");
    return MOLT_ENOMEM;
  }
  conn->conf = conf;
  conn->deadline_ms = atomic_load(&conf->deadline_ms);

  int rc = uv_pipe_init(loop, &conn->pipe, 0);
  if (rc < 0) goto fail_pipe;
  conn->pipe.data = conn;
  conn->open_handles = 1;
  rc = uv_timer_init(loop, &conn->timer);
  if (rc < 0) goto fail_timer;
  conn->timer.data = conn;
  conn->open_handles = 2;
  rc = uv_pipe_open(&conn->pipe, fd);
  if (rc < 0) goto fail_open;

  /* Mode 0600 on the socket keeps other users out already; this holds even
   * if someone loosens the mode, and covers a socket passed to us some other
   * way. Without credentials we cannot tell, so we refuse. */
  struct ucred cred;
  socklen_t credlen = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) != 0) {
    conn_refuse(conn, MOLT_EPERM, "cannot identify the peer: %s", strerror(errno));
    return 0;
  }
  if (cred.uid != conf->uid) {
    conn_refuse(conn, MOLT_EPERM, "peer uid %u is not the container's uid %u", (unsigned)cred.uid,
                (unsigned)conf->uid);
    return 0;
  }
  conn_wait(conn);
  conn_read_start(conn);
  return 0;

fail_open:
  molt__control_conn_refuse_fd(fd, rc, "the container cannot serve this connection");
  conn_close(conn);
  return rc;
fail_timer:
  uv_close((uv_handle_t*)&conn->pipe, on_close);
  molt__control_conn_refuse_fd(fd, rc, "the container cannot serve this connection");
  return rc;
fail_pipe:
  free(conn);
  molt__control_conn_refuse_fd(fd, rc, "the container cannot serve this connection");
  return rc;
}
