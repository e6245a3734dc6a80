/* bench_spawn 1.0.0: the spawn benchmark as a molt module, measuring the
 * same thing as the BEAM's bench_spawn.erl. The driver spawns N actors of
 * this module that do nothing but wait for a stop; later it stops them in
 * spawn order and times until the DOWN of the last one.
 *
 * Roles by init args: {"n","report"} is the driver; no args ("{}") an idle
 * actor, told apart by the raw text so an idle init parses no JSON. An idle
 * actor's state is one small allocation, as small as a state can be. */
#include <string.h>
#include <time.h>

#include "../bench_spawn_proto.h"
#include "molt/module.h"

typedef struct {
  uint32_t n;
  molt_pid_t report;
  molt_pid_t* pids; /* allocated and touched in init: not part of the RSS delta */
  uint64_t mref;
  bench_spawn_report_t r;
} driver_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int spawn_init(const molt_args_t* args, void** state) {
  if (strcmp(molt_args_json(args), "{}") == 0) {
    uint32_t* idle = molt_alloc(sizeof(*idle));
    if (!idle) return MOLT_ENOMEM;
    *idle = 0; /* the role tag: 0 idle, see driver_t's first field */
    *state = idle;
    return 0;
  }
  driver_t* d = molt_calloc(1, sizeof(*d));
  if (!d) return MOLT_ENOMEM;
  d->n = (uint32_t)molt_args_int(args, "n", 1);
  d->report = (molt_pid_t)molt_args_int(args, "report", 0);
  d->pids = molt_alloc((size_t)d->n * sizeof(*d->pids));
  if (!d->pids || d->n == 0) {
    molt_free(d->pids);
    molt_free(d);
    return MOLT_EINVAL;
  }
  memset(d->pids, 0, (size_t)d->n * sizeof(*d->pids));
  *state = d;
  return 0;
}

static int driver_handle(driver_t* d, const molt_msg_t* msg) {
  if (msg->kind == MOLT_MSG_DOWN) {
    d->r.t4_ns = now_ns();
    molt_send(d->report, BENCH_SPAWN_DONE, &d->r, sizeof(d->r));
    return MOLT_STOP;
  }
  switch (msg->tag) {
    case BENCH_SPAWN_START:
      d->r.t0_ns = now_ns();
      for (uint32_t i = 0; i < d->n; i++) {
        d->r.rc = molt_spawn("bench_spawn", NULL, &d->pids[i]);
        if (d->r.rc) break;
        d->r.spawned++;
      }
      d->r.t1_ns = now_ns();
      molt_send(d->report, BENCH_SPAWN_SPAWNED, &d->r, sizeof(d->r));
      return MOLT_OK;
    case BENCH_SPAWN_STOP_ALL: {
      if (d->r.spawned == 0) break;
      molt_pid_t last = d->pids[d->r.spawned - 1]; /* stopped last below */
      int rc = molt_monitor(last, &d->mref);
      if (rc) return rc;
      d->r.t3_ns = now_ns();
      for (uint32_t i = 0; i < d->r.spawned; i++) molt_send(d->pids[i], BENCH_SPAWN_STOP, NULL, 0);
      return MOLT_OK;
    }
  }
  return MOLT_OK;
}

static int spawn_handle(void* state, const molt_msg_t* msg) {
  if (*(uint32_t*)state != 0) return driver_handle(state, msg);
  return msg->kind == MOLT_MSG_USER && msg->tag == BENCH_SPAWN_STOP ? MOLT_STOP : MOLT_OK;
}

static void spawn_free_state(void* state) {
  if (*(uint32_t*)state != 0) molt_free(((driver_t*)state)->pids);
  molt_free(state);
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "bench_spawn",
    .vsn = "1.0.0",
    .init = spawn_init,
    .handle = spawn_handle,
    .free_state = spawn_free_state,
};
