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

#include "clock.h"
#include "errmsg.h"
#include "runtime.h"
#include "sched.h"

#define TICK_NS 1000000ull  /* the bound on a busy scheduler's time away from its loop */
#define IDLE_NS 10000000ull /* the longest sleep while every scheduler is idle */

static struct {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* CLOCK_MONOTONIC, so stop never waits out a sleep */
  bool started, stopping;
} tk = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The ticker also samples, for ps, top and alarms (vitals.h), what each
 * busy scheduler runs: the actor in its turn is charged the time since the
 * last tick (at most a tick: after an idle sleep most of it was idle), and
 * a turn seen at two ticks in a row (same actor, same turn count) keeps
 * the time it was first seen as turn_since_ns. Timing each turn instead
 * would read the clock twice per turn, which costs more than a ring's
 * whole message (see above); a sample per millisecond costs nothing on the
 * message path and is what top needs. Short turns are charged in
 * proportion to how often a tick lands in them. */
static void sample(molt_sched_t* s, uint64_t now, uint64_t elapsed) {
  molt_actor_t* a = atomic_load_explicit(&s->running, memory_order_acquire); /* see run_batch */
  uint64_t turns = atomic_load_explicit(&s->turns, memory_order_relaxed);
  if (a != s->seen_running || turns != s->seen_turns) {
    s->seen_running = a;
    s->seen_turns = turns;
    atomic_store_explicit(&s->turn_since_ns, now, memory_order_relaxed);
    atomic_store_explicit(&s->turn_since_turns, turns, memory_order_relaxed);
  }
  if (!a) return;
  /* The slot outlives its actor (actor_table.c), so a stale a is charged
   * a millisecond it did not use at worst. Its only other writer is the
   * spawn's reset. */
  uint64_t ns = s->carry_ns + (elapsed < TICK_NS ? elapsed : TICK_NS);
  atomic_fetch_add_explicit(&a->busy_ms, (uint32_t)(ns / 1000000u), memory_order_relaxed);
  s->carry_ns = ns % 1000000u;
}

/* Tell every scheduler in a batch to yield; true if any was. */
static bool tick(void) {
  static uint64_t last;
  uint64_t now = molt__now_ns(), elapsed = last ? now - last : 0;
  last = now;
  bool busy = false;
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    molt_sched_t* s = &molt__rt.scheds[i];
    if (atomic_load_explicit(&s->gate, memory_order_relaxed) != MOLT__GATE_ACTIVE) continue;
    atomic_store_explicit(&s->yield_due, true, memory_order_relaxed);
    sample(s, now, elapsed);
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
