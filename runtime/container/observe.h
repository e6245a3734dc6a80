/* observe.h: the container's HTTP listeners: /metrics (molt run --metrics)
 * and the observer page with its JSON (molt run --observer), on one
 * listener when both name the same address. Runtime-owned: their own
 * thread, not a module's actor. Not the HTTP mechanics (observe/). */
#ifndef MOLT_CONTAINER_OBSERVE_H
#define MOLT_CONTAINER_OBSERVE_H

#include <stddef.h>

#include "commands.h"

typedef struct molt_observe molt_observe_t;

/* Listen on metrics_addr and/or observer_addr ("HOST:PORT"; either may be
 * NULL). 0 (*out NULL when both are NULL) or a MOLT_E* with one line that
 * names the option ("--metrics 127.0.0.1:9100: address already in use"). */
int molt__observe_start(molt_container_state_t* st, const char* metrics_addr, const char* observer_addr,
                        molt_observe_t** out, char* err, size_t errlen);

/* Log where each listener serves (the port the kernel chose for :0). */
void molt__observe_announce(const molt_observe_t* o);

/* Stop every listener; NULL is fine. Before the runtime and store go. */
void molt__observe_stop(molt_observe_t* o);

#endif
