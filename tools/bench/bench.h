/* bench.h: what every molt-bench workload shares: a runtime with a code
 * server in a scratch directory, modules loaded from the build's module
 * directory, actors placed on a chosen scheduler, a builtin "sink" actor
 * through which workload actors report to the host thread, and output in
 * the BEAM anchors' line format. Not the workloads (tools/bench/<name>.c). */
#ifndef MOLT_BENCH_H
#define MOLT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"

typedef struct bench_cfg {
  unsigned sched;         /* schedulers */
  const char* module_dir; /* where <name>-<vsn>.so files are */
  bool spread;            /* ring: spread the members over every scheduler */
  bool trace_one;         /* ring, pingpong: trace one actor (trace_one.c) */
} bench_cfg_t;

/* Start the runtime with cfg->sched schedulers and the sink actor; 0 or -1
 * with a message on stderr. bench_stop undoes it all. */
int bench_start(const bench_cfg_t* cfg);
void bench_stop(void);

/* Load module_dir/<name>-<vsn>.so as the current version of name. */
int bench_load(const char* name, const char* vsn);
/* module_dir/<name>-<vsn>.so into buf. */
const char* bench_module_path(const char* name, const char* vsn, char* buf, size_t len);

/* Spawn an actor of module's current version on scheduler `sched`
 * (modulo the number of schedulers), from the host thread. */
int bench_spawn_on(unsigned sched, const char* module, const char* args_json, molt_pid_t* pid);

/* The sink's pid: workload actors send their reports to it. */
molt_pid_t bench_sink(void);

/* The next message the sink received (its payload malloc'd, freed by the
 * caller); -1 on timeout. */
typedef struct bench_msg {
  uint32_t tag;
  size_t size;
  void* data;
} bench_msg_t;
int bench_recv(bench_msg_t* m, unsigned timeout_ms);
/* bench_recv, then check the tag and that the payload holds at least
 * `size` bytes; copies it to out. -1 with a message on failure. */
int bench_expect(uint32_t tag, void* out, size_t size, unsigned timeout_ms);

/* Print "molt <name> sched=<S> " followed by fmt, and a newline. */
void bench_emit(const char* name, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

/* Nearest-rank percentile, as the anchors' bench:pct/2 (sorts v). */
double bench_pct(double* v, size_t n, double p);

/* --trace-one: trace pid as molt trace would, until bench_trace_end,
 * which says on stderr how many events came and how many were dropped. 0
 * or -1 with a message on stderr. From the host thread. */
int bench_trace_one(molt_pid_t pid);
void bench_trace_end(void);

uint64_t bench_now_ns(void);
/* Resident set size of this process in bytes. */
long bench_rss(void);
unsigned bench_nsched(void);

#endif
