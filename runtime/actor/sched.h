/* sched.h: a scheduler: one thread, one uv loop, a run queue of actors
 * with messages, an inbound lock-free queue for actors woken from other
 * threads, and a queue of runtime tasks. Not the actors themselves. */
#ifndef MOLT_ACTOR_SCHED_H
#define MOLT_ACTOR_SCHED_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "actor.h"
#include "mpsc.h"

typedef struct molt_task {
  struct molt_task* next;
  void (*fn)(void* arg);
  void* arg;
} molt_task_t;

typedef struct molt_sched {
  unsigned id;
  uv_loop_t loop;
  uv_async_t wake;
  uv_idle_t runner;
  uv_thread_t thread;
  /* Cache lines apart: inbound's head is written by other threads, the
   * flags below read by them, and the run queue and turns written by this
   * one on every turn; sharing a line would move it between cores on
   * every cross-scheduler message. */
  alignas(64) molt_mpsc_t inbound; /* actors made runnable by other threads */
  alignas(64) molt_actor_t* runq_head;
  molt_actor_t* runq_tail;
  uint32_t spin_ns; /* how long the next lull spins for work (sched.c); this thread's */
  /* The figures top, status and alarms read from other threads
   * (vitals.h), written only by this thread with relaxed stores: */
  _Atomic uint64_t turns;            /* actor turns run */
  _Atomic uint32_t runq_len;         /* actors in the local run queue */
  _Atomic(molt_actor_t*) running;    /* the actor in its turn now, or NULL */
  _Atomic uint64_t busy_ns;          /* time in batches of turns, spins excluded */
  _Atomic uint64_t busy_since_ns;    /* start of the stretch not yet in busy_ns; 0: none */
  _Atomic uint64_t sent;             /* user messages its actors sent */
  _Atomic uint64_t handled_by_gone;  /* user messages handled by its actors that have exited */

  pthread_mutex_t task_lock;
  molt_task_t* tasks_head;
  molt_task_t* tasks_tail;

  /* Free actor slots bound to this scheduler, and a reserve of fresh
   * indices so that spawning rarely touches the global table lock. */
  pthread_mutex_t free_lock;
  molt_actor_t* free_head;
  uint32_t fresh_next, fresh_end;

  alignas(64) atomic_bool stopping;
  /* True unless the runner is active and will look at inbound again: a
   * thread that queues an actor on inbound wakes the loop (uv_async_send,
   * a syscall and, for a sleeping thread, a slow wake-up) only while this
   * is true. See on_runner. */
  atomic_bool sleeping;
  atomic_bool tasks_posted; /* a task is queued: cut a spin short */
  /* Set by the ticker (ticker.c) once a millisecond while a batch runs,
   * and by every post of a task: the turn and the batch end, and the loop
   * gets its timers, I/O and tasks, whatever the handlers cost. */
  atomic_bool yield_due;
  /* Who may touch this scheduler's actors (see molt__sched_hold):
   * MOLT__GATE_ACTIVE while its thread runs a batch of turns or its tasks,
   * MOLT__GATE_PARKED in between (blocked in the loop, or about to be), and
   * MOLT__GATE_HELD while another thread has claimed it so: the thread
   * then waits, before its next batch or task, until that claim ends. */
  atomic_int gate;
  /* Bumped as the thread enters and leaves the gate (a batch of turns,
   * its tasks): with gate, what tells a scheduler stuck in one handler
   * (ACTIVE, and this unchanged since the last look) from one busy with
   * many (the ticker ends a batch within a millisecond) or idle (PARKED).
   * Only its thread writes it. */
  atomic_uint_fast64_t beats;
  pthread_mutex_t gate_lock; /* with gate_cond: a thread held for long sleeps */
  pthread_cond_t gate_cond;

  /* The ticker's samples (ticker.c): since when (monotonic ns) running
   * has been in the same turn, read by ps and alarms; and what the ticker
   * last saw, which only it touches. */
  alignas(64) _Atomic uint64_t turn_since_ns;
  _Atomic uint64_t turn_since_turns; /* the value of turns it is for */
  molt_actor_t* seen_running;
  uint64_t seen_turns;
  uint64_t carry_ns;
} molt_sched_t;

enum { MOLT__GATE_PARKED, MOLT__GATE_ACTIVE, MOLT__GATE_HELD };

/* Whether a turn on s should end after the message it just handled: the
 * ticker says s has been away from its loop for a millisecond, or a task
 * (an upgrade's freeze, a command) was posted, which sets the flag too.
 * One relaxed load of a flag other threads write rarely: cheap enough for
 * every message. */
static inline bool molt__sched_yield_due(molt_sched_t* s) {
  return atomic_load_explicit(&s->yield_due, memory_order_relaxed);
}

/* Whether s has made progress since *last (its beats then, updated
 * here): it is not running anything (idle in its loop, or held), or it
 * has ended a batch since. False only for a scheduler still inside the
 * batch it was in at the last look: one handler that has not returned
 * since, as the ticker ends a batch within a millisecond of a turn's
 * end. Any thread; call it less often than the stall it should see. */
static inline bool molt__sched_progressed(molt_sched_t* s, uint_fast64_t* last) {
  /* The gate first: ACTIVE then, and no edge since the last look up to
   * the read of beats after it, is one batch all along. */
  bool active = atomic_load_explicit(&s->gate, memory_order_acquire) == MOLT__GATE_ACTIVE;
  uint_fast64_t b = atomic_load_explicit(&s->beats, memory_order_relaxed);
  bool moved = b != *last;
  *last = b;
  return moved || !active;
}

/* The calling thread's scheduler, or NULL off the scheduler threads: a
 * thread-local load, inline because every send counts on it. */
extern __thread molt_sched_t* molt__sched_here;
static inline molt_sched_t* molt__sched_current(void) { return molt__sched_here; }

/* Add d to one of s's figures: s's own thread only (a relaxed load and
 * store, no read-modify-write), read relaxed by any. */
static inline void molt__sched_count(_Atomic uint64_t* figure, uint64_t d) {
  atomic_store_explicit(figure, atomic_load_explicit(figure, memory_order_relaxed) + d, memory_order_relaxed);
}

/* Make a runnable: the caller holds its mailbox (unparked it). Any thread. */
void molt__sched_enqueue(molt_sched_t* s, molt_actor_t* a);

/* Run fn(arg) on s's thread soon. Any thread. 0 or MOLT_ENOMEM. */
int molt__sched_post(molt_sched_t* s, void (*fn)(void*), void* arg);

/* Run fn(arg) on s's thread and wait for it to return. Directly if the
 * caller is s; never from another scheduler thread (it could deadlock). */
int molt__sched_call(molt_sched_t* s, void (*fn)(void*), void* arg);

/* molt__sched_call_within, which gives up after a deadline, is in
 * timed_call.h. */

/* Claim a parked scheduler's actors for the calling thread (an upgrade
 * that needs every actor between two messages): true if s was parked, and
 * then, until molt__sched_release(s), its thread runs no actor turn and no
 * task, without having been woken for it. False if s is running; post it a
 * task instead. Its loop still runs timers and I/O meanwhile, which only
 * queue messages. The claim orders memory: the caller sees every write
 * the thread made to its actors, and the thread every write the caller
 * made before the release. Never on a scheduler thread. */
bool molt__sched_hold(molt_sched_t* s);
void molt__sched_release(molt_sched_t* s);

int molt__sched_start(molt_sched_t* s, unsigned id, char* err, size_t errlen);
/* Ask the loop to finish: every actor left on it is killed, every handle
 * closed, the thread joined and the loop closed. */
void molt__sched_stop(molt_sched_t* s);

#endif
