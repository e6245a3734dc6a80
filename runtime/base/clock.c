/* clock.c: the monotonic clock in nanoseconds. One function, so that every
 * deadline and every log line in molt reads the same clock. */
#include "clock.h"

#include <time.h>

uint64_t molt__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct timespec molt__clock_after_ns(uint64_t ns) {
  uint64_t at = molt__now_ns() + ns;
  return (struct timespec){.tv_sec = (time_t)(at / 1000000000ull), .tv_nsec = (long)(at % 1000000000ull)};
}

int molt__cond_init_monotonic(pthread_cond_t* cond) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(cond, &attr);
  pthread_condattr_destroy(&attr);
  return rc;
}
