/* runtime.h: the process-wide runtime: its schedulers, clock, refs and
 * counters. One per process, like the BEAM. Not the container (release,
 * control plane), which lives in container.c. */
#ifndef MOLT_ACTOR_RUNTIME_H
#define MOLT_ACTOR_RUNTIME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "sched.h"

typedef struct molt_runtime {
  unsigned nsched;
  molt_sched_t* scheds;
  uint64_t start_ns;
  atomic_uint next_sched; /* round robin for MOLT_SPAWN_ANY */
  atomic_uint_fast64_t next_ref;
  atomic_ulong live_actors;
  atomic_int running;
} molt_runtime_t;

extern molt_runtime_t molt__rt;

/* Start nsched schedulers (0: one per core). Rooms above attach their
 * hooks (hooks.h) before, and install their builtin modules (the
 * supervisor) after. Returns 0 or a MOLT_E* with a reason. */
int molt__runtime_start(unsigned nsched, char* err, size_t errlen);
/* Kill whatever actors are left, stop and join every scheduler. */
void molt__runtime_stop(void);

/* How many schedulers do not reach their tasks within timeout_ms (each is
 * inside a callback that has not returned); *first is the lowest such
 * index. molt__runtime_stop would wait for ever on one: a thread cannot
 * be stopped from outside. Any thread but a scheduler's. */
unsigned molt__runtime_stuck(uint32_t timeout_ms, unsigned* first);

/* A scheduler for a new top-level actor (round robin). */
molt_sched_t* molt__runtime_pick_sched(void);

/* Spawn from any thread (the control thread, tests): runs on a scheduler
 * and waits. */
int molt__runtime_spawn(const char* module, const char* args_json, molt_pid_t* pid);
int molt__runtime_spawn_version(molt_version_t* v, const char* args_json, void* internal,
                                molt_pid_t* pid);

/* Send an exit signal to pid from outside any actor. */
int molt__runtime_exit(molt_pid_t pid, int reason);

/* Wait until pid is gone or timeout_ms passes; 0 or MOLT_ETIMEDOUT. */
int molt__runtime_wait_exit(molt_pid_t pid, uint64_t timeout_ms);

/* "<index.gen>", as Erlang prints pids. buf >= 24 bytes. */
const char* molt__pid_str(molt_pid_t pid, char* buf, size_t len);
/* The pid in s, as molt__pid_str writes it (or without the brackets), or
 * MOLT_PID_NONE. */
molt_pid_t molt__pid_parse(const char* s);

#endif
