/* trace_ring.h: what one trace session keeps between two reads: a bounded
 * ring of events and the token bucket that limits how fast they come. Not
 * the sessions nor the trace points (trace.h). Not thread-safe: the
 * session's lock guards both. */
#ifndef MOLT_ACTOR_TRACE_RING_H
#define MOLT_ACTOR_TRACE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/actor.h"

typedef enum {
  MOLT_TRACE_RECV = 1, /* a message handled: peer sent it (msg_kind, tag, size, reason) */
  MOLT_TRACE_SENT,     /* a message sent to peer (tag, size) */
  MOLT_TRACE_SPAWN,    /* spawned peer, running module `to` */
  MOLT_TRACE_SPAWNED,  /* was spawned by peer (MOLT_PID_NONE: the runtime) */
  MOLT_TRACE_EXIT,     /* exited with reason */
  MOLT_TRACE_LINK,     /* asked for a link to peer */
  MOLT_TRACE_UNLINK,
  MOLT_TRACE_MONITOR,
  MOLT_TRACE_DEMONITOR,
  MOLT_TRACE_SIGNAL,   /* peer's link, unlink, monitor, demonitor or exit signal (msg_kind: molt__sys_t) */
  MOLT_TRACE_CODE_CHANGE, /* switched from code `from` to `to` */
} molt_trace_kind_t;

#define MOLT_TRACE_LABEL 48 /* module names and version labels, cut to fit */

typedef struct molt_trace_event {
  uint64_t ts_us; /* wall clock, microseconds since the epoch */
  molt_pid_t pid, peer;
  uint16_t kind;     /* molt_trace_kind_t */
  uint16_t msg_kind; /* RECV: molt_msg_kind; SIGNAL: the system message */
  uint32_t tag, size;
  int32_t reason;
  char module[MOLT_TRACE_LABEL];
  char name[MOLT_NAME_MAX + 1]; /* registered name, "" if none */
  char from[MOLT_TRACE_LABEL], to[MOLT_TRACE_LABEL];
} molt_trace_event_t;

/* A ring of cap events, caller-owned memory. */
typedef struct molt_trace_ring {
  molt_trace_event_t* v;
  uint32_t cap, head, n;
} molt_trace_ring_t;

void molt__trace_ring_init(molt_trace_ring_t* r, molt_trace_event_t* v, uint32_t cap);
/* Copy e in; false if the ring is full (the event is the caller's to count
 * as dropped: a ring never grows). */
bool molt__trace_ring_push(molt_trace_ring_t* r, const molt_trace_event_t* e);
/* Move up to max of the oldest events to out; how many. */
uint32_t molt__trace_ring_take(molt_trace_ring_t* r, molt_trace_event_t* out, uint32_t max);

/* A token bucket: rate tokens a second, at most rate (one second's worth)
 * banked, so a burst after a quiet spell is bounded too. */
typedef struct molt_trace_bucket {
  uint32_t rate;
  double tokens;
  uint64_t last_ns;
} molt_trace_bucket_t;

void molt__trace_bucket_init(molt_trace_bucket_t* b, uint32_t rate, uint64_t now_ns);
/* Take one token at now_ns (monotonic); false if none is left. */
bool molt__trace_bucket_take(molt_trace_bucket_t* b, uint64_t now_ns);

#endif
