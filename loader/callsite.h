/* callsite.h: what module code this thread runs now (actor, version,
 * callback), for the crash report of a fatal signal. Not a log of calls,
 * not a lock: plain thread-local stores, read by the thread itself only,
 * from its own signal handler. */
#ifndef MOLT_LOADER_CALLSITE_H
#define MOLT_LOADER_CALLSITE_H

#include "version.h"

/* Set around every call into a module: a couple of stores each way, the
 * cost the message path pays (molt-bench ring, README Performance).
 * actor is the runtime's molt_actor_t (opaque down here: the loader sits
 * below the actor room), NULL for a constructor. version is NULL for a
 * constructor, where file names the private copy being dlopen'd; callback
 * is a static string ("init", "handle", "terminate", "free_state",
 * "code_change", "format_state", "constructor"). */
typedef struct molt_callsite {
  const void* actor;
  const molt_version_t* version;
  const char* callback;
  const char* file;
} molt_callsite_t;

/* This thread's record; all NULL outside module code. Thread-local in the
 * executable (initial-exec), so reading it from a signal handler is a
 * plain load. */
extern __thread molt_callsite_t molt__callsite;

/* Enter module code: returns the record to restore on leaving (a spawn
 * from inside handle runs the child's init nested in it). */
static inline molt_callsite_t molt__callsite_enter(const void* actor, const molt_version_t* v, const char* cb) {
  molt_callsite_t prev = molt__callsite;
  molt__callsite = (molt_callsite_t){actor, v, cb, NULL};
  return prev;
}

static inline void molt__callsite_leave(molt_callsite_t prev) { molt__callsite = prev; }

#endif
