/* pingpong.c: round-trip latency between two actors (modules/bench_pingpong).
 *
 * `molt-bench pingpong [ROUND_TRIPS [BATCH]]` is the BEAM's
 * bench_pingpong.erl: both actors where a spawn puts them, on the
 * spawner's scheduler, however many schedulers run. (The BEAM leaves its
 * pair there too: with two schedulers, erlang:statistics(scheduler_wall_time)
 * shows the second one idle throughout.)
 *
 * `molt-bench pingpong_across [ROUND_TRIPS [BATCH]]` puts ping on the first
 * scheduler and pong on the second, so every message crosses between
 * threads; tools/beam/bench_pingpong_across.erl does the same on the BEAM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../modules/bench_pingpong/bench_pingpong_proto.h"
#include "workloads.h"

#define WAIT_MS (30u * 60u * 1000u)

static int pingpong(const bench_cfg_t* cfg, const char* name, unsigned pong_sched, int argc, char** argv) {
  long r = bench_arg(argc, argv, 0, 1000000), b = bench_arg(argc, argv, 1, 1000);
  if (r < 1 || b < 1 || b > r) {
    fprintf(stderr, "usage: molt-bench %s [ROUND_TRIPS [BATCH]]\n", name);
    return 2;
  }
  if (bench_load("bench_pingpong", "1.0.0")) return 1;
  molt_pid_t pong, ping;
  int rc = bench_spawn_on(pong_sched, "bench_pingpong", NULL, &pong);
  char args[160];
  snprintf(args, sizeof(args), "{\"pong\":%llu,\"r\":%ld,\"b\":%ld,\"report\":%llu}", (unsigned long long)pong, r,
           b, (unsigned long long)bench_sink());
  if (rc == 0) rc = bench_spawn_on(0, "bench_pingpong", args, &ping);
  if (rc) {
    fprintf(stderr, "molt-bench: spawn ping-pong: %s\n", molt_strerror(rc));
    return 1;
  }
  if (cfg->trace_one && bench_trace_one(pong)) return 1;
  molt_send(ping, BENCH_PP_START, NULL, 0);
  bench_msg_t m;
  int got = bench_recv(&m, WAIT_MS);
  if (cfg->trace_one) bench_trace_end();
  if (got != 0 || m.tag != BENCH_PP_REPORT || m.size < sizeof(bench_pp_report_t)) {
    fprintf(stderr, "molt-bench: no ping-pong report\n");
    return 1;
  }
  bench_pp_report_t h;
  memcpy(&h, m.data, sizeof(h));
  size_t nb = h.nbatches, ns = h.nsingles;
  if (m.size < sizeof(h) + (nb + ns) * sizeof(double)) {
    fprintf(stderr, "molt-bench: short ping-pong report\n");
    free(m.data);
    return 1;
  }
  double* batches = (double*)((char*)m.data + sizeof(h));
  double* singles = batches + nb;
  double med = bench_pct(batches, nb, 50), min = nb ? batches[0] : 0, p99 = bench_pct(batches, nb, 99);
  double smed = bench_pct(singles, ns, 50), sp99 = bench_pct(singles, ns, 99);
  bench_emit(name,
             "round_trips=%zu batch=%u median_ns_per_rt=%.3f min_ns_per_rt=%.3f p99_ns_per_rt=%.3f "
             "single_rt_median_ns=%.0f single_rt_p99_ns=%.0f%s",
             nb * h.batch, h.batch, med, min, p99, smed, sp99, cfg->trace_one ? " traced=1" : "");
  free(m.data);
  return 0;
}

int bench_pingpong(const bench_cfg_t* cfg, int argc, char** argv) { return pingpong(cfg, "pingpong", 0, argc, argv); }

int bench_pingpong_across(const bench_cfg_t* cfg, int argc, char** argv) {
  if (bench_nsched() < 2) {
    fprintf(stderr, "molt-bench: pingpong_across needs two schedulers (--schedulers 2)\n");
    return 2;
  }
  return pingpong(cfg, "pingpong_across", 1, argc, argv);
}
