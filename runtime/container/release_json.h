/* release_json.h: the release commands' replies built from a home's store:
 * the list `molt releases` prints and what `molt remove` removed. One shape
 * whether a container serves the home (its commands, cmd_release.c) or the
 * molt command reads the store itself because none does. Not the commands. */
#ifndef MOLT_CONTAINER_RELEASE_JSON_H
#define MOLT_CONTAINER_RELEASE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "release_store.h"

/* One release: "name", "version", "state", "running", "permanent_order"
 * (its place on the rollback path, 1 for the oldest, 0 off it),
 * "rollback_target", "dir", and on the running release "drift"
 * (molt__cmd_drift_json). serving: a container runs this store's running
 * release; false when none runs, and then no release is "running" and
 * none has "drift". The caller owns the result (NULL without memory). */
cJSON* molt__release_json(const molt_store_t* s, const molt_release_t* r, bool serving);

/* Every release of s, oldest version first, as molt__release_json. */
cJSON* molt__releases_json(const molt_store_t* s, bool serving);

/* molt__store_remove, and on success *out (the caller's) says what went:
 * "name", "version", "state" (the one it had), "dir" and "removed": true.
 * The store's errors and message; *out untouched on failure (< 0).
 * MOLT_STORE_NOT_DURABLE: removed, *out set, the reason in err. */
int molt__release_remove_json(molt_store_t* s, const char* vsn, cJSON** out, char* err, size_t errlen);

#endif
