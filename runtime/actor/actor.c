/* actor.c: an actor's life: spawn, one turn of messages, dispatch of user
 * and system messages, and exit. Links and monitors (link.c), timers
 * (timer.c) and names (registry.c) are told when an actor exits.
 *
 * The mailbox's parked bit (mpsc.h) is the whole concurrency story.
 * Whoever unparks it owns the mailbox as consumer and must get the actor
 * run: a sender whose push unparked it enqueues the actor on its
 * scheduler; a spawner holds it while init runs. Giving it back is parking
 * it, which fails if anything is queued: then the holder runs it again.
 * A turn parks it as it pops the last message (pop_park, one atomic
 * operation instead of two): a sender may then queue the actor while that
 * message is handled, but only on the actor's own scheduler, which is
 * busy running it, so the actor still never runs on two threads. */
#include "actor.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "callsite.h"
#include "args.h"
#include "code_server.h"
#include "hooks.h"
#include "link.h"
#include "log.h"
#include "registry.h"
#include "runtime.h"
#include "sched.h"
#include "timer.h"
#include "trace.h"
#include "vitals.h"

/* Messages per turn: enough to amortise the scheduling, small enough that
 * one busy actor cannot starve the others on its scheduler. */
#define TURN_BUDGET 128

static __thread molt_actor_t* cur_actor;

/* The running actor, and the counter molt_alloc charges (alloc.h): set
 * together, once per turn or callback, so the message path pays nothing
 * for the memory figure. */
static inline void set_cur(molt_actor_t* a) {
  cur_actor = a;
  molt__alloc_meter = a ? &a->memory : NULL;
}

molt_actor_t* molt__actor_current(void) { return cur_actor; }
void molt__actor_set_current(molt_actor_t* a) { set_cur(a); }

unsigned long molt__actor_count(void) { return atomic_load(&molt__rt.live_actors); }

molt_actor_ext_t* molt__actor_ext(molt_actor_t* a) {
  if (!a->ext) a->ext = molt__calloc(1, sizeof(*a->ext));
  return a->ext;
}

static molt__msg_t* msg_of(molt_mpsc_node_t* n) { return (molt__msg_t*)n; }

static void give_back(molt_actor_t* a) {
  if (!molt__mpsc_park(&a->mailbox)) molt__sched_enqueue(a->sched, a);
}

int molt__deliver(molt_pid_t pid, molt__msg_t* m) {
  molt_actor_t* a = molt__actor_slot(pid);
  uint32_t gen = MOLT__PID_GEN(pid);
  uint32_t now = a ? atomic_load_explicit(&a->gen, memory_order_acquire) : 0;
  if (!a || !a->sched || gen > now) {
    molt__msg_free(m);
    return MOLT_ESRCH;
  }
  m->to = pid;
  if (gen < now) {
    molt__msg_reject(m);
    return 0;
  }
  m->target_gen = gen;
  if (molt__mpsc_push(&a->mailbox, &m->node)) molt__sched_enqueue(a->sched, a);
  return 0;
}

void molt__msg_reject(molt__msg_t* m) {
  switch (m->sys) {
    case MOLT__SYS_LINK: {
      molt__msg_t* e = molt__msg_sys(MOLT__SYS_EXIT, m->to, 0, MOLT_EXIT_NOPROC);
      if (e) {
        e->flags |= MOLT__MSGF_LINKED;
        molt__deliver(m->pub.from, e);
      }
      break;
    }
    case MOLT__SYS_MONITOR: {
      molt__msg_t* d = molt__msg_new(MOLT_MSG_DOWN, 0, NULL, 0);
      if (d) {
        d->pub.from = m->to;
        d->pub.ref = m->pub.ref;
        d->pub.reason = MOLT_EXIT_NOPROC;
        molt__deliver(m->pub.from, d);
      }
      break;
    }
    case MOLT__SYS_CALL: {
      molt__call_fn fn;
      void* arg;
      molt__msg_call_args(m, &fn, &arg);
      fn(NULL, arg);
      break;
    }
    default:
      /* A room's message for a dead actor (a socket's): that room decides
       * (on to the socket's new owner, or the socket closes). */
      if (molt__hooks_redirect(NULL, m)) return;
      break;
  }
  molt__msg_free(m);
}

void molt__actor_exit_later(molt_actor_t* a, int reason) {
  if (a->exit_pending) return;
  a->exit_pending = true;
  a->exit_reason = reason;
}

static void hold(molt_actor_t* a, molt__msg_t* m) {
  molt_actor_ext_t* x = molt__actor_ext(a);
  if (!x) {
    /* Out of memory while suspended: the message cannot be kept, and
     * dropping it silently would break the no-loss promise. Crash. */
    molt__msg_free(m);
    molt__actor_exit_later(a, MOLT_ENOMEM);
    return;
  }
  atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
  if (x->saved_tail)
    atomic_store_explicit(&x->saved_tail->node.next, &m->node, memory_order_relaxed);
  else
    x->saved_head = m;
  x->saved_tail = m;
}

static molt__msg_t* unhold(molt_actor_t* a) {
  molt_actor_ext_t* x = a->ext;
  molt__msg_t* m = x->saved_head;
  x->saved_head = msg_of(atomic_load_explicit(&m->node.next, memory_order_relaxed));
  if (!x->saved_head) x->saved_tail = NULL;
  return m;
}

void molt__actor_handle_user(molt_actor_t* a, molt__msg_t* m) {
  if (a->status != MOLT__RUNNING) {
    hold(a, m);
    return;
  }
  if (m->pub.kind == MOLT_MSG_DOWN && !molt__monitor_take(a, m->pub.ref)) {
    molt__msg_free(m); /* demonitored meanwhile */
    return;
  }
  if (molt__hooks_redirect(a, m)) return; /* e.g. its socket changed hands */
  atomic_store_explicit(&a->handled, atomic_load_explicit(&a->handled, memory_order_relaxed) + 1,
                        memory_order_relaxed);
  /* One relaxed load: only this thread writes version now. */
  const molt_version_t* v = atomic_load_explicit(&a->version, memory_order_relaxed);
  if (MOLT__TRACED(a)) molt__trace_recv(a, m);
  molt_callsite_t site = molt__callsite_enter(a, v, "handle");
  int rc = v->handle(a->state, &m->pub);
  molt__callsite_leave(site);
  molt__hooks_done(m);
  molt__msg_free(m);
  if (rc == MOLT_OK) return;
  if (rc == MOLT_STOP) {
    molt__actor_exit_later(a, MOLT_EXIT_NORMAL);
    return;
  }
  if (rc > 0) rc = MOLT_EINVAL; /* not a defined return value */
  char pid[24];
  molt_log_who_t who = {molt__pid_str(molt__actor_pid(a), pid, sizeof(pid)), a->version->name, a->version->vsn};
  molt__log_who(MOLT_LOG_ERROR, &who, "actor %s (%s %s) crashed: %s (%s)", who.pid, who.module, who.vsn,
                molt_err_name(rc), molt_strerror(rc));
  molt__actor_exit_later(a, rc);
}

static void dispatch(molt_actor_t* a, molt__msg_t* m) {
  if (MOLT__TRACED(a) && m->sys != MOLT__SYS_NONE) molt__trace_signal(a, m);
  switch (m->sys) {
    case MOLT__SYS_NONE:
      molt__actor_handle_user(a, m);
      return; /* handle_user freed or held it */
    case MOLT__SYS_LINK:
      molt__link_add(a, m->pub.from);
      break;
    case MOLT__SYS_UNLINK:
      molt__link_remove(a, m->pub.from);
      break;
    case MOLT__SYS_MONITOR:
      molt__watcher_add(a, m->pub.ref, m->pub.from);
      break;
    case MOLT__SYS_DEMONITOR:
      molt__watcher_remove(a, m->pub.ref);
      break;
    case MOLT__SYS_EXIT:
      molt__link_exit_signal(a, m->pub.from, m->pub.reason, m->flags & MOLT__MSGF_LINKED);
      break;
    case MOLT__SYS_CALL: {
      molt__call_fn fn;
      void* arg;
      molt__msg_call_args(m, &fn, &arg);
      fn(a, arg);
      break;
    }
  }
  molt__msg_free(m);
}

/* Messages still queued when an actor dies: link and monitor requests are
 * taken, so their senders learn the real exit reason; calls run with the
 * actor gone; the rest is dropped, as Erlang drops a dead process's
 * mailbox. */
static void drain_dying(molt_actor_t* a) {
  molt_mpsc_node_t* n;
  while ((n = molt__mpsc_pop(&a->mailbox)) != NULL) {
    molt__msg_t* m = msg_of(n);
    if (m->target_gen != atomic_load_explicit(&a->gen, memory_order_relaxed)) {
      molt__msg_reject(m);
    } else if (m->sys == MOLT__SYS_LINK) {
      molt__link_add(a, m->pub.from);
      molt__msg_free(m);
    } else if (m->sys == MOLT__SYS_MONITOR) {
      molt__watcher_add(a, m->pub.ref, m->pub.from);
      molt__msg_free(m);
    } else {
      molt__msg_reject(m);
    }
  }
}

static void drain_stale(molt_actor_t* a) {
  molt_mpsc_node_t* n;
  while ((n = molt__mpsc_pop(&a->mailbox)) != NULL) molt__msg_reject(msg_of(n));
}

static bool quiet_reason(int reason) {
  return reason == MOLT_EXIT_KILLED || reason == MOLT_EXIT_PURGED;
}

/* Everything an actor owns goes, in an order that lets each party learn
 * the real reason: code (terminate, free_state), its name, then the actors
 * linked to or monitoring it, timers and held messages; the generation
 * bump last, after which the pid is dead to every sender. */
static void actor_exit(molt_actor_t* a) {
  int reason = a->exit_reason;
  molt_pid_t pid = molt__actor_pid(a);
  molt_version_t* v = a->version;
  if (MOLT__TRACED(a)) molt__trace_exit(a, reason);
  a->status = MOLT__EXITING;
  if (a->state) {
    molt_actor_t* prev = cur_actor;
    set_cur(a);
    molt_callsite_t site = molt__callsite_enter(a, v, "terminate");
    if (!quiet_reason(reason) && v->terminate) v->terminate(a->state, reason);
    molt__callsite.callback = "free_state";
    v->free_state(a->state);
    molt__callsite_leave(site);
    set_cur(prev);
    a->state = NULL;
  }
  molt_sched_t* here = molt__sched_current();
  if (here) molt__sched_count(&here->handled_by_gone, atomic_load_explicit(&a->handled, memory_order_relaxed));
  atomic_fetch_sub(&v->actors, 1);
  molt__version_unref(v);
  a->version = NULL;
  drain_dying(a);
  if (a->ext) {
    /* The name goes before anyone hears of the exit: a supervisor that
     * restarts the child on its DOWN or EXIT must find the name free. */
    molt__registry_on_exit(a, pid);
    /* Rooms above too (sockets): a restarted child must be able to listen
     * again. */
    molt__hooks_actor_exit(a, pid);
    molt__link_on_exit(a, pid, reason);
    molt__timer_on_exit(a);
    while (a->ext->saved_head) molt__msg_reject(unhold(a));
    molt__link_free(a->ext);
    molt__free(a->ext);
    a->ext = NULL;
  }
  uint32_t next = atomic_load(&a->gen) + 1;
  atomic_store_explicit(&a->gen, next ? next : 1, memory_order_release);
  atomic_fetch_sub(&molt__rt.live_actors, 1);
  a->exit_pending = false;
  a->status = MOLT__FREE;
}

/* After the actor is gone: park the mailbox and give the slot to the free
 * list (a stale sender may re-queue it; its next run drains and returns). */
static void retire(molt_actor_t* a) {
  give_back(a);
  molt__actor_slot_release(a);
}

/* Messages held while the actor was suspended, which it may now handle. */
static bool held_ready(const molt_actor_t* a) {
  return a->status == MOLT__RUNNING && a->ext && a->ext->saved_head;
}

/* After a turn that parked the mailbox: held messages that became ready
 * (a resume) need another turn, if no sender has queued the actor yet. */
static void after_parked_turn(molt_actor_t* a) {
  if (held_ready(a) && molt__mpsc_unpark(&a->mailbox)) molt__sched_enqueue(a->sched, a);
}

void molt__actor_run(molt_actor_t* a) {
  if (a->status == MOLT__FREE) {
    drain_stale(a);
    retire(a);
    return;
  }
  molt_actor_t* prev = cur_actor;
  set_cur(a);
  int n = 0;
  /* Set once the pop that took the last message parked the mailbox: from
   * then on a sender may queue the actor again (on this same scheduler,
   * so never to run concurrently), and this turn must not pop, park or
   * requeue it. */
  bool parked = false;
  uint32_t popped = 0; /* from the mailbox, for its count (vitals.h) */
  while (n < TURN_BUDGET) {
    molt__msg_t* m;
    if (held_ready(a)) {
      m = unhold(a);
    } else {
      if (parked) break;
      molt_mpsc_node_t* node = molt__mpsc_pop_park(&a->mailbox, &parked);
      if (!node) break;
      m = msg_of(node);
      popped++;
      if (m->target_gen != atomic_load_explicit(&a->gen, memory_order_relaxed)) {
        molt__msg_reject(m);
        continue;
      }
    }
    n++;
    dispatch(a, m);
    if (a->exit_pending) {
      set_cur(prev);
      /* A parked mailbox is taken back unless a sender queued the actor
       * meanwhile: then that run finds it FREE and retires it. */
      bool held = !parked || molt__mpsc_unpark(&a->mailbox);
      actor_exit(a);
      if (held) retire(a);
      return;
    }
    /* The budget bounds messages, not time: a slow handler's backlog ends
     * the turn when the scheduler is due back at its loop. */
    if (molt__sched_yield_due(a->sched)) break;
  }
  set_cur(prev);
  molt__vitals_popped(a, popped);
  if (!parked) molt__vitals_count_mailbox(a); /* parked: nothing left to count */
  if (parked)
    after_parked_turn(a);
  else if (n == TURN_BUDGET)
    molt__sched_enqueue(a->sched, a); /* still holds the mailbox: requeue */
  else
    give_back(a);
}

/* Link or monitor the spawner and the child directly: the child is not
 * running yet, and the spawner is the calling actor. */
static int bind_parent(molt_actor_t* parent, molt_actor_t* a, unsigned flags, uint64_t* mref) {
  molt_pid_t pid = molt__actor_pid(a), ppid = molt__actor_pid(parent);
  if (flags & MOLT_SPAWN_LINK) {
    if (molt__link_add(parent, pid) || molt__link_add(a, ppid)) return MOLT_ENOMEM;
  }
  if (flags & MOLT_SPAWN_MONITOR) {
    uint64_t ref = molt_make_ref();
    if (molt__monitor_add(parent, ref, pid) || molt__watcher_add(a, ref, ppid)) return MOLT_ENOMEM;
    if (mref) *mref = ref;
  }
  return 0;
}

static int run_init(molt_actor_t* a, const char* args_json, void* internal) {
  molt_args_t args;
  molt__args_init(&args, args_json, internal);
  molt_actor_t* prev = cur_actor;
  set_cur(a);
  void* state = NULL;
  molt_callsite_t site = molt__callsite_enter(a, a->version, "init");
  int rc = a->version->init(&args, &state);
  molt__callsite_leave(site);
  set_cur(prev);
  molt__args_close(&args);
  if (rc > 0) rc = MOLT_EINIT;
  if (rc == 0 && !state) rc = MOLT_EINIT; /* the runtime relies on a state to free */
  if (rc == 0) {
    a->state = state;
    a->status = MOLT__RUNNING;
  }
  return rc;
}

static void setup_slot(molt_actor_t* a, molt_version_t* v) {
  molt__version_ref(v);
  atomic_fetch_add(&v->actors, 1);
  atomic_fetch_add(&molt__rt.live_actors, 1);
  a->version = v;
  a->state = NULL;
  a->ext = NULL;
  a->trap_exit = false;
  a->exit_pending = false;
  a->exit_reason = 0;
  molt__vitals_reset(a);
  a->trace = MOLT__TRACE_ON_SPAWN(v);
  a->status = MOLT__INIT;
}

int molt__actor_spawn(molt_version_t* v, const char* args_json, void* internal, unsigned flags,
                      molt_sched_t* s, molt_pid_t* pid_out, uint64_t* mref) {
  molt_actor_t* parent = cur_actor;
  if ((flags & (MOLT_SPAWN_LINK | MOLT_SPAWN_MONITOR)) && !parent) return MOLT_EPERM;
  molt_actor_t* a = molt__actor_slot_alloc(s);
  if (!a) return MOLT_ENOMEM;
  setup_slot(a, v);
  molt_pid_t pid = molt__actor_pid(a);

  /* init runs here, on the spawner's thread, even when the actor will
   * live on another scheduler: its error is the spawn's result, as OTP's
   * supervisors need. The actor is invisible to its scheduler until
   * give_back, and timers set in init are armed there afterwards. */
  int rc = run_init(a, args_json, internal);
  /* If binding runs out of memory after init succeeded, the actor exits
   * below like any other, terminate included. */
  if (rc == 0 && parent) rc = bind_parent(parent, a, flags, mref);
  if (rc == 0 && s != molt__sched_current()) rc = molt__timer_arm_elsewhere(a);
  if (rc) {
    if (parent) {
      molt__link_remove(parent, pid);
      molt__monitor_take_pid(parent, pid);
    }
    a->exit_reason = rc;
    actor_exit(a);
    retire(a);
    return rc;
  }
  if (pid_out) *pid_out = pid;
  if (MOLT__TRACED(a)) molt__trace_spawned(a, parent);
  if (parent && MOLT__TRACED(parent)) molt__trace_spawn(parent, a);
  give_back(a);
  return 0;
}

int molt_spawn_opt(const char* module, const char* args_json, unsigned flags, molt_pid_t* pid,
                   uint64_t* monitor_ref) {
  molt_sched_t* cur = molt__sched_current();
  if (!cur || !module) return cur ? MOLT_EINVAL : MOLT_EPERM;
  molt_version_t* v = molt__code_get_current(module);
  if (!v) return MOLT_ENOMODULE;
  molt_sched_t* s = (flags & MOLT_SPAWN_ANY) ? molt__runtime_pick_sched() : cur;
  int rc = molt__actor_spawn(v, args_json, NULL, flags, s, pid, monitor_ref);
  molt__version_unref(v);
  return rc;
}

int molt_spawn(const char* module, const char* args_json, molt_pid_t* pid) {
  return molt_spawn_opt(module, args_json, 0, pid, NULL);
}

typedef struct {
  molt_sched_t* s;
  molt_version_t* only;
  int reason;
  int killed;
} kill_ctx;

static void kill_one(molt_actor_t* a, void* arg) {
  kill_ctx* k = arg;
  if (a->sched != k->s) return;
  /* INIT: a spawner on another thread is running init; a later pass
   * gets it. */
  uint8_t st = a->status;
  if (st != MOLT__RUNNING && st != MOLT__SUSPENDED) return;
  if (k->only && a->version != k->only) return;
  bool claimed = molt__mpsc_unpark(&a->mailbox);
  a->exit_pending = true;
  a->exit_reason = k->reason;
  actor_exit(a);
  if (claimed) retire(a); /* else it sits in a run queue; its run retires it */
  k->killed++;
}

int molt__actor_kill_here(molt_version_t* only, int reason) {
  kill_ctx k = {molt__sched_current(), only, reason, 0};
  if (k.s) molt__actor_table_foreach(kill_one, &k);
  return k.killed;
}

void molt__actor_kill_all_here(void) { molt__actor_kill_here(NULL, MOLT_EXIT_KILLED); }

molt_pid_t molt_self(void) { return cur_actor ? molt__actor_pid(cur_actor) : MOLT_PID_NONE; }
