/* offline.h: the release commands the molt command answers itself when no
 * container serves the home (`releases`, `remove`), from the home's store
 * opened directly. Not how they print (molt.c) nor their replies' shape
 * (runtime/container/release_json.h), which are the container's. */
#ifndef MOLT_TOOLS_OFFLINE_H
#define MOLT_TOOLS_OFFLINE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Whether offline_call answers cmd. */
bool offline_serves(const char* cmd);

/* cmd with args (borrowed) as the container would answer it, for the
 * existing directory home that no container serves: the same result
 * (*result the caller's, cJSON_Delete) or the same MOLT_E* and message in
 * err. The store's lock is held for the call: a container starting in the
 * home meanwhile is refused, and this call is refused (MOLT_EBUSY,
 * "another process has this home's releases open") while a container
 * holds it. A home that never had a release is not written to: releases
 * lists none, remove finds none. */
int offline_call(const char* home, const char* cmd, const cJSON* args, cJSON** result, char* err, size_t errlen);

#endif
