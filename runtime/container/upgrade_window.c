/* upgrade_window.c: counting the crashes of the modules an upgrade
 * changed, for as long as its observation window lasts. cr.h rolls a
 * plugin back when it crashes right after a reload; this does it for a
 * whole release, with a window and a threshold. */
#include "upgrade_window.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "runtime.h"
#include "sup_exit.h"
#include "supervisor.h"

static void on_crash(const char* sup, const char* child, const char* module, molt_pid_t pid, int reason,
                     void* data) {
  molt_window_t* w = data;
  char why[64], p[24];
  pthread_mutex_lock(&w->lock);
  if (w->nseen < MOLT_WINDOW_SEEN) {
    snprintf(w->seen[w->nseen].module, sizeof(w->seen[0].module), "%s", module);
    snprintf(w->seen[w->nseen].line, sizeof(w->seen[0].line), "child %s %s (module %s) of %s exited %s", child,
             molt__pid_str(pid, p, sizeof(p)), module, sup, molt__sup_exit_reason_str(reason, why, sizeof(why)));
    w->nseen++;
  }
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

void molt__window_open(molt_window_t* w) {
  memset(w, 0, sizeof(*w));
  pthread_mutex_init(&w->lock, NULL);
  molt__cond_init_monotonic(&w->cond);
  molt__supervisor_observe(on_crash, w);
}

void molt__window_count(molt_window_t* w, const molt_plan_t* plan) {
  pthread_mutex_lock(&w->lock);
  w->plan = plan;
  pthread_cond_broadcast(&w->cond);
  pthread_mutex_unlock(&w->lock);
}

static bool changed(const molt_plan_t* plan, const char* module) {
  for (size_t h = 0; plan && h < plan->nhops; h++)
    for (size_t k = 0; k < plan->hops[h].nsteps; k++) {
      const molt_plan_step_t* st = &plan->hops[h].steps[k];
      if (st->op != MOLT_STEP_REMOVE && strcmp(st->module, module) == 0) return true;
    }
  return false;
}

/* Under the lock: how many recorded crashes count; *first the first. */
static unsigned counted(const molt_window_t* w, size_t* first) {
  unsigned n = 0;
  for (size_t i = 0; i < w->nseen; i++)
    if (changed(w->plan, w->seen[i].module) && n++ == 0) *first = i;
  return n;
}

bool molt__window_wait(molt_window_t* w, uint64_t ms, unsigned max, char* why, size_t whylen) {
  struct timespec until = molt__clock_after_ns(ms * 1000000ull);
  size_t first = 0;
  unsigned n = 0;
  pthread_mutex_lock(&w->lock);
  while ((n = counted(w, &first)) <= max)
    if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT) break;
  n = counted(w, &first);
  if (n > max)
    snprintf(why, whylen, "%u crash%s of the changed modules within the window (at most %u allowed); the first: %s",
             n, n == 1 ? "" : "es", max, w->seen[first].line);
  pthread_mutex_unlock(&w->lock);
  return n > max;
}

void molt__window_close(molt_window_t* w) {
  molt__supervisor_observe(NULL, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->lock);
}
