/* http_idle.h: a connection's idle timeout, kept with one timer message
 * per connection. It decides when a connection has been idle too long and
 * whether that deserves a 408; answering and closing are http_conn.h's.
 *
 * The hot path pays one clock read per DATA message and nothing per
 * request: activity only moves last_active_ms. The one pending timer,
 * when it fires, compares that timestamp with the timeout and either acts
 * or re-arms itself for what is left. Cancelling and re-arming a timer
 * per request was the alternative: two runtime calls and an allocation
 * for every request, at tens of thousands of requests a second.
 *
 * The timer's payload is a token that must equal the state's idle_token,
 * so a tick that is not the one the state waits for (a duplicate, or one a
 * code_change left behind) is dropped. Timers belong to the actor, not to
 * a module version: the pending one survives upgrade and rollback and the
 * new code, reading the same core, handles it. */
#ifndef DEMO_HTTP_IDLE_H
#define DEMO_HTTP_IDLE_H

#include "http_state.h"

/* The tag of the idle timer's message, its payload the token (uint64_t).
 * Far from the counter's tags, which reach this actor too. */
#define HTTP_IDLE_TICK 0x48540001u

typedef enum {
  HTTP_IDLE_WAIT,    /* not idle long enough (or a tick to ignore) */
  HTTP_IDLE_CLOSE,   /* idle between requests: close without a word */
  HTTP_IDLE_TIMEOUT, /* idle inside a request: answer 408, then close */
} http_idle_verdict_t;

/* Set the one pending timer to fire after ms. On failure the connection
 * simply has no timeout from then on: logged, not fatal, since serving
 * it is still right. */
static inline void http_idle_arm(http_core_t* c, uint64_t ms) {
  uint64_t token = molt_make_ref();
  int rc = molt_send_after(ms, molt_self(), HTTP_IDLE_TICK, &token, sizeof(token), NULL);
  if (rc) {
    molt_log_warn("no idle timeout for this connection: %s", molt_strerror(rc));
    c->idle_token = 0;
    return;
  }
  c->idle_token = token;
}

/* A connection's first timer, from init. */
static inline void http_idle_start(http_core_t* c) {
  c->last_active_ms = molt_now_ms();
  if (c->idle_timeout_ms) http_idle_arm(c, c->idle_timeout_ms);
}

/* Something happened on the connection: the idle time starts again. */
static inline void http_idle_touch(http_core_t* c) { c->last_active_ms = molt_now_ms(); }

/* A request between its first byte and its last. */
static inline bool http_idle_mid_request(const http_core_t* c) { return c->in_request; }

/* The timer fired (m is its message): what to do about it. Re-arms the
 * timer unless the connection is to be closed. */
static inline http_idle_verdict_t http_idle_tick(http_core_t* c, const molt_msg_t* m) {
  uint64_t token;
  if (m->size != sizeof(token)) return HTTP_IDLE_WAIT;
  memcpy(&token, m->data, sizeof(token));
  if (!c->idle_token || token != c->idle_token) return HTTP_IDLE_WAIT;
  c->idle_token = 0;
  uint64_t now = molt_now_ms();
  /* A request waiting for the store is the store's delay, not the
   * client's: the idle time counts from its answer. */
  if (c->wait_ref) c->last_active_ms = now;
  /* Whole milliseconds, truncated: an idle time read as exactly the
   * timeout may be most of a millisecond short of it. One more keeps the
   * promise that a timeout never comes early. */
  uint64_t idle = now - c->last_active_ms;
  if (idle <= c->idle_timeout_ms) {
    http_idle_arm(c, c->idle_timeout_ms - idle + 1);
    return HTTP_IDLE_WAIT;
  }
  return http_idle_mid_request(c) ? HTTP_IDLE_TIMEOUT : HTTP_IDLE_CLOSE;
}

#endif
