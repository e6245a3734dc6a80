/* jsonpath.h: a cursor that knows where it is in a cJSON tree, and checked
 * reads of typed fields whose errors name that place ("modules[1].sha256:
 * ..."). Not a JSON parser and not a query language: it only walks down. */
#ifndef MOLT_BASE_JSONPATH_H
#define MOLT_BASE_JSONPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The path is kept in a fixed buffer: a path deeper than it is cut short
 * (and shown ending in "...") rather than failing, since it only ever
 * feeds an error message. err/errlen is the caller's message buffer; err
 * may be NULL. */
typedef struct molt_jsonpath {
  char buf[512];
  size_t len;
  char* err;
  size_t errlen;
} molt_jsonpath_t;

void molt__jsonpath_init(molt_jsonpath_t* p, char* err, size_t errlen);

/* Descend into an object member or array element. Both return a mark to
 * hand to molt__jsonpath_pop to come back up. */
size_t molt__jsonpath_key(molt_jsonpath_t* p, const char* key);
size_t molt__jsonpath_index(molt_jsonpath_t* p, size_t i);
void molt__jsonpath_pop(molt_jsonpath_t* p, size_t mark);

/* Write "<path>: <message>" (one line) and return MOLT_EMANIFEST. The
 * _at form names the member key of the current object. */
int molt__jsonpath_fail(molt_jsonpath_t* p, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));
int molt__jsonpath_fail_at(molt_jsonpath_t* p, const char* key, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write "out of memory" and return MOLT_ENOMEM. */
int molt__jsonpath_nomem(molt_jsonpath_t* p);

/* s as a double-quoted, escaped, one-line string, cut short if long. */
void molt__jsonpath_quote(const char* s, char* out, size_t outlen);
/* A found value for a message: a quoted string, a number, true, false,
 * null, "an object" or "an array". */
void molt__jsonpath_describe(const cJSON* v, char* out, size_t outlen);

/* Refuse a duplicate key in any object anywhere under node. cJSON keeps
 * both members of {"a":1,"a":2} and a lookup sees only the first, so a
 * repeated field would otherwise be silently ignored. */
int molt__jsonpath_dupkeys(molt_jsonpath_t* p, const cJSON* node);

/* Refuse a key of obj (an object) that is not in allowed (NULL-ended). */
int molt__jsonpath_keys(molt_jsonpath_t* p, const cJSON* obj, const char* const* allowed);

/* Check that v (at the current path) has type, one of cJSON_String,
 * cJSON_Number, cJSON_Object, cJSON_Array. */
int molt__jsonpath_expect(molt_jsonpath_t* p, const cJSON* v, int type);

/* Member key of obj, checked for type. Absent: an error if required, else
 * 0 with *out NULL. *out is borrowed from the tree. */
int molt__jsonpath_get(molt_jsonpath_t* p, const cJSON* obj, const char* key, int type,
                       bool required, const cJSON** out);
/* A string member, borrowed from the tree; absent and optional gives NULL. */
int molt__jsonpath_string(molt_jsonpath_t* p, const cJSON* obj, const char* key, bool required,
                          const char** out);
/* An optional integer member in [min, max]; absent gives dflt. Refuses
 * fractions and anything out of range. */
int molt__jsonpath_u32(molt_jsonpath_t* p, const cJSON* obj, const char* key, uint32_t min,
                       uint32_t max, uint32_t dflt, uint32_t* out);
/* An optional string member that must be one of names (NULL-ended); *out
 * is its index, dflt when absent. */
int molt__jsonpath_enum(molt_jsonpath_t* p, const cJSON* obj, const char* key,
                        const char* const* names, int dflt, int* out);

/* A string member that must pass ok; want says what ok accepts, for the
 * message "<path>.<key>: expected <want>, found \"...\"". */
int molt__jsonpath_checked(molt_jsonpath_t* p, const cJSON* obj, const char* key, bool required,
                           bool (*ok)(const char*), const char* want, const char** out);

/* Converts each element of arr, the member key of the current object, into
 * a zeroed array of items of size bytes, calling convert(ctx, element,
 * item) with the path at "<key>[i]". *items and *n are set as soon as the
 * array exists, so that on failure the caller hangs what was built where
 * its free routine finds it. An empty arr leaves both untouched. *items
 * comes from molt__calloc; the caller frees it with molt__free. */
int molt__jsonpath_array(molt_jsonpath_t* p, const char* key, const cJSON* arr, size_t size,
                         int (*convert)(void* ctx, const cJSON* elem, void* item), void* ctx,
                         void** items, size_t* n);

/* Refuse the earliest repeat among strs (one per element of the member
 * array of the current object) as "<array>[b].<key>: duplicate <what>
 * \"x\" (also <array>[a])". 0 if all differ. */
int molt__jsonpath_refuse_dups(molt_jsonpath_t* p, const char* const* strs, size_t n,
                               const char* array, const char* key, const char* what);

/* Find the earliest repeated string among strs[0..n): on 1, strs[*first]
 * equals strs[*second], *first < *second, and no string repeats before
 * *second. 0 if all differ, MOLT_ENOMEM. Sorts, so large objects and
 * long module lists stay O(n log n). */
int molt__jsonpath_dups(const char* const* strs, size_t n, size_t* first, size_t* second);

#endif
