/* bench_load_proto.h: the upgrade benchmark's load generator, shared by
 * the bench_load module and molt-bench (tools/bench/upgrade.c). The
 * generator talks to counters in counter_proto.h's terms. */
#ifndef BENCH_LOAD_PROTO_H
#define BENCH_LOAD_PROTO_H

#include <stdint.h>

enum {
  BENCH_LOAD_START = 1001, /* host -> generator: spawn the counters, start the load */
  BENCH_LOAD_READY = 1002, /* generator -> report: bench_load_report_t (spawned, rc) */
  BENCH_LOAD_TICK = 1003,  /* generator -> itself */
  BENCH_LOAD_STOP = 1004,  /* host -> generator: stop the load, count */
  BENCH_LOAD_DONE = 1005,  /* generator -> report: bench_load_report_t (all) */
};

typedef struct {
  uint64_t sent;     /* increments sent */
  uint64_t counted;  /* sum of every counter's total after the stop */
  uint32_t spawned;  /* counters started */
  uint32_t answered; /* counters that answered the final COUNTER_STATS */
  int32_t rc;        /* 0, or the spawn error that ended the start */
  uint32_t pad;
} bench_load_report_t;

#endif
