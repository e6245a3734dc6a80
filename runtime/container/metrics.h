/* metrics.h: the container's figures as Prometheus text, for GET /metrics.
 * One function per source (process, schedulers, actors, supervisors, code
 * changes, release, loader); each reads what its room keeps with locks
 * taken once per scrape or relaxed atomic loads, on the caller's thread:
 * nothing here runs on a scheduler, so a scrape never pauses an actor. */
#ifndef MOLT_CONTAINER_METRICS_H
#define MOLT_CONTAINER_METRICS_H

#include <stddef.h>

#include "commands.h"

/* Every family, as text (malloc'd, the caller frees), *len its length;
 * NULL without memory. Any thread but a scheduler's. */
char* molt__metrics_collect(molt_container_state_t* st, size_t* len);

#endif
