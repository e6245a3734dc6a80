/* http_server.h: a small HTTP/1.1 server the runtime owns (not a module's
 * actor): its own thread and uv loop, GET and HEAD only, one request per
 * connection (Connection: close), with bounds on the request's size, the
 * number of connections and how long a connection may live. What it serves
 * is the handler's business (metrics, the observer page); it knows nothing
 * about actors. */
#ifndef MOLT_OBSERVE_HTTP_SERVER_H
#define MOLT_OBSERVE_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A request's line and headers larger than this get 431 and are closed. */
#define MOLT_HTTP_MAX_REQUEST (8u * 1024u)
/* Connections beyond this many are closed as soon as accepted. */
#define MOLT_HTTP_MAX_CONNS 64u
/* A connection is closed this long after it was accepted, whatever it is
 * doing: reading a request, or writing a reply to a peer that does not
 * read. A scrape is one request and one reply. */
#define MOLT_HTTP_DEADLINE_MS 10000u

typedef struct molt_http_server molt_http_server_t;

/* What the handler answers: status (200, 404, ...), the content type (a
 * static string), and the body, malloc'd, which the server frees (NULL with
 * len 0: empty). */
typedef struct molt_http_reply {
  int status;
  const char* type;
  char* body;
  size_t len;
} molt_http_reply_t;

/* Called on the server's thread for each complete GET or HEAD request with
 * its path (the query string cut off; borrowed for the call). It may take
 * time, bounded by deadlines of its own: the server's other connections
 * wait meanwhile. Whatever it leaves in reply is sent. */
typedef void (*molt_http_handler_cb)(const char* path, molt_http_reply_t* reply, void* data);

/* "HOST:PORT" (an IPv4 address, or an IPv6 one in brackets; port 0..65535)
 * into addr. 0 or MOLT_EINVAL. */
int molt__http_addr_parse(const char* text, struct sockaddr_storage* addr);

/* Listen on text ("HOST:PORT") and serve on a new thread. Returns 0 or a
 * MOLT_E* with a one-line reason (a port in use: MOLT_EADDRINUSE). */
int molt__http_start(const char* text, molt_http_handler_cb cb, void* data, molt_http_server_t** out,
                     char* err, size_t errlen);

/* The port it listens on (the one the kernel chose for port 0). */
unsigned molt__http_port(const molt_http_server_t* s);

/* Close the listener and every connection, join the thread, free. NULL is
 * fine. Not on the server's thread. */
void molt__http_stop(molt_http_server_t* s);

/* The reason phrase of a status code ("Not Found"). */
const char* molt__http_reason(int status);

#endif
