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
 * soft_purge apart (purge_median_us), so live is the row to compare.
 *
 * woke_none_loads counts the loads during which every scheduler was idle
 * and held parked rather than woken (see upgrade.c): with N = 0 that
 * should be all of them. */
#include <elf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "code_server.h"
#include "upgrade.h"
#include "workloads.h"

#define APPLY_TIMEOUT_MS 60000
#define WARMUP 5

typedef struct {
  double prepare, sw, pause, live, purge, total;
  bool woke_none; /* every scheduler was held parked, none woken */
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
  out->total = out->prepare + out->sw;
  out->woke_none = st.held == bench_nsched();
  return 0;
}

/* How the module was linked, from its program headers: the number of
 * PT_LOAD mappings and whether it has a RELRO region (CMakeLists.txt,
 * MOLT_MODULE_FAST_LOAD), which between them set most of dlopen's cost
 * here. 0 and -1 if the file cannot be read as a 64-bit ELF. */
static void elf_layout(const char* path, int* loads, int* relro) {
  *loads = 0;
  *relro = -1;
  FILE* f = fopen(path, "rb");
  if (!f) return;
  Elf64_Ehdr eh;
  if (fread(&eh, sizeof(eh), 1, f) == 1 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
      fseek(f, (long)eh.e_phoff, SEEK_SET) == 0) {
    *relro = 0;
    Elf64_Phdr ph;
    for (unsigned i = 0; i < eh.e_phnum && fread(&ph, sizeof(ph), 1, f) == 1; i++) {
      if (ph.p_type == PT_LOAD) (*loads)++;
      if (ph.p_type == PT_GNU_RELRO) *relro = 1;
    }
  }
  fclose(f);
}

/* The p-th percentile (nearest rank: 0 is the minimum, 100 the maximum)
 * of one field over k loads. */
static double pct_of(const load_times_t* t, long k, size_t field, double p) {
  double* v = malloc((size_t)k * sizeof(*v));
  if (!v) return 0;
  for (long i = 0; i < k; i++) memcpy(&v[i], (const char*)&t[i] + field, sizeof(double));
  double r = bench_pct(v, (size_t)k, p);
  free(v);
  return r;
}
#define PCT(t, k, f, p) pct_of((t), (k), offsetof(load_times_t, f), (p))

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
  load_times_t* t = calloc((size_t)k, sizeof(*t));
  if (!t) return 1;
  int rc = 0;
  long woke_none = 0;
  for (long i = 0; i < WARMUP + k && rc == 0; i++) {
    const char* vsn = i % 2 == 0 ? "1.1.0" : "1.0.0";
    load_times_t lt;
    rc = load_one(vsn, &lt);
    if (rc == 0 && i >= WARMUP) {
      t[i - WARMUP] = lt;
      woke_none += lt.woke_none;
    }
  }
  if (rc == 0) {
    char path[4096];
    struct stat stt;
    long bytes = stat(bench_module_path("counter", "1.1.0", path, sizeof(path)), &stt) == 0 ? stt.st_size : 0;
    int segments, relro;
    elf_layout(path, &segments, &relro);
    bench_emit("softload",
               "module=counter so_bytes=%ld so_loads=%d relro=%d n=%ld loads=%ld load_median_us=%.3f load_min_us=%.3f "
               "load_p90_us=%.3f load_max_us=%.3f prepare_median_us=%.3f switch_median_us=%.3f "
               "pause_median_us=%.3f live_median_us=%.3f live_p90_us=%.3f purge_median_us=%.3f "
               "woke_none_loads=%ld",
               bytes, segments, relro, n, k, PCT(t, k, total, 50), PCT(t, k, total, 0), PCT(t, k, total, 90),
               PCT(t, k, total, 100), PCT(t, k, prepare, 50), PCT(t, k, sw, 50), PCT(t, k, pause, 50),
               PCT(t, k, live, 50), PCT(t, k, live, 90), PCT(t, k, purge, 50), woke_none);
  }
  free(t);
  return rc ? 1 : 0;
}
