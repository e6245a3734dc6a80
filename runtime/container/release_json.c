/* release_json.c: a home's releases as the release commands reply them,
 * for a container's commands and for the molt command reading a home no
 * container serves. Not the store's own file format (release_file.c). */
#include "release_json.h"

#include "commands.h"
#include "errmsg.h"

cJSON* molt__release_json(const molt_store_t* s, const molt_release_t* r, bool serving) {
  cJSON* o = cJSON_CreateObject();
  bool running = serving && r == molt__store_running(s);
  cJSON_AddStringToObject(o, "name", s->name ? s->name : "");
  cJSON_AddStringToObject(o, "version", r->vsn);
  cJSON_AddStringToObject(o, "state", molt__rel_state_name(r->state));
  cJSON_AddBoolToObject(o, "running", running);
  /* The way rollback walks back: 1 for the first release that was
   * permanent, 0 for one off that way (never permanent, or rolled back
   * from). */
  cJSON_AddNumberToObject(o, "permanent_order", (double)molt__store_history_pos(s, r));
  cJSON_AddBoolToObject(o, "rollback_target", r == molt__store_rollback_target(s));
  cJSON_AddStringToObject(o, "dir", r->dir);
  cJSON* drift = running ? molt__cmd_drift_json(r->manifest) : NULL;
  if (drift) cJSON_AddItemToObject(o, "drift", drift);
  return o;
}

cJSON* molt__releases_json(const molt_store_t* s, bool serving) {
  cJSON* arr = cJSON_CreateArray();
  for (size_t i = 0; arr && i < s->nreleases; i++) cJSON_AddItemToArray(arr, molt__release_json(s, s->releases[i], serving));
  return arr;
}

/* The reply is made before the removal frees the release, and dropped if
 * the store refuses. */
int molt__release_remove_json(molt_store_t* s, const char* vsn, cJSON** out, char* err, size_t errlen) {
  const molt_release_t* r = molt__store_find(s, vsn);
  cJSON* o = r ? cJSON_CreateObject() : NULL;
  if (r && !o) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  if (o) {
    cJSON_AddStringToObject(o, "name", s->name ? s->name : "");
    cJSON_AddStringToObject(o, "version", r->vsn);
    cJSON_AddStringToObject(o, "state", molt__rel_state_name(r->state));
    cJSON_AddStringToObject(o, "dir", r->dir);
    cJSON_AddBoolToObject(o, "removed", true);
  }
  int rc = molt__store_remove(s, vsn, err, errlen);
  if (rc < 0) {
    cJSON_Delete(o);
    return rc;
  }
  *out = o;
  return rc; /* MOLT_STORE_NOT_DURABLE: removed, the reason in err */
}
