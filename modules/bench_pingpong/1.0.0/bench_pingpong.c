/* bench_pingpong 1.0.0: round-trip latency between two actors, measuring
 * the same thing as the BEAM's bench_pingpong.erl: a warm-up of 10,000
 * round trips, R round trips timed in batches of B (a clock read at each
 * end of a batch), then 100,000 single round trips timed one by one.
 *
 * Roles by init args: {"pong","r","b","report"} is ping; no args ("{}")
 * pong, which answers every PING to its sender. molt-bench places the two
 * on one scheduler or on two. */
#include <string.h>
#include <time.h>

#include "../bench_pingpong_proto.h"
#include "molt/module.h"

enum { WARM, BATCHES, SINGLES };

typedef struct {
  uint32_t role; /* 0: pong, 1: ping */
  uint32_t phase, left, batch, nbatches, done;
  molt_pid_t pong, report;
  uint64_t t0;
  double* samples; /* nbatches + BENCH_PP_SINGLES */
} pp_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int pp_init(const molt_args_t* args, void** state) {
  pp_t* s = molt_calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  if (strcmp(molt_args_json(args), "{}") != 0) {
    s->role = 1;
    s->pong = (molt_pid_t)molt_args_int(args, "pong", 0);
    s->report = (molt_pid_t)molt_args_int(args, "report", 0);
    s->batch = (uint32_t)molt_args_int(args, "b", 1000);
    if (s->batch == 0) s->batch = 1;
    s->nbatches = (uint32_t)(molt_args_int(args, "r", 1000000) / s->batch);
    s->samples = molt_alloc(sizeof(double) * (s->nbatches + BENCH_PP_SINGLES));
    if (!s->samples) {
      molt_free(s);
      return MOLT_ENOMEM;
    }
  }
  *state = s;
  return 0;
}

static int start_batch(pp_t* s, uint32_t k) {
  s->left = k;
  s->t0 = now_ns();
  return molt_send(s->pong, BENCH_PP_PING, NULL, 0);
}

static int finish(pp_t* s) {
  bench_pp_report_t h = {s->nbatches, BENCH_PP_SINGLES, s->batch, 0};
  size_t n = s->nbatches + BENCH_PP_SINGLES;
  size_t size = sizeof(h) + n * sizeof(double);
  unsigned char* buf = molt_alloc(size);
  if (!buf) return MOLT_ENOMEM;
  memcpy(buf, &h, sizeof(h));
  memcpy(buf + sizeof(h), s->samples, n * sizeof(double));
  molt_send(s->pong, BENCH_PP_STOP, NULL, 0);
  molt_send(s->report, BENCH_PP_REPORT, buf, size);
  molt_free(buf);
  return MOLT_STOP;
}

/* One PONG: the round trip is over; start the next or close a batch. */
static int ping_pong(pp_t* s) {
  if (--s->left > 0) return molt_send(s->pong, BENCH_PP_PING, NULL, 0);
  uint64_t t1 = now_ns();
  switch (s->phase) {
    case WARM:
      s->phase = BATCHES;
      s->done = 0;
      if (s->nbatches) return start_batch(s, s->batch);
      s->phase = SINGLES; /* no batches asked for */
      return start_batch(s, 1);
    case BATCHES:
      s->samples[s->done++] = (double)(t1 - s->t0) / s->batch;
      if (s->done < s->nbatches) return start_batch(s, s->batch);
      s->phase = SINGLES;
      return start_batch(s, 1);
    default:
      s->samples[s->done++] = (double)(t1 - s->t0);
      if (s->done < s->nbatches + BENCH_PP_SINGLES) return start_batch(s, 1);
      return finish(s);
  }
}

static int pp_handle(void* state, const molt_msg_t* msg) {
  pp_t* s = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (s->role == 0) {
    if (msg->tag == BENCH_PP_PING) return molt_send(msg->from, BENCH_PP_PONG, NULL, 0);
    return msg->tag == BENCH_PP_STOP ? MOLT_STOP : MOLT_OK;
  }
  if (msg->tag == BENCH_PP_START) {
    s->phase = WARM;
    return start_batch(s, BENCH_PP_WARMUP);
  }
  return msg->tag == BENCH_PP_PONG ? ping_pong(s) : MOLT_OK;
}

static void pp_free_state(void* state) {
  pp_t* s = state;
  molt_free(s->samples);
  molt_free(s);
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "bench_pingpong",
    .vsn = "1.0.0",
    .init = pp_init,
    .handle = pp_handle,
    .free_state = pp_free_state,
};
