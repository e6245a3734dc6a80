/* stuck_guard.c: a scheduler stuck in one callback past the hard limit
 * ends the container, with a crash report raised on the stuck thread
 * itself: only that thread knows which actor and callback it is in. */
#include "stuck_guard.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "molt/errno.h"
#include "runtime.h"
#include "sched.h"

static uint64_t now_ms(void) { return molt__now_ns() / 1000000; }

static void on_check(uv_timer_t* t) {
  molt_stuck_guard_t* g = t->data;
  uint64_t now = now_ms();
  for (unsigned i = 0; i < g->nsched; i++) {
    molt_sched_t* s = &molt__rt.scheds[i];
    if (molt__sched_progressed(s, &g->beats[i])) {
      g->since_ms[i] = now;
      continue;
    }
    if (now - g->since_ms[i] < g->limit_ms) continue;
    molt__log_error("scheduler %u has been inside one callback for over %u s, the hard limit: a fatal fault; the crash "
              "report follows",
              i, (unsigned)(g->limit_ms / 1000));
    uv_timer_stop(t);
    pthread_kill(s->thread, SIGABRT);
    return;
  }
}

int molt__stuck_guard_start(molt_stuck_guard_t* g, uv_loop_t* loop, uint32_t limit_s) {
  g->limit_ms = (limit_s ? limit_s : MOLT_STUCK_LIMIT_S) * 1000u;
  g->nsched = molt__rt.nsched;
  g->beats = calloc(g->nsched, sizeof(*g->beats));
  g->since_ms = calloc(g->nsched, sizeof(*g->since_ms));
  if (!g->beats || !g->since_ms) {
    free(g->beats);
    free(g->since_ms);
    return MOLT_ENOMEM;
  }
  uint64_t now = now_ms();
  for (unsigned i = 0; i < g->nsched; i++) g->since_ms[i] = now;
  uv_timer_init(loop, &g->timer);
  g->timer.data = g;
  uint32_t every = g->limit_ms < 4000 ? g->limit_ms / 4 : 1000;
  uv_timer_start(&g->timer, on_check, every, every);
  return 0;
}

static void on_closed(uv_handle_t* h) {
  molt_stuck_guard_t* g = h->data;
  free(g->beats);
  free(g->since_ms);
  g->beats = NULL;
  g->since_ms = NULL;
}

void molt__stuck_guard_stop(molt_stuck_guard_t* g) {
  if (!g->beats) return;
  uv_timer_stop(&g->timer);
  if (!uv_is_closing((uv_handle_t*)&g->timer)) uv_close((uv_handle_t*)&g->timer, on_closed);
}
