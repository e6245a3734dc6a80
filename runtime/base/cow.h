/* cow.h: undoing what a fork left in the parent's page tables. */
#ifndef MOLT_BASE_COW_H
#define MOLT_BASE_COW_H

#include <stddef.h>

/* Once a forked child has exited: make every resident page of this
 * process's private writable mappings writable again, in the kernel,
 * without changing a byte. fork write-protected them all, and the first
 * write to each would take a fault later, at a time of the writer's
 * choosing (an upgrade's pause). Pages that are not resident are left
 * alone, so nothing is allocated. Best effort: a kernel without
 * MADV_POPULATE_WRITE (before 5.14), or a mapping that changes meanwhile,
 * leaves the faults to happen as they would have. Returns the pages
 * visited. */
size_t molt__cow_reclaim(void);

#endif
