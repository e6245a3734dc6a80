/* json_get.h: reading a reply's fields, with a default for one that is
 * missing or of another type (an older container's reply may lack it). */
#ifndef MOLT_TOOLS_JSON_GET_H
#define MOLT_TOOLS_JSON_GET_H

#include <cjson/cJSON.h>

static inline const char* json_str(const cJSON* o, const char* key, const char* def) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : def;
}

static inline double json_num(const cJSON* o, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

#endif
