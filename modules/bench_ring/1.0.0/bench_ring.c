/* bench_ring 1.0.0: the ring benchmark as a molt module, measuring the
 * same thing as the BEAM's bench_ring.erl. The driver is itself a member
 * of the ring: it spawns N-1 forwarders (back to front, each told its next
 * member through its init args), sends the token to the first and counts
 * the token's returns; only the message passing is timed. A forwarder
 * passes on whatever arrives.
 *
 * Roles by init args: {"n","m","report"[,"spread"]} is the driver, {"next"}
 * a forwarder. Forwarders are spawned with molt_spawn (the driver's
 * scheduler, as Erlang's spawn/1 places a process), or spread round robin
 * over every scheduler with "spread": 1. */
#include <stdio.h>
#include <time.h>

#include "../bench_ring_proto.h"
#include "molt/module.h"

typedef struct {
  molt_pid_t next;     /* forwarders: the next member; driver: the first */
  molt_pid_t report;   /* driver only */
  uint32_t n, m, left; /* driver only: rounds still to go */
  uint32_t spread;
  bool driver;
  bench_ring_report_t r;
} ring_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int ring_init(const molt_args_t* args, void** state) {
  ring_t* s = molt_calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  s->next = (molt_pid_t)molt_args_int(args, "next", 0);
  s->n = (uint32_t)molt_args_int(args, "n", 0);
  s->driver = s->n > 0;
  if (s->driver) {
    s->m = (uint32_t)molt_args_int(args, "m", 1);
    s->spread = (uint32_t)molt_args_int(args, "spread", 0);
    s->report = (molt_pid_t)molt_args_int(args, "report", 0);
  }
  *state = s;
  return 0;
}

/* Build the chain back to front: the last forwarder sends to the driver. */
static int build(ring_t* s) {
  molt_pid_t next = molt_self();
  unsigned flags = s->spread ? MOLT_SPAWN_ANY : 0;
  for (uint32_t i = 1; i < s->n; i++) {
    char args[64];
    snprintf(args, sizeof(args), "{\"next\":%llu}", (unsigned long long)next);
    int rc = molt_spawn_opt("bench_ring", args, flags, &next, NULL);
    if (rc) return rc;
    s->r.spawned++;
  }
  s->next = next;
  return 0;
}

static void report(ring_t* s) {
  molt_send(s->report, BENCH_RING_REPORT, &s->r, sizeof(s->r));
}

static int driver_handle(ring_t* s, const molt_msg_t* msg) {
  switch (msg->tag) {
    case BENCH_RING_START:
      s->r.t0_ns = now_ns();
      s->r.rc = build(s);
      if (s->r.rc) {
        report(s);
        return MOLT_STOP;
      }
      s->left = s->m;
      s->r.t1_ns = now_ns();
      return molt_send(s->next, BENCH_RING_TOKEN, NULL, 0);
    case BENCH_RING_TOKEN:
      if (--s->left > 0) return molt_send(s->next, BENCH_RING_TOKEN, NULL, 0);
      s->r.t2_ns = now_ns();
      /* Tear the ring down (not timed); report when the stop is back. */
      if (s->n == 1) break;
      return molt_send(s->next, BENCH_RING_STOP, NULL, 0);
    case BENCH_RING_STOP:
      break;
    default:
      return MOLT_OK;
  }
  report(s);
  return MOLT_STOP;
}

static int ring_handle(void* state, const molt_msg_t* msg) {
  ring_t* s = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  if (s->driver) return driver_handle(s, msg);
  int rc = molt_send(s->next, msg->tag, NULL, 0);
  return msg->tag == BENCH_RING_STOP ? MOLT_STOP : rc;
}

static void ring_free_state(void* state) { molt_free(state); }

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "bench_ring",
    .vsn = "1.0.0",
    .init = ring_init,
    .handle = ring_handle,
    .free_state = ring_free_state,
};
