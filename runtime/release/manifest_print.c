/* manifest_print.c: a manifest written back as bundle-form JSON, every
 * default spelled out so a bundle says exactly what it runs. Not parsing,
 * and not where or how the text is stored. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "manifest.h"
#include "sha256.h"
#include "molt/errno.h"

static const char* const strategy_names[] = {"one_for_one", "one_for_all", "rest_for_one"};
static const char* const restart_names[] = {"permanent", "transient", "temporary"};

/* Adds item under key, or deletes it: a failed add leaves nothing behind
 * to leak. A NULL item (a failed create) counts as a failed add. */
static bool add(cJSON* obj, const char* key, cJSON* item) {
  if (item && cJSON_AddItemToObject(obj, key, item)) return true;
  cJSON_Delete(item);
  return false;
}

static bool add_u32(cJSON* obj, const char* key, uint32_t v) {
  return add(obj, key, cJSON_CreateNumber((double)v));
}

static cJSON* module_json(const molt_manifest_module_t* mod) {
  cJSON* o = cJSON_CreateObject();
  char hex[65];

  molt__sha256_hex(mod->sha256, hex);
  if (o && add(o, "name", cJSON_CreateString(mod->name)) &&
      add(o, "vsn", cJSON_CreateString(mod->vsn)) &&
      (!mod->has_state_vsn || add_u32(o, "state_vsn", mod->state_vsn)) &&
      (!mod->mailbox_alarm || add_u32(o, "mailbox_alarm", mod->mailbox_alarm)) &&
      add(o, "file", cJSON_CreateString(mod->file)) && add(o, "sha256", cJSON_CreateString(hex)))
    return o;
  cJSON_Delete(o);
  return NULL;
}

static cJSON* alarms_json(const molt_manifest_alarms_t* a) {
  cJSON* o = cJSON_CreateObject();
  if (o && add_u32(o, "mailbox", a->mailbox) && add_u32(o, "scheduler_busy_percent", a->scheduler_busy_percent) &&
      add_u32(o, "scheduler_busy_s", a->scheduler_busy_s) && add_u32(o, "memory_mb", a->memory_mb) &&
      add_u32(o, "actor_memory_mb", a->actor_memory_mb) && add_u32(o, "callback_s", a->callback_s))
    return o;
  cJSON_Delete(o);
  return NULL;
}

static cJSON* sup_json(const molt_sup_spec_t* s, int* rc);

/* args_json goes out as it came in, compact, as a raw value: parsing it
 * back into a tree only to print it again would be one more allocation
 * whose failure cJSON cannot tell apart from bad input. */
static cJSON* child_json(const molt_child_spec_t* ch, int* rc) {
  cJSON* o = cJSON_CreateObject();
  const char* args = ch->args_json ? ch->args_json : "{}";

  if (!o) return NULL;
  if ((unsigned)ch->restart > MOLT_TEMPORARY || (ch->module && args[0] != '{')) {
    *rc = MOLT_EINVAL;
    goto fail;
  }
  if (add(o, "id", cJSON_CreateString(ch->id)) &&
      (ch->module ? add(o, "module", cJSON_CreateString(ch->module))
                  : add(o, "supervisor", sup_json(ch->sup, rc))) &&
      add(o, "restart", cJSON_CreateString(restart_names[ch->restart])) &&
      add_u32(o, "shutdown_ms", ch->shutdown_ms) &&
      (!ch->module || (add_u32(o, "count", ch->count) && add(o, "args", cJSON_CreateRaw(args)))))
    return o;
fail:
  cJSON_Delete(o);
  return NULL;
}

static cJSON* sup_json(const molt_sup_spec_t* s, int* rc) {
  cJSON *o = cJSON_CreateObject(), *children = cJSON_CreateArray(), *ch;
  size_t i;

  if (!s || (unsigned)s->strategy > MOLT_REST_FOR_ONE) {
    *rc = MOLT_EINVAL;
    goto fail;
  }
  if (!o || !children || (s->name && !add(o, "name", cJSON_CreateString(s->name))) ||
      !add(o, "strategy", cJSON_CreateString(strategy_names[s->strategy])) ||
      !add_u32(o, "intensity", s->intensity) || !add_u32(o, "period_ms", s->period_ms))
    goto fail;
  for (i = 0; i < s->nchildren; i++) {
    ch = child_json(&s->children[i], rc);
    if (!ch || !cJSON_AddItemToArray(children, ch)) {
      cJSON_Delete(ch);
      goto fail;
    }
  }
  if (add(o, "children", children)) return o;
  children = NULL; /* add deleted it */
fail:
  cJSON_Delete(children);
  cJSON_Delete(o);
  return NULL;
}

static cJSON* step_json(const molt_manifest_step_t* st, int* rc) {
  cJSON* o;

  /* What the parser would refuse is refused here, so the text always
   * parses back. */
  if ((unsigned)st->op > MOLT_STEP_REMOVE || (st->extra && st->op != MOLT_STEP_UPDATE)) {
    *rc = MOLT_EINVAL;
    return NULL;
  }
  o = cJSON_CreateObject();
  if (o && add(o, "op", cJSON_CreateString(molt__manifest_op_name(st->op))) &&
      add(o, "module", cJSON_CreateString(st->module)) &&
      (!st->extra || add(o, "extra", cJSON_CreateString(st->extra))))
    return o;
  cJSON_Delete(o);
  return NULL;
}

/* {"from"/"to": vsn, "steps": [...]}, vkey naming the version. */
static cJSON* steps_json(const molt_manifest_steps_t* e, const char* vkey, int* rc) {
  cJSON *o = cJSON_CreateObject(), *steps = cJSON_CreateArray(), *st;
  size_t i;

  if (!o || !steps || !add(o, vkey, cJSON_CreateString(e->vsn))) goto fail;
  for (i = 0; i < e->nsteps; i++) {
    st = step_json(&e->steps[i], rc);
    if (!st || !cJSON_AddItemToArray(steps, st)) {
      cJSON_Delete(st);
      goto fail;
    }
  }
  if (add(o, "steps", steps)) return o;
  steps = NULL; /* add deleted it */
fail:
  cJSON_Delete(steps);
  cJSON_Delete(o);
  return NULL;
}

/* An empty list reads back the same as none, so only a non-empty one is
 * written. */
static bool add_steps(cJSON* o, const char* key, const char* vkey,
                      const molt_manifest_steps_t* list, size_t n, int* rc) {
  cJSON *arr, *e;
  size_t i;

  if (n == 0) return true;
  arr = cJSON_CreateArray();
  for (i = 0; arr && i < n; i++) {
    e = steps_json(&list[i], vkey, rc);
    if (!e || !cJSON_AddItemToArray(arr, e)) {
      cJSON_Delete(e);
      cJSON_Delete(arr);
      return false;
    }
  }
  return add(o, key, arr);
}

static cJSON* manifest_json(const molt_manifest_t* m, int* rc) {
  cJSON *o = cJSON_CreateObject(), *mods = cJSON_CreateArray(), *mod;
  size_t i;

  if (!o || !mods || !add(o, "name", cJSON_CreateString(m->name)) ||
      !add(o, "version", cJSON_CreateString(m->version)))
    goto fail;
  for (i = 0; i < m->nmodules; i++) {
    mod = module_json(&m->modules[i]);
    if (!mod || !cJSON_AddItemToArray(mods, mod)) {
      cJSON_Delete(mod);
      goto fail;
    }
  }
  if (!add(o, "modules", mods)) {
    mods = NULL; /* add deleted it */
    goto fail;
  }
  mods = NULL; /* owned by o now */
  if ((!m->has_alarms || add(o, "alarms", alarms_json(&m->alarms))) &&
      (!m->sup || add(o, "supervisor", sup_json(m->sup, rc))) &&
      add_steps(o, "upgrade", "from", m->upgrade, m->nupgrade, rc) &&
      add_steps(o, "downgrade", "to", m->downgrade, m->ndowngrade, rc))
    return o;
fail:
  cJSON_Delete(mods);
  cJSON_Delete(o);
  return NULL;
}

int molt__manifest_print(const molt_manifest_t* m, char** out) {
  int rc = MOLT_ENOMEM;
  size_t i, len;
  cJSON* root;
  char *text, *copy;

  for (i = 0; i < m->nmodules; i++)
    if (!m->modules[i].has_sha256) return MOLT_EINVAL;
  root = manifest_json(m, &rc);
  if (!root) return rc;
  text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text) return MOLT_ENOMEM;
  /* Copied to be given the final newline a text file should have. */
  len = strlen(text);
  copy = molt__alloc(len + 2);
  if (copy) {
    memcpy(copy, text, len);
    copy[len] = '\n';
    copy[len + 1] = '\0';
  }
  cJSON_free(text);
  if (!copy) return MOLT_ENOMEM;
  *out = copy;
  return 0;
}
