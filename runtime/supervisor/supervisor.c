/* supervisor.c: OTP's supervisor as a builtin module: an ordinary actor
 * that traps exits, starts its children in order, restarts them by its
 * strategy (one_for_one, one_for_all, rest_for_one) and their restart type
 * (permanent, transient, temporary), and gives up when restarts exceed its
 * intensity within its period; a watched one (the container's root) then
 * tells who started it which child it gave up on. Not the release or the
 * spec's parsing.
 *
 * Children are stopped one at a time in reverse start order, as OTP does,
 * each with exit(shutdown) and a timer that kills it after shutdown_ms;
 * the supervisor is a small state machine driven by its children's EXIT
 * messages because an actor never blocks. */
#include "supervisor.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "actor.h"
#include "alloc.h"
#include "args.h"
#include "errmsg.h"
#include "log.h"
#include "runtime.h"
#include "sup_counts.h"
#include "sup_spec.h"

enum { TAG_KILL = 1, TAG_RETRY = 2, TAG_ABANDON = 3 };
/* How long a killed child has to be gone before the supervisor goes on
 * without it: a kill is a message, and a child whose scheduler is stuck in
 * one callback (a terminate or handler that never returns) never reads
 * it. */
#define ABANDON_MS 1000
enum { PHASE_RUNNING, PHASE_RESTARTING, PHASE_SHUTDOWN };

typedef struct child {
  char* id;
  const molt_child_spec_t* spec; /* inside the supervisor's own spec copy */
  molt_pid_t pid;                /* MOLT_PID_NONE while not running */
  bool stopping;                 /* exit(shutdown) sent, waiting for its EXIT */
  bool gone;                     /* a temporary child that ended: never again */
} child_t;

typedef struct sup {
  molt_sup_spec_t* spec; /* deep copy, owned */
  child_t* kids;
  size_t n;
  uint64_t* restarts; /* times (ms) of the last intensity+1 restarts, a ring */
  uint32_t nrestarts, restart_pos;
  int phase;
  size_t restart_from;
  int shutdown_reason;
  molt_pid_t* leaving; /* children an update removed, being stopped */
  size_t nleaving;
  molt_sup_exit_cb on_exit; /* a watched top-level supervisor's: told when it exits */
  bool told;                /* terminate ran: on_exit has been called if set */
  void* on_exit_data;
  /* Set when it gives up: the child that was one restart too many, and
   * that child's exit reason or its restart's error. */
  bool gave_up, restart_failed;
  size_t last_child;
  int last_reason;
} sup_t;

typedef struct {
  const molt_sup_spec_t* spec;
  char* err;
  size_t errlen;
  molt_sup_exit_cb on_exit;
  void* on_exit_data;
} sup_init_arg;

static molt_version_t* sup_version;

/* ---- the actor */

static void free_kids(child_t* kids, size_t n) {
  for (size_t i = 0; i < n; i++) molt__free(kids[i].id);
  molt__free(kids);
}

static void free_sup(sup_t* s) {
  free_kids(s->kids, s->n);
  molt__free(s->leaving);
  molt__free(s->restarts);
  molt__sup_spec_free(s->spec);
  molt__free(s);
}

static const char* sup_name(const sup_t* s) { return s->spec->name ? s->spec->name : "supervisor"; }

static int start_child(sup_t* s, child_t* k, char* err, size_t errlen) {
  const molt_child_spec_t* c = k->spec;
  molt_pid_t pid = MOLT_PID_NONE;
  int rc;
  char sub[512] = "";
  if (c->sup) {
    sup_init_arg arg = {c->sup, sub, sizeof(sub), NULL, NULL}; /* a nested one: its parent watches it */
    rc = molt__actor_spawn(sup_version, NULL, &arg, MOLT_SPAWN_LINK, molt__sched_current(), &pid, NULL);
  } else {
    /* Workers spread over the schedulers; init still runs here, so a
     * failure is known now, as OTP's start order requires. */
    rc = molt_spawn_opt(c->module, c->args_json, MOLT_SPAWN_LINK | MOLT_SPAWN_ANY, &pid, NULL);
  }
  if (rc)
    return molt__errmsg_set(err, errlen, rc, "child %s (%s): %s", k->id,
                            c->sup ? "supervisor" : c->module, *sub ? sub : molt_strerror(rc));
  k->pid = pid;
  return 0;
}

/* Record a restart; false if that exceeds intensity within period. */
static bool restart_allowed(sup_t* s) {
  uint32_t cap = s->spec->intensity + 1;
  uint64_t now = molt_now_ms();
  s->restarts[s->restart_pos] = now;
  s->restart_pos = (s->restart_pos + 1) % cap;
  if (s->nrestarts < cap) s->nrestarts++;
  if (s->nrestarts < cap) return true;
  /* The ring is full: the oldest of the last intensity+1 restarts is at
   * restart_pos. Too many if it falls inside the period. */
  return now - s->restarts[s->restart_pos] >= s->spec->period_ms;
}

static void begin_shutdown(sup_t* s, int reason);

/* Restarts beyond the intensity: remember which child was one too many
 * (the one watching this supervisor is told), then stop every child and
 * exit with shutdown, as OTP does. */
static void give_up(sup_t* s, size_t i, int reason, bool restart_failed) {
  s->gave_up = true;
  s->restart_failed = restart_failed;
  s->last_child = i;
  s->last_reason = reason;
  begin_shutdown(s, MOLT_EXIT_SHUTDOWN);
}

/* Ask pid to stop as OTP's shutdown spec says: exit(shutdown) and a kill
 * after shutdown_ms, or an immediate kill (brutal_kill) for 0. */
static void stop_pid(molt_pid_t pid, uint32_t shutdown_ms) {
  molt_exit(pid, shutdown_ms ? MOLT_EXIT_SHUTDOWN : MOLT_EXIT_KILL);
  if (shutdown_ms) molt_send_after(shutdown_ms, molt_self(), TAG_KILL, &pid, sizeof(pid), NULL);
}

/* Stop the highest running child at or above floor; true if one was. */
static bool stop_next(sup_t* s, size_t floor) {
  for (size_t j = s->n; j-- > floor;) {
    child_t* k = &s->kids[j];
    if (k->pid == MOLT_PID_NONE) continue;
    if (k->stopping) return true; /* still waiting for it */
    k->stopping = true;
    stop_pid(k->pid, k->spec->shutdown_ms);
    return true;
  }
  return false;
}

/* What /metrics counts a child under: its module, or a nested
 * supervisor's name. */
static const char* count_name(const child_t* k) {
  if (k->spec->module) return k->spec->module;
  return k->spec->sup && k->spec->sup->name ? k->spec->sup->name : "supervisor";
}

static void restart_rest(sup_t* s) {
  s->phase = PHASE_RUNNING;
  /* one_for_one restarts the one child; the others restart every child
   * from restart_from on that is down and not a finished temporary. */
  size_t end = s->spec->strategy == MOLT_ONE_FOR_ONE ? s->restart_from + 1 : s->n;
  for (size_t j = s->restart_from; j < end; j++) {
    child_t* k = &s->kids[j];
    if (k->gone || k->pid != MOLT_PID_NONE) continue;
    char err[512];
    int rc = start_child(s, k, err, sizeof(err));
    if (rc == 0) {
      molt__sup_count_restart(count_name(k));
      continue;
    }
    molt_log_error("%s: restart failed: %s", sup_name(s), err);
    if (!restart_allowed(s)) {
      give_up(s, j, rc, true);
      return;
    }
    s->phase = PHASE_RESTARTING;
    s->restart_from = j;
    molt_send(molt_self(), TAG_RETRY, NULL, 0); /* try again after other messages */
    return;
  }
}

static void progress(sup_t* s) {
  if (s->phase == PHASE_SHUTDOWN) {
    if (!stop_next(s, 0)) molt_exit(molt_self(), s->shutdown_reason);
  } else if (s->phase == PHASE_RESTARTING) {
    if (!stop_next(s, s->restart_from)) restart_rest(s);
  }
}

static void begin_shutdown(sup_t* s, int reason) {
  s->phase = PHASE_SHUTDOWN;
  s->shutdown_reason = reason;
  progress(s);
}

static bool should_restart(const child_t* k, int reason) {
  switch (k->spec->restart) {
    case MOLT_PERMANENT: return true;
    case MOLT_TRANSIENT: return reason != MOLT_EXIT_NORMAL && reason != MOLT_EXIT_SHUTDOWN;
    case MOLT_TEMPORARY: return false;
  }
  return false;
}

/* The observer and its argument, changed together under the lock and
 * read under it, so a window closing never sees a call for the one
 * before. Taken once per crash, not per message. */
static pthread_mutex_t observer_lock = PTHREAD_MUTEX_INITIALIZER;
static molt_sup_crash_cb observer;
static void* observer_data;

void molt__supervisor_observe(molt_sup_crash_cb cb, void* data) {
  pthread_mutex_lock(&observer_lock);
  observer = cb;
  observer_data = data;
  pthread_mutex_unlock(&observer_lock);
}

static void tell_observer(const sup_t* s, const child_t* k, molt_pid_t pid, int reason) {
  if (reason == MOLT_EXIT_NORMAL || reason == MOLT_EXIT_SHUTDOWN) return;
  molt__sup_count_crash(count_name(k));
  pthread_mutex_lock(&observer_lock);
  if (observer) observer(sup_name(s), k->id, k->spec->module, pid, reason, observer_data);
  pthread_mutex_unlock(&observer_lock);
}

static void child_exited(sup_t* s, size_t i, int reason) {
  child_t* k = &s->kids[i];
  if (!k->stopping) tell_observer(s, k, k->pid, reason);
  k->pid = MOLT_PID_NONE;
  if (k->stopping || s->phase != PHASE_RUNNING) {
    k->stopping = false;
    if (!should_restart(k, reason) && k->spec->restart == MOLT_TEMPORARY) k->gone = true;
    progress(s);
    return;
  }
  if (!should_restart(k, reason)) {
    if (k->spec->restart == MOLT_TEMPORARY) k->gone = true;
    return;
  }
  if (!restart_allowed(s)) {
    molt_log_error("%s: reached maximum restart intensity (%u restarts in %u ms), shutting down", sup_name(s),
             s->spec->intensity, s->spec->period_ms);
    give_up(s, i, reason, false);
    return;
  }
  s->phase = PHASE_RESTARTING;
  s->restart_from = s->spec->strategy == MOLT_ONE_FOR_ALL ? 0 : i;
  if (s->spec->strategy == MOLT_ONE_FOR_ONE) {
    restart_rest(s); /* the others keep running: only i is down */
    return;
  }
  progress(s);
}

/* pid's EXIT is expected and is no child's any more: it is absorbed when
 * it comes (take_leaving). */
static int expect_exit(sup_t* s, molt_pid_t pid) {
  molt_pid_t* v = molt__alloc((s->nleaving + 1) * sizeof(*v));
  if (!v) return MOLT_ENOMEM;
  if (s->nleaving) memcpy(v, s->leaving, s->nleaving * sizeof(*v));
  molt__free(s->leaving);
  s->leaving = v;
  s->leaving[s->nleaving++] = pid;
  return 0;
}

/* A stopping child still there ABANDON_MS after its kill: counted as
 * exited (killed), so that a stop or a restart goes on; its EXIT, should
 * its callback ever return, is absorbed. */
static void abandon(sup_t* s, molt_pid_t pid) {
  for (size_t i = 0; i < s->n; i++) {
    child_t* k = &s->kids[i];
    if (k->pid != pid || !k->stopping || expect_exit(s, pid) != 0) continue;
    char text[24];
    molt_log_warn("%s: child %s %s did not exit within %u ms of its kill (stuck in a callback); going on without it",
             sup_name(s), k->id, molt__pid_str(pid, text, sizeof(text)), ABANDON_MS);
    child_exited(s, i, MOLT_EXIT_KILLED);
    return;
  }
}

static bool take_leaving(sup_t* s, molt_pid_t pid) {
  for (size_t i = 0; i < s->nleaving; i++)
    if (s->leaving[i] == pid) {
      s->leaving[i] = s->leaving[--s->nleaving];
      return true;
    }
  return false;
}

static bool is_leaving(const sup_t* s, molt_pid_t pid) {
  for (size_t i = 0; i < s->nleaving; i++)
    if (s->leaving[i] == pid) return true;
  return false;
}

static int sup_handle(void* state, const molt_msg_t* msg) {
  sup_t* s = state;
  if (msg->kind == MOLT_MSG_EXIT && take_leaving(s, msg->from)) return MOLT_OK;
  if (msg->kind == MOLT_MSG_EXIT) {
    for (size_t i = 0; i < s->n; i++)
      if (s->kids[i].pid == msg->from) {
        child_exited(s, i, msg->reason);
        return MOLT_OK;
      }
    /* Not a child: our parent (or the container) asks us to stop. */
    if (s->phase != PHASE_SHUTDOWN)
      begin_shutdown(s, msg->reason == MOLT_EXIT_NORMAL ? MOLT_EXIT_SHUTDOWN : msg->reason);
    return MOLT_OK;
  }
  if (msg->kind == MOLT_MSG_USER && msg->tag == TAG_KILL && msg->size == sizeof(molt_pid_t)) {
    molt_pid_t pid;
    memcpy(&pid, msg->data, sizeof(pid));
    for (size_t i = 0; i < s->n; i++)
      if (s->kids[i].pid == pid && s->kids[i].stopping) {
        molt_exit(pid, MOLT_EXIT_KILL);
        molt_send_after(ABANDON_MS, molt_self(), TAG_ABANDON, &pid, sizeof(pid), NULL);
      }
    if (is_leaving(s, pid)) molt_exit(pid, MOLT_EXIT_KILL);
    return MOLT_OK;
  }
  if (msg->kind == MOLT_MSG_USER && msg->tag == TAG_ABANDON && msg->size == sizeof(molt_pid_t)) {
    molt_pid_t pid;
    memcpy(&pid, msg->data, sizeof(pid));
    abandon(s, pid);
    return MOLT_OK;
  }
  if (msg->kind == MOLT_MSG_USER && msg->tag == TAG_RETRY && s->phase == PHASE_RESTARTING) {
    restart_rest(s);
  }
  return MOLT_OK;
}

static size_t count_kids(const molt_sup_spec_t* spec) {
  size_t n = 0;
  for (size_t i = 0; i < spec->nchildren; i++)
    n += spec->children[i].sup ? 1 : (spec->children[i].count ? spec->children[i].count : 1);
  return n;
}

static int expand_children(sup_t* s) {
  s->n = count_kids(s->spec);
  if (s->n && !(s->kids = molt__calloc(s->n, sizeof(child_t)))) return MOLT_ENOMEM;
  size_t j = 0;
  for (size_t i = 0; i < s->spec->nchildren; i++) {
    const molt_child_spec_t* c = &s->spec->children[i];
    uint32_t count = c->sup || !c->count ? 1 : c->count;
    for (uint32_t r = 0; r < count; r++, j++) {
      char id[256];
      snprintf(id, sizeof(id), count > 1 ? "%s.%u" : "%s", c->id, r);
      s->kids[j].spec = c;
      if (!(s->kids[j].id = molt__strdup(id))) return MOLT_ENOMEM;
    }
  }
  return 0;
}

static int sup_init(const molt_args_t* args, void** state) {
  sup_init_arg* arg = molt__args_internal(args);
  if (!arg || !arg->spec) return MOLT_EINVAL;
  sup_t* s = molt__calloc(1, sizeof(*s));
  if (!s) return MOLT_ENOMEM;
  int rc = MOLT_ENOMEM;
  if (!(s->spec = molt__sup_spec_copy(arg->spec))) goto fail;
  if (!(s->restarts = molt__calloc(s->spec->intensity + 1, sizeof(uint64_t)))) goto fail;
  if ((rc = expand_children(s))) goto fail;
  molt_trap_exit(true);
  s->on_exit = arg->on_exit;
  s->on_exit_data = arg->on_exit_data;
  if (s->spec->name && (rc = molt_register(s->spec->name))) {
    molt__errmsg_set(arg->err, arg->errlen, rc, "supervisor name %s: %s", s->spec->name,
                     molt_strerror(rc));
    goto fail;
  }
  for (size_t i = 0; i < s->n; i++) {
    if ((rc = start_child(s, &s->kids[i], arg->err, arg->errlen))) goto fail;
  }
  *state = s;
  return 0;
fail:
  /* Stop the children already started, last first, as OTP does: shutdown,
   * then kill for one that traps exits and would otherwise outlive us. */
  for (size_t j = s->n; s->kids && j-- > 0;) {
    if (s->kids[j].pid == MOLT_PID_NONE) continue;
    molt_exit(s->kids[j].pid, MOLT_EXIT_SHUTDOWN);
    molt_exit(s->kids[j].pid, MOLT_EXIT_KILL);
  }
  if (rc == MOLT_ENOMEM && arg->err && !*arg->err)
    molt__errmsg_set(arg->err, arg->errlen, rc, "out of memory");
  free_sup(s);
  return rc;
}

static void sup_terminate(void* state, int reason) {
  sup_t* s = state;
  s->told = true;
  if (!s->on_exit) return;
  molt_sup_exit_t why = {.name = sup_name(s), .reason = reason, .gave_up = s->gave_up};
  if (s->gave_up) {
    why.restart_failed = s->restart_failed;
    why.child = s->kids[s->last_child].id;
    why.child_reason = s->last_reason;
    why.restarts = s->spec->intensity;
    why.period_ms = s->spec->period_ms;
  }
  s->on_exit(&why, s->on_exit_data);
}

/* An untrappable kill skips terminate: the watcher still learns that its
 * supervisor is gone, here, the one callback every exit runs. */
static void sup_free_state(void* state) {
  sup_t* s = state;
  if (s->on_exit && !s->told) {
    molt_sup_exit_t why = {.name = sup_name(s), .reason = MOLT_EXIT_KILLED};
    s->on_exit(&why, s->on_exit_data);
  }
  free_sup(s);
}

static char* sup_format_state(const void* state) {
  const sup_t* s = state;
  size_t cap = 64 + s->n * 96, len = 0;
  char* out = molt_alloc(cap);
  if (!out) return NULL;
  len += (size_t)snprintf(out, cap, "{\"children\":[");
  for (size_t i = 0; i < s->n && len < cap; i++) {
    char pid[24];
    len += (size_t)snprintf(out + len, cap - len, "%s{\"id\":\"%.40s\",\"pid\":\"%s\"}", i ? "," : "",
                            s->kids[i].id, molt__pid_str(s->kids[i].pid, pid, sizeof(pid)));
  }
  if (len < cap) snprintf(out + len, cap - len, "]}");
  return out;
}

/* ---- changing the children of a running supervisor */

/* Stop a child the supervisor no longer has: its EXIT is then expected. */
static int let_go(sup_t* s, molt_pid_t pid, uint32_t shutdown_ms) {
  int rc = expect_exit(s, pid);
  if (rc == 0) stop_pid(pid, shutdown_ms);
  return rc;
}

static bool same_child(const child_t* a, const child_t* b) {
  return strcmp(a->id, b->id) == 0 && !a->spec->sup == !b->spec->sup;
}

static void keep(child_t* to, const child_t* from, bool* kept) {
  to->pid = from->pid;
  to->gone = from->gone;
  *kept = true;
}

/* Match next's children to the running ones by id and kind: a match keeps
 * its running actor. A release change mostly keeps children where they
 * were, so the same position is tried first: linear for 10^5 children
 * where a plain search would be quadratic. */
static void match_running(sup_t* s, sup_t* next, bool* kept) {
  for (size_t j = 0; j < next->n; j++) {
    if (j < s->n && !kept[j] && same_child(&s->kids[j], &next->kids[j])) {
      keep(&next->kids[j], &s->kids[j], &kept[j]);
      continue;
    }
    for (size_t i = 0; i < s->n; i++) {
      if (kept[i] || !same_child(&s->kids[i], &next->kids[j])) continue;
      keep(&next->kids[j], &s->kids[i], &kept[i]);
      break;
    }
  }
}

/* New children start first, in spec order; if one fails, those started
 * here are stopped again and nothing else changed. Only then are the
 * children the spec dropped stopped (terminate runs). */
static int update_children(sup_t* s, const molt_sup_spec_t* spec, char* err, size_t errlen) {
  if (s->phase != PHASE_RUNNING)
    return molt__errmsg_set(err, errlen, MOLT_EBUSY, "%s is restarting or shutting down; try again",
                            sup_name(s));
  sup_t next = {0};
  bool* kept = molt__calloc(s->n ? s->n : 1, sizeof(bool));
  uint64_t* ring = NULL;
  int rc = MOLT_ENOMEM;
  if (!kept || !(next.spec = molt__sup_spec_copy(spec))) goto fail;
  if ((rc = expand_children(&next))) goto fail;
  rc = MOLT_ENOMEM;
  if (!(ring = molt__calloc(next.spec->intensity + 1, sizeof(uint64_t)))) goto fail;
  match_running(s, &next, kept);
  for (size_t j = 0; j < next.n; j++) {
    if (next.kids[j].pid != MOLT_PID_NONE || next.kids[j].gone) continue;
    if ((rc = start_child(&next, &next.kids[j], err, errlen)) == 0) continue;
    /* Undo: stop the children this update started (not the kept ones). */
    for (size_t k = j; k-- > 0;) {
      bool ours = true;
      for (size_t i = 0; i < s->n; i++)
        if (s->kids[i].pid == next.kids[k].pid) ours = false;
      if (ours && next.kids[k].pid != MOLT_PID_NONE) let_go(s, next.kids[k].pid, next.kids[k].spec->shutdown_ms);
    }
    goto fail;
  }
  for (size_t i = 0; i < s->n; i++)
    if (!kept[i] && s->kids[i].pid != MOLT_PID_NONE) let_go(s, s->kids[i].pid, s->kids[i].spec->shutdown_ms);
  free_kids(s->kids, s->n);
  molt__sup_spec_free(s->spec);
  molt__free(s->restarts);
  s->spec = next.spec;
  s->kids = next.kids;
  s->n = next.n;
  s->restarts = ring;
  s->nrestarts = s->restart_pos = 0;
  molt__free(kept);
  return 0;
fail:
  if (rc == MOLT_ENOMEM && !*err) molt__errmsg_set(err, errlen, rc, "out of memory");
  free_kids(next.kids, next.n);
  molt__sup_spec_free(next.spec);
  molt__free(ring);
  molt__free(kept);
  return rc;
}

typedef struct {
  const molt_sup_spec_t* spec;
  int rc;
  char err[512];
  uv_sem_t done;
} update_req;

static void update_call(molt_actor_t* a, void* arg) {
  update_req* r = arg;
  if (!a || a->version != sup_version) {
    r->rc = molt__errmsg_set(r->err, sizeof(r->err), MOLT_ESRCH, "no such supervisor");
  } else {
    r->rc = update_children(a->state, r->spec, r->err, sizeof(r->err));
  }
  uv_sem_post(&r->done);
}

int molt__supervisor_update(molt_pid_t pid, const molt_sup_spec_t* spec, char* err, size_t errlen) {
  update_req r = {.spec = spec};
  if (uv_sem_init(&r.done, 0) != 0) return MOLT_ENOMEM;
  molt__msg_t* m = molt__msg_call(update_call, &r);
  int rc = m ? molt__deliver(pid, m) : MOLT_ENOMEM;
  if (rc == 0) {
    uv_sem_wait(&r.done); /* the call runs, or is rejected, exactly once */
    rc = r.rc;
    if (rc) molt__errmsg_set(err, errlen, rc, "%s", r.err);
  } else {
    molt__errmsg_set(err, errlen, rc, "no such supervisor");
  }
  uv_sem_destroy(&r.done);
  return rc;
}

static const molt_module_t sup_desc = {
    .magic = MOLT_MAGIC,
    .abi = MOLT_ABI_VERSION,
    .size = sizeof(molt_module_t),
    .state_vsn = 1,
    .name = "supervisor",
    .vsn = "builtin",
    .init = sup_init,
    .handle = sup_handle,
    .terminate = sup_terminate,
    .free_state = sup_free_state,
    .format_state = sup_format_state,
};

int molt__supervisor_init(void) { return sup_version ? 0 : molt__version_builtin(&sup_desc, &sup_version); }

void molt__supervisor_close(void) {
  if (sup_version) molt__version_unref(sup_version);
  sup_version = NULL;
}

int molt__supervisor_start_watched(const molt_sup_spec_t* spec, molt_sup_exit_cb on_exit, void* data,
                                   molt_pid_t* pid, char* err, size_t errlen) {
  char sub[512] = "";
  sup_init_arg arg = {spec, sub, sizeof(sub), on_exit, data};
  int rc = molt__runtime_spawn_version(sup_version, NULL, &arg, pid);
  if (rc) molt__errmsg_set(err, errlen, rc, "%s", *sub ? sub : molt_strerror(rc));
  return rc;
}

int molt__supervisor_start(const molt_sup_spec_t* spec, molt_pid_t* pid, char* err, size_t errlen) {
  return molt__supervisor_start_watched(spec, NULL, NULL, pid, err, errlen);
}

int molt__supervisor_stop(molt_pid_t pid, uint64_t timeout_ms) {
  int rc = molt__runtime_exit(pid, MOLT_EXIT_SHUTDOWN);
  if (rc) return rc;
  if (molt__runtime_wait_exit(pid, timeout_ms) == 0) return 0;
  molt__runtime_exit(pid, MOLT_EXIT_KILL);
  molt__runtime_wait_exit(pid, 1000);
  return MOLT_ETIMEDOUT;
}
