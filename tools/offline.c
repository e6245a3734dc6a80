/* offline.c: `molt releases` and `molt remove` with no container: the
 * home's store opened, used and closed in this process, under the same
 * lock a container holds for its lifetime, and answered in the container's
 * reply shapes (release_json.h) so the printing is the same. */
#include "offline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errmsg.h"
#include "molt/errno.h"
#include "release_json.h"
#include "release_store.h"

bool offline_serves(const char* cmd) { return strcmp(cmd, "releases") == 0 || strcmp(cmd, "remove") == 0; }

/* The store's directory. Opening the store creates it (and the home), so
 * a home without one is answered without opening: nothing is left behind
 * by a look at a home that never had a release. */
static int has_store(const char* home, bool* yes, char* err, size_t errlen) {
  char* reldir = NULL;
  struct stat st;
  int rc = 0;
  if (asprintf(&reldir, "%s/" MOLT_RELEASES_DIR, home) < 0)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  *yes = stat(reldir, &st) == 0;
  if (!*yes && errno != ENOENT) {
    rc = -errno;
    molt__errmsg_set(err, errlen, rc, "%s: %s", reldir, molt__errmsg_strerror(rc));
  }
  free(reldir);
  return rc;
}

static const char* version_arg(const cJSON* args) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(args, "version");
  return cJSON_IsString(v) ? v->valuestring : "";
}

int offline_call(const char* home, const char* cmd, const cJSON* args, cJSON** result, char* err, size_t errlen) {
  bool remove = strcmp(cmd, "remove") == 0, exists = false;
  int rc = has_store(home, &exists, err, errlen);
  if (rc) return rc;
  if (!exists) {
    if (remove) return molt__errmsg_set(err, errlen, MOLT_ENORELEASE, "no release %s in this home", version_arg(args));
    *result = cJSON_CreateArray();
    return *result ? 0 : molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  }
  molt_store_t* s = NULL;
  if ((rc = molt__store_open(home, &s, err, errlen))) return rc;
  if (remove) {
    rc = molt__release_remove_json(s, version_arg(args), result, err, errlen);
    /* Removed, the record perhaps not durable: a success with a warning,
     * as the container replies. */
    if (rc == MOLT_STORE_NOT_DURABLE) {
      cJSON_AddStringToObject(*result, "warning", err);
      rc = 0;
    }
  } else if (!(*result = molt__releases_json(s, false))) {
    rc = molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  }
  molt__store_close(s);
  return rc;
}
