/* commands.c: the control commands a container answers: status and stop
 * for now. Each turns a request into a reply from the container's state;
 * nothing here parses bytes (control.c does) or prints for humans (the
 * molt command does). */
#include "commands.h"

#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "code_server.h"
#include "runtime.h"

typedef struct {
  cJSON* arr;
} modules_ctx;

static void add_module(const char* name, molt_version_t* cur, molt_version_t* old, void* arg) {
  modules_ctx* m = arg;
  if ((cur && cur->builtin) || (old && old->builtin)) return;
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", name);
  if (cur) {
    cJSON_AddStringToObject(o, "current", cur->vsn);
    cJSON_AddNumberToObject(o, "current_revision", cur->revision);
    cJSON_AddNumberToObject(o, "current_actors", (double)atomic_load(&cur->actors));
  } else {
    cJSON_AddNullToObject(o, "current");
  }
  if (old) {
    cJSON_AddStringToObject(o, "old", old->vsn);
    cJSON_AddNumberToObject(o, "old_revision", old->revision);
    cJSON_AddNumberToObject(o, "old_actors", (double)atomic_load(&old->actors));
  } else {
    cJSON_AddNullToObject(o, "old");
  }
  cJSON_AddItemToArray(m->arr, o);
}

static void cmd_status(molt_control_req_t* req, molt_container_state_t* st) {
  cJSON* r = cJSON_CreateObject();
  cJSON* rel = cJSON_AddObjectToObject(r, "release");
  cJSON_AddStringToObject(rel, "name", st->manifest->name);
  cJSON_AddStringToObject(rel, "version", st->manifest->version);
  cJSON_AddStringToObject(r, "home", st->home);
  cJSON_AddNumberToObject(r, "os_pid", (double)getpid());
  cJSON_AddNumberToObject(r, "uptime_ms", (double)((molt__now_ns() - st->started_ns) / 1000000));
  cJSON_AddNumberToObject(r, "schedulers", molt__rt.nsched);
  cJSON_AddNumberToObject(r, "actors", (double)molt__actor_count());
  modules_ctx m = {cJSON_AddArrayToObject(r, "modules")};
  molt__code_foreach(add_module, &m);
  molt__control_reply(req, r);
}

static void cmd_stop(molt_control_req_t* req, molt_container_state_t* st) {
  cJSON* r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "stopping", st->manifest->name);
  molt__control_reply(req, r);
  st->request_stop(st->request_stop_data);
}

void molt__commands_dispatch(molt_control_req_t* req, const char* cmd, const cJSON* args, void* data) {
  molt_container_state_t* st = data;
  if (strcmp(cmd, "status") == 0) {
    cmd_status(req, st);
  } else if (strcmp(cmd, "stop") == 0) {
    cmd_stop(req, st);
  } else {
    char msg[160];
    snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", cmd);
    molt__control_fail(req, MOLT_EBADREQ, msg);
  }
}

static void ask_shutdown(molt_actor_t* a, void* arg) {
  uint8_t st = a->status;
  if (st == MOLT__RUNNING || st == MOLT__SUSPENDED) molt__runtime_exit(molt__actor_pid(a), MOLT_EXIT_SHUTDOWN);
}

void molt__commands_shutdown_strays(uint64_t timeout_ms) {
  if (molt__actor_count() == 0) return;
  molt__actor_table_foreach(ask_shutdown, NULL);
  uint64_t deadline = molt__now_ns() + timeout_ms * 1000000ull;
  while (molt__actor_count() > 0 && molt__now_ns() < deadline) usleep(1000);
}
