/* host.h: the runtime with every room above the actor core attached:
 * TCP's hooks before the schedulers start, the builtin supervisor module
 * after. What a program that hosts modules starts: the container, the
 * module test kit, the benchmarks. Not a release (container.c). */
#ifndef MOLT_CONTAINER_HOST_H
#define MOLT_CONTAINER_HOST_H

#include <stddef.h>

/* Start nsched schedulers (0: one per core) with TCP and supervisors.
 * Returns 0, or a MOLT_E* with a one-line reason in err; on failure
 * nothing is left running. */
int molt__host_start(unsigned nsched, char* err, size_t errlen);
/* Stop every actor and scheduler, then drop the builtin modules. */
void molt__host_stop(void);

#endif
