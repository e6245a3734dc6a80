/* registry.h: the name registry: names to pids, process-wide. */
#ifndef MOLT_ACTOR_REGISTRY_H
#define MOLT_ACTOR_REGISTRY_H

#include "actor.h"

/* a (whose pid was pid) is exiting: release its name. */
void molt__registry_on_exit(molt_actor_t* a, molt_pid_t pid);
/* Number of registered names. */
unsigned molt__registry_count(void);
/* Drop every entry (runtime shutdown). */
void molt__registry_close(void);

#endif
