/* sched.h: a scheduler: one thread, one uv loop, a run queue of actors
 * with messages, an inbound lock-free queue for actors woken from other
 * threads, and a queue of runtime tasks. Not the actors themselves. */
#ifndef MOLT_RUNTIME_SCHED_H
#define MOLT_RUNTIME_SCHED_H

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
  uint64_t turns; /* actor turns run, for status */

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
} molt_sched_t;

/* The calling thread's scheduler, or NULL off the scheduler threads. */
molt_sched_t* molt__sched_current(void);

/* Make a runnable: the caller holds its mailbox (unparked it). Any thread. */
void molt__sched_enqueue(molt_sched_t* s, molt_actor_t* a);

/* Run fn(arg) on s's thread soon. Any thread. 0 or MOLT_ENOMEM. */
int molt__sched_post(molt_sched_t* s, void (*fn)(void*), void* arg);

/* Run fn(arg) on s's thread and wait for it to return. Directly if the
 * caller is s; never from another scheduler thread (it could deadlock). */
int molt__sched_call(molt_sched_t* s, void (*fn)(void*), void* arg);

int molt__sched_start(molt_sched_t* s, unsigned id, char* err, size_t errlen);
/* Ask the loop to finish: every actor left on it is killed, every handle
 * closed, the thread joined and the loop closed. */
void molt__sched_stop(molt_sched_t* s);

#endif
