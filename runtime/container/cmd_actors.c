/* cmd_actors.c: the actor commands: `ps` lists actors with their vital
 * signs, `inspect` shows one actor, its links, monitors, timers and state
 * (format_state). Both read the runtime's figures from the job's thread
 * (actor/vitals.h, actor_rows.c) without waiting for any actor or
 * scheduler, so a handler that never returns hides nothing. Only what the
 * actor owns and changes in its callbacks (links, monitors, timers,
 * trap_exit and its state) is read in its own turn, through a call
 * message with a deadline: past it, inspect still answers with the
 * figures and says the rest could not be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "actor_rows.h"
#include "alloc.h"
#include "callsite.h"
#include "clock.h"
#include "commands.h"
#include "errmsg.h"
#include "link.h"
#include "message.h"
#include "runtime.h"
#include "sched.h"
#include "timed_call.h"
#include "timer.h"
#include "version.h"

#define PS_DEFAULT_LIMIT 1000
/* How long inspect waits for the actor's turn. */
#define INSPECT_TIMEOUT_MS 1000

typedef struct {
  molt_rows_t rows;
  const char* module;
  unsigned long total;
} ps_ctx;

static void ps_one(const molt_vitals_t* v, void* arg) {
  ps_ctx* p = arg;
  if (v->status == MOLT__EXITING) return;
  if (p->module && strcmp(v->version->name, p->module) != 0) return;
  p->total++;
  molt__rows_offer(&p->rows, v);
}

/* On a job's thread: a scan of a large table takes a while, and the
 * control thread keeps answering meanwhile. */
static void ps_work(molt_job_t* j) {
  const cJSON* m = cJSON_GetObjectItemCaseSensitive(j->args, "module");
  const cJSON* l = cJSON_GetObjectItemCaseSensitive(j->args, "limit");
  const cJSON* s = cJSON_GetObjectItemCaseSensitive(j->args, "sort");
  molt_rows_key_t key = MOLT_ROWS_TABLE;
  if (cJSON_IsString(s) && !molt__rows_key_parse(s->valuestring, &key)) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EINVAL,
                             "sort: \"%.32s\" is not one of mailbox, memory, time, messages", s->valuestring);
    return;
  }
  unsigned long limit = cJSON_IsNumber(l) && l->valuedouble >= 0 ? (unsigned long)l->valuedouble : PS_DEFAULT_LIMIT;
  if (limit > 1000000) limit = 1000000;
  ps_ctx p = {.module = cJSON_IsString(m) ? m->valuestring : NULL};
  if (molt__rows_init(&p.rows, key, (unsigned)limit)) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ENOMEM, "out of memory");
    return;
  }
  molt__actor_rows_scan(ps_one, &p);
  molt__rows_sort(&p.rows);
  cJSON* arr = cJSON_CreateArray();
  for (unsigned i = 0; i < p.rows.n; i++) cJSON_AddItemToArray(arr, molt__actor_row_json(&p.rows.rows[i]));
  molt__rows_close(&p.rows);
  j->result = cJSON_CreateObject();
  cJSON_AddNumberToObject(j->result, "total", (double)p.total);
  cJSON_AddStringToObject(j->result, "sort", molt__rows_key_name(key));
  cJSON_AddItemToObject(j->result, "actors", arr);
}

void molt__cmd_ps(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  molt__commands_job(req, st, args, ps_work);
}

static void pid_array(cJSON* o, const char* key, const molt_pid_set_t* set, bool with_ref) {
  cJSON* arr = cJSON_AddArrayToObject(o, key);
  for (uint32_t i = 0; set && i < set->n; i++) {
    char pid[24];
    molt__pid_str(set->v[i].pid, pid, sizeof(pid));
    if (!with_ref) {
      cJSON_AddItemToArray(arr, cJSON_CreateString(pid));
      continue;
    }
    cJSON* e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "pid", pid);
    cJSON_AddNumberToObject(e, "ref", (double)set->v[i].ref);
    cJSON_AddItemToArray(arr, e);
  }
}

static void add_timer(uint64_t ref, uint64_t due_ns, void* arg) {
  uint64_t now = molt__now_ns();
  cJSON* t = cJSON_CreateObject();
  cJSON_AddNumberToObject(t, "ref", (double)ref);
  cJSON_AddNumberToObject(t, "due_in_ms", due_ns > now ? (double)((due_ns - now) / 1000000) : 0);
  cJSON_AddItemToArray(arg, t);
}

/* In the actor's own turn, between two of its messages; a is NULL if it is
 * gone. What only the actor may read: its extension and its state. */
static void inspect_here(molt_actor_t* a, void* arg) {
  cJSON** result = arg;
  if (!a) return;
  cJSON* o = cJSON_CreateObject();
  cJSON_AddBoolToObject(o, "trap_exit", a->trap_exit);
  pid_array(o, "links", a->ext ? &a->ext->links : NULL, false);
  pid_array(o, "monitors", a->ext ? &a->ext->monitors : NULL, true);
  pid_array(o, "monitored_by", a->ext ? &a->ext->watchers : NULL, true);
  molt__timer_foreach(a, add_timer, cJSON_AddArrayToObject(o, "timers"));
  molt_callsite_t site = molt__callsite_enter(a, a->version, "format_state");
  char* text = a->version->format_state && a->state ? a->version->format_state(a->state) : NULL;
  molt__callsite_leave(site);
  cJSON* state = text ? cJSON_Parse(text) : NULL;
  if (state)
    cJSON_AddItemToObject(o, "state", state);
  else if (text)
    cJSON_AddStringToObject(o, "state", text);
  else
    cJSON_AddNullToObject(o, "state");
  molt_free(text);
  *result = o;
}

/* pid's figures as ps shows them, or NULL if it is not alive. */
static cJSON* figures_of(molt_pid_t pid) {
  molt_actor_t* a = molt__actor_slot(pid);
  if (!a) return NULL;
  cJSON* o = NULL;
  molt_vitals_t v;
  molt__version_readers_enter();
  if (molt__vitals_read(a, molt__now_ns(), &v) && v.pid == pid) {
    molt_rows_t one;
    if (molt__rows_init(&one, MOLT_ROWS_TABLE, 1) == 0) {
      molt__rows_offer(&one, &v);
      o = molt__actor_row_json(&one.rows[0]);
      molt__rows_close(&one);
    }
  }
  molt__version_readers_leave();
  return o;
}

/* The figures first, from the runtime; then the actor's own part in its
 * turn, which a handler that does not return, or a long mailbox, keeps
 * from coming: past the deadline the call is cancelled (it never runs
 * later) and the reply has the figures and state_error. */
static void inspect_work(molt_job_t* j) {
  const char* who = cJSON_GetObjectItemCaseSensitive(j->args, "actor")->valuestring;
  char pid_text[24];
  molt_pid_t pid = molt__pid_parse(who);
  if (pid == MOLT_PID_NONE) pid = molt_whereis(who);
  if (pid == MOLT_PID_NONE) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ESRCH, "no actor named or numbered \"%.64s\"", who);
    return;
  }
  molt__pid_str(pid, pid_text, sizeof(pid_text));
  cJSON* fig = figures_of(pid);
  if (!fig) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ESRCH, "no actor %s", pid_text);
    return;
  }
  cJSON* own = NULL;
  int rc = molt__actor_call_within(pid, inspect_here, &own, INSPECT_TIMEOUT_MS);
  if (rc == 0 && !own) {
    cJSON_Delete(fig);
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ESRCH, "no actor %s", pid_text);
    return;
  }
  if (own) {
    cJSON* item;
    while ((item = own->child) != NULL) {
      cJSON_DetachItemViaPointer(own, item);
      cJSON_AddItemToObject(fig, item->string, item);
    }
    cJSON_Delete(own);
    cJSON_AddNullToObject(fig, "state_error");
  } else {
    char why[256];
    if (rc == MOLT_ETIMEDOUT)
      snprintf(why, sizeof(why),
               "busy: it did not reach its turn within %u ms (a handler still running, or a long mailbox); "
               "links, monitors, timers and state were not read",
               INSPECT_TIMEOUT_MS);
    else
      snprintf(why, sizeof(why), "%s", molt_strerror(rc));
    cJSON_AddNullToObject(fig, "state");
    cJSON_AddStringToObject(fig, "state_error", why);
  }
  j->result = fig;
}

void molt__cmd_inspect(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (molt__cmd_arg_str(req, args, "actor")) molt__commands_job(req, st, args, inspect_work);
}
