/* control_conn.h: one accepted control connection: peer check, line
 * framing, limits, validation, and replies in request order. Not the
 * listener, the thread or the commands (control.c, the dispatcher). */
#ifndef MOLT_CONTROL_CONTROL_CONN_H
#define MOLT_CONTROL_CONTROL_CONN_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "control.h"

/* What every connection of one server shares. Lives in the server, which
 * outlives its connections. */
typedef struct molt__control_conf {
  molt_control_dispatch_cb cb;
  void* data;
  uid_t uid;                    /* the only peer uid served */
  _Atomic uint32_t deadline_ms; /* read at accept; set from any thread */
} molt__control_conf_t;

/* Serve the accepted connection fd on loop. Returns 0, or a MOLT_E*
 * (MOLT_ENOMEM, a libuv error) after answering the peer with it as well as
 * it can and closing fd: fd is the connection's either way. Control
 * thread. */
int molt__control_conn_open(uv_loop_t* loop, int fd, molt__control_conf_t* conf);

/* Answer a connection that will not be served, on its raw fd, with one
 * error line {"ok":false,...,"message":message} (message: our own text,
 * no quote or backslash), best effort and without allocating, and close
 * fd. For a full fd table or no memory. Any thread. */
void molt__control_conn_refuse_fd(int fd, int code, const char* message);

/* Close the connection that owns h (its pipe or timer, as uv_walk finds
 * them). Its outstanding request, if any, is detached. Idempotent. Control
 * thread. */
void molt__control_conn_close(uv_handle_t* h);

/* Check one request line, line[0, n) with line[n] == '\0' (the framing
 * has cut the newline off): a JSON object with a string "cmd" and an
 * optional object "args", nothing else, no key twice, and no NUL anywhere
 * (raw, or a \u0000 escape that would cut a string short). On success *root
 * owns the tree that *cmd and *args point into (freed with cJSON_Delete);
 * on failure all three are NULL and MOLT_EBADREQ comes with the reason in
 * why. Any thread; exposed for the fuzz target. */
int molt__control_request_parse(const char* line, size_t n, cJSON** root, const char** cmd,
                                const cJSON** args, char* why, size_t whylen);

#endif
