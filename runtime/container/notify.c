/* notify.c: the container's side of systemd's notify protocol through
 * libsystemd's sd_notify, and the watchdog that asks the schedulers
 * whether they make progress. Not the parent that restarts a container
 * without systemd (tools/heart.c).
 *
 * Why the watchdog looks at the schedulers and not only at this loop: the
 * control loop stays responsive while a handler spins forever on a
 * scheduler thread (busy_actor_test), so a keep-alive sent just because
 * this timer fires would keep a wedged container alive. A scheduler
 * counts as progressing if it is idle (parked in its loop) or has entered
 * or left a batch since the last check; the ticker ends every batch within
 * a millisecond of a turn's end, so only a handler that has not returned
 * for a whole check interval (half the watchdog's) withholds WATCHDOG=1.
 * A held scheduler (an upgrade's freeze) counts as progressing: the
 * upgrade has deadlines of its own. */
#include "notify.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "runtime.h"

/* The last STATUS= about the release, sent again when a stall (which
 * replaced it with its own) ends. Written by the release commands' job
 * thread, read on the loop's. */
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static char release_status[512];

static void set_release_status(const char* line) {
  pthread_mutex_lock(&status_lock);
  snprintf(release_status, sizeof(release_status), "%s", line);
  pthread_mutex_unlock(&status_lock);
}

static void send_state(const char* state) {
  int rc = sd_notify(0, state);
  /* Once: a socket that refuses refuses every time. */
  static bool told;
  if (rc < 0 && !told) {
    told = true;
    molt__log_warn("systemd notify: %s: %s (NOTIFY_SOCKET=%s)", state, strerror(-rc), getenv("NOTIFY_SOCKET"));
  }
}

/* The first scheduler stuck in one batch since the last check, or -1. */
static int stuck_scheduler(molt_notify_t* n) {
  int stuck = -1;
  for (unsigned i = 0; i < n->nsched; i++)
    if (!molt__sched_progressed(&molt__rt.scheds[i], &n->last_beats[i]) && stuck < 0) stuck = (int)i;
  return stuck;
}

static void on_check(uv_timer_t* t) {
  molt_notify_t* n = t->data;
  int stuck = stuck_scheduler(n);
  if (stuck < 0) {
    if (!n->stalled) {
      send_state("WATCHDOG=1");
      return;
    }
    n->stalled = false;
    molt__log("watchdog: every scheduler makes progress again; WATCHDOG=1 resumes");
    char state[600];
    pthread_mutex_lock(&status_lock);
    snprintf(state, sizeof(state), "WATCHDOG=1\n%s", release_status);
    pthread_mutex_unlock(&status_lock);
    send_state(state);
    return;
  }
  if (n->stalled) return;
  n->stalled = true;
  char status[160];
  snprintf(status, sizeof(status), "STATUS=scheduler %d stuck in one handler for over %llu ms", stuck,
           (unsigned long long)n->interval_ms);
  molt__log_warn("watchdog: scheduler %d has been in one handler for over %llu ms; WATCHDOG=1 withheld until it returns",
            stuck, (unsigned long long)n->interval_ms);
  send_state(status);
}

static void start_watchdog(molt_notify_t* n, uv_loop_t* loop) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  n->nsched = molt__rt.nsched;
  n->last_beats = calloc(n->nsched ? n->nsched : 1, sizeof(*n->last_beats));
  if (!n->last_beats) {
    molt__log_error("watchdog: out of memory; WATCHDOG=1 is never sent");
    return;
  }
  n->interval_ms = usec / 2000 ? usec / 2000 : 1;
  uv_timer_init(loop, &n->timer);
  n->timer.data = n;
  uv_timer_start(&n->timer, on_check, 0, n->interval_ms);
  n->watching = true;
  molt__log("watchdog: every %llu ms, WATCHDOG=1 while every scheduler makes progress",
            (unsigned long long)n->interval_ms);
}

void molt__notify_ready(molt_notify_t* n, uv_loop_t* loop, const char* name, const char* vsn) {
  if (!getenv("NOTIFY_SOCKET")) return;
  char state[512];
  snprintf(state, sizeof(state), "READY=1\nSTATUS=running release %s %s", name, vsn);
  set_release_status(state + strlen("READY=1\n"));
  send_state(state);
  start_watchdog(n, loop);
}

void molt__notify_release(const char* name, const char* vsn, const char* what) {
  if (!getenv("NOTIFY_SOCKET")) return;
  char state[512];
  snprintf(state, sizeof(state), "STATUS=running release %s %s (%s)", name, vsn, what);
  set_release_status(state);
  send_state(state);
}

static void on_timer_closed(uv_handle_t* h) {
  molt_notify_t* n = h->data;
  free(n->last_beats);
  n->last_beats = NULL;
}

void molt__notify_stopping(molt_notify_t* n) {
  if (!getenv("NOTIFY_SOCKET")) return;
  send_state("STOPPING=1");
  if (n->watching) {
    n->watching = false;
    uv_close((uv_handle_t*)&n->timer, on_timer_closed);
  }
}
