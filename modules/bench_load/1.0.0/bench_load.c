/* bench_load 1.0.0: the load generator of the upgrade benchmark, as the
 * BEAM's bench_upgrade.erl has one. It starts N counter actors (the
 * counter module's current version, spread over the schedulers as a
 * supervisor spreads its children), then sends them COUNTER_INCR round
 * robin at `rate` messages/s (0: flat out), in bursts of at most 100, for
 * as long as it runs. On STOP it asks every counter for its stats; each
 * answer queues behind this generator's own increments to that counter,
 * so sent - counted is the number of increments lost.
 *
 * Init args: {"n","rate","report","module"}; module names what to spawn
 * (default "counter"; any module speaking counter_proto.h's INCR and
 * STATS, bench_cnt for the upgrade benchmark). */
#include <string.h>
#include <time.h>

#include "../../counter/counter_proto.h"
#include "../bench_load_proto.h"
#include "molt/module.h"

#define BURST 100

typedef struct {
  uint32_t n, next;
  uint64_t rate;
  molt_pid_t report;
  molt_pid_t* pids;
  uint64_t t0;
  bool stopping;
  char module[64]; /* copied: args do not outlive init */
  bench_load_report_t r;
} load_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int load_init(const molt_args_t* args, void** state) {
  load_t* s = molt_calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  s->n = (uint32_t)molt_args_int(args, "n", 1000);
  s->rate = (uint64_t)molt_args_int(args, "rate", 0);
  s->report = (molt_pid_t)molt_args_int(args, "report", 0);
  const char* module = molt_args_str(args, "module", "counter");
  if (strlen(module) >= sizeof(s->module)) {
    molt_free(s);
    return MOLT_EINVAL;
  }
  strcpy(s->module, module);
  s->pids = s->n ? molt_calloc(s->n, sizeof(*s->pids)) : NULL;
  if (!s->pids) {
    int rc = s->n ? MOLT_ENOMEM : MOLT_EINVAL;
    molt_free(s);
    return rc;
  }
  *state = s;
  return 0;
}

static int start(load_t* s) {
  for (uint32_t i = 0; i < s->n; i++) {
    s->r.rc = molt_spawn_opt(s->module, NULL, MOLT_SPAWN_ANY, &s->pids[i], NULL);
    if (s->r.rc) break;
    s->r.spawned++;
  }
  molt_send(s->report, BENCH_LOAD_READY, &s->r, sizeof(s->r));
  if (s->r.rc) return MOLT_OK;
  s->t0 = now_ns();
  return molt_send(molt_self(), BENCH_LOAD_TICK, NULL, 0);
}

/* Send what is due (at most a burst), then come back at once if there may
 * be more, else in a millisecond, as the BEAM generator's `after 1`. */
static int tick(load_t* s) {
  uint64_t burst = BURST;
  if (s->rate) {
    uint64_t due = (uint64_t)((double)s->rate * (double)(now_ns() - s->t0) / 1e9);
    burst = due > s->r.sent ? due - s->r.sent : 0;
    if (burst > BURST) burst = BURST;
  }
  counter_incr_t in = {.by = 1, .key = "hit"};
  for (uint64_t k = 0; k < burst; k++) {
    int rc = molt_send(s->pids[s->next], COUNTER_INCR, &in, sizeof(in));
    if (rc) return rc;
    s->r.sent++;
    if (++s->next == s->n) s->next = 0;
  }
  if (burst > 0) return molt_send(molt_self(), BENCH_LOAD_TICK, NULL, 0);
  return molt_send_after(1, molt_self(), BENCH_LOAD_TICK, NULL, 0, NULL);
}

static int stop(load_t* s) {
  s->stopping = true;
  for (uint32_t i = 0; i < s->r.spawned; i++) {
    int rc = molt_send_ref(s->pids[i], COUNTER_STATS, i, NULL, 0);
    if (rc) return rc;
  }
  if (s->r.spawned == 0) molt_send(s->report, BENCH_LOAD_DONE, &s->r, sizeof(s->r));
  return MOLT_OK;
}

static int load_handle(void* state, const molt_msg_t* msg) {
  load_t* s = state;
  if (msg->kind != MOLT_MSG_USER) return MOLT_OK;
  switch (msg->tag) {
    case BENCH_LOAD_START:
      return start(s);
    case BENCH_LOAD_TICK:
      return s->stopping ? MOLT_OK : tick(s);
    case BENCH_LOAD_STOP:
      return stop(s);
    case COUNTER_STATS_REPLY: {
      if (msg->size != sizeof(counter_stats_t)) return MOLT_OK;
      counter_stats_t st;
      memcpy(&st, msg->data, sizeof(st));
      s->r.counted += (uint64_t)st.total;
      if (++s->r.answered == s->r.spawned)
        molt_send(s->report, BENCH_LOAD_DONE, &s->r, sizeof(s->r));
      return MOLT_OK;
    }
  }
  return MOLT_OK;
}

static void load_free_state(void* state) {
  load_t* s = state;
  molt_free(s->pids);
  molt_free(s);
}

MOLT_EXPORT const molt_module_t molt_module = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "bench_load",
    .vsn = "1.0.0",
    .init = load_init,
    .handle = load_handle,
    .free_state = load_free_state,
};
