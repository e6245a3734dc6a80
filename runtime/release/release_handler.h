/* release_handler.h: moving a running container from its release to
 * another one (upgrade, downgrade, rollback) as one transaction, from a
 * plan (upgrade_plan.h) and the release store. Not the store, the plan or
 * the code-change engine themselves. */
#ifndef MOLT_RELEASE_RELEASE_HANDLER_H
#define MOLT_RELEASE_RELEASE_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"
#include "release_store.h"
#include "upgrade_plan.h"

typedef struct molt_release_change {
  const char* from;       /* borrowed from the store */
  const char* to;
  size_t hops, steps;
  unsigned long actors;   /* actors switched to new code */
  double pause_ms, total_ms;
  bool rehearsed;         /* code_change rehearsed first (molt__upgrade_rehearse) */
  double rehearsal_ms, rehearsal_pause_ms;
  char* plan_text;        /* the steps, one a line (malloc'd; the caller frees) */
  molt_plan_t* plan;      /* the same steps as data, NULL on failure: the caller's
                             (molt__plan_free); it borrows the store's manifests, so
                             it is used before the store drops a release */
} molt_release_change_t;

/* Move the container from the store's running release to target, whose
 * root supervisor runs as root: every module file is opened and checked
 * and the plan derived, from what the actors run (molt__running_read),
 * before anything changes; then the code changes of
 * every hop run as one transaction (molt__upgrade_apply); then modules the
 * target adds are installed and the supervisor takes the target's tree
 * (new children start, dropped ones stop); then dropped modules are
 * purged. If a later stage fails, the earlier ones are undone (the code
 * change runs back), and the container is as it was. With check, only the
 * plan is computed. The store is not changed: the caller records the new
 * state. Never on a scheduler or the control thread. */
int molt__release_move(molt_store_t* store, const char* target, molt_pid_t root, bool check, bool rehearse,
                       molt_release_change_t* out, char* err, size_t errlen);

#endif
