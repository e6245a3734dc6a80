/* link.h: links, monitors and exit signals between actors: the sets each
 * actor keeps and what happens to them when a signal arrives or the actor
 * exits. All on the owning actor's scheduler thread. */
#ifndef MOLT_ACTOR_LINK_H
#define MOLT_ACTOR_LINK_H

#include <stdbool.h>

#include "actor.h"

/* 0 or MOLT_ENOMEM. Adding a pid already linked is a no-op. */
int molt__link_add(molt_actor_t* a, molt_pid_t pid);
void molt__link_remove(molt_actor_t* a, molt_pid_t pid);
int molt__watcher_add(molt_actor_t* a, uint64_t ref, molt_pid_t watcher);
void molt__watcher_remove(molt_actor_t* a, uint64_t ref);
int molt__monitor_add(molt_actor_t* a, uint64_t ref, molt_pid_t target);
/* Remove a's monitor ref; true if it was there. */
bool molt__monitor_take(molt_actor_t* a, uint64_t ref);
void molt__monitor_take_pid(molt_actor_t* a, molt_pid_t target);

/* An exit signal from `from`: propagated through a link, or sent with
 * molt_exit. Kills a, becomes an EXIT message, or is ignored. */
void molt__link_exit_signal(molt_actor_t* a, molt_pid_t from, int reason, bool linked);

/* a (whose pid was pid) exits with reason: signal its links, send DOWN to
 * its watchers, drop its own monitors. */
void molt__link_on_exit(molt_actor_t* a, molt_pid_t pid, int reason);
void molt__link_free(molt_actor_ext_t* x);

#endif
