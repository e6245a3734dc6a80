/* upgrade.c: `molt-bench upgrade N RATE`: N bench_cnt actors (1.0.0)
 * under a load of RATE increments/s (0: flat out) from one generator actor
 * (modules/bench_load); then, twice, an upgrade to bench_cnt 2.0.0, whose
 * state layout differs (code_change up on every actor), and the downgrade
 * back to 1.0.0 (2.0.0's code_change down), each through the same
 * transaction `molt load` runs (molt__upgrade_apply). As the BEAM's
 * bench_upgrade.erl, which does each cycle twice (its seq and pipe modes),
 * with the same state change: bench_cnt is cnt_v1/cnt_v2, {count} ->
 * {count, hits}. `molt-bench upgrade-counter` runs the same cycles on the
 * demo's counter 1.0.0 <-> 2.0.0, whose code_change rebuilds a per-key
 * table (about 1.2 KB allocated per actor): a module's conversion cost,
 * not the transaction's.
 * At the end the load stops and every counter reports its total: lost =
 * sent - counted must be 0.
 *
 * pause_ms: the first scheduler frozen .. the last resumed (no actor of any
 * module runs meanwhile; mailboxes keep filling). total_ms: the whole
 * load, from opening the file (verify, private copy, dlopen) to the
 * purge of the version left behind. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../../modules/bench_load/bench_load_proto.h"
#include "code_server.h"
#include "upgrade.h"
#include "workloads.h"

#define WAIT_MS (10u * 60u * 1000u)
#define APPLY_TIMEOUT_MS 60000
#define SETTLE_US 200000 /* as the BEAM's timer:sleep(200) between steps */
#define CYCLES 2

/* Load mod `vsn` as one transaction, as `molt load` does. */
static int change(const char* mod, long n, long rate, const char* vsn, molt_direction_t dir) {
  char path[4096], err[512] = "";
  bench_module_path(mod, vsn, path, sizeof(path));
  molt_version_t *v = NULL, *cur = NULL;
  molt_upgrade_stats_t st = {0};
  long minflt = 0; /* page faults (any thread) while the transaction ran */
  uint64_t t0 = bench_now_ns();
  if (!molt__upgrade_begin()) return -1;
  int rc = molt__code_prepare(path, mod, &v, err, sizeof(err));
  if (rc == 0 && !(cur = molt__code_get_current(mod))) rc = MOLT_ENOMODULE;
  if (rc == 0) {
    molt_hop_t hop = {v, v->state_vsn != cur->state_vsn, dir, NULL};
    molt_change_t c = {mod, &hop, 1};
    /* The rehearsal molt load runs first (a fork, every code_change in the
     * copy), measured on its own line: the transaction's pause below is
     * the real change's alone. */
    molt_upgrade_stats_t rs = {0};
    if (hop.migrate && !getenv("MOLT_BENCH_NO_REHEARSAL") && (rc = molt__upgrade_rehearse(&c, 1, NULL, APPLY_TIMEOUT_MS, &rs, err, sizeof(err))) == 0)
      bench_emit("rehearsal", "n=%ld rate=%ld dir=%s pause_ms=%.3f fork_ms=%.3f total_ms=%.3f actors=%lu module=%s",
                 n, rate, dir == MOLT_UP ? "up" : "down", rs.pause_ns / 1e6, rs.migrate_ns / 1e6, rs.total_ns / 1e6,
                 rs.actors, mod);
    if (rc == 0) {
      struct rusage r0, r1;
      getrusage(RUSAGE_SELF, &r0);
      rc = molt__upgrade_apply(&c, 1, APPLY_TIMEOUT_MS, &st, err, sizeof(err));
      getrusage(RUSAGE_SELF, &r1);
      minflt = r1.ru_minflt - r0.ru_minflt;
    }
  }
  uint64_t total = bench_now_ns() - t0;
  molt__upgrade_end();
  long switched = v ? atomic_load(&v->actors) : 0;
  if (v) molt__version_unref(v);
  if (cur) molt__version_unref(cur);
  if (rc) {
    fprintf(stderr, "molt-bench: load %s %s: %s (%s)\n", mod, vsn, err, molt_err_name(rc));
    return -1;
  }
  bench_emit("upgrade",
             "n=%ld rate=%ld mode=txn dir=%s pause_ms=%.3f total_ms=%.3f change_ms=%.3f actors=%lu "
             "switched=%ld us_per_proc=%.3f minflt=%ld module=%s",
             n, rate, dir == MOLT_UP ? "up" : "down", st.pause_ns / 1e6, total / 1e6, st.migrate_ns / 1e6,
             st.actors, switched, st.pause_ns / 1e3 / (double)n, minflt, mod);
  return switched == n ? 0 : -1;
}

static int run(const char* mod, int argc, char** argv) {
  long n = bench_arg(argc, argv, 0, 100000), rate = bench_arg(argc, argv, 1, 100000);
  if (n < 1 || rate < 0) {
    fprintf(stderr, "usage: molt-bench upgrade|upgrade-counter [N [RATE]]\n");
    return 2;
  }
  if (bench_load(mod, "1.0.0") || bench_load("bench_load", "1.0.0")) return 1;
  char args[200];
  snprintf(args, sizeof(args), "{\"n\":%ld,\"rate\":%ld,\"report\":%llu,\"module\":\"%s\"}", n, rate,
           (unsigned long long)bench_sink(), mod);
  molt_pid_t gen;
  int rc = bench_spawn_on(0, "bench_load", args, &gen);
  if (rc) {
    fprintf(stderr, "molt-bench: spawn the load generator: %s\n", molt_strerror(rc));
    return 1;
  }
  molt_send(gen, BENCH_LOAD_START, NULL, 0);
  bench_load_report_t r;
  if (bench_expect(BENCH_LOAD_READY, &r, sizeof(r), WAIT_MS)) return 1;
  if (r.rc) {
    fprintf(stderr, "molt-bench: counters failed to start after %u: %s\n", r.spawned, molt_strerror(r.rc));
    return 1;
  }
  usleep(SETTLE_US);
  int failed = 0;
  for (int c = 0; c < CYCLES && !failed; c++) {
    failed |= change(mod, n, rate, "2.0.0", MOLT_UP);
    usleep(SETTLE_US);
    if (!failed) failed |= change(mod, n, rate, "1.0.0", MOLT_DOWN);
    usleep(SETTLE_US);
  }
  molt_send(gen, BENCH_LOAD_STOP, NULL, 0);
  if (bench_expect(BENCH_LOAD_DONE, &r, sizeof(r), WAIT_MS)) return 1;
  molt_version_t* v = molt__code_get_current(mod);
  long alive = v ? atomic_load(&v->actors) : 0;
  if (v) molt__version_unref(v);
  bench_emit("upgrade_check", "n=%ld rate=%ld casts_sent=%llu casts_counted=%llu lost=%lld alive=%ld module=%s", n, rate,
             (unsigned long long)r.sent, (unsigned long long)r.counted, (long long)(r.sent - r.counted), alive, mod);
  return failed || r.sent != r.counted || alive != n ? 1 : 0;
}

int bench_upgrade(const bench_cfg_t* cfg, int argc, char** argv) {
  (void)cfg;
  return run("bench_cnt", argc, argv);
}

int bench_upgrade_counter(const bench_cfg_t* cfg, int argc, char** argv) {
  (void)cfg;
  return run("counter", argc, argv);
}
