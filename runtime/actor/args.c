/* args.c: init's arguments. The JSON text is parsed only if the module
 * reads it, and the tree dies when init returns. */
#include "args.h"

#include <math.h>

void molt__args_init(molt_args_t* a, const char* json, void* internal) {
  a->json = json && *json ? json : "{}";
  a->internal = internal;
  a->tree = NULL;
  a->parsed = 0;
}

void molt__args_close(molt_args_t* a) {
  cJSON_Delete(a->tree);
  a->tree = NULL;
}

void* molt__args_internal(const molt_args_t* a) { return a ? a->internal : NULL; }

static const cJSON* item(const molt_args_t* args, const char* key) {
  molt_args_t* a = (molt_args_t*)args; /* parse cache: logically const */
  if (!a || !key) return NULL;
  if (!a->parsed) {
    a->parsed = 1;
    a->tree = cJSON_Parse(a->json);
  }
  return cJSON_IsObject(a->tree) ? cJSON_GetObjectItemCaseSensitive(a->tree, key) : NULL;
}

int64_t molt_args_int(const molt_args_t* args, const char* key, int64_t def) {
  const cJSON* v = item(args, key);
  if (!cJSON_IsNumber(v)) return def;
  double d = v->valuedouble;
  if (d != floor(d) || d < -9.2e18 || d > 9.2e18) return def;
  return (int64_t)d;
}

const char* molt_args_str(const molt_args_t* args, const char* key, const char* def) {
  const cJSON* v = item(args, key);
  return cJSON_IsString(v) ? v->valuestring : def;
}

const char* molt_args_json(const molt_args_t* args) { return args ? args->json : "{}"; }
