/* bench_ring_proto.h: the ring benchmark's messages, shared by the
 * bench_ring module and molt-bench (tools/bench/ring.c), which reads the
 * report. Timestamps are CLOCK_MONOTONIC nanoseconds. */
#ifndef BENCH_RING_PROTO_H
#define BENCH_RING_PROTO_H

#include <stdint.h>

enum {
  BENCH_RING_START = 1,  /* host -> driver: build the ring and run it */
  BENCH_RING_TOKEN = 2,  /* the token, no payload */
  BENCH_RING_STOP = 3,   /* tear the ring down, no payload */
  BENCH_RING_REPORT = 4, /* driver -> report pid: bench_ring_report_t */
};

typedef struct {
  uint64_t t0_ns;  /* before spawning the N-1 forwarders */
  uint64_t t1_ns;  /* ring built, just before the first send */
  uint64_t t2_ns;  /* the token is back for the M-th time */
  int32_t rc;      /* 0, or the spawn error that stopped the set-up */
  uint32_t spawned;
} bench_ring_report_t;

#endif
