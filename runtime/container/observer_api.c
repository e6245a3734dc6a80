/* observer_api.c: the observer page's routes: its files (compiled in), and
 * the JSON it polls. status, ps and releases are asked of this container's
 * own control socket, the way `molt status --json` asks, so the page shows
 * exactly what the molt command would; the supervision tree and the
 * recent code changes come from here. */
#include "observer_api.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alarms.h"
#include "control.h"
#include "observer_assets.h"
#include "sup_spec.h"
#include "upgrade_counts.h"

/* How long a command may take: ps waits up to 500 ms per busy scheduler. */
#define API_TIMEOUT_MS 3000u

static void json_reply(molt_http_reply_t* r, int status, cJSON* j) {
  char* text = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  r->status = text ? status : 500;
  r->type = "application/json";
  r->body = text ? strdup(text) : NULL; /* the server frees with free() */
  r->len = r->body ? strlen(r->body) : 0;
  cJSON_free(text);
}

/* A command's result, as the molt command's --json would print it; 503
 * with {"error": reason} when the container does not answer in time. */
static void command(molt_container_state_t* st, const char* cmd, cJSON* args, molt_http_reply_t* r) {
  cJSON* result = NULL;
  char err[512] = "";
  int rc = molt__control_call(st->home, cmd, args, API_TIMEOUT_MS, &result, err, sizeof err);
  cJSON_Delete(args);
  if (rc == 0) {
    json_reply(r, 200, result ? result : cJSON_CreateObject());
    return;
  }
  cJSON* e = cJSON_CreateObject();
  cJSON_AddStringToObject(e, "error", *err ? err : molt_strerror(rc));
  json_reply(r, 503, e);
}

static const char* strategy_name(molt_strategy_t s) {
  return s == MOLT_ONE_FOR_ALL ? "one_for_all" : s == MOLT_REST_FOR_ONE ? "rest_for_one" : "one_for_one";
}

static const char* restart_name(molt_restart_t r) {
  return r == MOLT_TRANSIENT ? "transient" : r == MOLT_TEMPORARY ? "temporary" : "permanent";
}

/* The release's supervision tree as its manifest declares it; the page
 * puts each module's live actors (from status) beside it. */
static cJSON* tree_json(const molt_sup_spec_t* s) {
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", s->name ? s->name : "");
  cJSON_AddStringToObject(o, "strategy", strategy_name(s->strategy));
  cJSON_AddNumberToObject(o, "intensity", s->intensity);
  cJSON_AddNumberToObject(o, "period_ms", s->period_ms);
  cJSON* kids = cJSON_AddArrayToObject(o, "children");
  for (size_t i = 0; i < s->nchildren; i++) {
    const molt_child_spec_t* c = &s->children[i];
    cJSON* k = c->sup ? tree_json(c->sup) : cJSON_CreateObject();
    cJSON_AddStringToObject(k, "id", c->id);
    if (c->module) cJSON_AddStringToObject(k, "module", c->module);
    cJSON_AddStringToObject(k, "restart", restart_name(c->restart));
    cJSON_AddNumberToObject(k, "count", c->count);
    cJSON_AddItemToArray(kids, k);
  }
  return o;
}

static void tree(molt_container_state_t* st, molt_http_reply_t* r) {
  pthread_mutex_lock(&st->lock);
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "release", st->manifest->name);
  cJSON_AddStringToObject(o, "version", st->manifest->version);
  if (st->manifest->sup)
    cJSON_AddItemToObject(o, "root", tree_json(st->manifest->sup));
  else
    cJSON_AddNullToObject(o, "root");
  pthread_mutex_unlock(&st->lock);
  json_reply(r, 200, o);
}

static void changes(molt_http_reply_t* r) {
  molt_upgrade_counts_t c;
  molt__upgrade_counts_read(&c);
  cJSON* o = cJSON_CreateObject();
  for (int i = 0; i < MOLT_CHANGE_NOUTCOMES; i++)
    cJSON_AddNumberToObject(o, molt__change_outcome_name((molt_change_outcome_t)i), (double)c.outcomes[i]);
  cJSON* arr = cJSON_AddArrayToObject(o, "recent");
  for (size_t i = c.nrecent; i-- > 0;) { /* newest first */
    const molt_change_record_t* e = &c.recent[i];
    cJSON* x = cJSON_CreateObject();
    cJSON_AddNumberToObject(x, "time_ms", (double)e->wall_ms);
    cJSON_AddStringToObject(x, "modules", e->modules);
    cJSON_AddStringToObject(x, "outcome", molt__change_outcome_name(e->outcome));
    if (e->paused)
      cJSON_AddNumberToObject(x, "pause_ms", (double)e->pause_ns / 1e6);
    else
      cJSON_AddNullToObject(x, "pause_ms");
    cJSON_AddNumberToObject(x, "actors", (double)e->actors);
    cJSON_AddItemToArray(arr, x);
  }
  json_reply(r, 200, o);
}

static bool asset(const char* path, molt_http_reply_t* r) {
  if (strcmp(path, "/") == 0) path = "/index.html";
  for (size_t i = 0; i < molt__observer_nassets; i++) {
    const molt_asset_t* a = &molt__observer_assets[i];
    if (strcmp(a->path, path) != 0) continue;
    r->body = malloc(a->len ? a->len : 1);
    r->status = r->body ? 200 : 500;
    r->len = r->body ? a->len : 0;
    if (r->body) memcpy(r->body, a->data, a->len);
    r->type = a->type;
    return true;
  }
  return false;
}

bool molt__observer_route(molt_container_state_t* st, const char* path, molt_http_reply_t* r) {
  if (strcmp(path, "/api/status") == 0) {
    command(st, "status", NULL, r);
  } else if (strcmp(path, "/api/ps") == 0) {
    cJSON* args = cJSON_CreateObject();
    cJSON_AddNumberToObject(args, "limit", 1000);
    command(st, "ps", args, r);
  } else if (strcmp(path, "/api/releases") == 0) {
    command(st, "releases", NULL, r);
  } else if (strcmp(path, "/api/tree") == 0) {
    tree(st, r);
  } else if (strcmp(path, "/api/changes") == 0) {
    changes(r);
  } else if (strcmp(path, "/api/alarms") == 0) {
    cJSON* o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "alarms", molt__alarms_json());
    json_reply(r, 200, o);
  } else {
    return asset(path, r);
  }
  return true;
}
