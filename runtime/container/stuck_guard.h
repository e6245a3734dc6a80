/* stuck_guard.h: the hard limit on one callback. A scheduler inside the
 * same callback (a handler, terminate or code_change that does not
 * return) for longer than the limit is a fatal fault: the guard makes
 * that thread raise SIGABRT, so the crash report (crash.h) names the
 * actor and the callback from the thread itself, and the container dies
 * for what supervises it (systemd, --heart) to restart. Not the watchdog
 * keep-alive (notify.h), which only withholds WATCHDOG=1. */
#ifndef MOLT_CONTAINER_STUCK_GUARD_H
#define MOLT_CONTAINER_STUCK_GUARD_H

#include <stdint.h>
#include <uv.h>

#define MOLT_STUCK_LIMIT_S 60

typedef struct molt_stuck_guard {
  uv_timer_t timer;
  uint32_t limit_ms;
  unsigned nsched;
  uint_fast64_t* beats;    /* per scheduler, at the last look */
  uint64_t* since_ms;      /* per scheduler, when it last made progress */
} molt_stuck_guard_t;

/* Watch the runtime's schedulers from loop (checked every second, or
 * more often for a short limit). limit_s 0: MOLT_STUCK_LIMIT_S. 0 or
 * MOLT_ENOMEM. */
int molt__stuck_guard_start(molt_stuck_guard_t* g, uv_loop_t* loop, uint32_t limit_s);
/* Stop watching (before the runtime stops); the loop closes the timer. */
void molt__stuck_guard_stop(molt_stuck_guard_t* g);

#endif
