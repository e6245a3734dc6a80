/* cmd_actors.c: the actor commands: `ps` lists actors, `inspect` shows one
 * actor and its state (format_state). Each reads an actor only on its own
 * scheduler: ps through a task per scheduler, inspect through a call
 * message the actor runs between two of its messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "alloc.h"
#include "commands.h"
#include "link.h"
#include "message.h"
#include "runtime.h"
#include "sched.h"

#define PS_DEFAULT_LIMIT 1000
/* How long ps waits for each scheduler to begin its scan. A scheduler
 * reaches its tasks within about one handler call (actor/ticker.c); one
 * that does not is running a handler that has not returned for this long,
 * and ps answers without its actors rather than wedge the control plane. */
#define PS_SCHED_TIMEOUT_MS 500

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

void molt__cmd_ps(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  const cJSON* m = cJSON_GetObjectItemCaseSensitive(args, "module");
  const cJSON* l = cJSON_GetObjectItemCaseSensitive(args, "limit");
  ps_ctx p = {cJSON_CreateArray(), cJSON_IsString(m) ? m->valuestring : NULL, 0,
              cJSON_IsNumber(l) && l->valuedouble >= 0 ? (unsigned long)l->valuedouble : PS_DEFAULT_LIMIT};
  cJSON* busy = cJSON_CreateArray();
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if (molt__sched_call_within(&molt__rt.scheds[i], ps_sched, &p, PS_SCHED_TIMEOUT_MS) != 0)
      cJSON_AddItemToArray(busy, cJSON_CreateNumber(i));
  cJSON* r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "total", (double)p.total);
  cJSON_AddItemToObject(r, "actors", p.arr);
  /* Schedulers whose actors are missing: busy in one handler for longer
   * than PS_SCHED_TIMEOUT_MS (or out of memory). */
  cJSON_AddItemToObject(r, "busy_schedulers", busy);
  molt__control_reply(req, r);
}

typedef struct {
  molt_control_req_t* req;
  molt_container_state_t* st;
  molt_pid_t pid;
  cJSON* result;
} inspect_ctx;

static void inspect_reply(void* arg) {
  inspect_ctx* c = arg;
  if (c->result) {
    molt__control_reply(c->req, c->result);
  } else {
    char pid[24], msg[96];
    snprintf(msg, sizeof(msg), "no actor %s", molt__pid_str(c->pid, pid, sizeof(pid)));
    molt__control_fail(c->req, MOLT_ESRCH, msg);
  }
  free(c);
}

/* Runs as a call message on the actor's scheduler, after the messages
 * already in its mailbox. */
static void inspect_here(molt_actor_t* a, void* arg) {
  inspect_ctx* c = arg;
  if (a) {
    cJSON* o = describe(a);
    cJSON_AddBoolToObject(o, "trap_exit", a->trap_exit);
    cJSON_AddNumberToObject(o, "links", a->ext ? a->ext->links.n : 0);
    cJSON_AddNumberToObject(o, "monitors", a->ext ? a->ext->monitors.n : 0);
    char* text = a->version->format_state && a->state ? a->version->format_state(a->state) : NULL;
    cJSON* state = text ? cJSON_Parse(text) : NULL;
    if (state)
      cJSON_AddItemToObject(o, "state", state);
    else if (text)
      cJSON_AddStringToObject(o, "state", text);
    else
      cJSON_AddNullToObject(o, "state");
    molt_free(text);
    c->result = o;
  }
  if (molt__control_post(c->st->control, inspect_reply, c) != 0) inspect_reply(c);
}

static molt_pid_t parse_pid(const char* s) {
  unsigned idx, gen;
  char end;
  if (sscanf(s, "<%u.%u%c", &idx, &gen, &end) == 3 && end == '>') return MOLT__PID(idx, gen);
  if (sscanf(s, "%u.%u%c", &idx, &gen, &end) == 2) return MOLT__PID(idx, gen);
  return MOLT_PID_NONE;
}

void molt__cmd_inspect(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  const char* who = molt__cmd_arg_str(req, args, "actor");
  if (!who) return;
  molt_pid_t pid = parse_pid(who);
  if (pid == MOLT_PID_NONE) pid = molt_whereis(who);
  if (pid == MOLT_PID_NONE) {
    char msg[128];
    snprintf(msg, sizeof(msg), "no actor named or numbered \"%.64s\"", who);
    molt__control_fail(req, MOLT_ESRCH, msg);
    return;
  }
  inspect_ctx* c = calloc(1, sizeof(*c));
  molt__msg_t* m = c ? molt__msg_call(inspect_here, c) : NULL;
  if (!m) {
    free(c);
    molt__control_fail(req, MOLT_ENOMEM, "out of memory");
    return;
  }
  c->req = req;
  c->st = st;
  c->pid = pid;
  /* A pid that never existed: deliver frees the message without a call. */
  if (molt__deliver(pid, m) == MOLT_ESRCH) inspect_reply(c);
}
