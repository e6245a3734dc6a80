/* manifest.c: a release manifest's JSON text checked field by field and
 * turned into molt structs. Not file I/O (manifest_files.c), not printing
 * (manifest_print.c), and not the release handler that acts on it. */
#include "manifest.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "errmsg.h"
#include "json_text.h"
#include "jsonpath.h"
#include "manifest_steps.h"
#include "molt/errno.h"

#define COUNT_MAX 1000000 /* workers one child spec may start */

static const char* const root_keys[] = {"name",    "version",   "modules", "supervisor",
                                        "upgrade", "downgrade", "alarms",  NULL};
static const char* const module_keys[] = {"name", "vsn", "state_vsn", "file", "sha256", "mailbox_alarm", NULL};
static const char* const alarm_keys[] = {"mailbox",   "scheduler_busy_percent", "scheduler_busy_s",
                                         "memory_mb", "actor_memory_mb",        "callback_s", NULL};
static const char* const sup_keys[] = {"name",      "strategy", "intensity",
                                       "period_ms", "children", NULL};
static const char* const child_keys[] = {"id",          "module", "supervisor", "restart",
                                         "shutdown_ms", "count",  "args",       NULL};
/* In the order of molt_strategy_t and molt_restart_t: the index read is the
 * enum value. */
static const char* const strategies[] = {"one_for_one", "one_for_all", "rest_for_one", NULL};
static const char* const restarts[] = {"permanent", "transient", "temporary", NULL};

typedef struct {
  molt_jsonpath_t path;
  bool require_sha256;
  const char** modnames; /* sorted, borrowed from the manifest: "unknown module" */
  size_t nmodnames;
} parse_t;

static int strp_cmp(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

static int copy_str(parse_t* c, const char* s, char** dst) {
  *dst = molt__strdup(s);
  return *dst ? 0 : molt__jsonpath_nomem(&c->path);
}

static int module_convert(void* ctx, const cJSON* obj, void* item) {
  parse_t* c = ctx;
  molt_manifest_module_t* mod = item;
  molt_jsonpath_t* p = &c->path;
  const char *name, *vsn, *file, *sha;
  const char* why;
  char quoted[80];
  int rc;

  if ((rc = molt__jsonpath_expect(p, obj, cJSON_Object)) ||
      (rc = molt__jsonpath_keys(p, obj, module_keys)) ||
      (rc = molt__jsonpath_checked(&c->path, obj, "name", true, molt__manifest_module_name_ok,
                                   "a module name of [a-z0-9_], 1 to 63 bytes", &name)) ||
      (rc = molt__jsonpath_checked(&c->path, obj, "vsn", true, molt__manifest_version_ok,
                                   "a version of 1 to 63 bytes without '/' or whitespace", &vsn)) ||
      (rc = molt__jsonpath_string(p, obj, "file", true, &file)) ||
      (rc = molt__jsonpath_string(p, obj, "sha256", c->require_sha256, &sha)) ||
      (rc = molt__jsonpath_u32(p, obj, "state_vsn", 0, UINT32_MAX, 0, &mod->state_vsn)) ||
      (rc = molt__jsonpath_u32(p, obj, "mailbox_alarm", 1, UINT32_MAX, 0, &mod->mailbox_alarm)))
    return rc;
  mod->has_state_vsn = cJSON_GetObjectItemCaseSensitive(obj, "state_vsn") != NULL;
  if ((why = molt__manifest_file_problem(file))) {
    molt__jsonpath_quote(file, quoted, sizeof quoted);
    return molt__jsonpath_fail_at(p, "file", "path %s %s", quoted, why);
  }
  if (sha && molt__sha256_parse(sha, mod->sha256) != 0) {
    molt__jsonpath_quote(sha, quoted, sizeof quoted);
    return molt__jsonpath_fail_at(p, "sha256", "expected 64 hex digits, found %s", quoted);
  }
  mod->has_sha256 = sha != NULL;
  if ((rc = copy_str(c, name, &mod->name)) || (rc = copy_str(c, vsn, &mod->vsn)) ||
      (rc = copy_str(c, file, &mod->file)))
    return rc;
  return 0;
}

static int modules_convert(parse_t* c, const cJSON* root, molt_manifest_t* m) {
  void* items = NULL;
  const cJSON* arr;
  size_t i, n = 0;
  int rc;

  if ((rc = molt__jsonpath_get(&c->path, root, "modules", cJSON_Array, true, &arr))) return rc;
  rc = molt__jsonpath_array(&c->path, "modules", arr, sizeof *m->modules, module_convert, c, &items,
                            &n);
  m->modules = items;
  m->nmodules = n;
  if (rc || n == 0) return rc;

  c->modnames = molt__alloc(n * sizeof *c->modnames);
  if (!c->modnames) return molt__jsonpath_nomem(&c->path);
  for (i = 0; i < n; i++) c->modnames[i] = m->modules[i].name;
  if ((rc = molt__jsonpath_refuse_dups(&c->path, c->modnames, n, "modules", "name", "module")))
    return rc;
  for (i = 0; i < n; i++) c->modnames[i] = m->modules[i].file;
  if ((rc = molt__jsonpath_refuse_dups(&c->path, c->modnames, n, "modules", "file", "file")))
    return rc;
  for (i = 0; i < n; i++) c->modnames[i] = m->modules[i].name;
  qsort(c->modnames, n, sizeof *c->modnames, strp_cmp);
  c->nmodnames = n;
  return 0;
}

static int sup_convert(parse_t* c, const cJSON* obj, molt_sup_spec_t** slot);

static int child_convert(void* ctx, const cJSON* obj, void* item) {
  parse_t* c = ctx;
  molt_child_spec_t* ch = item;
  molt_jsonpath_t* p = &c->path;
  const cJSON *sup, *args;
  const char *id, *module;
  char quoted[80];
  size_t mark;
  int restart, rc;

  if ((rc = molt__jsonpath_expect(p, obj, cJSON_Object)) ||
      (rc = molt__jsonpath_keys(p, obj, child_keys)) ||
      (rc = molt__jsonpath_checked(&c->path, obj, "id", true, molt__manifest_id_ok,
                                   "an id of [A-Za-z0-9_-], 1 to 63 bytes", &id)) ||
      (rc = molt__jsonpath_string(p, obj, "module", false, &module)) ||
      (rc = molt__jsonpath_get(p, obj, "supervisor", cJSON_Object, false, &sup)) ||
      (rc = molt__jsonpath_enum(p, obj, "restart", restarts, MOLT_PERMANENT, &restart)) ||
      (rc = molt__jsonpath_u32(p, obj, "shutdown_ms", 0, UINT32_MAX, 5000, &ch->shutdown_ms)) ||
      (rc = molt__jsonpath_u32(p, obj, "count", 1, COUNT_MAX, 1, &ch->count)) ||
      (rc = molt__jsonpath_get(p, obj, "args", cJSON_Object, false, &args)))
    return rc;
  if (module && sup)
    return molt__jsonpath_fail(
        p, "has both \"module\" and \"supervisor\"; a child is one or the other");
  if (!module && !sup)
    return molt__jsonpath_fail(p, "needs \"module\" (a worker) or \"supervisor\"");
  if (sup && cJSON_GetObjectItemCaseSensitive(obj, "count"))
    return molt__jsonpath_fail_at(p, "count", "only a worker (with \"module\") has a count");
  if (sup && args)
    return molt__jsonpath_fail_at(p, "args", "only a worker (with \"module\") takes args");
  if (module && (c->nmodnames == 0 ||
                 !bsearch(&module, c->modnames, c->nmodnames, sizeof *c->modnames, strp_cmp))) {
    molt__jsonpath_quote(module, quoted, sizeof quoted);
    return molt__jsonpath_fail_at(p, "module", "unknown module %s", quoted);
  }
  ch->restart = (molt_restart_t)restart;
  if ((rc = copy_str(c, id, &ch->id))) return rc;
  if (module && (rc = copy_str(c, module, &ch->module))) return rc;
  if (sup) {
    mark = molt__jsonpath_key(p, "supervisor");
    rc = sup_convert(c, sup, &ch->sup);
    molt__jsonpath_pop(p, mark);
    return rc;
  }
  /* cJSON allocates through molt's allocator (alloc.c installs the hooks),
   * so its text is kept as it is and molt__manifest_free frees it. */
  if (!args) return copy_str(c, "{}", &ch->args_json);
  ch->args_json = cJSON_PrintUnformatted(args);
  return ch->args_json ? 0 : molt__jsonpath_nomem(p);
}

/* *slot is set before anything can fail, so a half-built spec hangs off
 * the manifest and the one free routine unwinds it. */
static int sup_convert(parse_t* c, const cJSON* obj, molt_sup_spec_t** slot) {
  molt_jsonpath_t* p = &c->path;
  molt_sup_spec_t* s;
  const cJSON* arr;
  const char* name;
  const char** ids;
  void* items = NULL;
  size_t i, n = 0;
  int strategy, rc;

  s = *slot = molt__calloc(1, sizeof *s);
  if (!s) return molt__jsonpath_nomem(p);
  if ((rc = molt__jsonpath_keys(p, obj, sup_keys)) ||
      (rc = molt__jsonpath_checked(&c->path, obj, "name", false, molt__manifest_id_ok,
                                   "a name of [A-Za-z0-9_-], 1 to 63 bytes", &name)) ||
      (rc = molt__jsonpath_enum(p, obj, "strategy", strategies, MOLT_ONE_FOR_ONE, &strategy)) ||
      (rc = molt__jsonpath_u32(p, obj, "intensity", 0, UINT32_MAX, 3, &s->intensity)) ||
      (rc = molt__jsonpath_u32(p, obj, "period_ms", 1, UINT32_MAX, 5000, &s->period_ms)) ||
      (rc = molt__jsonpath_get(p, obj, "children", cJSON_Array, true, &arr)))
    return rc;
  s->strategy = (molt_strategy_t)strategy;
  if (name && (rc = copy_str(c, name, &s->name))) return rc;
  rc = molt__jsonpath_array(p, "children", arr, sizeof *s->children, child_convert, c, &items, &n);
  s->children = items;
  s->nchildren = n;
  if (rc || n == 0) return rc;

  ids = molt__alloc(n * sizeof *ids);
  if (!ids) return molt__jsonpath_nomem(p);
  for (i = 0; i < n; i++) ids[i] = s->children[i].id;
  rc = molt__jsonpath_refuse_dups(p, ids, n, "children", "id", "child id");
  molt__free(ids);
  return rc;
}

static int alarms_convert(parse_t* c, const cJSON* root, molt_manifest_t* m) {
  molt_jsonpath_t* p = &c->path;
  const cJSON* obj;
  molt_manifest_alarms_t d = MOLT_MANIFEST_ALARMS_DEFAULT, *a = &m->alarms;
  int rc;

  *a = d;
  if ((rc = molt__jsonpath_get(p, root, "alarms", cJSON_Object, false, &obj)) || !obj) return rc;
  m->has_alarms = true;
  size_t mark = molt__jsonpath_key(p, "alarms");
  if ((rc = molt__jsonpath_keys(p, obj, alarm_keys)) ||
      (rc = molt__jsonpath_u32(p, obj, "mailbox", 1, UINT32_MAX, d.mailbox, &a->mailbox)) ||
      (rc = molt__jsonpath_u32(p, obj, "scheduler_busy_percent", 1, 100, d.scheduler_busy_percent,
                               &a->scheduler_busy_percent)) ||
      (rc = molt__jsonpath_u32(p, obj, "scheduler_busy_s", 1, 86400, d.scheduler_busy_s, &a->scheduler_busy_s)) ||
      (rc = molt__jsonpath_u32(p, obj, "memory_mb", 0, UINT32_MAX, d.memory_mb, &a->memory_mb)) ||
      (rc = molt__jsonpath_u32(p, obj, "actor_memory_mb", 0, UINT32_MAX, d.actor_memory_mb, &a->actor_memory_mb)) ||
      (rc = molt__jsonpath_u32(p, obj, "callback_s", 0, 86400, d.callback_s, &a->callback_s)))
    return rc;
  molt__jsonpath_pop(p, mark);
  return 0;
}

static int root_convert(parse_t* c, const cJSON* root, molt_manifest_t* m) {
  molt_jsonpath_t* p = &c->path;
  const char *name, *version;
  const cJSON* sup;
  size_t mark;
  int rc;

  if ((rc = molt__jsonpath_expect(p, root, cJSON_Object)) ||
      (rc = molt__jsonpath_keys(p, root, root_keys)) ||
      (rc = molt__jsonpath_checked(&c->path, root, "name", true, molt__manifest_release_name_ok,
                                   "a release name of [a-z0-9_-], 1 to 63 bytes", &name)) ||
      (rc = molt__jsonpath_checked(&c->path, root, "version", true, molt__manifest_version_ok,
                                   "a version of 1 to 63 bytes without '/' or whitespace",
                                   &version)) ||
      (rc = copy_str(c, name, &m->name)) || (rc = copy_str(c, version, &m->version)) ||
      (rc = modules_convert(c, root, m)) || (rc = alarms_convert(c, root, m)) ||
      (rc = molt__jsonpath_get(p, root, "supervisor", cJSON_Object, false, &sup)))
    return rc;
  if (sup) {
    mark = molt__jsonpath_key(p, "supervisor");
    rc = sup_convert(c, sup, &m->sup);
    molt__jsonpath_pop(p, mark);
    if (rc) return rc;
  }
  return molt__manifest_steps_convert(p, root, m);
}

/* cJSON reports where it stopped through the end pointer (never read its
 * global error pointer: another thread may be parsing). Line and column
 * count bytes from 1. */
static int syntax_error(parse_t* c, const char* text, const char* at, const char* what) {
  size_t line = 1, col = 1;
  const char* s;

  for (s = text; s < at; s++) {
    if (*s == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  return molt__errmsg_set(c->path.err, c->path.errlen, MOLT_EMANIFEST,
                          "malformed JSON at line %zu, column %zu%s", line, col, what);
}

int molt__manifest_parse(const char* text, size_t len, bool require_sha256, molt_manifest_t** out,
                         char* err, size_t errlen) {
  parse_t c = {.require_sha256 = require_sha256};
  const char* end = NULL;
  molt_manifest_t* m;
  cJSON* root;
  int rc;

  molt__jsonpath_init(&c.path, err, errlen);
  if (!text || !out) return molt__errmsg_set(err, errlen, MOLT_EINVAL, "no manifest text");
  /* XXX(manifest): cJSON returns NULL for a failed allocation as for bad
   * text, so out of memory inside it is reported as malformed JSON. */
  root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (!root) return syntax_error(&c, text, end ? end : text, "");
  /* cJSON stops after the first value; anything but whitespace after it
   * means the text is not one JSON document. */
  while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
  if (end < text + len) {
    rc = syntax_error(&c, text, end, ": unexpected text after the end");
    goto fail_json;
  }
  /* A "\u0000" in a name, version or file path would reach us as a string
   * cut short there ("a.so\u0000b" names a.so), and keys that differ only
   * after one would look like duplicates: refused first, with its path. */
  if ((rc = molt__json_text_refuse_nul(text, len, MOLT_EMANIFEST, err, errlen))) goto fail_json;
  if ((rc = molt__jsonpath_dupkeys(&c.path, root))) goto fail_json;
  m = molt__calloc(1, sizeof *m);
  if (!m) {
    rc = molt__jsonpath_nomem(&c.path);
    goto fail_json;
  }
  if ((rc = root_convert(&c, root, m))) goto fail_convert;
  molt__free(c.modnames);
  cJSON_Delete(root);
  *out = m;
  return 0;

fail_convert:
  molt__manifest_free(m);
fail_json:
  molt__free(c.modnames);
  cJSON_Delete(root);
  return rc;
}

const molt_manifest_module_t* molt__manifest_module(const molt_manifest_t* m, const char* name) {
  size_t i;

  for (i = 0; m && name && i < m->nmodules; i++)
    if (strcmp(m->modules[i].name, name) == 0) return &m->modules[i];
  return NULL;
}

static void sup_free(molt_sup_spec_t* s) {
  size_t i;

  if (!s) return;
  for (i = 0; i < s->nchildren; i++) {
    molt__free(s->children[i].id);
    molt__free(s->children[i].module);
    molt__free(s->children[i].args_json);
    sup_free(s->children[i].sup);
  }
  molt__free(s->children);
  molt__free(s->name);
  molt__free(s);
}

void molt__manifest_free(molt_manifest_t* m) {
  size_t i;

  if (!m) return;
  for (i = 0; i < m->nmodules; i++) {
    molt__free(m->modules[i].name);
    molt__free(m->modules[i].vsn);
    molt__free(m->modules[i].file);
  }
  molt__free(m->modules);
  sup_free(m->sup);
  molt__manifest_steps_free(m);
  molt__free(m->name);
  molt__free(m->version);
  molt__free(m);
}
