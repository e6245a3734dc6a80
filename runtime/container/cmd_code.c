/* cmd_code.c: the code commands: `load` (one module version, as a
 * transaction: a soft load, or code_change when the state layout changed)
 * and `purge` (empty a module's old slot, or with --unload take the module
 * out whole). Not release upgrades. */
#include <stdio.h>
#include <string.h>

#include "code_load.h"
#include "code_server.h"
#include "commands.h"
#include "errmsg.h"
#include "runtime.h"
#include "upgrade.h"

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static cJSON* load_result(const molt_version_t* v, const molt_load_result_t* r) {
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "module", v->name);
  if (r->is_new) {
    cJSON_AddNullToObject(o, "from");
  } else {
    cJSON_AddStringToObject(o, "from", r->from);
    cJSON_AddStringToObject(o, "from_label", r->from);
    cJSON_AddNumberToObject(o, "from_revision", r->from_revision);
  }
  cJSON_AddStringToObject(o, "to", v->vsn);
  cJSON_AddStringToObject(o, "to_label", v->label);
  cJSON_AddNumberToObject(o, "revision", v->revision);
  cJSON_AddStringToObject(o, "mode", molt__load_mode(r));
  cJSON_AddStringToObject(o, "direction", r->dir == MOLT_DOWN ? "down" : "up");
  cJSON_AddNumberToObject(o, "actors", (double)r->stats.actors);
  cJSON_AddNumberToObject(o, "pause_ms", ms(r->stats.pause_ns));
  cJSON_AddNumberToObject(o, "total_ms", ms(r->stats.total_ns));
  if (r->rehearsed) {
    cJSON_AddNumberToObject(o, "rehearsal_ms", ms(r->rehearsal.total_ns));
    cJSON_AddNumberToObject(o, "rehearsal_pause_ms", ms(r->rehearsal.pause_ns));
  }
  return o;
}

/* Without --down a changed layout goes up: the loaded version's
 * code_change converts each state from the running layout. For an older
 * layout that asks old code to read a state from its future; at best it
 * fails naming code_change (or its absence), not the missing --down. So an
 * older layout without --down is refused before anything runs, saying what
 * --down does, and a newer one with --down likewise. The caller's
 * transaction (molt__upgrade_begin) keeps the running version from
 * changing meanwhile. */
static int refuse_layout_down(const molt_version_t* v, bool down, char* err, size_t errlen) {
  molt_version_t* cur = molt__code_get_current(v->name);
  int rc = 0;
  if (cur && !down && v->state_vsn < cur->state_vsn)
    rc = molt__errmsg_set(err, errlen, MOLT_EUPGRADE,
                          "%s %s has state layout %u, older than the running %s's %u: loading it would "
                          "take the state down; use --down",
                          v->name, v->vsn, (unsigned)v->state_vsn, cur->label, (unsigned)cur->state_vsn);
  /* The mirror case: --down asks the running code to convert its state
   * into a layout it has never seen. */
  else if (cur && down && v->state_vsn > cur->state_vsn)
    rc = molt__errmsg_set(err, errlen, MOLT_EUPGRADE,
                          "%s %s has state layout %u, newer than the running %s's %u: --down would take the "
                          "state up; load it without --down",
                          v->name, v->vsn, (unsigned)v->state_vsn, cur->label, (unsigned)cur->state_vsn);
  if (cur) molt__version_unref(cur);
  return rc;
}

static void load_work(molt_job_t* j) {
  const cJSON* f = cJSON_GetObjectItemCaseSensitive(j->args, "file");
  const cJSON* x = cJSON_GetObjectItemCaseSensitive(j->args, "extra");
  bool down = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->args, "down"));
  if (!molt__upgrade_begin()) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EBUSY, "another load or upgrade is in progress");
    return;
  }
  molt_version_t* v = NULL;
  uint64_t t0 = molt__now_ns();
  j->rc = molt__code_prepare(f->valuestring, NULL, &v, j->err, sizeof(j->err));
  if (j->rc == 0) {
    molt_load_result_t r;
    j->rc = refuse_layout_down(v, down, j->err, sizeof(j->err));
    if (j->rc == 0)
      j->rc = molt__code_load_prepared(v, down, cJSON_IsString(x) ? x->valuestring : NULL,
                                       !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j->args, "rehearse")), t0, &r, j->err,
                                       sizeof(j->err));
    if (j->rc == 0) j->result = load_result(v, &r);
    molt__version_unref(v);
  }
  molt__upgrade_end();
}

void molt__cmd_load(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (!molt__cmd_arg_str(req, args, "file")) return;
  molt__commands_job(req, st, args, load_work);
}

typedef struct {
  const char* name;
  char current[sizeof(((molt_version_t*)0)->label)], old[128];
  bool known;
} slots_ctx;

static void find_slots(const char* name, molt_version_t* cur, molt_version_t* old, void* arg) {
  slots_ctx* o = arg;
  if (strcmp(name, o->name) != 0) return;
  o->known = true;
  if (cur) snprintf(o->current, sizeof(o->current), "%s", cur->label);
  if (old) snprintf(o->old, sizeof(o->old), "%s", old->vsn);
}

static void add_vsn_or_null(cJSON* o, const char* key, const char* vsn) {
  if (*vsn)
    cJSON_AddStringToObject(o, key, vsn);
  else
    cJSON_AddNullToObject(o, key);
}

/* `purge --unload`: the module goes whole, but never from under a release
 * that lists it (its supervisor would restart a child into no code) nor
 * from under actors (the code server refuses). The job's transaction
 * keeps loads and upgrades out meanwhile. */
static int unload(molt_job_t* j, const char* name) {
  pthread_mutex_lock(&j->st->lock);
  const molt_manifest_t* m = j->st->manifest;
  int rc = 0;
  if (molt__manifest_module(m, name))
    rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EBUSY,
                          "%s: the running release %s %s lists it; a release without it removes it", name,
                          m->name, m->version);
  pthread_mutex_unlock(&j->st->lock);
  return rc ? rc : molt__code_unload(name, j->err, sizeof(j->err));
}

static void purge_work(molt_job_t* j) {
  const char* name = cJSON_GetObjectItemCaseSensitive(j->args, "module")->valuestring;
  bool hard = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->args, "hard"));
  if (!molt__upgrade_begin()) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EBUSY, "a load or upgrade is in progress");
    return;
  }
  bool whole = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->args, "unload"));
  slots_ctx o = {.name = name};
  molt__code_foreach(find_slots, &o);
  j->rc = whole ? unload(j, name) : molt__code_purge(name, hard, j->err, sizeof(j->err));
  if (j->rc == 0) {
    j->result = cJSON_CreateObject();
    cJSON_AddStringToObject(j->result, "module", name);
    if (whole) add_vsn_or_null(j->result, "unloaded", o.current);
    add_vsn_or_null(j->result, "purged", o.old);
  }
  molt__upgrade_end();
}

void molt__cmd_purge(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (!molt__cmd_arg_str(req, args, "module")) return;
  molt__commands_job(req, st, args, purge_work);
}
