/* bench_spawn_proto.h: the spawn benchmark's messages, shared by the
 * bench_spawn module and molt-bench (tools/bench/spawn.c). Timestamps are
 * CLOCK_MONOTONIC nanoseconds. */
#ifndef BENCH_SPAWN_PROTO_H
#define BENCH_SPAWN_PROTO_H

#include <stdint.h>

enum {
  BENCH_SPAWN_START = 1,    /* host -> driver: spawn the N idle actors */
  BENCH_SPAWN_SPAWNED = 2,  /* driver -> report: bench_spawn_report_t (t0, t1) */
  BENCH_SPAWN_STOP_ALL = 3, /* host -> driver: stop them, wait for the last */
  BENCH_SPAWN_DONE = 4,     /* driver -> report: bench_spawn_report_t (all) */
  BENCH_SPAWN_STOP = 5,     /* driver -> idle actor: exit normally */
};

typedef struct {
  uint64_t t0_ns; /* before the spawn loop */
  uint64_t t1_ns; /* after it: every init has run, every actor is idle */
  uint64_t t3_ns; /* before the first stop is sent */
  uint64_t t4_ns; /* the last actor's DOWN arrived */
  int32_t rc;     /* 0, or the spawn error that ended the loop */
  uint32_t spawned;
} bench_spawn_report_t;

#endif
