/* control.h: the container's control server: a Unix socket in the home
 * directory speaking one JSON object per line each way. It frames, limits
 * and validates requests and hands each to the container's dispatcher; it
 * knows nothing about the commands themselves. */
#ifndef MOLT_CONTROL_CONTROL_H
#define MOLT_CONTROL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Limits: a request line longer than this is refused (the connection gets
 * an error reply and is closed); a request not complete within the deadline
 * likewise. */
#define MOLT_CONTROL_MAX_REQUEST (64u * 1024u)
#define MOLT_CONTROL_DEADLINE_MS 5000u
#define MOLT_CONTROL_SOCKET "molt.sock"

typedef struct molt_control molt_control_t;
typedef struct molt_control_req molt_control_req_t;

/* A request is {"cmd": "<name>", "args": {...}} ("args" optional, must be
 * an object). The dispatcher runs on the control thread with the command
 * name and the args object (borrowed for the call; convert what you keep).
 * It must eventually call exactly one of molt__control_reply or
 * molt__control_fail for req, now or later, on the control thread. */
typedef void (*molt_control_dispatch_cb)(molt_control_req_t* req, const char* cmd,
                                         const cJSON* args, void* data);

/* Start the server on its own thread and uv loop, listening on
 * <home>/molt.sock (mode 0600; a stale socket file is replaced, a live one
 * refused with MOLT_EADDRINUSE). Peers whose uid differs from ours
 * (SO_PEERCRED) are refused. Returns 0 or a MOLT_E* with a reason. */
int molt__control_start(const char* home, molt_control_dispatch_cb cb, void* data,
                        molt_control_t** out, char* err, size_t errlen);

/* Success reply: {"ok":true,"result":<result>}. Takes ownership of result
 * (may be NULL for {}). Control thread only; the one exception is a request
 * that molt__control_stop detached (below), which any thread may answer. If
 * the connection is gone the reply is dropped; req is freed either way. */
void molt__control_reply(molt_control_req_t* req, cJSON* result);
/* Failure reply: {"ok":false,"error":"<MOLT_ERR_NAME>","code":<n>,
 * "message":"<one line>"} (message NULL: molt_strerror(code)). Threads and
 * freeing as for molt__control_reply. */
void molt__control_fail(molt_control_req_t* req, int code, const char* message);

/* Run fn(arg) on the control thread soon, in posting order. Any thread.
 * 0, MOLT_ENOMEM, or MOLT_ECANCELED once molt__control_stop has begun
 * closing (fn will not run; arg stays the caller's). */
int molt__control_post(molt_control_t* c, void (*fn)(void*), void* arg);

/* Requests on connections accepted from now on must be complete within ms
 * of the connection (or of the previous reply) instead of
 * MOLT_CONTROL_DEADLINE_MS; 0 restores the default. For tests. Any thread. */
void molt__control_set_deadline(molt_control_t* c, uint32_t ms);

/* Close the listener and every connection, join the thread, unlink the
 * socket, free. Any thread but the control thread. Everything posted before
 * stop runs first. A request still unanswered is detached from its closed
 * connection: the dispatcher must still answer it (from any thread, as c is
 * gone), which only frees it. */
void molt__control_stop(molt_control_t* c);

/* Client side, used by the molt command: connect to <home>/molt.sock, send
 * {"cmd":cmd,"args":args} (args may be NULL; not consumed), wait up to
 * timeout_ms for the reply line. On {"ok":true} returns 0 with *result the
 * "result" value (caller cJSON_Deletes). On {"ok":false} returns its code
 * with its message in err. MOLT_ENOTRUNNING if nothing listens. timeout_ms
 * bounds the whole exchange (MOLT_ETIMEDOUT); a reply that is not one JSON
 * object with a boolean "ok" is MOLT_EPROTO. result may be NULL. */
int molt__control_call(const char* home, const char* cmd, const cJSON* args,
                       uint32_t timeout_ms, cJSON** result, char* err,
                       size_t errlen);

#endif
