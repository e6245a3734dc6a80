/* sched.c: a scheduler thread. It runs a uv loop; actors with messages sit
 * in a local FIFO run queue and are run one turn each (a bounded number of
 * messages) from an idle handle, so I/O and timers on the same loop are
 * polled between batches and no actor starves the others. Actors woken
 * from other threads arrive through a lock-free inbound queue and a
 * uv_async wake-up. Not the actor turn itself (actor.c). */
#include "sched.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "alloc.h"
#include "altstack.h"
#include "errmsg.h"
#include "message.h"
#include "runtime.h"
#include "hooks.h"

/* Actor turns between two looks at the clock and at posted tasks. */
#define TURNS_PER_BATCH 256

/* How long a busy scheduler runs actors before its loop polls for I/O and
 * timers again. A poll is an epoll_wait system call, a few microseconds on
 * a virtual machine: after every batch it was a sixth of a ring's time
 * per message; every 100 us it is a few percent, and a socket or a timer
 * waits at most that long behind a busy scheduler. Posted tasks (an
 * upgrade's freeze, a stop) cut the batch short. */
#define POLL_NS 100000

__thread molt_sched_t* molt__sched_here;

/* Owner-only counters that other threads read: a relaxed load and store,
 * not a read-modify-write (no lock prefix on the turn's path). */
static inline void bump32(_Atomic uint32_t* c, int32_t d) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + (uint32_t)d, memory_order_relaxed);
}

static inline void add64(_Atomic uint64_t* c, uint64_t d) {
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d, memory_order_relaxed);
}

static void runq_push(molt_sched_t* s, molt_actor_t* a) {
  bump32(&s->runq_len, 1);
  a->run_next = NULL;
  if (s->runq_tail)
    s->runq_tail->run_next = a;
  else
    s->runq_head = a;
  s->runq_tail = a;
}

static molt_actor_t* runq_pop(molt_sched_t* s) {
  molt_actor_t* a = s->runq_head;
  if (a) {
    bump32(&s->runq_len, -1);
    s->runq_head = a->run_next;
    if (!s->runq_head) s->runq_tail = NULL;
  }
  return a;
}

static void drain_inbound(molt_sched_t* s) {
  molt_mpsc_node_t* n;
  while ((n = molt__mpsc_pop(&s->inbound)) != NULL)
    runq_push(s, (molt_actor_t*)((char*)n - offsetof(molt_actor_t, qnode)));
}


static void run_tasks(molt_sched_t* s) {
  pthread_mutex_lock(&s->task_lock);
  atomic_store_explicit(&s->tasks_posted, false, memory_order_relaxed);
  molt_task_t* t = s->tasks_head;
  s->tasks_head = s->tasks_tail = NULL;
  pthread_mutex_unlock(&s->task_lock);
  while (t) {
    molt_task_t* next = t->next;
    t->fn(t->arg);
    molt__free(t);
    t = next;
  }
}

/* How long a scheduler that ran out of work keeps polling its inbound
 * queue before it lets the loop block. Waking a thread blocked in
 * epoll_wait costs tens of microseconds on a virtual machine, so two actors
 * on different schedulers that answer each other would pay that on every
 * message; the BEAM's schedulers spin before sleeping for the same reason.
 * The spin is bounded, so an idle container burns nothing and a busy one at
 * most this much per lull.
 *
 * It adapts, as an adaptive mutex does: a spin that found work doubles the
 * next, one that found none halves it, between SPIN_MIN_NS and SPIN_NS.
 * Work that comes from other schedulers (actors answering each other)
 * keeps it long; work that comes from sockets and timers, which a spin
 * does not see, brings it down to a glance within a few lulls: the loop
 * then polls I/O at once instead of 50 us later, and the core goes to
 * whoever else needs it (the HTTP service's clients, on a small machine). */
#define SPIN_NS 50000
#define SPIN_MIN_NS 2000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static bool work_arrived(molt_sched_t* s) {
  return !molt__mpsc_empty(&s->inbound) || atomic_load_explicit(&s->tasks_posted, memory_order_relaxed) ||
         atomic_load_explicit(&s->stopping, memory_order_relaxed);
}

/* *began: when the spin began, *ended: the last look at the clock before
 * it ended (within 64 relaxes of its end), for the busy time, which
 * leaves spins out as the BEAM's scheduler utilisation does. */
static bool spin_for_work(molt_sched_t* s, uint64_t* began, uint64_t* ended) {
  uint64_t now = molt__now_ns(), until = now + s->spin_ns;
  *began = now;
  for (;;) {
    for (int i = 0; i < 64; i++) {
      if (work_arrived(s)) {
        *ended = now;
        s->spin_ns = s->spin_ns >= SPIN_NS / 2 ? SPIN_NS : s->spin_ns * 2;
        return true;
      }
      cpu_relax();
    }
    now = molt__now_ns();
    if (now > until) {
      *ended = now;
      s->spin_ns = s->spin_ns <= 2 * SPIN_MIN_NS ? SPIN_MIN_NS : s->spin_ns / 2;
      return false;
    }
  }
}

/* A stretch of turns ended at now: into busy_ns. Reads of the clock the
 * batch makes anyway (its start, a spin's), one more only where a batch
 * returns to its loop: per batch, never per message. */
static void busy_end(molt_sched_t* s, uint64_t now) {
  atomic_store_explicit(&s->running, NULL, memory_order_relaxed);
  uint64_t since = atomic_load_explicit(&s->busy_since_ns, memory_order_relaxed);
  if (since && now > since) add64(&s->busy_ns, now - since);
  atomic_store_explicit(&s->busy_since_ns, 0, memory_order_relaxed);
}

static void busy_begin(molt_sched_t* s, uint64_t now) {
  atomic_store_explicit(&s->busy_since_ns, now, memory_order_relaxed);
}

static bool poll_due(molt_sched_t* s, uint64_t polled_ns) {
  return atomic_load_explicit(&s->tasks_posted, memory_order_relaxed) ||
         atomic_load_explicit(&s->stopping, memory_order_relaxed) || molt__now_ns() - polled_ns >= POLL_NS;
}

/* ---- the gate: see molt__sched_hold. The thread takes it around every
 * batch and every run of its tasks; everything else its loop runs
 * (timers, I/O) only queues messages and actors, which other threads do
 * at any time anyway. */

/* How long a held scheduler spins for its release before it sleeps: a
 * soft load holds it for microseconds, a kernel wake-up costs tens. */
#define GATE_SPIN_NS 50000

static bool released(molt_sched_t* s) {
  return atomic_load_explicit(&s->gate, memory_order_relaxed) != MOLT__GATE_HELD;
}

static void await_release(molt_sched_t* s) {
  uint64_t until = molt__now_ns() + GATE_SPIN_NS;
  for (unsigned k = 0; !released(s); k++) {
    if ((k & 63) == 63 && molt__now_ns() > until) {
      pthread_mutex_lock(&s->gate_lock);
      while (!released(s)) pthread_cond_wait(&s->gate_cond, &s->gate_lock);
      pthread_mutex_unlock(&s->gate_lock);
      return;
    }
    cpu_relax();
  }
}

/* beats counts both edges of the gate, so that a look that sees it
 * unchanged and the gate ACTIVE knows the thread has been in one batch
 * all along (molt__sched_progressed). A plain load and store, not an
 * atomic add: only this thread writes it. */
static void beat(molt_sched_t* s) {
  atomic_store_explicit(&s->beats, atomic_load_explicit(&s->beats, memory_order_relaxed) + 1, memory_order_relaxed);
}

static void gate_enter(molt_sched_t* s) {
  beat(s);
  for (;;) {
    int parked = MOLT__GATE_PARKED;
    if (atomic_compare_exchange_strong_explicit(&s->gate, &parked, MOLT__GATE_ACTIVE, memory_order_acquire,
                                                memory_order_relaxed))
      return;
    await_release(s);
  }
}

static void gate_leave(molt_sched_t* s) {
  beat(s);
  atomic_store_explicit(&s->gate, MOLT__GATE_PARKED, memory_order_release);
}

bool molt__sched_hold(molt_sched_t* s) {
  int parked = MOLT__GATE_PARKED;
  return atomic_compare_exchange_strong_explicit(&s->gate, &parked, MOLT__GATE_HELD, memory_order_acquire,
                                                 memory_order_relaxed);
}

void molt__sched_release(molt_sched_t* s) {
  pthread_mutex_lock(&s->gate_lock);
  atomic_store_explicit(&s->gate, MOLT__GATE_PARKED, memory_order_release);
  pthread_cond_broadcast(&s->gate_cond);
  pthread_mutex_unlock(&s->gate_lock);
}

/* The scheduler's work: up to TURNS_PER_BATCH actor turns, spinning
 * briefly when the run queue empties. While it runs, `sleeping` is false
 * and other threads queue actors on inbound without waking the loop: the
 * runner is active, so the loop does not block and this sees them.
 * Before it stops (letting the loop block) it sets `sleeping` and then
 * checks inbound once more, both seq_cst, against a sender's push then
 * load of `sleeping` (a Dekker handshake): either
 * this sees the push, or the sender sees `sleeping` and wakes the loop. */
static void run_batch(molt_sched_t* s, uv_idle_t* h) {
  atomic_store(&s->sleeping, false);
  /* The loop has just run timers and I/O: a yield the ticker asked of the
   * last batch is done. A posted task is not (the loop runs the idle
   * handle, this, before it polls the task's wake-up): then the flag stays
   * and the batch returns after one message. */
  if (atomic_load_explicit(&s->yield_due, memory_order_relaxed) &&
      !atomic_load_explicit(&s->tasks_posted, memory_order_relaxed))
    atomic_store_explicit(&s->yield_due, false, memory_order_relaxed);
  uint64_t polled_ns = molt__now_ns(); /* the loop polled just before this callback */
  busy_begin(s, polled_ns);
  int turns = 0;
  for (;;) {
    drain_inbound(s);
    molt_actor_t* a;
    while (turns < TURNS_PER_BATCH && (a = runq_pop(s)) != NULL) {
      turns++;
      add64(&s->turns, 1);
      /* Cleared where the batch ends or spins, not after each turn: the
       * next turn overwrites it, and a store per turn is saved. Release
       * (a plain store on x86-64): the ticker that loads it may then
       * touch the slot, whose page this thread has seen made. */
      atomic_store_explicit(&s->running, a, memory_order_release);
      molt__actor_run(a);
      if (molt__sched_yield_due(s)) {
        /* To the loop: due timers, I/O, then the tasks (on_wake). */
        atomic_store_explicit(&s->yield_due, false, memory_order_relaxed);
        busy_end(s, molt__now_ns());
        return;
      }
    }
    if (turns >= TURNS_PER_BATCH) {
      if (poll_due(s, polled_ns)) { /* poll I/O, run tasks, then more */
        busy_end(s, molt__now_ns());
        return;
      }
      turns = 0;
      continue;
    }
    uint64_t spin_began, spin_ended;
    bool more = spin_for_work(s, &spin_began, &spin_ended);
    busy_end(s, spin_began);
    if (!more) break;
    busy_begin(s, spin_ended);
    if (molt__mpsc_empty(&s->inbound)) { /* a task or a stop: on_wake's */
      busy_end(s, spin_ended);
      return;
    }
  }
  atomic_store(&s->sleeping, true);
  if (molt__mpsc_empty(&s->inbound)) uv_idle_stop(h);
}

static void on_runner(uv_idle_t* h) {
  molt_sched_t* s = h->data;
  gate_enter(s);
  run_batch(s, h);
  gate_leave(s);
}

void molt__sched_enqueue(molt_sched_t* s, molt_actor_t* a) {
  if (s == molt__sched_here) {
    runq_push(s, a);
    uv_idle_start(&s->runner, on_runner); /* no-op while already active */
    return;
  }
  molt__mpsc_push(&s->inbound, &a->qnode);
  if (atomic_load(&s->sleeping)) uv_async_send(&s->wake);
}

static void close_handle(uv_handle_t* h, void* arg) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void wake_up(molt_sched_t* s) {
  run_tasks(s);
  drain_inbound(s);
  if (atomic_load(&s->stopping)) {
    molt__actor_kill_all_here();
    /* Killing actors may have left stale slots queued; drain them. */
    drain_inbound(s);
    molt_actor_t* a;
    while ((a = runq_pop(s)) != NULL) molt__actor_run(a);
    /* Sockets free their memory in their close callbacks, which the walk
     * below would not give them. */
    molt__hooks_sched_stop(s);
    uv_walk(&s->loop, close_handle, NULL);
    return;
  }
  if (s->runq_head) uv_idle_start(&s->runner, on_runner);
}

static void on_wake(uv_async_t* h) {
  molt_sched_t* s = h->data;
  gate_enter(s);
  wake_up(s);
  gate_leave(s);
}

int molt__sched_post(molt_sched_t* s, void (*fn)(void*), void* arg) {
  molt_task_t* t = molt__alloc(sizeof(*t));
  if (!t) return MOLT_ENOMEM;
  t->next = NULL;
  t->fn = fn;
  t->arg = arg;
  pthread_mutex_lock(&s->task_lock);
  if (s->tasks_tail)
    s->tasks_tail->next = t;
  else
    s->tasks_head = t;
  s->tasks_tail = t;
  atomic_store_explicit(&s->tasks_posted, true, memory_order_relaxed);
  atomic_store_explicit(&s->yield_due, true, memory_order_relaxed); /* end the turn running now */
  pthread_mutex_unlock(&s->task_lock);
  uv_async_send(&s->wake);
  return 0;
}

typedef struct {
  void (*fn)(void*);
  void* arg;
  uv_sem_t done;
} sync_call;

static void run_sync(void* p) {
  sync_call* c = p;
  c->fn(c->arg);
  uv_sem_post(&c->done);
}

int molt__sched_call(molt_sched_t* s, void (*fn)(void*), void* arg) {
  if (molt__sched_here == s) {
    fn(arg);
    return 0;
  }
  sync_call c = {.fn = fn, .arg = arg};
  int rc = uv_sem_init(&c.done, 0);
  if (rc) return rc;
  rc = molt__sched_post(s, run_sync, &c);
  if (rc == 0) uv_sem_wait(&c.done);
  uv_sem_destroy(&c.done);
  return rc;
}

static void thread_main(void* arg) {
  molt_sched_t* s = arg;
  molt__sched_here = s;
  molt__altstack_start(); /* for the crash handler, on a stack overflow */
  molt__msg_cache_begin();
  uv_run(&s->loop, UV_RUN_DEFAULT);
  molt__msg_cache_end();
  molt__altstack_stop();
  molt__sched_here = NULL;
}

static void init_locks(molt_sched_t* s) {
  pthread_mutex_init(&s->gate_lock, NULL);
  pthread_cond_init(&s->gate_cond, NULL);
  pthread_mutex_init(&s->task_lock, NULL);
  pthread_mutex_init(&s->free_lock, NULL);
}

static void destroy_locks(molt_sched_t* s) {
  pthread_mutex_destroy(&s->gate_lock);
  pthread_cond_destroy(&s->gate_cond);
  pthread_mutex_destroy(&s->task_lock);
  pthread_mutex_destroy(&s->free_lock);
}

int molt__sched_start(molt_sched_t* s, unsigned id, char* err, size_t errlen) {
  memset(s, 0, sizeof(*s));
  s->id = id;
  s->spin_ns = SPIN_NS;
  molt__mpsc_init(&s->inbound);
  atomic_init(&s->sleeping, true);
  atomic_init(&s->gate, MOLT__GATE_PARKED);
  init_locks(s);
  int rc = uv_loop_init(&s->loop);
  if (rc) goto fail_loop;
  rc = uv_async_init(&s->loop, &s->wake, on_wake);
  if (rc) goto fail_async;
  s->wake.data = s;
  uv_idle_init(&s->loop, &s->runner);
  s->runner.data = s;
  rc = uv_thread_create(&s->thread, thread_main, s);
  if (rc) goto fail_thread;
  return 0;

fail_thread:
  uv_close((uv_handle_t*)&s->runner, NULL);
  uv_close((uv_handle_t*)&s->wake, NULL);
  uv_run(&s->loop, UV_RUN_NOWAIT);
fail_async:
  uv_loop_close(&s->loop);
fail_loop:
  molt__errmsg_set(err, errlen, rc, "scheduler %u: %s", id, uv_strerror(rc));
  destroy_locks(s);
  return rc;
}

void molt__sched_stop(molt_sched_t* s) {
  atomic_store(&s->stopping, true);
  uv_async_send(&s->wake);
  uv_thread_join(&s->thread);
  run_tasks(s); /* anything posted after the loop ended: run it here */
  uv_loop_close(&s->loop);
  destroy_locks(s);
}
