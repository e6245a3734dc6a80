/* timed_call.c: a call the caller may abandon. The runner (a scheduler
 * task, or an actor's call message) and the caller share it, and whoever
 * is last frees it. state moves PENDING -> RUNNING -> DONE on the runner,
 * or PENDING -> CANCELLED by a caller whose deadline passed: one
 * compare-and-swap decides, so fn runs either completely or never. */
#include "timed_call.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "alloc.h"
#include "clock.h"
#include "message.h"
#include "molt/errno.h"

enum { CALL_PENDING, CALL_RUNNING, CALL_DONE, CALL_CANCELLED };

typedef struct {
  void (*fn)(void*);                      /* a scheduler's call */
  void (*actor_fn)(molt_actor_t*, void*); /* or an actor's */
  void* arg;
  atomic_int state;
  atomic_int refs;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* CLOCK_MONOTONIC */
} timed_call;

static timed_call* timed_call_new(void* arg) {
  timed_call* c = molt__calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->arg = arg;
  atomic_init(&c->state, CALL_PENDING);
  atomic_init(&c->refs, 2);
  pthread_mutex_init(&c->lock, NULL);
  molt__cond_init_monotonic(&c->cond);
  return c;
}

static void timed_call_unref(timed_call* c) {
  if (atomic_fetch_sub(&c->refs, 1) != 1) return;
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  molt__free(c);
}

/* The runner's side: false if the caller gave up first. */
static bool timed_call_begin(timed_call* c) {
  int pending = CALL_PENDING;
  return atomic_compare_exchange_strong(&c->state, &pending, CALL_RUNNING);
}

static void timed_call_end(timed_call* c) {
  pthread_mutex_lock(&c->lock);
  atomic_store(&c->state, CALL_DONE);
  pthread_cond_signal(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

/* The caller's side, after handing c to its runner: 0 once fn has
 * returned, MOLT_ETIMEDOUT if it had not begun by the deadline. Drops the
 * caller's reference. */
static int timed_call_wait(timed_call* c, uint32_t timeout_ms) {
  struct timespec until = molt__clock_after_ns((uint64_t)timeout_ms * 1000000ull);
  int rc = 0;
  pthread_mutex_lock(&c->lock);
  while (atomic_load(&c->state) != CALL_DONE) {
    if (atomic_load(&c->state) == CALL_PENDING &&
        pthread_cond_timedwait(&c->cond, &c->lock, &until) == ETIMEDOUT) {
      int pending = CALL_PENDING;
      if (atomic_compare_exchange_strong(&c->state, &pending, CALL_CANCELLED)) {
        rc = MOLT_ETIMEDOUT;
        break;
      }
    } else if (atomic_load(&c->state) == CALL_RUNNING) {
      pthread_cond_wait(&c->cond, &c->lock); /* begun: fn reads arg, so wait it out */
    }
  }
  pthread_mutex_unlock(&c->lock);
  timed_call_unref(c);
  return rc;
}

static void run_on_sched(void* p) {
  timed_call* c = p;
  if (timed_call_begin(c)) {
    c->fn(c->arg);
    timed_call_end(c);
  }
  timed_call_unref(c);
}

int molt__sched_call_within(molt_sched_t* s, void (*fn)(void*), void* arg, uint32_t timeout_ms) {
  if (molt__sched_current() == s) {
    fn(arg);
    return 0;
  }
  timed_call* c = timed_call_new(arg);
  if (!c) return MOLT_ENOMEM;
  c->fn = fn;
  int rc = molt__sched_post(s, run_on_sched, c);
  if (rc) {
    atomic_store(&c->refs, 1);
    timed_call_unref(c);
    return rc;
  }
  return timed_call_wait(c, timeout_ms);
}

/* As a call message: a (NULL if the actor is gone) in its own turn. */
static void run_in_turn(molt_actor_t* a, void* p) {
  timed_call* c = p;
  if (timed_call_begin(c)) {
    c->actor_fn(a, c->arg);
    timed_call_end(c);
  }
  timed_call_unref(c);
}

int molt__actor_call_within(molt_pid_t pid, void (*fn)(molt_actor_t* a, void* arg), void* arg,
                            uint32_t timeout_ms) {
  timed_call* c = timed_call_new(arg);
  molt__msg_t* m = c ? molt__msg_call(run_in_turn, c) : NULL;
  if (!m) {
    if (c) {
      atomic_store(&c->refs, 1);
      timed_call_unref(c);
    }
    return MOLT_ENOMEM;
  }
  c->actor_fn = fn;
  /* A pid that never existed: deliver frees the message without a call,
   * and the answer is the same as for one that is gone. */
  if (molt__deliver(pid, m) == MOLT_ESRCH) {
    atomic_store(&c->refs, 1);
    fn(NULL, arg);
    timed_call_unref(c);
    return 0;
  }
  return timed_call_wait(c, timeout_ms);
}
