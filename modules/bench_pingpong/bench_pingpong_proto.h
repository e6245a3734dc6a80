/* bench_pingpong_proto.h: the ping-pong benchmark's messages, shared by
 * the bench_pingpong module and molt-bench (tools/bench/pingpong.c). */
#ifndef BENCH_PINGPONG_PROTO_H
#define BENCH_PINGPONG_PROTO_H

#include <stdint.h>

enum {
  BENCH_PP_START = 1,  /* host -> ping: run */
  BENCH_PP_PING = 2,   /* ping -> pong, no payload (the sender is msg->from) */
  BENCH_PP_PONG = 3,   /* pong -> ping, no payload */
  BENCH_PP_STOP = 4,   /* ping -> pong */
  BENCH_PP_REPORT = 5, /* ping -> report: bench_pp_report_t, then the samples */
};

/* Followed by nbatches + nsingles doubles: the mean ns per round trip of
 * each batch of `batch` round trips, then of each single round trip. */
typedef struct {
  uint32_t nbatches, nsingles, batch, pad;
} bench_pp_report_t;

#define BENCH_PP_WARMUP 10000u
#define BENCH_PP_SINGLES 100000u

#endif
