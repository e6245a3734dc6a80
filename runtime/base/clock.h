/* clock.h: the monotonic clock every room reads, in nanoseconds. Not the
 * container's age (molt_now_ms, the actor room's, counts from its start). */
#ifndef MOLT_BASE_CLOCK_H
#define MOLT_BASE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. Any thread. */
uint64_t molt__now_ns(void);

/* The CLOCK_MONOTONIC time ns from now, as pthread_cond_timedwait takes it
 * on a condition from molt__cond_init_monotonic. */
struct timespec molt__clock_after_ns(uint64_t ns);

/* pthread_cond_init on CLOCK_MONOTONIC, so that a deadline is not moved by
 * a change of the wall clock. 0 or pthread_cond_init's error. */
int molt__cond_init_monotonic(pthread_cond_t* cond);

#endif
