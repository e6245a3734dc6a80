/* release_file.c: RELEASES.json, the durable record of the releases a home
 * knows and their states, read strictly and written atomically. Not the
 * state machine (release_store.c) and not the bundles themselves. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "errmsg.h"
#include "fs.h"
#include "json_text.h"
#include "jsonpath.h"
#include "molt/errno.h"
#include "release_store.h"

/* Bumped on any change an older molt would misread; an unknown format is
 * refused rather than guessed at. "history" came later without a bump: a
 * file without it is read as before, and an older molt refuses a file with
 * it by its unknown key rather than misreading it. */
#define FORMAT 1

static const char* const root_keys[] = {"format", "name", "sequence", "releases", "history", NULL};
static const char* const rel_keys[] = {"version", "dir", "state", "permanent_seq", NULL};
/* In the order of molt_rel_state_t: the index read is the enum value. */
static const char* const state_names[] = {"unpacked", "current", "permanent", "old", NULL};

typedef struct {
  molt_jsonpath_t path;
  molt_store_t* s;
} file_t;

const char* molt__rel_state_name(molt_rel_state_t state) {
  return (unsigned)state <= MOLT_REL_OLD ? state_names[state] : "?";
}

static int copy_str(molt_jsonpath_t* p, const char* s, char** dst) {
  *dst = strdup(s);
  return *dst ? 0 : molt__jsonpath_nomem(p);
}

static int release_convert(void* ctx, const cJSON* obj, void* item) {
  file_t* c = ctx;
  molt_jsonpath_t* p = &c->path;
  molt_release_t** slot = item;
  molt_release_t* r;
  const char *vsn, *dir, *statename, *why;
  char quoted[80];
  int state, rc;

  r = *slot = calloc(1, sizeof *r);
  if (!r) return molt__jsonpath_nomem(p);
  if ((rc = molt__jsonpath_expect(p, obj, cJSON_Object)) ||
      (rc = molt__jsonpath_keys(p, obj, rel_keys)) ||
      (rc = molt__jsonpath_checked(p, obj, "version", true, molt__manifest_version_ok,
                                   "a version of 1 to 63 bytes without '/' or whitespace", &vsn)) ||
      (rc = molt__jsonpath_string(p, obj, "dir", true, &dir)) ||
      (rc = molt__jsonpath_string(p, obj, "state", true, &statename)) ||
      (rc = molt__jsonpath_enum(p, obj, "state", state_names, 0, &state)) ||
      (rc = molt__jsonpath_u32(p, obj, "permanent_seq", 0, UINT32_MAX, 0, &r->permanent_seq)))
    return rc;
  /* The home is relocatable and the store removes directories, so a dir
   * must stay inside the home, whoever edited the file. */
  if ((why = molt__manifest_file_problem(dir))) {
    molt__jsonpath_quote(dir, quoted, sizeof quoted);
    return molt__jsonpath_fail_at(p, "dir", "path %s %s", quoted, why);
  }
  r->state = (molt_rel_state_t)state;
  if ((r->state == MOLT_REL_PERMANENT || r->state == MOLT_REL_OLD) && r->permanent_seq == 0)
    return molt__jsonpath_fail_at(p, "permanent_seq",
                                  "a%s release has been permanent; expected 1 or more",
                                  r->state == MOLT_REL_OLD ? "n old" : " permanent");
  if (r->permanent_seq > c->s->sequence)
    return molt__jsonpath_fail_at(p, "permanent_seq", "%u is beyond the sequence, %u",
                                  (unsigned)r->permanent_seq, (unsigned)c->s->sequence);
  if ((rc = copy_str(p, vsn, &r->vsn))) return rc;
  return copy_str(p, dir, &r->dir);
}

/* At most one of each, or "running" and "boots" would be ambiguous. */
static int refuse_second(file_t* c, molt_rel_state_t state) {
  size_t i, first = 0, mark;
  bool seen = false;
  int rc;

  for (i = 0; i < c->s->nreleases; i++) {
    if (c->s->releases[i]->state != state) continue;
    if (!seen) {
      seen = true;
      first = i;
      continue;
    }
    mark = molt__jsonpath_key(&c->path, "releases");
    molt__jsonpath_index(&c->path, i);
    rc = molt__jsonpath_fail_at(&c->path, "state", "a second %s release (also releases[%zu])",
                                molt__rel_state_name(state), first);
    molt__jsonpath_pop(&c->path, mark);
    return rc;
  }
  return 0;
}

static int releases_check(file_t* c) {
  molt_store_t* s = c->s;
  const char** vsns;
  size_t i;
  int rc;

  if (s->nreleases == 0) return 0;
  if (!s->name) return molt__jsonpath_fail_at(&c->path, "name", "required with releases");
  vsns = malloc(s->nreleases * sizeof *vsns);
  if (!vsns) return molt__jsonpath_nomem(&c->path);
  for (i = 0; i < s->nreleases; i++) vsns[i] = s->releases[i]->vsn;
  rc = molt__jsonpath_refuse_dups(&c->path, vsns, s->nreleases, "releases", "version", "version");
  free(vsns);
  if (rc || (rc = refuse_second(c, MOLT_REL_PERMANENT))) return rc;
  return refuse_second(c, MOLT_REL_CURRENT);
}

/* A file written before the history was kept: the releases that have
 * been permanent, in the order they last became so (by permanent_seq),
 * the permanent one last. Such a file cannot tell which old release was
 * rolled back from, so that one stays on the way back: the most that can
 * be read from it. */
static int history_derive(file_t* c) {
  molt_store_t* s = c->s;
  molt_release_t *r, *perm = NULL;
  size_t i, at;

  s->history = molt__calloc(s->nreleases ? s->nreleases : 1, sizeof *s->history);
  if (!s->history) return molt__jsonpath_nomem(&c->path);
  for (i = 0; i < s->nreleases; i++) {
    r = s->releases[i];
    if (r->state == MOLT_REL_PERMANENT) perm = r;
    if (r->state == MOLT_REL_PERMANENT || !r->permanent_seq) continue;
    for (at = s->nhistory; at > 0 && s->history[at - 1]->permanent_seq > r->permanent_seq; at--)
      s->history[at] = s->history[at - 1];
    s->history[at] = r;
    s->nhistory++;
  }
  if (perm) s->history[s->nhistory++] = perm;
  return 0;
}

static int history_entry(file_t* c, const cJSON* v) {
  molt_jsonpath_t* p = &c->path;
  molt_store_t* s = c->s;
  molt_release_t* r;
  char quoted[80];
  size_t at;
  int rc;

  if ((rc = molt__jsonpath_expect(p, v, cJSON_String))) return rc;
  molt__jsonpath_quote(v->valuestring, quoted, sizeof quoted);
  if (!(r = molt__store_find(s, v->valuestring)))
    return molt__jsonpath_fail(p, "%s is not one of the releases", quoted);
  if ((at = molt__store_history_pos(s, r)))
    return molt__jsonpath_fail(p, "duplicate version %s (also history[%zu])", quoted, at - 1);
  if (!r->permanent_seq || r->state == MOLT_REL_UNPACKED)
    return molt__jsonpath_fail(p, "release %s has not been permanent (%s, permanent_seq %u)", quoted,
                               molt__rel_state_name(r->state), (unsigned)r->permanent_seq);
  s->history[s->nhistory++] = r;
  return 0;
}

/* Each entry a known release that has been permanent, once; the last the
 * permanent release, or none at all without one: rollback trusts both. */
static int history_read(file_t* c, const cJSON* arr) {
  molt_jsonpath_t* p = &c->path;
  molt_store_t* s = c->s;
  molt_release_t* perm = molt__store_permanent(s);
  const cJSON* v;
  size_t i = 0, mark;
  int rc = 0;

  s->history = molt__calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *s->history);
  if (!s->history) return molt__jsonpath_nomem(p);
  cJSON_ArrayForEach(v, arr) {
    mark = molt__jsonpath_key(p, "history");
    molt__jsonpath_index(p, i++);
    rc = history_entry(c, v);
    molt__jsonpath_pop(p, mark);
    if (rc) return rc;
  }
  if (perm && (!s->nhistory || s->history[s->nhistory - 1] != perm))
    return molt__jsonpath_fail_at(p, "history", "ends with %s, not with the permanent release %s",
                                  s->nhistory ? s->history[s->nhistory - 1]->vsn : "nothing",
                                  perm->vsn);
  if (!perm && s->nhistory)
    return molt__jsonpath_fail_at(p, "history", "lists %zu release%s, but none is permanent",
                                  s->nhistory, s->nhistory == 1 ? "" : "s");
  return 0;
}

static int root_convert(file_t* c, const cJSON* root) {
  molt_jsonpath_t* p = &c->path;
  molt_store_t* s = c->s;
  const cJSON *v, *arr;
  const char* name;
  void* items = NULL;
  uint32_t format;
  size_t n = 0;
  int rc;

  if ((rc = molt__jsonpath_expect(p, root, cJSON_Object)) ||
      (rc = molt__jsonpath_keys(p, root, root_keys)) ||
      (rc = molt__jsonpath_get(p, root, "format", cJSON_Number, true, &v)) ||
      (rc = molt__jsonpath_u32(p, root, "format", 0, UINT32_MAX, 0, &format)))
    return rc;
  if (format != FORMAT)
    return molt__jsonpath_fail_at(p, "format", "this molt reads format %d, found %u", FORMAT,
                                  (unsigned)format);
  if ((rc = molt__jsonpath_checked(p, root, "name", false, molt__manifest_release_name_ok,
                                   "a release name of [a-z0-9_-], 1 to 63 bytes", &name)) ||
      (name && (rc = copy_str(p, name, &s->name))) ||
      (rc = molt__jsonpath_get(p, root, "sequence", cJSON_Number, true, &v)) ||
      (rc = molt__jsonpath_u32(p, root, "sequence", 0, UINT32_MAX, 0, &s->sequence)) ||
      (rc = molt__jsonpath_get(p, root, "releases", cJSON_Array, true, &arr)))
    return rc;
  rc =
      molt__jsonpath_array(p, "releases", arr, sizeof *s->releases, release_convert, c, &items, &n);
  s->releases = items;
  s->nreleases = n;
  if (rc || (rc = releases_check(c)) ||
      (rc = molt__jsonpath_get(p, root, "history", cJSON_Array, false, &arr)))
    return rc;
  return arr ? history_read(c, arr) : history_derive(c);
}

int molt__release_file_parse(const char* text, size_t len, molt_store_t* s, char* err,
                             size_t errlen) {
  file_t c = {.s = s};
  const char* end = NULL;
  cJSON* root;
  int rc;

  molt__jsonpath_init(&c.path, err, errlen);
  /* Truncation is the likely corruption (a disk that lied about a sync),
   * refused like any text that is not exactly one document.
   * XXX(release): as in manifest.c, an allocation failure inside cJSON
   * reads as malformed JSON. */
  root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  while (root && end < text + len && *end && strchr(" \t\r\n", *end)) end++;
  if (!root || end < text + len) {
    cJSON_Delete(root);
    return molt__errmsg_set(err, errlen, MOLT_EMANIFEST,
                            "malformed JSON at byte %zu of %zu (truncated or corrupt?)",
                            end ? (size_t)(end - text) : (size_t)0, len);
  }
  /* A version or directory cut short at a "\u0000" would name another
   * release than the one written. */
  rc = molt__json_text_refuse_nul(text, len, MOLT_EMANIFEST, err, errlen);
  if (rc == 0 && (rc = molt__jsonpath_dupkeys(&c.path, root)) == 0) rc = root_convert(&c, root);
  cJSON_Delete(root);
  return rc;
}

/* Adds item under key, or deletes it; a NULL item counts as a failure. */
static bool add(cJSON* obj, const char* key, cJSON* item) {
  if (item && cJSON_AddItemToObject(obj, key, item)) return true;
  cJSON_Delete(item);
  return false;
}

/* Appends item to arr, or deletes it; a NULL item counts as a failure. */
static bool add_item(cJSON* arr, cJSON* item) {
  if (item && cJSON_AddItemToArray(arr, item)) return true;
  cJSON_Delete(item);
  return false;
}

static cJSON* release_json(const molt_release_t* r) {
  cJSON* o = cJSON_CreateObject();

  if (o && add(o, "version", cJSON_CreateString(r->vsn)) &&
      add(o, "dir", cJSON_CreateString(r->dir)) &&
      add(o, "state", cJSON_CreateString(molt__rel_state_name(r->state))) &&
      add(o, "permanent_seq", cJSON_CreateNumber((double)r->permanent_seq)))
    return o;
  cJSON_Delete(o);
  return NULL;
}

static cJSON* history_json(const molt_store_t* s) {
  cJSON* arr = cJSON_CreateArray();
  size_t i;

  for (i = 0; arr && i < s->nhistory; i++)
    if (!add_item(arr, cJSON_CreateString(s->history[i]->vsn))) {
      cJSON_Delete(arr);
      return NULL;
    }
  return arr;
}

static cJSON* store_json(const molt_store_t* s) {
  cJSON *o = cJSON_CreateObject(), *arr, *r;
  size_t i;

  if (!o || !add(o, "format", cJSON_CreateNumber(FORMAT)) ||
      (s->name && !add(o, "name", cJSON_CreateString(s->name))) ||
      !add(o, "sequence", cJSON_CreateNumber((double)s->sequence)) ||
      !add(o, "releases", cJSON_CreateArray()))
    goto fail;
  arr = cJSON_GetObjectItemCaseSensitive(o, "releases");
  for (i = 0; i < s->nreleases; i++) {
    r = release_json(s->releases[i]);
    if (!add_item(arr, r)) goto fail;
  }
  if (!add(o, "history", history_json(s))) goto fail;
  return o;
fail:
  cJSON_Delete(o);
  return NULL;
}

/* The store's "in place, not durable" is the file layer's, passed up as is. */
_Static_assert(MOLT_STORE_NOT_DURABLE == MOLT_FS_NOT_DURABLE, "one outcome, one value");

int molt__release_file_write(const molt_store_t* s, const char* path, char* err, size_t errlen) {
  cJSON* root = store_json(s);
  char* text = root ? cJSON_Print(root) : NULL;
  int rc;

  cJSON_Delete(root);
  if (!text)
    return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "%s: %s", path, molt_strerror(MOLT_ENOMEM));
  rc = molt__fs_replace(path, text, strlen(text), 0600, err, errlen);
  cJSON_free(text);
  return rc;
}
