/* upgrade.h: the code-change transaction: switch every actor of some
 * modules to new versions, migrating states through code_change, all or
 * nothing. Not the choice of versions (the release handler's plan). */
#ifndef MOLT_UPGRADE_UPGRADE_H
#define MOLT_UPGRADE_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"
#include "version.h"

/* One step of a module's change: switch to `to`, calling code_change if
 * migrate (the state layout changes) in direction dir. For MOLT_UP the new
 * version's code_change runs; for MOLT_DOWN the version being left. */
typedef struct molt_hop {
  molt_version_t* to;
  bool migrate;
  molt_direction_t dir;
  const char* extra;
} molt_hop_t;

/* A module's change: one hop, or several when a release jump chains through
 * intermediate releases (each actor's state then goes through every hop's
 * code_change in turn). The last hop's version becomes current. */
typedef struct molt_change {
  const char* module;
  const molt_hop_t* hops;
  size_t nhops;
} molt_change_t;

typedef struct molt_upgrade_stats {
  uint64_t total_ns;      /* the whole call */
  uint64_t pause_ns;      /* first scheduler frozen .. last resumed */
  uint64_t migrate_ns;    /* the slowest scheduler's code_change work */
  uint64_t resumed_at_ns; /* molt__now_ns() when the last scheduler resumed: from
                             then on every actor runs the new code (the purge of
                             what was left behind comes after) */
  unsigned long actors;   /* actors switched */
  unsigned held;          /* schedulers that were parked, switched without
                             being woken (a change with no code_change) */
} molt_upgrade_stats_t;

/* Apply changes as one transaction. Every check comes first (each module
 * loaded, each hop a version of it, room in its old slot); then every
 * scheduler stops between two messages, migrates its own actors of those
 * modules (old states untouched) and waits; if all succeed within
 * timeout_ms the new versions are installed and every actor switches, else
 * every new state is freed and everything stays as it was. Mailboxes keep
 * accepting messages throughout. After a commit the versions left behind
 * are purged (no actor runs them). Returns 0 or a MOLT_E* with a reason
 * naming the actor and its error. Never from a scheduler thread. The
 * caller keeps its references to the hop versions. */
int molt__upgrade_apply(const molt_change_t* changes, size_t n, uint64_t timeout_ms,
                        molt_upgrade_stats_t* stats, char* err, size_t errlen);

/* Rehearse changes before applying them: every scheduler freezes between
 * messages (as for molt__upgrade_apply), the decider forks once, and the
 * transaction aborts at once (nothing changes; the pause is the fork). In
 * the forked copy, single-threaded, every actor of the changed modules has
 * its state run through every hop's code_change, and then, where back is
 * not NULL and back[i] is not NULL for its module's change changes[i],
 * through back[i]'s hops, from where changes[i] ends: the way a rollback
 * would take it (upgrade.c says why the round trip is not compared).
 * Returns 0 if all of that passed within timeout_ms, or when no hop
 * migrates (nothing to rehearse, no fork); else a MOLT_E* with a reason
 * naming the actor, the module, the callback and the signal or error. The
 * child takes no lock: a code_change that needs one another thread held
 * (molt_register, say) hangs there, and is refused at the deadline. stats:
 * pause_ns (the freeze), migrate_ns (the fork alone), actors, total_ns.
 * Never from a scheduler thread; the caller holds molt__upgrade_begin. */
int molt__upgrade_rehearse(const molt_change_t* changes, size_t n, const molt_change_t* const* back,
                           uint64_t timeout_ms, molt_upgrade_stats_t* stats, char* err, size_t errlen);

/* Only one transaction at a time: a second caller gets MOLT_EBUSY. */
bool molt__upgrade_begin(void);
void molt__upgrade_end(void);

#endif
