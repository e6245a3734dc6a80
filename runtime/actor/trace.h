/* trace.h: molt trace's sessions and the trace points the actor core
 * calls. An actor is traced when its `trace` byte (actor.h, on the line
 * only its own thread writes) has a session's bit set; every trace point
 * is one test of that byte, which the running actor has in cache, behind
 * MOLT__TRACED: untraced actors pay one predictable branch, and a build
 * with -DMOLT_TRACE=OFF not even that. Not the ring (trace_ring.h) nor the
 * control commands (container/cmd_trace.c). */
#ifndef MOLT_ACTOR_TRACE_H
#define MOLT_ACTOR_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "message.h"
#include "trace_ring.h"

#ifndef MOLT_TRACE
#define MOLT_TRACE 1
#endif

#if MOLT_TRACE
#define MOLT__TRACED(a) __builtin_expect((a)->trace != 0, 0)
#define MOLT__TRACE_ON_SPAWN(v) molt__trace_on_spawn(v)
#else
#define MOLT__TRACED(a) 0
#define MOLT__TRACE_ON_SPAWN(v) 0
#endif

/* At most this many sessions at once: one bit each in an actor's byte. */
#define MOLT_TRACE_SESSIONS 4
/* Events a session holds between two reads; more are dropped, counted. */
#define MOLT_TRACE_RING 2048
#define MOLT_TRACE_RATE_DEFAULT 500
#define MOLT_TRACE_RATE_MAX 100000
/* A session nobody read for this long ends by itself: a client that was
 * killed never leaves tracing on. */
#define MOLT_TRACE_IDLE_MS 5000

/* The trace points, each called behind MOLT__TRACED(a), on a's thread. */
void molt__trace_recv(molt_actor_t* a, const molt__msg_t* m);
void molt__trace_sent(molt_actor_t* a, molt_pid_t to, const molt__msg_t* m);
void molt__trace_signal(molt_actor_t* a, const molt__msg_t* m); /* a system message it handles */
void molt__trace_peer(molt_actor_t* a, molt_trace_kind_t kind, molt_pid_t peer); /* link, monitor... */
void molt__trace_spawn(molt_actor_t* parent, molt_actor_t* child);
void molt__trace_spawned(molt_actor_t* child, molt_actor_t* parent); /* parent may be NULL */
void molt__trace_exit(molt_actor_t* a, int reason);
void molt__trace_code_change(molt_actor_t* a, const molt_version_t* from, const molt_version_t* to);

/* The trace byte of a new actor of v: the bits of the sessions tracing
 * v's module. Any thread. */
uint8_t molt__trace_on_spawn(const molt_version_t* v);

/* What to trace: one actor (pid), or every actor of a module (module,
 * pid MOLT_PID_NONE); rate events a second at most (1..MOLT_TRACE_RATE_MAX);
 * max events in all (0: no limit). */
typedef struct molt_trace_spec {
  molt_pid_t pid;
  const char* module;
  uint32_t rate;
  uint64_t max;
} molt_trace_spec_t;

/* Start a session and mark its actors (each in its own turn, so a busy
 * scheduler is waited for, up to a deadline: *busy counts the schedulers
 * that did not answer, whose actors are not traced). Never on a scheduler
 * thread. *id names it for read and stop. MOLT_ENOTSUP when the trace
 * points were compiled out, MOLT_EBUSY when MOLT_TRACE_SESSIONS are
 * running, MOLT_ESRCH for a pid that is gone, MOLT_ENOMODULE; a one-line
 * reason in err. */
int molt__trace_start(const molt_trace_spec_t* spec, uint64_t* id, unsigned* busy, char* err, size_t errlen);

/* Move up to max events of session id to out (*n of them), with the
 * events dropped since the last read (over the rate or the ring) in
 * *dropped, and *done once the session took its max events and all were
 * read. Any thread. MOLT_ESRCH if no such session (stopped or expired). */
int molt__trace_read(uint64_t id, molt_trace_event_t* out, uint32_t max, uint32_t* n, uint64_t* dropped,
                     bool* done);

/* End session id; its actors' bits are cleared by the actors themselves
 * at their next event. MOLT_ESRCH if none. Any thread. */
int molt__trace_stop(uint64_t id);

/* "normal", "shutdown", "killed", ... or the error's name, for a reason. */
const char* molt__trace_reason_name(int reason);

#endif
