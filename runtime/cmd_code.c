/* cmd_code.c: the code commands: `load` (one module version, as a
 * transaction: a soft load, or code_change when the state layout changed)
 * and `purge` (empty a module's old slot). Not release upgrades. */
#include <stdio.h>
#include <string.h>

#include "code_server.h"
#include "commands.h"
#include "runtime.h"
#include "upgrade.h"

#define LOAD_TIMEOUT_MS 5000

static double ms(uint64_t ns) { return (double)ns / 1e6; }

static cJSON* load_result(molt_version_t* v, molt_version_t* cur, bool migrate, molt_direction_t dir,
                          const molt_upgrade_stats_t* s) {
  cJSON* r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "module", v->name);
  if (cur) {
    cJSON_AddStringToObject(r, "from", cur->vsn);
    cJSON_AddNumberToObject(r, "from_revision", cur->revision);
  } else {
    cJSON_AddNullToObject(r, "from");
  }
  cJSON_AddStringToObject(r, "to", v->vsn);
  cJSON_AddNumberToObject(r, "revision", v->revision);
  cJSON_AddStringToObject(r, "mode", !cur ? "new" : migrate ? "code_change" : "soft");
  cJSON_AddStringToObject(r, "direction", dir == MOLT_DOWN ? "down" : "up");
  cJSON_AddNumberToObject(r, "actors", s ? (double)s->actors : 0);
  cJSON_AddNumberToObject(r, "pause_ms", s ? ms(s->pause_ns) : 0);
  cJSON_AddNumberToObject(r, "total_ms", s ? ms(s->total_ns) : 0);
  return r;
}

static void load_work(molt_job_t* j) {
  const cJSON* f = cJSON_GetObjectItemCaseSensitive(j->args, "file");
  const cJSON* x = cJSON_GetObjectItemCaseSensitive(j->args, "extra");
  const char* extra = cJSON_IsString(x) ? x->valuestring : NULL;
  if (!molt__upgrade_begin()) {
    j->rc = MOLT_EBUSY;
    snprintf(j->err, sizeof(j->err), "another load or upgrade is in progress");
    return;
  }
  molt_version_t *v = NULL, *cur = NULL;
  uint64_t t0 = molt__now_ns();
  j->rc = molt__code_prepare(f->valuestring, NULL, &v, j->err, sizeof(j->err));
  if (j->rc) goto out;
  cur = molt__code_get_current(v->name);
  if (!cur) {
    j->rc = molt__code_install_set(&v, 1, j->err, sizeof(j->err));
    if (j->rc == 0) {
      molt_upgrade_stats_t s = {.total_ns = molt__now_ns() - t0};
      j->result = load_result(v, NULL, false, MOLT_UP, &s);
    }
    goto out;
  }
  /* Down: the running (newer) version's code_change turns each state back
   * into the layout of the version being loaded, as OTP's {down, Vsn}. */
  bool down = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->args, "down"));
  molt_hop_t hop = {v, v->state_vsn != cur->state_vsn, down ? MOLT_DOWN : MOLT_UP, extra};
  molt_change_t change = {v->name, &hop, 1};
  molt_upgrade_stats_t s;
  j->rc = molt__upgrade_apply(&change, 1, LOAD_TIMEOUT_MS, &s, j->err, sizeof(j->err));
  if (j->rc == 0) {
    s.total_ns = molt__now_ns() - t0; /* include the file's checks and dlopen */
    j->result = load_result(v, cur, hop.migrate, hop.dir, &s);
  }
out:
  if (v) molt__version_unref(v);
  if (cur) molt__version_unref(cur);
  molt__upgrade_end();
}

void molt__cmd_load(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (!molt__cmd_arg_str(req, args, "file")) return;
  molt__commands_job(req, st, args, load_work);
}

typedef struct {
  const char* name;
  char old[128];
  bool known;
} old_ctx;

static void find_old(const char* name, molt_version_t* cur, molt_version_t* old, void* arg) {
  old_ctx* o = arg;
  if (strcmp(name, o->name) != 0) return;
  o->known = true;
  if (old) snprintf(o->old, sizeof(o->old), "%s", old->vsn);
}

static void purge_work(molt_job_t* j) {
  const char* name = cJSON_GetObjectItemCaseSensitive(j->args, "module")->valuestring;
  bool hard = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->args, "hard"));
  if (!molt__upgrade_begin()) {
    j->rc = MOLT_EBUSY;
    snprintf(j->err, sizeof(j->err), "a load or upgrade is in progress");
    return;
  }
  old_ctx o = {.name = name};
  molt__code_foreach(find_old, &o);
  j->rc = molt__code_purge(name, hard, j->err, sizeof(j->err));
  if (j->rc == 0) {
    j->result = cJSON_CreateObject();
    cJSON_AddStringToObject(j->result, "module", name);
    if (*o.old)
      cJSON_AddStringToObject(j->result, "purged", o.old);
    else
      cJSON_AddNullToObject(j->result, "purged");
  }
  molt__upgrade_end();
}

void molt__cmd_purge(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (!molt__cmd_arg_str(req, args, "module")) return;
  molt__commands_job(req, st, args, purge_work);
}
