/* tree_stop.h: stopping the release tree, with a deadline the tree itself
 * sets for callbacks that do not return. */
#ifndef MOLT_CONTAINER_TREE_STOP_H
#define MOLT_CONTAINER_TREE_STOP_H

#include <stdbool.h>
#include <stdint.h>

#include "molt/actor.h"
#include "sup_spec.h"

/* Ask root to shut down and wait up to timeout_ms for it to exit, then
 * kill it. Gives up early, saying so, once a scheduler has been inside one
 * callback for longer than any child of tree may take to stop (its
 * shutdown_ms, and the supervisor's grace after the kill): that callback
 * holds the stop for as long as it runs, and nothing can interrupt it.
 * True if it gave up so (a scheduler is stuck: later waits on the actors
 * should be short); false once root has exited or been killed. */
bool molt__tree_stop(molt_pid_t root, const molt_sup_spec_t* tree, uint32_t timeout_ms);

#endif
