/* ticker.c: every millisecond, the ticker sets yield_due on each scheduler
 * that is running a batch; a turn looks at that flag after every message
 * (sched.h, molt__sched_yield_due) and ends, and its batch returns to the
 * loop, which runs due timers, polls I/O and runs posted tasks.
 *
 * Why a thread and not the clock: a scheduler would have to read the clock
 * after every message to bound the time between two looks at its loop,
 * and here a clock read costs 50-110 ns, two to four times a whole message
 * of a ring. Counting messages or turns instead (the old rule: every 256
 * turns of up to 128 messages) bounds nothing when handlers are slow:
 * with 200 us handlers that was up to 6.5 s. A relaxed load of a flag that
 * changes once a millisecond costs about a nanosecond. Go's sysmon and the
 * BEAM's timer thread make the same trade.
 *
 * An idle container should not wake a thread a thousand times a second:
 * when no scheduler was busy at a tick, the ticker doubles its sleep, up to
 * IDLE_NS; the first busy tick brings it back to TICK_NS. So the first
 * long batch after a lull may run up to IDLE_NS before it is told. */
#include "ticker.h"

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "errmsg.h"
#include "runtime.h"

#define TICK_NS 1000000ull  /* the bound on a busy scheduler's time away from its loop */
#define IDLE_NS 10000000ull /* the longest sleep while every scheduler is idle */

static struct {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* CLOCK_MONOTONIC, so stop never waits out a sleep */
  bool started, stopping;
} tk = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Tell every scheduler in a batch to yield; true if any was. */
static bool tick(void) {
  bool busy = false;
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    molt_sched_t* s = &molt__rt.scheds[i];
    if (atomic_load_explicit(&s->gate, memory_order_relaxed) != MOLT__GATE_ACTIVE) continue;
    atomic_store_explicit(&s->yield_due, true, memory_order_relaxed);
    busy = true;
  }
  return busy;
}

static void* run(void* arg) {
  uint64_t sleep_ns = TICK_NS;
  pthread_mutex_lock(&tk.lock);
  while (!tk.stopping) {
    struct timespec until = molt__clock_after_ns(sleep_ns);
    pthread_cond_timedwait(&tk.cond, &tk.lock, &until);
    if (tk.stopping) break;
    if (tick())
      sleep_ns = TICK_NS;
    else if (sleep_ns < IDLE_NS)
      sleep_ns = sleep_ns * 2 < IDLE_NS ? sleep_ns * 2 : IDLE_NS;
  }
  pthread_mutex_unlock(&tk.lock);
  return NULL;
}

int molt__ticker_start(char* err, size_t errlen) {
  int rc = molt__cond_init_monotonic(&tk.cond);
  if (rc) return molt__errmsg_set(err, errlen, -rc, "ticker: %s", molt_strerror(-rc));
  tk.stopping = false;
  if ((rc = pthread_create(&tk.thread, NULL, run, NULL))) {
    pthread_cond_destroy(&tk.cond);
    return molt__errmsg_set(err, errlen, -rc, "ticker: %s", molt_strerror(-rc));
  }
  tk.started = true;
  return 0;
}

void molt__ticker_stop(void) {
  if (!tk.started) return;
  pthread_mutex_lock(&tk.lock);
  tk.stopping = true;
  pthread_cond_signal(&tk.cond);
  pthread_mutex_unlock(&tk.lock);
  pthread_join(tk.thread, NULL);
  pthread_cond_destroy(&tk.cond);
  tk.started = false;
}
