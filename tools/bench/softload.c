/* softload.c: `molt-bench softload [LOADS [N]]`: the latency of loading a
 * module version whose state layout is unchanged (counter 1.0.0 and 1.1.0,
 * alternately), with N actors running it (default 0, as the BEAM's
 * bench_codeload.erl loads a module no process runs). One load is what
 * `molt load` does: verify, private copy and dlopen (prepare), then the
 * transaction that switches every actor and purges the version left
 * behind (switch). 5 warm-up loads, then LOADS timed ones.
 *
 * live is the part a caller waits for before the new code runs: from the
 * start until the last scheduler resumed on it; what follows (freeing the
 * old states, purging the old version: dlclose and unlink) is purge. The
 * BEAM's bench_codeload.erl times code:load_binary alone and its
 * soft_purge apart (purge_median_us), so live is the row to compare. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "code_server.h"
#include "upgrade.h"
#include "workloads.h"

#define APPLY_TIMEOUT_MS 60000
#define WARMUP 5

typedef struct {
  double prepare, sw, pause, live, purge;
} load_times_t;

static int load_one(const char* vsn, load_times_t* out) {
  char path[4096], err[512] = "";
  bench_module_path("counter", vsn, path, sizeof(path));
  molt_version_t* v = NULL;
  molt_upgrade_stats_t st = {0};
  if (!molt__upgrade_begin()) return -1;
  uint64_t t0 = bench_now_ns();
  int rc = molt__code_prepare(path, "counter", &v, err, sizeof(err));
  uint64_t t1 = bench_now_ns();
  if (rc == 0) {
    molt_version_t* cur = molt__code_get_current("counter");
    if (!cur) rc = MOLT_ENOMODULE;
    else if (cur->state_vsn != v->state_vsn) rc = MOLT_EINVAL;
    /* Let go of the running version before the switch, or its dlclose
     * would happen after the timing instead of in the purge. */
    if (cur) molt__version_unref(cur);
  }
  if (rc == 0) {
    molt_hop_t hop = {v, false, MOLT_UP, NULL};
    molt_change_t c = {"counter", &hop, 1};
    rc = molt__upgrade_apply(&c, 1, APPLY_TIMEOUT_MS, &st, err, sizeof(err));
  }
  uint64_t t2 = bench_now_ns();
  molt__upgrade_end();
  if (v) molt__version_unref(v);
  if (rc) {
    fprintf(stderr, "molt-bench: soft load counter %s: %s (%s)\n", vsn, err, molt_err_name(rc));
    return -1;
  }
  out->prepare = (t1 - t0) / 1e3;
  out->sw = (t2 - t1) / 1e3;
  out->pause = st.pause_ns / 1e3;
  out->live = (st.resumed_at_ns - t0) / 1e3;
  out->purge = (t2 - st.resumed_at_ns) / 1e3;
  return 0;
}

int bench_softload(const bench_cfg_t* cfg, int argc, char** argv) {
  long k = bench_arg(argc, argv, 0, 100), n = bench_arg(argc, argv, 1, 0);
  if (k < 1 || n < 0) {
    fprintf(stderr, "usage: molt-bench softload [LOADS [N]]\n");
    return 2;
  }
  if (bench_load("counter", "1.0.0")) return 1;
  for (long i = 0; i < n; i++) {
    molt_pid_t pid;
    int rc = bench_spawn_on((unsigned)i, "counter", NULL, &pid);
    if (rc) {
      fprintf(stderr, "molt-bench: spawn counter: %s\n", molt_strerror(rc));
      return 1;
    }
  }
  double* total = calloc((size_t)k, sizeof(double));
  double* prep = calloc((size_t)k, sizeof(double));
  double* sw = calloc((size_t)k, sizeof(double));
  double* pause = calloc((size_t)k, sizeof(double));
  double* live = calloc((size_t)k, sizeof(double));
  double* purge = calloc((size_t)k, sizeof(double));
  if (!total || !prep || !sw || !pause || !live || !purge) return 1;
  int rc = 0;
  for (long i = 0; i < WARMUP + k && rc == 0; i++) {
    const char* vsn = i % 2 == 0 ? "1.1.0" : "1.0.0";
    load_times_t lt;
    rc = load_one(vsn, &lt);
    if (rc == 0 && i >= WARMUP) {
      long j = i - WARMUP;
      prep[j] = lt.prepare;
      sw[j] = lt.sw;
      pause[j] = lt.pause;
      total[j] = lt.prepare + lt.sw;
      live[j] = lt.live;
      purge[j] = lt.purge;
    }
  }
  if (rc == 0) {
    char path[4096];
    struct stat stt;
    long bytes = stat(bench_module_path("counter", "1.1.0", path, sizeof(path)), &stt) == 0 ? stt.st_size : 0;
    double med = bench_pct(total, k, 50), min = total[0], p90 = bench_pct(total, k, 90), max = total[k - 1];
    bench_emit("softload",
               "module=counter so_bytes=%ld n=%ld loads=%ld load_median_us=%.3f load_min_us=%.3f "
               "load_p90_us=%.3f load_max_us=%.3f prepare_median_us=%.3f switch_median_us=%.3f "
               "pause_median_us=%.3f live_median_us=%.3f live_p90_us=%.3f purge_median_us=%.3f",
               bytes, n, k, med, min, p90, max, bench_pct(prep, k, 50), bench_pct(sw, k, 50),
               bench_pct(pause, k, 50), bench_pct(live, k, 50), bench_pct(live, k, 90), bench_pct(purge, k, 50));
  }
  free(total);
  free(prep);
  free(sw);
  free(pause);
  free(live);
  free(purge);
  return rc ? 1 : 0;
}
