/* cmd_trace.c: the trace commands, molt trace's side in the container:
 * trace_start marks what to trace and answers with a session id,
 * trace_read hands over the events since the last read, trace_stop ends
 * the session. The protocol is request and reply, so the client polls; a
 * session it stops polling expires by itself (actor/trace.h). Events are
 * JSON here, lines for people in the molt command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "commands.h"
#include "errmsg.h"
#include "message.h"
#include "runtime.h"
#include "trace.h"

/* Events per reply: a reply stays well under the client's line limit and
 * the control thread is not held long; the client asks again at once
 * while "more" is true. */
#define READ_BATCH 256

static double number_arg(const cJSON* args, const char* key, double def) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(args, key);
  return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static void start_work(molt_job_t* j) {
  const cJSON* actor = cJSON_GetObjectItemCaseSensitive(j->args, "actor");
  const cJSON* module = cJSON_GetObjectItemCaseSensitive(j->args, "module");
  double rate = number_arg(j->args, "rate", MOLT_TRACE_RATE_DEFAULT), max = number_arg(j->args, "max", 0);
  molt_trace_spec_t spec = {MOLT_PID_NONE, NULL, rate >= 1 && rate <= MOLT_TRACE_RATE_MAX ? (uint32_t)rate : 0,
                            max >= 0 ? (uint64_t)max : 0};
  if (cJSON_IsString(actor) == cJSON_IsString(module)) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_EBADREQ, "args: expected \"actor\" or \"module\", not both");
    return;
  }
  if (cJSON_IsString(actor)) {
    spec.pid = molt__pid_parse(actor->valuestring);
    if (spec.pid == MOLT_PID_NONE) spec.pid = molt_whereis(actor->valuestring);
    if (spec.pid == MOLT_PID_NONE) {
      j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ESRCH, "no actor named or numbered \"%.64s\"",
                               actor->valuestring);
      return;
    }
  } else {
    spec.module = module->valuestring;
  }
  uint64_t id;
  unsigned busy;
  j->rc = molt__trace_start(&spec, &id, &busy, j->err, sizeof(j->err));
  if (j->rc) return;
  char pid[24];
  j->result = cJSON_CreateObject();
  cJSON_AddNumberToObject(j->result, "id", (double)id);
  if (spec.module)
    cJSON_AddStringToObject(j->result, "module", spec.module);
  else
    cJSON_AddStringToObject(j->result, "pid", molt__pid_str(spec.pid, pid, sizeof(pid)));
  cJSON_AddNumberToObject(j->result, "rate", spec.rate);
  /* Schedulers busy in one handler past the deadline: their actors of the
   * module are not traced. */
  cJSON_AddNumberToObject(j->result, "busy_schedulers", busy);
}

/* Marking waits for actors' turns: a job, so the control thread (and the
 * trace_read of other sessions) keeps answering meanwhile. */
void molt__cmd_trace_start(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  molt__commands_job(req, st, args, start_work);
}

static const char* event_name(const molt_trace_event_t* e) {
  switch (e->kind) {
    case MOLT_TRACE_RECV: return "recv";
    case MOLT_TRACE_SENT: return "sent";
    case MOLT_TRACE_SPAWN: return "spawn";
    case MOLT_TRACE_SPAWNED: return "spawned";
    case MOLT_TRACE_EXIT: return "exit";
    case MOLT_TRACE_LINK: return "link";
    case MOLT_TRACE_UNLINK: return "unlink";
    case MOLT_TRACE_MONITOR: return "monitor";
    case MOLT_TRACE_DEMONITOR: return "demonitor";
    case MOLT_TRACE_CODE_CHANGE: return "code_change";
    case MOLT_TRACE_SIGNAL:
      switch (e->msg_kind) {
        case MOLT__SYS_LINK: return "linked";
        case MOLT__SYS_UNLINK: return "unlinked";
        case MOLT__SYS_MONITOR: return "monitored";
        case MOLT__SYS_DEMONITOR: return "demonitored";
        case MOLT__SYS_EXIT: return "exit_signal";
      }
  }
  return "other";
}

static const char* msg_kind_name(uint16_t kind) {
  static const char* names[] = {"user", "exit", "down", "timeout", "tcp_accept", "tcp_data", "tcp_closed"};
  return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "other";
}

static void add_pid(cJSON* o, const char* key, molt_pid_t pid) {
  char text[24];
  if (pid == MOLT_PID_NONE)
    cJSON_AddNullToObject(o, key);
  else
    cJSON_AddStringToObject(o, key, molt__pid_str(pid, text, sizeof(text)));
}

static cJSON* event_json(const molt_trace_event_t* e) {
  cJSON* o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "ts_us", (double)e->ts_us);
  add_pid(o, "pid", e->pid);
  cJSON_AddStringToObject(o, "module", e->module);
  if (*e->name) cJSON_AddStringToObject(o, "name", e->name);
  cJSON_AddStringToObject(o, "event", event_name(e));
  switch (e->kind) {
    case MOLT_TRACE_RECV:
      cJSON_AddStringToObject(o, "msg", msg_kind_name(e->msg_kind));
      /* fall through */
    case MOLT_TRACE_SENT:
      add_pid(o, "peer", e->peer);
      cJSON_AddNumberToObject(o, "tag", e->tag);
      cJSON_AddNumberToObject(o, "size", e->size);
      if (e->kind == MOLT_TRACE_RECV && e->msg_kind != MOLT_MSG_USER)
        cJSON_AddStringToObject(o, "reason", molt__trace_reason_name(e->reason));
      break;
    case MOLT_TRACE_EXIT:
      cJSON_AddStringToObject(o, "reason", molt__trace_reason_name(e->reason));
      break;
    case MOLT_TRACE_CODE_CHANGE:
      cJSON_AddStringToObject(o, "from", e->from);
      cJSON_AddStringToObject(o, "to", e->to);
      break;
    case MOLT_TRACE_SPAWN:
      add_pid(o, "peer", e->peer);
      cJSON_AddStringToObject(o, "peer_module", e->to);
      break;
    case MOLT_TRACE_SIGNAL:
      add_pid(o, "peer", e->peer);
      if (e->msg_kind == MOLT__SYS_EXIT) cJSON_AddStringToObject(o, "reason", molt__trace_reason_name(e->reason));
      break;
    default:
      add_pid(o, "peer", e->peer);
  }
  return o;
}

static bool session_id(molt_control_req_t* req, const cJSON* args, uint64_t* id) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(args, "id");
  if (cJSON_IsNumber(v) && v->valuedouble >= 1) {
    *id = (uint64_t)v->valuedouble;
    return true;
  }
  molt__control_fail(req, MOLT_EBADREQ, "args.id: expected a trace session's id");
  return false;
}

void molt__cmd_trace_read(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  (void)st;
  uint64_t id, dropped;
  uint32_t n;
  bool done;
  if (!session_id(req, args, &id)) return;
  molt_trace_event_t* ev = malloc(READ_BATCH * sizeof(*ev));
  if (!ev) {
    molt__control_fail(req, MOLT_ENOMEM, "out of memory reading the trace");
    return;
  }
  int rc = molt__trace_read(id, ev, READ_BATCH, &n, &dropped, &done);
  if (rc) {
    free(ev);
    molt__control_fail(req, rc, "no such trace session (stopped, or expired: not read for 5 s)");
    return;
  }
  cJSON* r = cJSON_CreateObject();
  cJSON* arr = cJSON_AddArrayToObject(r, "events");
  for (uint32_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, event_json(&ev[i]));
  free(ev);
  cJSON_AddNumberToObject(r, "dropped", (double)dropped);
  cJSON_AddBoolToObject(r, "more", n == READ_BATCH);
  cJSON_AddBoolToObject(r, "done", done);
  molt__control_reply(req, r);
}

void molt__cmd_trace_stop(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  (void)st;
  uint64_t id;
  if (!session_id(req, args, &id)) return;
  if (molt__trace_stop(id) != 0) {
    molt__control_fail(req, MOLT_ESRCH, "no such trace session (stopped, or expired: not read for 5 s)");
    return;
  }
  cJSON* r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "stopped", (double)id);
  molt__control_reply(req, r);
}
