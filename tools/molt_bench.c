/* molt_bench.c: `molt-bench WORKLOAD [ARGS] [--schedulers S]`: runs one
 * of molt's benchmark workloads in this process and prints one
 * machine-readable line per result, in the form of the BEAM anchors'
 * lines (`molt ring sched=1 n=1000 m=1000 msgs_per_s=...`), with the same
 * keys where the workload is the same. The workloads' actors are real
 * modules (build/modules/bench_*.so, counter-*.so) loaded through the code
 * server; tools/bench/ has one file per workload. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/workloads.h"

static void usage(FILE* f) {
  fputs(
      "usage: molt-bench WORKLOAD [ARGS] [--schedulers S] [--modules DIR] [--spread]\n"
      "\n"
      "workloads (defaults in brackets):\n"
      "  ring [N [M]]                 N actors in a ring, a token passed M rounds [1000 1000]\n"
      "  spawn [N]                    N idle actors spawned by one actor [1000000]\n"
      "  pingpong [ROUND_TRIPS [B]]   round trips between two actors, timed in batches of B\n"
      "                               [1000000 1000]; both on the spawner's scheduler, as on the BEAM\n"
      "  pingpong_across [R [B]]      the same with ping and pong on different schedulers (S >= 2)\n"
      "  upgrade [N [RATE]]           N bench_cnt actors under RATE msgs/s (0: flat out), upgraded\n"
      "                               with code_change ({count} -> {count, hits}) and back, twice\n"
      "                               [100000 100000]; each change rehearsed first, as molt load\n"
      "                               does, unless MOLT_BENCH_NO_REHEARSAL is set\n"
      "  upgrade-counter [N [RATE]]   the same with the demo counter (1.0.0 <-> 2.0.0), whose\n"
      "                               code_change rebuilds a per-key table\n"
      "  softload [LOADS [N]]         same-layout loads of counter, N actors running it [100 0]\n"
      "\n"
      "options:\n"
      "  --schedulers S  scheduler threads (default: one per core)\n"
      "  --modules DIR   where the module .so files are (default: ../modules beside this binary)\n"
      "  --spread        ring: spread the ring's members over every scheduler round robin\n"
      "  --trace-one     ring, pingpong: trace one actor as molt trace would (the ring's driver,\n"
      "                  pong), at the default rate, read every 100 ms\n",
      f);
}

long bench_arg(int argc, char** argv, int i, long def) {
  if (i >= argc) return def;
  char* end;
  long v = strtol(argv[i], &end, 10);
  return *argv[i] && !*end && v >= 0 ? v : -1;
}

static char* default_module_dir(void) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return strdup("build/modules");
  exe[n] = '\0';
  char* dir = dirname(exe);
  char out[PATH_MAX + 16];
  snprintf(out, sizeof(out), "%s/../modules", dir);
  return strdup(out);
}

typedef int (*workload_fn)(const bench_cfg_t*, int, char**);

static const struct {
  const char* name;
  workload_fn fn;
} workloads[] = {
    {"ring", bench_ring},
    {"spawn", bench_spawn},
    {"pingpong", bench_pingpong},
    {"pingpong_across", bench_pingpong_across},
    {"upgrade", bench_upgrade},
    {"upgrade-counter", bench_upgrade_counter},
    {"softload", bench_softload},
};

int main(int argc, char** argv) {
  bench_cfg_t cfg = {0};
  char* module_dir = NULL;
  char* pos[8];
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    if (strcmp(a, "--schedulers") == 0 && i + 1 < argc) {
      long s = bench_arg(1, &argv[++i], 0, 0);
      if (s < 1 || s > 1024) {
        fprintf(stderr, "molt-bench: --schedulers wants 1..1024\n");
        return 2;
      }
      cfg.sched = (unsigned)s;
    } else if (strcmp(a, "--modules") == 0 && i + 1 < argc) {
      free(module_dir);
      module_dir = strdup(argv[++i]);
    } else if (strcmp(a, "--spread") == 0) {
      cfg.spread = true;
    } else if (strcmp(a, "--trace-one") == 0) {
      cfg.trace_one = true;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (a[0] == '-' && a[1] == '-') {
      fprintf(stderr, "molt-bench: unknown option %s\n", a);
      usage(stderr);
      return 2;
    } else if (npos < (int)(sizeof(pos) / sizeof(pos[0]))) {
      pos[npos++] = argv[i];
    }
  }
  workload_fn fn = NULL;
  for (size_t i = 0; npos > 0 && i < sizeof(workloads) / sizeof(workloads[0]); i++)
    if (strcmp(pos[0], workloads[i].name) == 0) fn = workloads[i].fn;
  if (!fn) {
    usage(stderr);
    return 2;
  }
  cfg.module_dir = module_dir ? module_dir : (module_dir = default_module_dir());
  if (bench_start(&cfg) != 0) {
    free(module_dir);
    return 1;
  }
  int rc = fn(&cfg, npos - 1, pos + 1);
  bench_stop();
  free(module_dir);
  return rc;
}
