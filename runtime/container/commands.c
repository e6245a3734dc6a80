/* commands.c: the control commands a container answers, the dispatch
 * table, status and stop, and jobs for the long ones. Each command turns a
 * request into a reply; nothing here parses bytes (control.c does) or
 * prints for humans (the molt command does). */
#include "commands.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "alarms.h"
#include "code_server.h"
#include "crash.h"
#include "log.h"
#include "running_code.h"
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
    cJSON_AddStringToObject(o, "current_label", cur->label);
    cJSON_AddNumberToObject(o, "current_actors", (double)atomic_load(&cur->actors));
  } else {
    cJSON_AddNullToObject(o, "current");
  }
  if (old) {
    cJSON_AddStringToObject(o, "old", old->vsn);
    cJSON_AddNumberToObject(o, "old_revision", old->revision);
    cJSON_AddStringToObject(o, "old_label", old->label);
    cJSON_AddNumberToObject(o, "old_actors", (double)atomic_load(&old->actors));
  } else {
    cJSON_AddNullToObject(o, "old");
  }
  cJSON_AddItemToArray(m->arr, o);
}

cJSON* molt__cmd_drift_json(const molt_manifest_t* m) {
  molt_running_t runs;
  char err[512];
  if (molt__running_read(m, &runs, err, sizeof(err)) != 0) {
    molt__log_warn("drift of release %s: %s", m->version, err);
    return NULL;
  }
  cJSON* arr = cJSON_CreateArray();
  for (size_t i = 0; arr && i < runs.n; i++) {
    const molt_running_module_t* e = &runs.mods[i];
    if (!e->differs) continue;
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "module", e->name);
    if (e->loaded) {
      cJSON_AddStringToObject(o, "running", e->label);
      cJSON_AddStringToObject(o, "running_vsn", e->vsn);
      cJSON_AddNumberToObject(o, "revision", e->revision);
      cJSON_AddNumberToObject(o, "state_vsn", e->state_vsn);
    } else {
      cJSON_AddNullToObject(o, "running");
    }
    if (e->release_vsn)
      cJSON_AddStringToObject(o, "release", e->release_vsn);
    else
      cJSON_AddNullToObject(o, "release");
    cJSON_AddItemToArray(arr, o);
  }
  molt__running_free(&runs);
  return arr;
}

static void cmd_status(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  cJSON* r = cJSON_CreateObject();
  cJSON* rel = cJSON_AddObjectToObject(r, "release");
  pthread_mutex_lock(&st->lock);
  const molt_manifest_t* manifest = st->manifest;
  cJSON_AddStringToObject(rel, "name", manifest->name);
  cJSON_AddStringToObject(rel, "version", manifest->version);
  pthread_mutex_unlock(&st->lock);
  /* Only a release has code to differ from: molt dev --module runs files,
   * whose every rebuild is meant to replace what runs. The manifest stays
   * valid: the store keeps every release's until it closes. */
  cJSON* drift = st->store ? molt__cmd_drift_json(manifest) : NULL;
  if (drift) cJSON_AddItemToObject(r, "drift", drift);
  cJSON_AddStringToObject(r, "home", st->home);
  cJSON_AddNumberToObject(r, "os_pid", (double)getpid());
  cJSON_AddNumberToObject(r, "uptime_ms", (double)((molt__now_ns() - st->started_ns) / 1000000));
  cJSON_AddNumberToObject(r, "schedulers", molt__rt.nsched);
  cJSON_AddNumberToObject(r, "actors", (double)molt__actor_count());
  cJSON_AddItemToObject(r, "scheduler_load", molt__cmd_sched_load_json());
  cJSON_AddItemToObject(r, "alarms", molt__alarms_json());
  cJSON* crash = molt__crash_json(st->home);
  if (crash) cJSON_AddItemToObject(r, "last_crash", crash);
  modules_ctx m = {cJSON_AddArrayToObject(r, "modules")};
  molt__code_foreach(add_module, &m);
  molt__control_reply(req, r);
}

static void cmd_stop(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  cJSON* r = cJSON_CreateObject();
  pthread_mutex_lock(&st->lock);
  cJSON_AddStringToObject(r, "stopping", st->manifest->name);
  pthread_mutex_unlock(&st->lock);
  /* The reply leaves before the process exits: the client waits on this
   * pid to return only once it is gone. */
  cJSON_AddNumberToObject(r, "os_pid", (double)getpid());
  molt__control_reply(req, r);
  st->request_stop(st->request_stop_data);
}

const char* molt__cmd_arg_str(molt_control_req_t* req, const cJSON* args, const char* key) {
  const cJSON* v = cJSON_GetObjectItemCaseSensitive(args, key);
  if (cJSON_IsString(v) && *v->valuestring) return v->valuestring;
  char msg[128];
  snprintf(msg, sizeof(msg), "args.%s: expected a non-empty string", key);
  molt__control_fail(req, MOLT_EBADREQ, msg);
  return NULL;
}

static void job_reply(void* arg) {
  molt_job_t* j = arg;
  if (j->rc)
    molt__control_fail(j->req, j->rc, j->err);
  else
    molt__control_reply(j->req, j->result);
  cJSON_Delete(j->args);
  free(j);
}

typedef struct {
  molt_job_t job;
  void (*work)(molt_job_t* j);
} job_start;

/* Jobs started and not yet ended: the container waits for them before it
 * stops the runtime they use. */
static atomic_uint live_jobs;

static void* job_main(void* arg) {
  job_start* js = arg;
  molt_job_t* j = &js->job;
  js->work(j);
  /* Posting fails only once the control server is stopping; a request it
   * detached may then be answered from any thread. */
  if (molt__control_post(j->st->control, job_reply, j) != 0) job_reply(j);
  atomic_fetch_sub(&live_jobs, 1);
  return NULL;
}

bool molt__commands_wait_jobs(uint64_t timeout_ms) {
  uint64_t deadline = molt__now_ns() + timeout_ms * 1000000ull;
  while (atomic_load(&live_jobs) > 0 && molt__now_ns() < deadline) usleep(1000);
  return atomic_load(&live_jobs) == 0;
}

int molt__commands_job(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args,
                       void (*work)(molt_job_t* j)) {
  job_start* js = calloc(1, sizeof(*js)); /* job is its first member: job_reply frees it */
  if (!js) goto fail;
  js->job.req = req;
  js->job.st = st;
  js->work = work;
  if (args && !(js->job.args = cJSON_Duplicate(args, 1))) goto fail;
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  atomic_fetch_add(&live_jobs, 1);
  int rc = pthread_create(&t, &attr, job_main, js);
  pthread_attr_destroy(&attr);
  if (rc == 0) return 0;
  atomic_fetch_sub(&live_jobs, 1);
fail:
  if (js) cJSON_Delete(js->job.args);
  free(js);
  molt__control_fail(req, MOLT_ENOMEM, "could not start a job thread");
  return MOLT_ENOMEM;
}

typedef void (*cmd_fn)(molt_control_req_t*, molt_container_state_t*, const cJSON*);

/* store: the command works on the home's releases, which a container
 * running loose modules (molt dev --module) does not use. */
static const struct {
  const char* name;
  cmd_fn fn;
  bool store;
} commands[] = {
    {"status", cmd_status, false},         {"stop", cmd_stop, false},
    {"load", molt__cmd_load, false},       {"purge", molt__cmd_purge, false},
    {"ps", molt__cmd_ps, false},           {"inspect", molt__cmd_inspect, false},
    {"top", molt__cmd_top, false},
    {"unpack", molt__cmd_unpack, true},    {"releases", molt__cmd_releases, true},
    {"upgrade", molt__cmd_upgrade, true},  {"commit", molt__cmd_commit, true},
    {"rollback", molt__cmd_rollback, true},  {"remove", molt__cmd_remove, true},
    {"trace_start", molt__cmd_trace_start, false}, {"trace_read", molt__cmd_trace_read, false},
    {"trace_stop", molt__cmd_trace_stop, false},
};

void molt__commands_dispatch(molt_control_req_t* req, const char* cmd, const cJSON* args, void* data) {
  molt_container_state_t* st = data;
  if (molt__log_enabled(MOLT_LOG_DEBUG)) {
    char* text = args ? cJSON_PrintUnformatted(args) : NULL;
    molt__log_debug("control: %s %s", cmd, text ? text : "{}");
    cJSON_free(text);
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(cmd, commands[i].name) != 0) continue;
    if (commands[i].store && !st->store) {
      molt__control_fail(req, MOLT_ENORELEASE,
                         "this container runs module files (molt dev --module), not a release: no releases to change");
      return;
    }
    commands[i].fn(req, st, args);
    return;
  }
  char msg[160];
  snprintf(msg, sizeof(msg), "unknown command \"%.64s\"", cmd);
  molt__control_fail(req, MOLT_EBADREQ, msg);
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
