/* cmd_actors.c: the actor commands: `ps` lists actors, `inspect` shows one
 * actor and its state (format_state). Each reads an actor only on its own
 * scheduler: ps through a task per scheduler, inspect through a call
 * message the actor runs between two of its messages; each on a job's
 * thread, with a deadline, so that no busy actor wedges the control
 * plane. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "alloc.h"
#include "callsite.h"
#include "commands.h"
#include "errmsg.h"
#include "link.h"
#include "message.h"
#include "runtime.h"
#include "sched.h"
#include "timed_call.h"

#define PS_DEFAULT_LIMIT 1000
/* How long ps waits for each scheduler to begin its scan. A scheduler
 * reaches its tasks within about one handler call (actor/ticker.c); one
 * that does not is running a handler that has not returned for this long,
 * and ps answers without its actors rather than wedge the control plane. */
#define PS_SCHED_TIMEOUT_MS 500
/* How long inspect waits for the actor's turn. */
#define INSPECT_TIMEOUT_MS 1000

static const char* status_name(uint8_t st) {
  switch (st) {
    case MOLT__RUNNING: return "running";
    case MOLT__SUSPENDED: return "suspended";
    case MOLT__INIT: return "init";
    case MOLT__EXITING: return "exiting";
  }
  return "free";
}

/* The fields ps and inspect share. On a's scheduler. */
static cJSON* describe(molt_actor_t* a) {
  char pid[24];
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "pid", molt__pid_str(molt__actor_pid(a), pid, sizeof(pid)));
  cJSON_AddStringToObject(o, "module", a->version->name);
  cJSON_AddStringToObject(o, "vsn", a->version->vsn);
  cJSON_AddNumberToObject(o, "revision", a->version->revision);
  cJSON_AddStringToObject(o, "label", a->version->label);
  cJSON_AddStringToObject(o, "status", status_name(a->status));
  cJSON_AddNumberToObject(o, "messages", (double)a->handled);
  cJSON_AddNumberToObject(o, "scheduler", a->sched->id);
  if (a->ext && a->ext->name)
    cJSON_AddStringToObject(o, "name", a->ext->name);
  else
    cJSON_AddNullToObject(o, "name");
  return o;
}

typedef struct {
  cJSON* arr;
  const char* module;
  unsigned long total, limit;
} ps_ctx;

static void ps_one(molt_actor_t* a, void* arg) {
  ps_ctx* p = arg;
  uint8_t st = a->status;
  if (a->sched != molt__sched_current() || (st != MOLT__RUNNING && st != MOLT__SUSPENDED)) return;
  if (p->module && strcmp(a->version->name, p->module) != 0) return;
  if (p->total++ < p->limit) cJSON_AddItemToArray(p->arr, describe(a));
}

static void ps_sched(void* arg) { molt__actor_table_foreach(ps_one, arg); }

/* On a job's thread: waiting for the schedulers there leaves the control
 * thread free, so `molt status` answers while ps waits. */
static void ps_work(molt_job_t* j) {
  const cJSON* m = cJSON_GetObjectItemCaseSensitive(j->args, "module");
  const cJSON* l = cJSON_GetObjectItemCaseSensitive(j->args, "limit");
  ps_ctx p = {cJSON_CreateArray(), cJSON_IsString(m) ? m->valuestring : NULL, 0,
              cJSON_IsNumber(l) && l->valuedouble >= 0 ? (unsigned long)l->valuedouble : PS_DEFAULT_LIMIT};
  cJSON* busy = cJSON_CreateArray();
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if (molt__sched_call_within(&molt__rt.scheds[i], ps_sched, &p, PS_SCHED_TIMEOUT_MS) != 0)
      cJSON_AddItemToArray(busy, cJSON_CreateNumber(i));
  j->result = cJSON_CreateObject();
  cJSON_AddNumberToObject(j->result, "total", (double)p.total);
  cJSON_AddItemToObject(j->result, "actors", p.arr);
  /* Schedulers whose actors are missing: busy in one handler for longer
   * than PS_SCHED_TIMEOUT_MS (or out of memory). */
  cJSON_AddItemToObject(j->result, "busy_schedulers", busy);
}

void molt__cmd_ps(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  molt__commands_job(req, st, args, ps_work);
}

/* In the actor's own turn, between two of its messages; a is NULL if it is
 * gone. */
static void inspect_here(molt_actor_t* a, void* arg) {
  cJSON** result = arg;
  if (!a) return;
  cJSON* o = describe(a);
  cJSON_AddBoolToObject(o, "trap_exit", a->trap_exit);
  cJSON_AddNumberToObject(o, "links", a->ext ? a->ext->links.n : 0);
  cJSON_AddNumberToObject(o, "monitors", a->ext ? a->ext->monitors.n : 0);
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

static molt_pid_t parse_pid(const char* s) {
  unsigned idx, gen;
  char end;
  if (sscanf(s, "<%u.%u%c", &idx, &gen, &end) == 3 && end == '>') return MOLT__PID(idx, gen);
  if (sscanf(s, "%u.%u%c", &idx, &gen, &end) == 2) return MOLT__PID(idx, gen);
  return MOLT_PID_NONE;
}

/* The actor reads its own state in its turn, which a handler that does
 * not return, or a long mailbox, keeps from coming: past the deadline the
 * call is cancelled (it never runs later) and the reply says why. */
static void inspect_work(molt_job_t* j) {
  const char* who = cJSON_GetObjectItemCaseSensitive(j->args, "actor")->valuestring;
  char pid_text[24];
  molt_pid_t pid = parse_pid(who);
  if (pid == MOLT_PID_NONE) pid = molt_whereis(who);
  if (pid == MOLT_PID_NONE) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ESRCH, "no actor named or numbered \"%.64s\"", who);
    return;
  }
  molt__pid_str(pid, pid_text, sizeof(pid_text));
  j->rc = molt__actor_call_within(pid, inspect_here, &j->result, INSPECT_TIMEOUT_MS);
  if (j->rc == MOLT_ETIMEDOUT)
    molt__errmsg_set(j->err, sizeof(j->err), j->rc,
                     "actor %s is busy: it did not reach its turn within %u ms (a handler still running, or a "
                     "long mailbox); nothing was read",
                     pid_text, INSPECT_TIMEOUT_MS);
  else if (j->rc)
    molt__errmsg_set(j->err, sizeof(j->err), j->rc, "%s", molt_strerror(j->rc));
  else if (!j->result)
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ESRCH, "no actor %s", pid_text);
}

void molt__cmd_inspect(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  if (molt__cmd_arg_str(req, args, "actor")) molt__commands_job(req, st, args, inspect_work);
}
