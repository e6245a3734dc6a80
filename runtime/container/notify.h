/* notify.h: what the container tells systemd through its notify protocol
 * (sd_notify): READY=1 once it serves, STATUS= lines as its release
 * changes, STOPPING=1, and WATCHDOG=1 while every scheduler makes
 * progress. Without NOTIFY_SOCKET in the environment all of it is a
 * no-op. Not the unit file (packaging/molt@.service). */
#ifndef MOLT_CONTAINER_NOTIFY_H
#define MOLT_CONTAINER_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* The caller's memory, in the container; zeroed before notify_ready. */
typedef struct molt_notify {
  uv_timer_t timer;
  bool watching;             /* the timer runs (systemd asked for a watchdog) */
  bool stalled;              /* the last check withheld WATCHDOG=1 */
  uint64_t interval_ms;      /* between two checks: half of WATCHDOG_USEC */
  uint_fast64_t* last_beats; /* each scheduler's beats at the last check (malloc'd) */
  unsigned nsched;
} molt_notify_t;

/* The container serves release name vsn: READY=1 with its STATUS=, and,
 * if WATCHDOG_USEC asks for one (sd_watchdog_enabled: for this pid), a
 * timer on loop that sends WATCHDOG=1 every half interval while every
 * scheduler has made progress since the check before
 * (molt__sched_progressed); a scheduler stuck in one handler withholds it,
 * so systemd restarts the container. On the loop's thread, after the
 * schedulers started. Never fails: a notification that cannot be sent is
 * logged. */
void molt__notify_ready(molt_notify_t* n, uv_loop_t* loop, const char* name, const char* vsn);

/* STATUS=running release name vsn (what), e.g. "upgraded, not committed".
 * Any thread. */
void molt__notify_release(const char* name, const char* vsn, const char* what);

/* STOPPING=1, and the watchdog's timer closed (its memory is free once the
 * loop has run the close). On the loop's thread; harmless without
 * notify_ready before. */
void molt__notify_stopping(molt_notify_t* n);

#endif
