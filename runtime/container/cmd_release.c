/* cmd_release.c: the release commands: unpack a bundle into the home's
 * store, list the releases, remove one, upgrade or downgrade to one as a transaction,
 * commit the current release, roll back to the previous permanent one.
 * The store is changed only by jobs, one at a time (molt__upgrade_begin);
 * it holds the container's lock (its guard) only while its memory changes,
 * so `releases` and `status` read it whole and never wait for a bundle's
 * copy or a disk's fsync. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "crash.h"
#include "errmsg.h"
#include "log.h"
#include "notify.h"
#include "release_handler.h"
#include "release_json.h"
#include "upgrade.h"
#include "upgrade_window.h"

static bool begin(molt_job_t* j) {
  if (molt__upgrade_begin()) return true;
  j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EBUSY,
                           "another upgrade, rollback, load, unpack or remove is in progress");
  return false;
}

/* A store change that is made but whose record may not survive a power
 * loss (MOLT_STORE_NOT_DURABLE) is a success: the reply is the change,
 * with the store's reason as its "warning", and the log says it too. */
static void warn_if_not_durable(molt_job_t* j) {
  if (j->rc != MOLT_STORE_NOT_DURABLE) return;
  molt__log_warn("warning: %s", j->err);
  if (j->result) cJSON_AddStringToObject(j->result, "warning", j->err);
  j->rc = 0;
}

/* After a failed store change: the reason, then what is in force. */
static void add_note(molt_job_t* j, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(molt_job_t* j, const char* fmt, ...) {
  char why[sizeof(j->err)], note[512];
  va_list ap;

  memcpy(why, j->err, strlen(j->err) + 1);
  va_start(ap, fmt);
  vsnprintf(note, sizeof(note), fmt, ap);
  va_end(ap);
  molt__errmsg_set(j->err, sizeof(j->err), j->rc, "%s (%s)", why, note);
}

/* What boots next: the permanent release, as the file holds it. */
static const char* next_boot(const molt_store_t* s) {
  const molt_release_t* p = molt__store_permanent(s);
  return p ? p->vsn : "no release";
}

static void unpack_work(molt_job_t* j) {
  if (!begin(j)) return;
  const char* bundle = cJSON_GetObjectItemCaseSensitive(j->args, "bundle")->valuestring;
  molt_release_t* r = NULL;
  /* Not under the container's lock: the store takes it (its guard) only
   * while its memory changes, so `releases` and `status` answer while the
   * bundle is verified and copied. Jobs are the store's only writers, one
   * at a time, so this thread reads it unlocked. */
  j->rc = molt__store_unpack(j->st->store, bundle, &r, j->err, sizeof(j->err));
  if (j->rc >= 0) j->result = molt__release_json(j->st->store, r, true);
  warn_if_not_durable(j);
  molt__upgrade_end();
}

void molt__cmd_unpack(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (molt__cmd_arg_str(req, args, "bundle")) molt__commands_job(req, st, args, unpack_work);
}

void molt__cmd_releases(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  pthread_mutex_lock(&st->lock);
  cJSON* arr = molt__releases_json(st->store, true);
  pthread_mutex_unlock(&st->lock);
  molt__control_reply(req, arr);
}

/* A job like unpack: the store changes only in one job at a time, and
 * the release to remove may be the one an upgrade is planning from. The
 * store refuses the running release, so what runs keeps its bundle. */
static void remove_work(molt_job_t* j) {
  if (!begin(j)) return;
  const char* vsn = cJSON_GetObjectItemCaseSensitive(j->args, "version")->valuestring;
  j->rc = molt__release_remove_json(j->st->store, vsn, &j->result, j->err, sizeof(j->err));
  warn_if_not_durable(j);
  molt__upgrade_end();
}

void molt__cmd_remove(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (molt__cmd_arg_str(req, args, "version")) molt__commands_job(req, st, args, remove_work);
}

static void add_vsn(cJSON* o, const char* key, const char* vsn) {
  if (vsn)
    cJSON_AddStringToObject(o, key, vsn);
  else
    cJSON_AddNullToObject(o, key);
}

/* One step as data, read in the direction of travel as the plan text is:
 * from is null for an add, to for a remove; hop_from and hop_to name the
 * releases of its hop, since a chain (1.0.0 -> 1.1.0 -> 2.0.0) may change
 * a module in more than one hop. */
static cJSON* step_json(const molt_plan_t* plan, const molt_plan_hop_t* hop, const molt_plan_step_t* s) {
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "op", molt__manifest_op_name(s->op));
  cJSON_AddStringToObject(o, "module", s->module);
  add_vsn(o, "from", s->from_vsn);
  add_vsn(o, "to", s->to_vsn);
  if (s->op == MOLT_STEP_UPDATE)
    cJSON_AddStringToObject(o, "code_change", plan->dir == MOLT_PLAN_DOWN ? "down" : "up");
  if (s->op == MOLT_STEP_UPDATE || s->op == MOLT_STEP_SOFT) {
    cJSON_AddNumberToObject(o, "from_state_vsn", s->from_state_vsn);
    cJSON_AddNumberToObject(o, "to_state_vsn", s->to_state_vsn);
  }
  if (s->extra) cJSON_AddStringToObject(o, "extra", s->extra);
  cJSON_AddStringToObject(o, "hop_from", hop->from->version);
  cJSON_AddStringToObject(o, "hop_to", hop->to->version);
  return o;
}

static cJSON* steps_json(const molt_plan_t* plan) {
  cJSON* arr = cJSON_CreateArray();
  for (size_t h = 0; plan && h < plan->nhops; h++)
    for (size_t k = 0; k < plan->hops[h].nsteps; k++)
      cJSON_AddItemToArray(arr, step_json(plan, &plan->hops[h], &plan->hops[h].steps[k]));
  return arr;
}

/* The plan twice: "steps" for programs, "plan" (its text, one step a
 * line) for people and for the scripts that already read it. */
static cJSON* change_json(const molt_release_change_t* c, const char* state) {
  cJSON* r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "from", c->from ? c->from : "");
  cJSON_AddStringToObject(r, "to", c->to ? c->to : "");
  cJSON_AddNumberToObject(r, "hops", (double)c->hops);
  cJSON_AddItemToObject(r, "steps", steps_json(c->plan));
  cJSON_AddStringToObject(r, "plan", c->plan_text ? c->plan_text : "");
  if (state) {
    cJSON_AddStringToObject(r, "state", state);
    cJSON_AddNumberToObject(r, "actors", (double)c->actors);
    cJSON_AddNumberToObject(r, "pause_ms", c->pause_ms);
    cJSON_AddNumberToObject(r, "total_ms", c->total_ms);
  }
  return r;
}

static void watch_window(molt_job_t* j, const molt_release_change_t* c, molt_window_t* w);

/* Move to vsn; then record it: as a rollback, or as installed; then, with
 * a window, watch it (watch_window). */
static void move_to(molt_job_t* j, const char* vsn, bool check, bool rollback, molt_window_t* w) {
  molt_container_state_t* st = j->st;
  molt_release_change_t c;
  bool rehearse = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j->args, "rehearse"));
  j->rc = molt__release_move(st->store, vsn, st->root, check, rehearse, &c, j->err, sizeof(j->err));
  if (j->rc == 0 && !check) {
    j->rc = rollback ? molt__store_rollback(st->store, vsn, j->err, sizeof(j->err))
                     : molt__store_set_installed(st->store, vsn, j->err, sizeof(j->err));
    molt_release_t* now = molt__store_find(st->store, vsn);
    pthread_mutex_lock(&st->lock);
    st->manifest = now->manifest;
    pthread_mutex_unlock(&st->lock);
    const char* boots = next_boot(st->store);
    /* The code runs the new release but the file could not say so (the
     * store's error came before its rename): boot would run the permanent
     * one. Say exactly that, after the reason. */
    if (j->rc < 0)
      add_note(j, "the container now runs %s; the releases file was not updated, so the next boot runs %s", vsn,
               boots);
  }
  if (j->rc >= 0) j->result = change_json(&c, check ? NULL : molt__rel_state_name(molt__store_find(st->store, vsn)->state));
  if (j->rc >= 0 && !check)
    molt__notify_release(st->manifest->name, vsn, rollback ? "rolled back" : "upgraded, not committed");
  warn_if_not_durable(j);
  if (j->rc == 0 && !check && w) watch_window(j, &c, w);
  free(c.plan_text);
  molt__plan_free(c.plan);
}

static double arg_num(const cJSON* args, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(args, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The window passed: the upgrade stays (and, asked to, is committed). */
static void window_passed(molt_job_t* j, uint64_t ms) {
  cJSON* win = cJSON_AddObjectToObject(j->result, "window");
  cJSON_AddNumberToObject(win, "ms", (double)ms);
  cJSON_AddNumberToObject(win, "crashes", 0);
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->args, "commit"))) return;
  molt_release_t* cur = molt__store_running(j->st->store);
  j->rc = molt__store_commit(j->st->store, j->err, sizeof(j->err));
  if (j->rc < 0) {
    add_note(j, "the window passed, but %s is not committed: it is still current, and the next boot runs %s",
             cur->vsn, next_boot(j->st->store));
    cJSON_Delete(j->result);
    j->result = NULL;
    return;
  }
  cJSON_ReplaceItemInObject(j->result, "state", cJSON_CreateString(molt__rel_state_name(cur->state)));
  cJSON_AddBoolToObject(win, "committed", true);
  warn_if_not_durable(j);
}

/* After the switch, count the changed modules' crashes for the window:
 * more than allowed undo the upgrade (back to the permanent release,
 * through code_change down, as `molt rollback` would) and the reply is
 * the failure, naming the first crash. */
static void watch_window(molt_job_t* j, const molt_release_change_t* c, molt_window_t* w) {
  uint64_t ms = (uint64_t)arg_num(j->args, "window_ms");
  unsigned max = (unsigned)arg_num(j->args, "max_restarts");
  char why[512] = "";
  molt__window_count(w, c->plan);
  if (!molt__window_wait(w, ms, max, why, sizeof(why))) {
    window_passed(j, ms);
    return;
  }
  molt__log_warn("upgrade to %s: %s; rolling back", c->to, why);
  molt_release_t* back = molt__store_permanent(j->st->store);
  molt_job_t undo = {.st = j->st};
  if (back)
    move_to(&undo, back->vsn, false, true, NULL);
  else
    undo.rc = molt__errmsg_set(undo.err, sizeof(undo.err), MOLT_ENORELEASE, "no permanent release");
  cJSON_Delete(undo.result);
  cJSON_Delete(j->result);
  j->result = NULL;
  if (undo.rc == 0)
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EUPGRADE, "upgrade to %s rolled back to %s: %s", c->to,
                             back->vsn, why);
  else
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EUPGRADE, "upgrade to %s: %s; rolling back failed: %s",
                             c->to, why, undo.err);
}

static void upgrade_work(molt_job_t* j) {
  if (!begin(j)) return;
  const char* vsn = cJSON_GetObjectItemCaseSensitive(j->args, "version")->valuestring;
  bool check = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j->args, "check"));
  /* Opened before the switch: a child may crash the moment it runs the
   * new code. */
  molt_window_t w;
  bool watched = !check && arg_num(j->args, "window_ms") > 0;
  if (watched) molt__window_open(&w);
  move_to(j, vsn, check, false, watched ? &w : NULL);
  if (watched) molt__window_close(&w);
  molt__upgrade_end();
}

void molt__cmd_upgrade(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (molt__cmd_arg_str(req, args, "version")) molt__commands_job(req, st, args, upgrade_work);
}

static void rollback_work(molt_job_t* j) {
  if (!begin(j)) return;
  molt_release_t* target = molt__store_rollback_target(j->st->store);
  if (!target) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ENORELEASE,
                             "nothing to roll back to: no earlier permanent release");
  } else {
    move_to(j, target->vsn, false, true, NULL);
  }
  molt__upgrade_end();
}

void molt__cmd_rollback(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  molt__commands_job(req, st, args, rollback_work);
}

static void commit_work(molt_job_t* j) {
  if (!begin(j)) return;
  molt_release_t* cur = molt__store_running(j->st->store);
  j->rc = molt__store_commit(j->st->store, j->err, sizeof(j->err));
  if (j->rc >= 0) j->result = molt__release_json(j->st->store, cur, true);
  if (j->rc >= 0) molt__crash_retire(j->st->home); /* a crash before a commit is history */
  if (j->rc >= 0 && cur) molt__notify_release(cur->manifest->name, cur->vsn, "committed");
  if (j->rc < 0 && cur && cur->state == MOLT_REL_CURRENT)
    add_note(j, "not committed: %s is still current, and the next boot runs %s", cur->vsn, next_boot(j->st->store));
  warn_if_not_durable(j);
  molt__upgrade_end();
}

void molt__cmd_commit(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  molt__commands_job(req, st, args, commit_work);
}
