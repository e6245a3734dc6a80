/* runtime.c: the process-wide runtime: starting and stopping the
 * schedulers, and the few services every part uses (clock, refs, pids,
 * spawning from outside an actor). Not the container's release or control
 * plane (container.c). */
#include "runtime.h"

#include <stdalign.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "code_server.h"
#include "errmsg.h"
#include "hooks.h"
#include "log.h"
#include "registry.h"
#include "ticker.h"
#include "timed_call.h"

molt_runtime_t molt__rt;

uint64_t molt_now_ms(void) { return (molt__now_ns() - molt__rt.start_ns) / 1000000ull; }

uint64_t molt_make_ref(void) { return atomic_fetch_add(&molt__rt.next_ref, 1) + 1; }

const char* molt__pid_str(molt_pid_t pid, char* buf, size_t len) {
  snprintf(buf, len, "<%u.%u>", MOLT__PID_INDEX(pid), MOLT__PID_GEN(pid));
  return buf;
}

molt_pid_t molt__pid_parse(const char* s) {
  unsigned idx, gen;
  char end;
  if (sscanf(s, "<%u.%u%c", &idx, &gen, &end) == 3 && end == '>') return MOLT__PID(idx, gen);
  if (sscanf(s, "%u.%u%c", &idx, &gen, &end) == 2) return MOLT__PID(idx, gen);
  return MOLT_PID_NONE;
}

static void kill_here(void* arg) { molt__actor_kill_all_here(); }

typedef struct {
  molt_version_t* v;
  int killed;
} purge_req;

static void purge_here(void* arg) {
  purge_req* p = arg;
  p->killed += molt__actor_kill_here(p->v, MOLT_EXIT_PURGED);
}

/* The code server's hard purge: every actor running v is killed on its own
 * scheduler (no terminate: its code is being thrown away), so each drops
 * its reference to v there. A scheduler still inside a callback after
 * KILL_WITHIN_MS (a terminate that hangs, say) is passed over: its actors
 * keep their references, so v's code stays mapped until they return and
 * exit, and the purge does not wait for that. */
#define KILL_WITHIN_MS 1000
static int kill_version(molt_version_t* v, void* arg) {
  purge_req p = {v, 0};
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if (molt__sched_call_within(&molt__rt.scheds[i], purge_here, &p, KILL_WITHIN_MS) == MOLT_ETIMEDOUT)
      molt__log_warn("purge of %s %s: scheduler %u is still inside a callback after %u ms; its actors of that "
                     "version keep its code until they return",
                     v->name, v->vsn, i, KILL_WITHIN_MS);
  return p.killed;
}

static void free_mailbox(molt_actor_t* a, void* arg) {
  molt_mpsc_node_t* n;
  while ((n = molt__mpsc_pop(&a->mailbox)) != NULL) molt__msg_free((molt__msg_t*)n);
}

int molt__runtime_start(unsigned nsched, char* err, size_t errlen) {
  if (atomic_load(&molt__rt.running))
    return molt__errmsg_set(err, errlen, MOLT_EBUSY, "the runtime is already running");
  if (nsched == 0) nsched = uv_available_parallelism();
  if (nsched > 1024) nsched = 1024;
  molt__rt.start_ns = molt__now_ns();
  atomic_store(&molt__rt.live_actors, 0);
  molt__rt.scheds = molt__calloc_aligned(alignof(molt_sched_t), nsched * sizeof(molt_sched_t));
  if (!molt__rt.scheds) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory");
  int rc = 0;
  unsigned started = 0;
  for (; started < nsched; started++) {
    rc = molt__sched_start(&molt__rt.scheds[started], started, err, errlen);
    if (rc) goto fail_sched;
  }
  molt__rt.nsched = nsched;
  if ((rc = molt__ticker_start(err, errlen))) goto fail_ticker;
  molt__code_set_kill_hook(kill_version, NULL);
  atomic_store(&molt__rt.running, 1);
  return 0;

fail_ticker:
  molt__rt.nsched = 0;
fail_sched:
  while (started--) molt__sched_stop(&molt__rt.scheds[started]);
  molt__free(molt__rt.scheds);
  molt__rt.scheds = NULL;
  return rc;
}

void molt__runtime_stop(void) {
  if (!atomic_exchange(&molt__rt.running, 0)) return;
  molt__ticker_stop();
  /* Kill on every scheduler while all of them still run, so the exit
   * signals crossing between them land in live loops; repeat for actors
   * whose async init was still queued. */
  for (int pass = 0; pass < 10 && molt__actor_count() > 0; pass++)
    for (unsigned i = 0; i < molt__rt.nsched; i++) molt__sched_call(&molt__rt.scheds[i], kill_here, NULL);
  for (unsigned i = 0; i < molt__rt.nsched; i++) molt__sched_stop(&molt__rt.scheds[i]);
  molt__actor_table_foreach(free_mailbox, NULL);
  molt__actor_table_close();
  molt__hooks_runtime_stop();
  molt__registry_close();
  molt__code_set_kill_hook(NULL, NULL);
  molt__free(molt__rt.scheds);
  molt__rt.scheds = NULL;
  molt__rt.nsched = 0;
}

static void nothing(void* arg) { (void)arg; }

unsigned molt__runtime_stuck(uint32_t timeout_ms, unsigned* first) {
  unsigned n = 0;
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    if (molt__sched_call_within(&molt__rt.scheds[i], nothing, NULL, timeout_ms) != MOLT_ETIMEDOUT) continue;
    if (n++ == 0) *first = i;
  }
  return n;
}

molt_sched_t* molt__runtime_pick_sched(void) {
  unsigned i = atomic_fetch_add(&molt__rt.next_sched, 1);
  return &molt__rt.scheds[i % molt__rt.nsched];
}

typedef struct {
  molt_version_t* v; /* or NULL: the current version of module */
  const char* module;
  const char* args;
  void* internal;
  molt_pid_t pid;
  int rc;
} spawn_req;

/* A module name is resolved here, on the scheduler, between two actor
 * turns: resolved by the caller, an upgrade committing before this task
 * ran would leave the newborn on the version it just replaced. */
static void spawn_here(void* arg) {
  spawn_req* r = arg;
  molt_version_t* v = r->v ? r->v : molt__code_get_current(r->module);
  if (!v) {
    r->rc = MOLT_ENOMODULE;
    return;
  }
  r->rc = molt__actor_spawn(v, r->args, r->internal, 0, molt__sched_current(), &r->pid, NULL);
  if (!r->v) molt__version_unref(v);
}

static int spawn(spawn_req* r, molt_pid_t* pid) {
  if (!atomic_load(&molt__rt.running)) return MOLT_ENOTRUNNING;
  molt_sched_t* s = molt__sched_current();
  int rc = s ? (spawn_here(r), 0) : molt__sched_call(molt__runtime_pick_sched(), spawn_here, r);
  if (rc) return rc;
  if (r->rc == 0 && pid) *pid = r->pid;
  return r->rc;
}

int molt__runtime_spawn_version(molt_version_t* v, const char* args_json, void* internal,
                                molt_pid_t* pid) {
  spawn_req r = {v, NULL, args_json, internal, MOLT_PID_NONE, 0};
  return spawn(&r, pid);
}

int molt__runtime_spawn(const char* module, const char* args_json, molt_pid_t* pid) {
  spawn_req r = {NULL, module, args_json, NULL, MOLT_PID_NONE, 0};
  return spawn(&r, pid);
}

int molt__runtime_exit(molt_pid_t pid, int reason) {
  molt__msg_t* m = molt__msg_sys(MOLT__SYS_EXIT, MOLT_PID_NONE, 0, reason);
  return m ? molt__deliver(pid, m) : MOLT_ENOMEM;
}

static int alive(molt_pid_t pid) {
  molt_actor_t* a = molt__actor_slot(pid);
  return a && atomic_load(&a->gen) == MOLT__PID_GEN(pid);
}

int molt__runtime_wait_exit(molt_pid_t pid, uint64_t timeout_ms) {
  uint64_t deadline = molt__now_ns() + timeout_ms * 1000000ull;
  while (alive(pid)) {
    if (molt__now_ns() > deadline) return MOLT_ETIMEDOUT;
    usleep(1000);
  }
  return 0;
}
