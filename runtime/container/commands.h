/* commands.h: what the control server's commands do to a running
 * container (status, stop, ...). Runs on the control thread. */
#ifndef MOLT_CONTAINER_COMMANDS_H
#define MOLT_CONTAINER_COMMANDS_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>

#include "control.h"
#include "manifest.h"
#include "molt/module.h"
#include "release_store.h"

/* The container as the commands see it. Owned by container.c. */
typedef struct molt_container_state {
  char* home;
  molt_store_t* store;       /* the home's releases; jobs change it, serialised by
                                molt__upgrade_begin, under lock */
  molt_manifest_t* manifest; /* the running release's (the store's), under lock */
  pthread_mutex_t lock;
  molt_pid_t root; /* the release's root supervisor */
  uint64_t started_ns;
  molt_control_t* control;
  void (*request_stop)(void* data); /* any thread */
  void* request_stop_data;
} molt_container_state_t;

/* A command that takes long (a load, an upgrade) runs as a job on its own
 * thread so the control socket keeps answering: work(j) fills either
 * j->result or j->rc and j->err, and the reply is sent on the control
 * thread. j->args is a copy of the request's args (may be NULL). */
typedef struct molt_job {
  molt_control_req_t* req;
  molt_container_state_t* st;
  cJSON* args;
  cJSON* result;
  int rc;
  char err[1024];
} molt_job_t;
int molt__commands_job(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args,
                       void (*work)(molt_job_t* j));

/* Wait up to timeout_ms for every job to end (they read the runtime, so
 * the runtime stops after them); false if some did not. */
bool molt__commands_wait_jobs(uint64_t timeout_ms);

/* The code commands (cmd_code.c) and the actor commands (cmd_actors.c). */
void molt__cmd_load(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_purge(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_ps(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_inspect(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
/* The trace commands (cmd_trace.c). */
void molt__cmd_trace_start(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_trace_read(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_trace_stop(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
/* One sample for molt top (cmd_top.c), and the schedulers' load as status
 * and top show it: an array of {id, utilisation, busy_ms, run_queue,
 * turns, active}. */
void molt__cmd_top(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
cJSON* molt__cmd_sched_load_json(void);
/* The release commands (cmd_release.c). */
void molt__cmd_unpack(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_releases(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_remove(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_upgrade(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_commit(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);
void molt__cmd_rollback(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args);

/* Where what runs differs from the release m (running_code.h), as the
 * "drift" array of status and releases: one object per module with
 * "module", "running" (the label, null if nothing runs), "running_vsn",
 * "revision", "state_vsn" and "release" (the manifest's vsn, null if the
 * release does not list the module). An empty array when nothing differs;
 * NULL if what runs could not be read (the reason is logged). The
 * caller owns it. Takes the code server's lock, not the container's. */
cJSON* molt__cmd_drift_json(const molt_manifest_t* m);

/* A string argument, or NULL (and a failure reply sent) if missing. */
const char* molt__cmd_arg_str(molt_control_req_t* req, const cJSON* args, const char* key);

/* The control server's dispatcher; data is the molt_container_state_t. */
void molt__commands_dispatch(molt_control_req_t* req, const char* cmd, const cJSON* args, void* data);

/* Ask every actor still alive to shut down (their terminate runs), wait
 * up to timeout_ms, then leave the rest to the runtime's kill. */
void molt__commands_shutdown_strays(uint64_t timeout_ms);

#endif
