/* jsonpath.c: walking a cJSON tree with a path in hand, so that every
 * refusal says which field. Knows JSON types, not what a manifest means. */
#include "jsonpath.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "errmsg.h"
#include "molt/errno.h"

void molt__jsonpath_init(molt_jsonpath_t* p, char* err, size_t errlen) {
  p->buf[0] = '\0';
  p->len = 0;
  p->err = errlen ? err : NULL;
  p->errlen = err ? errlen : 0;
}

static void append(molt_jsonpath_t* p, const char* s) {
  size_t room = sizeof p->buf - 1 - p->len;
  size_t n = strlen(s);

  if (n > room) n = room;
  memcpy(p->buf + p->len, s, n);
  p->len += n;
  p->buf[p->len] = '\0';
}

/* A key that looks like an identifier is shown as .key; anything else
 * (spaces, quotes, control bytes) as ["..."], escaped, so the message
 * stays one unambiguous line. */
static bool plain_key(const char* key) {
  if (!*key) return false;
  for (; *key; key++) {
    char c = *key;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

size_t molt__jsonpath_key(molt_jsonpath_t* p, const char* key) {
  size_t mark = p->len;
  char quoted[80];

  if (plain_key(key)) {
    if (p->len) append(p, ".");
    append(p, key);
  } else {
    molt__jsonpath_quote(key, quoted, sizeof quoted);
    append(p, "[");
    append(p, quoted);
    append(p, "]");
  }
  return mark;
}

size_t molt__jsonpath_index(molt_jsonpath_t* p, size_t i) {
  size_t mark = p->len;
  char idx[32];

  snprintf(idx, sizeof idx, "[%zu]", i);
  append(p, idx);
  return mark;
}

void molt__jsonpath_pop(molt_jsonpath_t* p, size_t mark) {
  p->len = mark;
  p->buf[mark] = '\0';
}

/* The reason is formatted on its own first so that the line is written
 * once, path and reason together. Its buffer is as large as the largest
 * message buffer molt passes (1 KiB), and far larger than any reason made
 * here (quoted values and lists of names are cut short well below it), so
 * the caller reads what writing the reason in place after the path gave. */
static int vfail(molt_jsonpath_t* p, const char* fmt, va_list ap) {
  char why[1024];

  if (!p->err) return MOLT_EMANIFEST;
  vsnprintf(why, sizeof why, fmt, ap);
  if (p->len == 0) return molt__errmsg_set(p->err, p->errlen, MOLT_EMANIFEST, "top level: %s", why);
  return molt__errmsg_set(p->err, p->errlen, MOLT_EMANIFEST, "%s%s: %s", p->buf,
                          p->len == sizeof p->buf - 1 ? "..." : "", why);
}

int molt__jsonpath_fail(molt_jsonpath_t* p, const char* fmt, ...) {
  va_list ap;
  int rc;

  va_start(ap, fmt);
  rc = vfail(p, fmt, ap);
  va_end(ap);
  return rc;
}

int molt__jsonpath_fail_at(molt_jsonpath_t* p, const char* key, const char* fmt, ...) {
  size_t mark = molt__jsonpath_key(p, key);
  va_list ap;
  int rc;

  va_start(ap, fmt);
  rc = vfail(p, fmt, ap);
  va_end(ap);
  molt__jsonpath_pop(p, mark);
  return rc;
}

int molt__jsonpath_nomem(molt_jsonpath_t* p) {
  return molt__errmsg_set(p->err, p->errlen, MOLT_ENOMEM, "out of memory");
}

/* At most 48 bytes of s are shown: the message is a reason, not a dump. */
void molt__jsonpath_quote(const char* s, char* out, size_t outlen) {
  size_t o = 0, shown = 0;
  unsigned char c;
  char esc[8];

  if (outlen < 8) {
    if (outlen) out[0] = '\0';
    return;
  }
  out[o++] = '"';
  for (; (c = (unsigned char)*s) != '\0'; s++, shown++) {
    if (shown == 48) break;
    if (c == '"' || c == '\\')
      snprintf(esc, sizeof esc, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      snprintf(esc, sizeof esc, "\\x%02x", c);
    else
      snprintf(esc, sizeof esc, "%c", c);
    if (o + strlen(esc) + 5 > outlen) break;
    memcpy(out + o, esc, strlen(esc));
    o += strlen(esc);
  }
  out[o++] = '"';
  if (*s) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

void molt__jsonpath_describe(const cJSON* v, char* out, size_t outlen) {
  double d;

  if (cJSON_IsString(v)) {
    molt__jsonpath_quote(v->valuestring, out, outlen);
  } else if (cJSON_IsNumber(v)) {
    /* %.15g unless that loses the value, as cJSON itself prints. */
    d = v->valuedouble;
    snprintf(out, outlen, "%.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, outlen, "%.17g", d);
  } else {
    snprintf(out, outlen, "%s",
             cJSON_IsTrue(v)     ? "true"
             : cJSON_IsFalse(v)  ? "false"
             : cJSON_IsNull(v)   ? "null"
             : cJSON_IsObject(v) ? "an object"
             : cJSON_IsArray(v)  ? "an array"
                                 : "an invalid value");
  }
}

struct dup_sort {
  const char* const* strs;
};

static int dup_cmp(const void* a, const void* b, void* arg) {
  const struct dup_sort* ds = arg;
  size_t i = *(const size_t*)a, j = *(const size_t*)b;
  int c = strcmp(ds->strs[i], ds->strs[j]);

  if (c) return c;
  return i < j ? -1 : i > j;
}

int molt__jsonpath_dups(const char* const* strs, size_t n, size_t* first, size_t* second) {
  struct dup_sort ds = {strs};
  size_t* idx;
  size_t k;
  int found = 0;

  if (n < 2) return 0;
  idx = molt__alloc(n * sizeof *idx);
  if (!idx) return MOLT_ENOMEM;
  for (k = 0; k < n; k++) idx[k] = k;
  qsort_r(idx, n, sizeof *idx, dup_cmp, &ds);
  /* Sorted by (string, position), each run of equal strings starts with
   * its first occurrence; the earliest repeat is the smallest second
   * member of any run. */
  for (k = 1; k < n; k++) {
    if (strcmp(strs[idx[k - 1]], strs[idx[k]]) != 0) continue;
    if (k >= 2 && strcmp(strs[idx[k - 2]], strs[idx[k]]) == 0) continue;
    if (!found || idx[k] < *second) {
      *first = idx[k - 1];
      *second = idx[k];
      found = 1;
    }
  }
  molt__free(idx);
  return found;
}

static int object_dupkeys(molt_jsonpath_t* p, const cJSON* obj) {
  const char** keys;
  const cJSON* it;
  size_t n = 0, a, b;
  char quoted[80];
  int rc;

  for (it = obj->child; it; it = it->next) n++;
  if (n < 2) return 0;
  keys = molt__alloc(n * sizeof *keys);
  if (!keys) return molt__jsonpath_nomem(p);
  n = 0;
  for (it = obj->child; it; it = it->next) keys[n++] = it->string ? it->string : "";
  rc = molt__jsonpath_dups(keys, n, &a, &b);
  if (rc == 1) {
    molt__jsonpath_quote(keys[b], quoted, sizeof quoted);
    rc = molt__jsonpath_fail(p, "duplicate key %s", quoted);
  } else if (rc < 0) {
    rc = molt__jsonpath_nomem(p);
  }
  molt__free(keys);
  return rc;
}

/* Recursion depth is bounded by cJSON's nesting limit (1000). */
int molt__jsonpath_dupkeys(molt_jsonpath_t* p, const cJSON* node) {
  const cJSON* it;
  size_t mark, i = 0;
  int rc;

  if (cJSON_IsObject(node)) {
    rc = object_dupkeys(p, node);
    if (rc) return rc;
  } else if (!cJSON_IsArray(node)) {
    return 0;
  }
  for (it = node->child; it; it = it->next, i++) {
    mark = cJSON_IsObject(node) ? molt__jsonpath_key(p, it->string ? it->string : "")
                                : molt__jsonpath_index(p, i);
    rc = molt__jsonpath_dupkeys(p, it);
    molt__jsonpath_pop(p, mark);
    if (rc) return rc;
  }
  return 0;
}

/* "a, b, c" into out, cut short if it does not fit. */
static void join_names(const char* const* names, char* out, size_t outlen) {
  size_t o = 0;

  out[0] = '\0';
  for (; *names && o < outlen; names++)
    o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? ", " : "", *names);
}

int molt__jsonpath_keys(molt_jsonpath_t* p, const cJSON* obj, const char* const* allowed) {
  const cJSON* it;
  const char* const* a;
  char quoted[80], expected[256];

  for (it = obj->child; it; it = it->next) {
    for (a = allowed; *a; a++)
      if (it->string && strcmp(it->string, *a) == 0) break;
    if (*a) continue;
    /* Naming what is allowed turns a typo into its own correction. */
    join_names(allowed, expected, sizeof expected);
    molt__jsonpath_quote(it->string ? it->string : "", quoted, sizeof quoted);
    return molt__jsonpath_fail(p, "unknown key %s (expected %s)", quoted, expected);
  }
  return 0;
}

static const char* type_name(int type) {
  switch (type) {
    case cJSON_String: return "a string";
    case cJSON_Number: return "a number";
    case cJSON_Object: return "an object";
    case cJSON_Array: return "an array";
  }
  return "a value";
}

int molt__jsonpath_expect(molt_jsonpath_t* p, const cJSON* v, int type) {
  char found[80];

  if ((v->type & 0xff) == type) return 0;
  molt__jsonpath_describe(v, found, sizeof found);
  return molt__jsonpath_fail(p, "expected %s, found %s", type_name(type), found);
}

int molt__jsonpath_get(molt_jsonpath_t* p, const cJSON* obj, const char* key, int type,
                       bool required, const cJSON** out) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
  size_t mark;
  int rc;

  *out = NULL;
  if (!v) return required ? molt__jsonpath_fail_at(p, key, "required field missing") : 0;
  mark = molt__jsonpath_key(p, key);
  rc = molt__jsonpath_expect(p, v, type);
  molt__jsonpath_pop(p, mark);
  if (rc == 0) *out = v;
  return rc;
}

int molt__jsonpath_string(molt_jsonpath_t* p, const cJSON* obj, const char* key, bool required,
                          const char** out) {
  const cJSON* v;
  int rc = molt__jsonpath_get(p, obj, key, cJSON_String, required, &v);

  *out = v ? v->valuestring : NULL;
  return rc;
}

int molt__jsonpath_u32(molt_jsonpath_t* p, const cJSON* obj, const char* key, uint32_t min,
                       uint32_t max, uint32_t dflt, uint32_t* out) {
  const cJSON* v;
  char found[80];
  double d;
  int rc = molt__jsonpath_get(p, obj, key, cJSON_Number, false, &v);

  if (rc) return rc;
  if (!v) {
    *out = dflt;
    return 0;
  }
  /* cJSON keeps every number as a double; the range test comes first so
   * the cast is defined, and the round trip refuses fractions. NaN fails
   * the range test. JSON cannot tell 2 from 2.0 apart here; both are 2. */
  d = v->valuedouble;
  if (!(d >= (double)min && d <= (double)max) || (double)(uint32_t)d != d) {
    molt__jsonpath_describe(v, found, sizeof found);
    return molt__jsonpath_fail_at(p, key, "expected an integer from %u to %u, found %s",
                                  (unsigned)min, (unsigned)max, found);
  }
  *out = (uint32_t)d;
  return 0;
}

int molt__jsonpath_enum(molt_jsonpath_t* p, const cJSON* obj, const char* key,
                        const char* const* names, int dflt, int* out) {
  const char* s;
  char quoted[80], expected[256];
  int i, rc = molt__jsonpath_string(p, obj, key, false, &s);

  if (rc) return rc;
  if (!s) {
    *out = dflt;
    return 0;
  }
  for (i = 0; names[i]; i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = i;
      return 0;
    }
  }
  join_names(names, expected, sizeof expected);
  molt__jsonpath_quote(s, quoted, sizeof quoted);
  return molt__jsonpath_fail_at(p, key, "expected one of %s, found %s", expected, quoted);
}

int molt__jsonpath_checked(molt_jsonpath_t* p, const cJSON* obj, const char* key, bool required,
                           bool (*ok)(const char*), const char* want, const char** out) {
  char quoted[80];
  int rc = molt__jsonpath_string(p, obj, key, required, out);

  if (rc || !*out || ok(*out)) return rc;
  molt__jsonpath_quote(*out, quoted, sizeof quoted);
  return molt__jsonpath_fail_at(p, key, "expected %s, found %s", want, quoted);
}

int molt__jsonpath_array(molt_jsonpath_t* p, const char* key, const cJSON* arr, size_t size,
                         int (*convert)(void* ctx, const cJSON* elem, void* item), void* ctx,
                         void** items, size_t* n) {
  const cJSON* it;
  size_t i, count = 0, mark, imark;
  int rc = 0;

  for (it = arr->child; it; it = it->next) count++;
  if (count == 0) return 0;
  *items = molt__calloc(count, size);
  if (!*items) return molt__jsonpath_nomem(p);
  *n = count;
  mark = molt__jsonpath_key(p, key);
  for (i = 0, it = arr->child; it && rc == 0; it = it->next, i++) {
    imark = molt__jsonpath_index(p, i);
    rc = convert(ctx, it, (char*)*items + i * size);
    molt__jsonpath_pop(p, imark);
  }
  molt__jsonpath_pop(p, mark);
  return rc;
}

int molt__jsonpath_refuse_dups(molt_jsonpath_t* p, const char* const* strs, size_t n,
                               const char* array, const char* key, const char* what) {
  size_t a, b, mark;
  char quoted[80];
  int rc = molt__jsonpath_dups(strs, n, &a, &b);

  if (rc < 0) return molt__jsonpath_nomem(p);
  if (rc == 0) return 0;
  molt__jsonpath_quote(strs[b], quoted, sizeof quoted);
  mark = molt__jsonpath_key(p, array);
  molt__jsonpath_index(p, b);
  rc = molt__jsonpath_fail_at(p, key, "duplicate %s %s (also %s[%zu])", what, quoted, array, a);
  molt__jsonpath_pop(p, mark);
  return rc;
}
