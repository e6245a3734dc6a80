/* ring.c: `molt-bench ring N M`: N actors in a ring (the driver one of
 * them), a token passed round M times; messages/s over the passing alone,
 * as the BEAM's bench_ring.erl (modules/bench_ring). */
#include <stdio.h>

#include "../../modules/bench_ring/bench_ring_proto.h"
#include "workloads.h"

#define WAIT_MS (30u * 60u * 1000u)

int bench_ring(const bench_cfg_t* cfg, int argc, char** argv) {
  long n = bench_arg(argc, argv, 0, 1000), m = bench_arg(argc, argv, 1, 1000);
  if (n < 1 || m < 1) {
    fprintf(stderr, "usage: molt-bench ring [N [M]]\n");
    return 2;
  }
  if (bench_load("bench_ring", "1.0.0")) return 1;
  char args[256];
  snprintf(args, sizeof(args), "{\"n\":%ld,\"m\":%ld,\"report\":%llu,\"spread\":%d}", n, m,
           (unsigned long long)bench_sink(), cfg->spread ? 1 : 0);
  molt_pid_t driver;
  int rc = bench_spawn_on(0, "bench_ring", args, &driver);
  if (rc) {
    fprintf(stderr, "molt-bench: spawn the ring driver: %s\n", molt_strerror(rc));
    return 1;
  }
  /* The driver is one of the ring: traced, it is one actor among n. */
  if (cfg->trace_one && bench_trace_one(driver)) return 1;
  molt_send(driver, BENCH_RING_START, NULL, 0);
  bench_ring_report_t r;
  int got = bench_expect(BENCH_RING_REPORT, &r, sizeof(r), WAIT_MS);
  if (cfg->trace_one) bench_trace_end();
  if (got) return 1;
  if (r.rc) {
    fprintf(stderr, "molt-bench: ring set-up failed after %u actors: %s\n", r.spawned, molt_strerror(r.rc));
    return 1;
  }
  double msgs = (double)n * (double)m, secs = (double)(r.t2_ns - r.t1_ns) / 1e9;
  bench_emit("ring", "n=%ld m=%ld msgs=%.0f msgs_per_s=%.0f ns_per_msg=%.3f ring_setup_ms=%.3f%s%s", n, m, msgs,
             msgs / secs, secs * 1e9 / msgs, (double)(r.t1_ns - r.t0_ns) / 1e6, cfg->spread ? " spread=1" : "",
             cfg->trace_one ? " traced=1" : "");
  return 0;
}
