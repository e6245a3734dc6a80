/* ticker.h: the runtime's ticker, a thread that asks busy schedulers to
 * yield once a millisecond, so that a backlog of slow handlers never keeps
 * a scheduler from its timers, I/O and posted tasks (an upgrade's freeze,
 * a command) for longer than about one handler call. Not a timer service:
 * actors' timers live on their schedulers' loops (timer.c). */
#ifndef MOLT_ACTOR_TICKER_H
#define MOLT_ACTOR_TICKER_H

#include <stddef.h>

/* Start the ticker over the runtime's schedulers (molt__rt). 0, or a
 * MOLT_E* with a reason. */
int molt__ticker_start(char* err, size_t errlen);
/* Stop and join it; returns at once (it sleeps on a condition). */
void molt__ticker_stop(void);

#endif
