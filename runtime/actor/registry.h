/* registry.h: the name registry: names to pids, process-wide. */
#ifndef MOLT_ACTOR_REGISTRY_H
#define MOLT_ACTOR_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "actor.h"

/* a (whose pid was pid) is exiting: release its name. */
void molt__registry_on_exit(molt_actor_t* a, molt_pid_t pid);
/* The name pid is registered under, into buf: false if none. Any thread;
 * a walk of every name (for ps's few rows, not per message). */
bool molt__registry_name_of(molt_pid_t pid, char* buf, size_t len);
/* Number of registered names. */
unsigned molt__registry_count(void);
/* Drop every entry (runtime shutdown). */
void molt__registry_close(void);

#endif
