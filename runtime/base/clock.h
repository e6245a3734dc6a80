/* clock.h: the monotonic clock every room reads, in nanoseconds. Not the
 * container's age (molt_now_ms, the actor room's, counts from its start). */
#ifndef MOLT_BASE_CLOCK_H
#define MOLT_BASE_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. Any thread. */
uint64_t molt__now_ns(void);

#endif
