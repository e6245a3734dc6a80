/* upgrade_plan.h: the steps of one upgrade or downgrade transaction, from
 * the running release to a target version, possibly through intermediate
 * releases. Pure: it reads manifests and what runs (as the caller read
 * it), and loads, runs and writes nothing; applying the plan is the
 * runtime's job. */
#ifndef MOLT_RELEASE_UPGRADE_PLAN_H
#define MOLT_RELEASE_UPGRADE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "running_code.h"

/* The state_vsn of module mod of release m, which lives in the module's
 * descriptor, not the manifest. Returns 0 and sets *out, or a negative
 * MOLT_E* code the planner passes up, quoting the reason the callback
 * wrote into molt__plan_new's err (arg may carry it), if any. Called only
 * for modules present on both sides of a hop (update and soft candidates),
 * never after the planner returns. */
typedef int (*molt_plan_state_vsn_cb)(const molt_manifest_t* m, const molt_manifest_module_t* mod,
                                      uint32_t* out, void* arg);

typedef enum { MOLT_PLAN_UP, MOLT_PLAN_DOWN } molt_plan_dir_t;

/* One step, read in the direction of travel (see molt_step_op_t). Strings
 * are borrowed from the manifests and from what runs. */
typedef struct molt_plan_step {
  molt_step_op_t op;
  const char* module;
  const char* from_vsn;    /* the module's vsn in the release left, or in the first hop
                              the label of what runs when that is known; NULL for add */
  const char* to_vsn;      /* in the release entered; NULL for remove */
  const char* file;        /* the entered release's module file, relative to its bundle;
                              NULL for remove */
  const char* extra;       /* an explicit update's "extra"; else NULL */
  uint32_t from_state_vsn; /* update and soft only; 0 otherwise */
  uint32_t to_state_vsn;
  unsigned from_revision;  /* first hop, planned from what runs: its revision; else 0 */
  const char* release_vsn; /* first hop: the left release's vsn of the module when what runs
                              is not that release's code (the step is planned from what
                              runs); else NULL */
} molt_plan_step_t;

/* From one release to the next. The steps come from the newer release's
 * explicit list for this pair, in its order, or are derived: update/soft
 * and add in the order of the entered release's modules, then remove in
 * the order of the left release's. An empty hop (no module changes) has
 * no steps. */
typedef struct molt_plan_hop {
  const molt_manifest_t* from;
  const molt_manifest_t* to;
  bool derived;
  size_t nsteps;
  molt_plan_step_t* steps;
} molt_plan_hop_t;

typedef struct molt_plan {
  molt_plan_dir_t dir;
  size_t nhops;
  molt_plan_hop_t* hops;
  /* What the first hop's steps borrow their running vsn from, when the
   * plan outlives the caller's molt_running_t (the release handler hands
   * a plan to its caller): molt__plan_free frees it. Empty otherwise. */
  molt_running_t runs;
} molt_plan_t;

/* Plan the way from running to the release of version target among known
 * (running may be among them or not; versions are unique). runs, if not
 * NULL, is what the container's modules actually run (molt__running_read
 * of running): the first hop starts from it, not from running's entries, so
 * a module loaded by hand since is changed from the vsn, layout and bytes
 * it has (a module whose running code is already the next release's needs
 * no step; one whose layout differs from the manifest's gets the update
 * its layout needs). Later hops start from what the hop before installs.
 * NULL plans from the manifests alone. A hop A -> B
 * exists if the newer of the two (B up, A down) lists an explicit entry
 * for the other, or lists nothing in that direction at all. The plan is
 * the shortest chain of hops through known releases, each moving toward
 * target (never past it or back), and among equally short chains the one
 * whose first hops are the smallest.
 *
 * Errors, with a one-line reason: MOLT_EINVAL "already running 1.1.0";
 * MOLT_ENORELEASE for an unknown target; MOLT_EUPGRADE for no path ("no
 * upgrade path from 1.0.0 to 3.0.0 (3.0.0 upgrades only from 2.0.0)"), an
 * explicit step that does not fit the two releases (its module missing on
 * a side, or present where it must not be), a module that changes without
 * a step naming it, or a soft load across a state_vsn change (of what runs,
 * in the first hop: the message then names what runs and what the release
 * expected); whatever state_vsn returns; MOLT_ENOMEM. On success *out is
 * the caller's, freed with molt__plan_free, and borrows from the manifests
 * and runs, which must outlive it; on failure *out is untouched. */
int molt__plan_new(const molt_manifest_t* const* known, size_t nknown,
                   const molt_manifest_t* running, const molt_running_t* runs, const char* target,
                   molt_plan_state_vsn_cb state_vsn, void* arg, molt_plan_t** out, char* err,
                   size_t errlen);

void molt__plan_free(molt_plan_t* plan);

/* The plan as text for `molt upgrade --check`, one step a line:
 *   1.1.0 -> 2.0.0: update counter 1.1.0 -> 2.0.0 (code_change)
 *   2.0.0 -> 3.0.0: update blob 1.0.0 -> 3.0.0 (code_change; running rev 3, not release 2.0.0's 2.0.0)
 *   2.0.0 -> 1.1.0: update counter 2.0.0 -> 1.1.0 (code_change down, extra "x")
 *   1.1.0 -> 2.0.0: soft driver 1.1.0 -> 2.0.0 (soft load)
 *   1.1.0 -> 2.0.0: add stats 1.0.0
 *   1.1.0 -> 2.0.0: remove heartbeat 1.0.0
 *   1.0.0 -> 1.1.0: no module changes
 * *out is malloc'd, the caller frees it. MOLT_ENOMEM. */
int molt__plan_describe(const molt_plan_t* plan, char** out);

#endif
