/* sup_counts.h: how often each module's children crashed and were
 * restarted, since the container started, for /metrics. Counted by the
 * supervisors as it happens (once per exit, never per message); read from
 * any thread. Not the restart intensity (supervisor.c keeps that). */
#ifndef MOLT_SUPERVISOR_SUP_COUNTS_H
#define MOLT_SUPERVISOR_SUP_COUNTS_H

#include <stdint.h>

/* Modules beyond this many distinct names are counted under "other". */
#define MOLT_SUP_COUNTS_MAX 256

/* A child of module (a nested supervisor: its name) exited abnormally. */
void molt__sup_count_crash(const char* module);
/* A child of module was started again after an exit. */
void molt__sup_count_restart(const char* module);

/* cb for each module counted so far, under the counts' lock (cb must not
 * count). Any thread. */
typedef void (*molt_sup_counts_cb)(const char* module, uint64_t crashes, uint64_t restarts, void* arg);
void molt__sup_counts_foreach(molt_sup_counts_cb cb, void* arg);

#endif
