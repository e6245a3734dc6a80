/* workloads.h: molt-bench's workloads. Each takes its positional
 * arguments (argv[0] is the first after the workload's name), prints its
 * result lines and returns 0, or prints a reason on stderr and returns
 * non-zero. The runtime is started (bench_start) before. */
#ifndef MOLT_BENCH_WORKLOADS_H
#define MOLT_BENCH_WORKLOADS_H

#include "bench.h"

int bench_ring(const bench_cfg_t* cfg, int argc, char** argv);
int bench_spawn(const bench_cfg_t* cfg, int argc, char** argv);
int bench_pingpong(const bench_cfg_t* cfg, int argc, char** argv);
int bench_pingpong_across(const bench_cfg_t* cfg, int argc, char** argv);
int bench_upgrade(const bench_cfg_t* cfg, int argc, char** argv);
int bench_upgrade_counter(const bench_cfg_t* cfg, int argc, char** argv);
int bench_softload(const bench_cfg_t* cfg, int argc, char** argv);

/* argv[i] as a positive integer, or def if absent; -1 if malformed. */
long bench_arg(int argc, char** argv, int i, long def);

#endif
