/* clock.c: the monotonic clock in nanoseconds. One function, so that every
 * deadline and every log line in molt reads the same clock. */
#include "clock.h"

#include <time.h>

uint64_t molt__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
