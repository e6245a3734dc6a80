/* code_load.h: one module version made current as a transaction: installed
 * if its module is new, else every actor of the module switched to it (a
 * soft load when the state layout is the same, code_change otherwise). What
 * `molt load` and the development loop share; not the release handler. */
#ifndef MOLT_UPGRADE_CODE_LOAD_H
#define MOLT_UPGRADE_CODE_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "upgrade.h"
#include "version.h"

typedef struct molt_load_result {
  bool is_new;        /* the module had no current version */
  bool migrated;      /* code_change ran (else a soft load) */
  molt_direction_t dir;
  char from[MOLT_MODULE_VSN_MAX + 16]; /* the replaced version's label, "" if new */
  unsigned from_revision;
  molt_upgrade_stats_t stats;          /* total_ns counts from the caller's t0 */
  bool rehearsed;                      /* code_change rehearsed first (molt__upgrade_rehearse) */
  molt_upgrade_stats_t rehearsal;      /* its figures: total_ns, pause_ns, migrate_ns (the fork) */
} molt_load_result_t;

/* Make v (prepared with molt__code_prepare, the caller keeps its
 * reference) the current version of its module. down: the running version's
 * code_change takes each state back to v's layout. extra goes to
 * code_change. rehearse: when code_change runs, rehearse it first on
 * every actor's state in a forked copy (molt__upgrade_rehearse) and refuse
 * if that fails. t0 (molt__now_ns()) is when the caller started, so that
 * stats.total_ns includes the file's checks. The caller holds
 * molt__upgrade_begin. Returns 0 or a MOLT_E* with a one-line reason; on
 * failure nothing changed. */
int molt__code_load_prepared(molt_version_t* v, bool down, const char* extra, bool rehearse, uint64_t t0,
                             molt_load_result_t* out, char* err, size_t errlen);

/* "new", "soft" or "code_change". */
const char* molt__load_mode(const molt_load_result_t* r);

#endif
