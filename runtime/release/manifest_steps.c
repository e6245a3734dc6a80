/* manifest_steps.c: a manifest's explicit "upgrade" and "downgrade" lists,
 * checked as far as one manifest can check them. Not the planner that
 * pairs them with the other release (upgrade_plan.c). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "manifest_steps.h"
#include "molt/errno.h"

static const char* const up_keys[] = {"from", "steps", NULL};
static const char* const down_keys[] = {"to", "steps", NULL};
static const char* const step_keys[] = {"op", "module", "extra", NULL};
/* In the order of molt_step_op_t: the index read is the enum value. */
static const char* const op_names[] = {"update", "soft", "add", "remove", NULL};

typedef struct {
  molt_jsonpath_t* p;
  const molt_manifest_t* m; /* the carrier: the newer release of every hop it lists */
  bool down;
} lists_t;

const char* molt__manifest_op_name(molt_step_op_t op) {
  return (unsigned)op <= MOLT_STEP_REMOVE ? op_names[op] : "?";
}

static int copy_str(molt_jsonpath_t* p, const char* s, char** dst) {
  *dst = molt__strdup(s);
  return *dst ? 0 : molt__jsonpath_nomem(p);
}

/* Where a step's module must be, for the manifest carrying the list:
 *
 *   op       in "upgrade" (older -> this)    in "downgrade" (this -> older)
 *   update   here (and in the older)         here (and in the older)
 *   soft     here (and in the older)         here (and in the older)
 *   add      here only                       in the older only
 *   remove   in the older only               here only
 *
 * So an op whose module must be here is refused when it is not, and an op
 * whose module only the older release has is refused when this one has
 * it. The older release's side cannot be checked until both manifests are
 * in hand; the planner does that. */
static bool belongs_here(molt_step_op_t op, bool down) {
  if (op == MOLT_STEP_ADD) return !down;
  if (op == MOLT_STEP_REMOVE) return down;
  return true;
}

static int step_convert(void* ctx, const cJSON* obj, void* item) {
  lists_t* c = ctx;
  molt_jsonpath_t* p = c->p;
  molt_manifest_step_t* st = item;
  const char *opname, *module, *extra;
  char quoted[80];
  bool here;
  int op, rc;

  if ((rc = molt__jsonpath_expect(p, obj, cJSON_Object)) ||
      (rc = molt__jsonpath_keys(p, obj, step_keys)) ||
      (rc = molt__jsonpath_string(p, obj, "op", true, &opname)) ||
      (rc = molt__jsonpath_enum(p, obj, "op", op_names, 0, &op)) ||
      (rc = molt__jsonpath_checked(p, obj, "module", true, molt__manifest_module_name_ok,
                                   "a module name of [a-z0-9_], 1 to 63 bytes", &module)) ||
      (rc = molt__jsonpath_string(p, obj, "extra", false, &extra)))
    return rc;
  st->op = (molt_step_op_t)op;
  if (extra && st->op != MOLT_STEP_UPDATE)
    return molt__jsonpath_fail_at(p, "extra", "only an update step takes extra");
  here = molt__manifest_module(c->m, module) != NULL;
  molt__jsonpath_quote(module, quoted, sizeof quoted);
  if (belongs_here(st->op, c->down) && !here)
    return molt__jsonpath_fail_at(
        p, "module", "unknown module %s; %s names a module of this release", quoted, opname);
  if (!belongs_here(st->op, c->down) && here)
    return molt__jsonpath_fail_at(p, "module",
                                  "%s is a module of this release; %s in a%s names one only the "
                                  "older release has",
                                  quoted, opname, c->down ? " downgrade" : "n upgrade");
  if ((rc = copy_str(p, module, &st->module))) return rc;
  return extra ? copy_str(p, extra, &st->extra) : 0;
}

/* A step list is a transaction's script: one module twice in it would
 * either repeat a load or contradict itself (add then remove). */
static int refuse_twice(molt_jsonpath_t* p, const molt_manifest_steps_t* e) {
  const char** names;
  size_t i;
  int rc;

  if (e->nsteps < 2) return 0;
  names = molt__alloc(e->nsteps * sizeof *names);
  if (!names) return molt__jsonpath_nomem(p);
  for (i = 0; i < e->nsteps; i++) names[i] = e->steps[i].module;
  rc = molt__jsonpath_refuse_dups(p, names, e->nsteps, "steps", "module", "module");
  molt__free(names);
  return rc;
}

static int entry_convert(void* ctx, const cJSON* obj, void* item) {
  lists_t* c = ctx;
  molt_jsonpath_t* p = c->p;
  molt_manifest_steps_t* e = item;
  const char* key = c->down ? "to" : "from";
  const cJSON* arr;
  const char* vsn;
  char quoted[80];
  void* steps = NULL;
  size_t n = 0;
  int rc;

  if ((rc = molt__jsonpath_expect(p, obj, cJSON_Object)) ||
      (rc = molt__jsonpath_keys(p, obj, c->down ? down_keys : up_keys)) ||
      (rc = molt__jsonpath_checked(p, obj, key, true, molt__manifest_version_ok,
                                   "a version of 1 to 63 bytes without '/' or whitespace", &vsn)))
    return rc;
  /* Both directions hang off the newer release, so the version named is
   * always the older one; anything else is a list in the wrong manifest. */
  if (molt__manifest_version_cmp(vsn, c->m->version) >= 0) {
    molt__jsonpath_quote(vsn, quoted, sizeof quoted);
    return molt__jsonpath_fail_at(p, key, "%s is not older than this release (%s)", quoted,
                                  c->m->version);
  }
  if ((rc = copy_str(p, vsn, &e->vsn)) ||
      (rc = molt__jsonpath_get(p, obj, "steps", cJSON_Array, true, &arr)))
    return rc;
  rc = molt__jsonpath_array(p, "steps", arr, sizeof *e->steps, step_convert, c, &steps, &n);
  e->steps = steps;
  e->nsteps = n;
  return rc ? rc : refuse_twice(p, e);
}

static int list_convert(lists_t* c, const cJSON* root, const char* key, molt_manifest_steps_t** out,
                        size_t* nout) {
  molt_jsonpath_t* p = c->p;
  const cJSON* arr;
  const char** vsns;
  void* items = NULL;
  size_t i, n = 0;
  int rc;

  if ((rc = molt__jsonpath_get(p, root, key, cJSON_Array, false, &arr)) || !arr) return rc;
  rc = molt__jsonpath_array(p, key, arr, sizeof **out, entry_convert, c, &items, &n);
  *out = items;
  *nout = n;
  if (rc || n < 2) return rc;
  vsns = molt__alloc(n * sizeof *vsns);
  if (!vsns) return molt__jsonpath_nomem(p);
  for (i = 0; i < n; i++) vsns[i] = (*out)[i].vsn;
  rc = molt__jsonpath_refuse_dups(p, vsns, n, key, c->down ? "to" : "from", "version");
  molt__free(vsns);
  return rc;
}

int molt__manifest_steps_convert(molt_jsonpath_t* p, const cJSON* root, molt_manifest_t* m) {
  lists_t up = {p, m, false}, down = {p, m, true};
  int rc;

  if ((rc = list_convert(&up, root, "upgrade", &m->upgrade, &m->nupgrade))) return rc;
  return list_convert(&down, root, "downgrade", &m->downgrade, &m->ndowngrade);
}

static void list_free(molt_manifest_steps_t* list, size_t n) {
  size_t i, j;

  for (i = 0; i < n; i++) {
    for (j = 0; j < list[i].nsteps; j++) {
      molt__free(list[i].steps[j].module);
      molt__free(list[i].steps[j].extra);
    }
    molt__free(list[i].steps);
    molt__free(list[i].vsn);
  }
  molt__free(list);
}

void molt__manifest_steps_free(molt_manifest_t* m) {
  list_free(m->upgrade, m->nupgrade);
  list_free(m->downgrade, m->ndowngrade);
}
