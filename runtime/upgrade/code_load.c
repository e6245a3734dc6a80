/* code_load.c: one module version made current as a transaction. Not the
 * reading of the file (the code server's prepare) nor the commands. */
#include "code_load.h"

#include <stdio.h>
#include <string.h>

#include "code_server.h"
#include "runtime.h"

#define LOAD_TIMEOUT_MS 5000

int molt__code_load_prepared(molt_version_t* v, bool down, const char* extra, bool rehearse, uint64_t t0,
                             molt_load_result_t* out, char* err, size_t errlen) {
  memset(out, 0, sizeof(*out));
  out->dir = down ? MOLT_DOWN : MOLT_UP;
  molt_version_t* cur = molt__code_get_current(v->name);
  int rc;
  if (!cur) {
    out->is_new = true;
    rc = molt__code_install_set(&v, 1, err, errlen);
  } else {
    snprintf(out->from, sizeof(out->from), "%s", cur->label);
    out->from_revision = cur->revision;
    /* Down: the running (newer) version's code_change turns each state back
     * into the layout of the version being loaded, as OTP's {down, Vsn}. */
    molt_hop_t hop = {v, v->state_vsn != cur->state_vsn, out->dir, extra};
    molt_change_t change = {v->name, &hop, 1};
    out->migrated = hop.migrate;
    rc = 0;
    if (rehearse && hop.migrate) {
      out->rehearsed = true;
      rc = molt__upgrade_rehearse(&change, 1, NULL, LOAD_TIMEOUT_MS, &out->rehearsal, err, errlen);
    }
    if (rc == 0) rc = molt__upgrade_apply(&change, 1, LOAD_TIMEOUT_MS, &out->stats, err, errlen);
    molt__version_unref(cur);
  }
  out->stats.total_ns = molt__now_ns() - t0;
  return rc;
}

const char* molt__load_mode(const molt_load_result_t* r) {
  return r->is_new ? "new" : r->migrated ? "code_change" : "soft";
}
