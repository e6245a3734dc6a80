/* spawn.c: `molt-bench spawn N`: N idle actors spawned by one actor, as
 * the BEAM's bench_spawn.erl (modules/bench_spawn): spawns/s, memory per
 * actor from the growth of the resident set, and the rate of stopping them
 * all. An actor's init runs inside spawn, so when the loop ends every
 * actor is idle: ready_per_s is spawn_per_s. */
#include <stdio.h>

#include "../../modules/bench_spawn/bench_spawn_proto.h"
#include "actor.h"
#include "workloads.h"

#define WAIT_MS (30u * 60u * 1000u)

int bench_spawn(const bench_cfg_t* cfg, int argc, char** argv) {
  long n = bench_arg(argc, argv, 0, 1000000);
  if (n < 1 || n > 100000000) {
    fprintf(stderr, "usage: molt-bench spawn [N]\n");
    return 2;
  }
  if (bench_load("bench_spawn", "1.0.0")) return 1;
  char args[128];
  snprintf(args, sizeof(args), "{\"n\":%ld,\"report\":%llu}", n, (unsigned long long)bench_sink());
  molt_pid_t driver;
  int rc = bench_spawn_on(0, "bench_spawn", args, &driver);
  if (rc) {
    fprintf(stderr, "molt-bench: spawn the driver: %s\n", molt_strerror(rc));
    return 1;
  }
  /* The driver's pid array is allocated and touched in its init: the
   * baseline includes it, as the BEAM figure takes out the spawner's heap. */
  long rss0 = bench_rss();
  molt_send(driver, BENCH_SPAWN_START, NULL, 0);
  bench_spawn_report_t r;
  if (bench_expect(BENCH_SPAWN_SPAWNED, &r, sizeof(r), WAIT_MS)) return 1;
  long rss1 = bench_rss();
  if (r.rc) {
    fprintf(stderr, "molt-bench: spawn failed after %u actors: %s\n", r.spawned, molt_strerror(r.rc));
    return 1;
  }
  molt_send(driver, BENCH_SPAWN_STOP_ALL, NULL, 0);
  if (bench_expect(BENCH_SPAWN_DONE, &r, sizeof(r), WAIT_MS)) return 1;
  double spawn_s = (double)(r.t1_ns - r.t0_ns) / 1e9, exit_s = (double)(r.t4_ns - r.t3_ns) / 1e9;
  bench_emit("spawn", "n=%ld spawn_per_s=%.0f ready_per_s=%.0f bytes_per_proc=%.0f slot_bytes=%zu exit_per_s=%.0f",
             n, n / spawn_s, n / spawn_s, (double)(rss1 - rss0) / n, sizeof(molt_actor_t), n / exit_s);
  return 0;
}
