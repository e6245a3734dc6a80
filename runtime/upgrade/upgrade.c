/* upgrade.c: the code-change transaction across schedulers.
 *
 * Each scheduler gets a task. Tasks run between two actor turns, so every
 * actor of that scheduler is at a message boundary; the task waits until
 * every scheduler is frozen so, migrates the scheduler's own actors
 * (building new states, leaving the old ones untouched), reports, and then
 * waits for the decision before returning. A scheduler that is parked
 * (idle, its loop blocked) is already between turns: a change with no
 * code_change holds it there instead (molt__sched_hold) and the calling
 * thread does its part, so a soft load wakes no idle thread. From the
 * freeze barrier on, no actor runs anywhere: nothing can spawn, die or
 * send on the old code between the scan, the migration and the switch,
 * which is what makes the transaction all-or-nothing without per-actor
 * suspend bookkeeping. Senders from outside keep pushing into mailboxes,
 * which are lock-free; nothing is dropped. The pause this costs every
 * actor is the migration time itself, a few milliseconds for 10^5 actors.
 *
 * What the pause costs is kept to the migration itself: each scheduler
 * walks only its own slots; the entry vectors are allocated and touched
 * before anything freezes; the last scheduler to arrive takes the
 * decision itself and the others spin for it, so no thread has to be
 * woken by the kernel while actors wait; version reference counts move
 * once per scheduler, not once per actor; and the old states, garbage
 * once every actor has switched, are freed after the resume by the
 * thread that asked for the upgrade, so that free never stalls an actor.
 *
 * The alternative, OTP's suspend/change_code/resume per process, leaves
 * other processes running on old code meanwhile and needs a protocol for
 * processes that spawn or exit mid-upgrade; we pay a short global pause to
 * not need either. */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actor.h"
#include "alloc.h"
#include "callsite.h"
#include "code_server.h"
#include "cow.h"
#include "errmsg.h"
#include "fs.h"
#include "runtime.h"
#include "sched.h"
#include "timed_call.h"
#include "upgrade_counts.h"
#include "trace.h"

enum { PENDING, COMMIT, ABORT };

/* How long, after an abort, the schedulers that started get to apply it
 * before one still inside a code_change is given up on. */
#define ABANDON_MS 1000

typedef struct entry {
  molt_actor_t* a;
  size_t change;
  void* old_state;          /* a->state when migrated; freed after a commit */
  void* new_state;          /* == old_state when no hop migrates */
  molt_version_t* owner;    /* the version whose layout new_state has */
} entry_t;

typedef struct per_sched {
  entry_t* v;
  size_t n, cap;
  long* moved; /* per change: actors switched here (reference counts) */
  bool started; /* frozen: its task began, or it was held */
  bool arrived;
  bool held;    /* parked when asked: its part runs on the asking thread */
} per_sched_t;

typedef struct txn {
  /* The transaction's own copy of the changes, with a reference on every
   * hop's version: a scheduler stuck in code_change past the deadline is
   * given up on, and goes on reading them after the caller has returned. */
  molt_change_t* changes;
  size_t n;
  molt_version_t** from; /* each module's current version at the start */
  molt_version_t** to;   /* each module's version after a commit */
  per_sched_t* ps;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  /* expected: tasks posted (a failed post is not waited for); started:
   * tasks that began before the decision (each will apply it). Both are
   * written under lock and read without it by the freeze barrier. */
  _Atomic unsigned expected, started;
  unsigned arrived, applied;
  _Atomic int decision;
  atomic_bool failed; /* rc != 0, readable without the lock */
  int rc;
  char msg[512];
  uint64_t first_frozen_ns, last_resumed_ns, migrate_ns;
  unsigned held; /* schedulers held parked, not woken */
  atomic_int refs;
  /* A rehearsal (molt__upgrade_rehearse): the schedulers only scan; the
   * decider forks a child that migrates copies, and aborts. */
  bool rehearse;
  const molt_change_t* const* back; /* per change, the way back, or NULL */
  int rpipe[2];            /* the child's verdict: read end, write end */
  struct progress* prog;   /* shared with the child (MAP_SHARED) */
  pid_t child;             /* 0: not forked */
  int fork_errno;
  uint64_t fork_ns;
} txn_t;

/* What the rehearsal child is doing, written before each call into the
 * module: plain stores into a shared page, no system call per call (three
 * write(2)s per actor would cost more than the migration of 10^5 actors).
 * The parent reads it once the child has died or hung. */
typedef struct progress {
  volatile molt_pid_t pid;
  volatile size_t change, hop;
  volatile int dir;            /* MOLT_UP / MOLT_DOWN */
  volatile bool back;          /* on the way back */
  volatile const char* callback; /* static string, same address in both */
  volatile unsigned long done; /* actors rehearsed */
} progress_t;

static atomic_bool busy;

bool molt__upgrade_begin(void) { return !atomic_exchange(&busy, true); }
void molt__upgrade_end(void) { atomic_store(&busy, false); }

static void changes_free(molt_change_t* c, size_t n) {
  for (size_t i = 0; c && i < n; i++) {
    for (size_t h = 0; h < c[i].nhops; h++) {
      molt__version_unref(c[i].hops[h].to);
      molt__free((char*)c[i].hops[h].extra);
    }
    molt__free((molt_hop_t*)c[i].hops);
    molt__free((char*)c[i].module);
  }
  molt__free(c);
}

/* A deep copy of changes, each hop's version referenced; NULL without
 * memory. */
static molt_change_t* changes_copy(const molt_change_t* changes, size_t n) {
  molt_change_t* c = molt__calloc(n ? n : 1, sizeof(*c));
  for (size_t i = 0; c && i < n; i++) {
    molt_hop_t* hops = molt__calloc(changes[i].nhops ? changes[i].nhops : 1, sizeof(*hops));
    c[i].module = molt__strdup(changes[i].module);
    c[i].hops = hops;
    if (!hops || !c[i].module) {
      changes_free(c, i + 1);
      return NULL;
    }
    for (size_t h = 0; h < changes[i].nhops; h++) {
      hops[h] = changes[i].hops[h];
      hops[h].extra = NULL;
      if (changes[i].hops[h].extra && !(hops[h].extra = molt__strdup(changes[i].hops[h].extra))) {
        changes_free(c, i + 1);
        return NULL;
      }
      molt__version_ref(hops[h].to);
      c[i].nhops++;
    }
  }
  return c;
}

static void txn_unref(txn_t* t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1) return;
  changes_free(t->changes, t->n);
  for (size_t i = 0; i < t->n; i++)
    if (t->from[i]) molt__version_unref(t->from[i]);
  molt__free(t->from);
  molt__free(t->to);
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    molt__free(t->ps[i].v);
    molt__free(t->ps[i].moved);
  }
  molt__free(t->ps);
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->cond);
  molt__free(t);
}

static void fail(txn_t* t, int rc, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(txn_t* t, int rc, const char* fmt, ...) {
  pthread_mutex_lock(&t->lock);
  if (t->rc == 0) {
    t->rc = rc;
    atomic_store(&t->failed, true);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&t->lock);
}

static int push_entry(per_sched_t* p, entry_t e) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    entry_t* v = molt__alloc(cap * sizeof(*v));
    if (!v) return MOLT_ENOMEM;
    if (p->n) memcpy(v, p->v, p->n * sizeof(*v));
    molt__free(p->v);
    p->v = v;
    p->cap = cap;
  }
  p->v[p->n++] = e;
  return 0;
}

/* Run one actor's state through every hop of its change, into e. The
 * intermediate states are freed by the version whose layout they have. On
 * failure e is left as it came (new_state == old_state: nothing built).
 * The first hop's code_change is told the vsn and layout of the version
 * the actor runs (from[], which the scan matched it on), never those a
 * plan assumed. */
static int migrate_actor(txn_t* t, entry_t* e) {
  const molt_change_t* c = &t->changes[e->change];
  molt_actor_t* a = e->a;
  molt_version_t* prev = t->from[e->change];
  void* state = e->old_state;
  molt_version_t* owner = prev;
  for (size_t h = 0; h < c->nhops; h++) {
    const molt_hop_t* hop = &c->hops[h];
    if (hop->migrate) {
      bool up = hop->dir == MOLT_UP;
      molt_version_t* callee = up ? hop->to : prev;
      molt_version_t* other = up ? prev : hop->to;
      char pid[24];
      if (!callee->code_change) {
        molt__pid_str(molt__actor_pid(a), pid, sizeof(pid));
        fail(t, MOLT_ECODECHANGE, "actor %s (%s %s -> %s): %s %s has no code_change", pid, c->module,
             prev->vsn, hop->to->vsn, callee->name, callee->vsn);
        goto failed;
      }
      void* next = NULL;
      molt__actor_set_current(a);
      molt_callsite_t site = molt__callsite_enter(a, callee, "code_change");
      int rc = callee->code_change(hop->dir, other->vsn, other->state_vsn, state, hop->extra, &next);
      molt__callsite_leave(site);
      molt__actor_set_current(NULL);
      if (rc == 0 && (!next || next == state)) rc = MOLT_ECODECHANGE;
      if (rc) {
        if (next && next != state) hop->to->free_state(next);
        molt__pid_str(molt__actor_pid(a), pid, sizeof(pid));
        fail(t, rc, "actor %s (%s %s -> %s): code_change %s failed: %s (%s)", pid, c->module, prev->vsn,
             hop->to->vsn, up ? "up" : "down", molt_err_name(rc), molt_strerror(rc));
        goto failed;
      }
      if (state != e->old_state) owner->free_state(state);
      state = next;
      owner = hop->to;
    }
    prev = hop->to;
  }
  e->new_state = state;
  e->owner = owner;
  return 0;
failed:
  if (state != e->old_state) owner->free_state(state);
  return -1;
}

typedef struct {
  txn_t* t;
  per_sched_t* p;
} scan_ctx;

/* First pass: note which of this scheduler's actors change, and how. */
static void scan(molt_actor_t* a, void* arg) {
  scan_ctx* x = arg;
  txn_t* t = x->t;
  if (atomic_load(&t->failed)) return;
  uint8_t st = a->status;
  if (st != MOLT__RUNNING && st != MOLT__SUSPENDED) return;
  for (size_t i = 0; i < t->n; i++) {
    if (a->version != t->from[i]) continue;
    if (push_entry(x->p, (entry_t){a, i, a->state, a->state, t->from[i]}) != 0)
      fail(t, MOLT_ENOMEM, "out of memory recording the migration");
    return;
  }
}

/* Distance, in actors, at which the migration prefetches a state: far
 * enough for the load to land before code_change reads it. */
#define PREFETCH_AHEAD 8

/* Second pass: migrate what the scan noted, in table order, prefetching
 * the states ahead (each state is a cache miss of its own: the slots are
 * contiguous, the states are wherever init allocated them). */
static void migrate_all(txn_t* t, per_sched_t* p) {
  for (size_t i = 0; i < p->n; i++) {
    if (atomic_load(&t->failed) || atomic_load(&t->decision) != PENDING) return; /* stop work */
    if (i + PREFETCH_AHEAD < p->n) __builtin_prefetch(p->v[i + PREFETCH_AHEAD].old_state);
    if (migrate_actor(t, &p->v[i]) != 0) return;
  }
}

/* On commit, the switch of each actor is two stores; the old states wait
 * for free_old_states, and the reference counts move once per change. */
static void apply(txn_t* t, per_sched_t* p, int decision) {
  if (decision == ABORT) {
    for (size_t i = 0; i < p->n; i++) {
      entry_t* e = &p->v[i];
      if (e->new_state != e->old_state) e->owner->free_state(e->new_state);
    }
    return;
  }
  for (size_t i = 0; i < p->n; i++) {
    entry_t* e = &p->v[i];
    const molt_change_t* c = &t->changes[e->change];
    e->a->state = e->new_state;
    e->a->version = c->hops[c->nhops - 1].to;
    if (MOLT__TRACED(e->a)) molt__trace_code_change(e->a, t->from[e->change], e->a->version);
    p->moved[e->change]++;
  }
  for (size_t ci = 0; ci < t->n; ci++) {
    long k = p->moved[ci];
    if (!k) continue;
    molt_version_t *to = t->changes[ci].hops[t->changes[ci].nhops - 1].to, *from = t->from[ci];
    molt__version_ref_n(to, k);
    atomic_fetch_add(&to->actors, k);
    atomic_fetch_sub(&from->actors, k);
    molt__version_unref_n(from, k); /* never the last: the transaction holds from */
  }
}

/* After a commit, every actor runs its new state: the old ones are
 * garbage. Freed here, on the thread that asked for the upgrade, once the
 * schedulers have resumed, with from[] still referenced so their code is
 * mapped. free_state touches nothing but its state (the ABI's contract),
 * so the thread it runs on does not matter. */
static void free_old_states(txn_t* t) {
  for (unsigned s = 0; s < molt__rt.nsched; s++) {
    per_sched_t* p = &t->ps[s];
    for (size_t i = 0; i < p->n; i++) {
      entry_t* e = &p->v[i];
      if (e->new_state != e->old_state) t->from[e->change]->free_state(e->old_state);
    }
  }
}

/* The decision, taken under t->lock by whoever completes the barrier:
 * the last scheduler to arrive, or the coordinator on a timeout. Install
 * is the only step that can still refuse. */
static void rehearse_fork(txn_t* t);

static void decide(txn_t* t) {
  if (t->rehearse) {
    /* Every scheduler is frozen and scanned: the states are consistent.
     * Fork, and let everything resume: nothing changed. */
    if (t->rc == 0) rehearse_fork(t);
    atomic_store(&t->decision, ABORT);
    pthread_cond_broadcast(&t->cond);
    return;
  }
  if (t->rc == 0) t->rc = molt__code_install_set(t->to, t->n, t->msg, sizeof(t->msg));
  if (t->rc) atomic_store(&t->failed, true);
  atomic_store(&t->decision, t->rc ? ABORT : COMMIT);
  pthread_cond_broadcast(&t->cond);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Wait until done(t). Every actor is frozen while we wait, so burning
 * this core costs nothing, and a kernel wake-up (tens of microseconds on
 * a virtual machine, milliseconds when the machine is loaded) would be
 * added to the pause. Spin, then yield the core (another thread may be
 * the one still migrating), and only after that sleep: a scheduler stuck
 * in a long handler makes the others wait up to the timeout. Whoever
 * changes what done() reads broadcasts t->cond under t->lock. */
#define SPIN_NS 2000000

static void await(txn_t* t, bool (*done)(txn_t*)) {
  uint64_t until = molt__now_ns() + SPIN_NS;
  for (unsigned k = 0;; k++) {
    if (done(t)) return;
    if ((k & 255) == 255) {
      if (molt__now_ns() > until) break;
      sched_yield();
    }
    cpu_relax();
  }
  pthread_mutex_lock(&t->lock);
  while (!done(t)) pthread_cond_wait(&t->cond, &t->lock);
  pthread_mutex_unlock(&t->lock);
}

static bool decided(txn_t* t) { return atomic_load(&t->decision) != PENDING; }

/* The freeze barrier: every scheduler is between actor turns, or the
 * coordinator gave up. Scanning before it would race with an actor still
 * running elsewhere that spawns onto this scheduler (MOLT_SPAWN_ANY): the
 * newborn would be missed and left on the old code after the commit. */
static bool all_frozen(txn_t* t) { return atomic_load(&t->started) == atomic_load(&t->expected) || decided(t); }

/* A scheduler's part once every scheduler is frozen: note and migrate
 * its actors, then arrive; the last to arrive decides. */
static void migrate_and_arrive(txn_t* t, molt_sched_t* s, per_sched_t* p) {
  uint64_t t0 = molt__now_ns();
  if (!decided(t)) {
    scan_ctx x = {t, p};
    molt__actor_table_foreach_on(s, scan, &x);
    if (!t->rehearse) migrate_all(t, p);
  }
  uint64_t took = molt__now_ns() - t0;

  pthread_mutex_lock(&t->lock);
  if (took > t->migrate_ns) t->migrate_ns = took;
  p->arrived = true;
  t->arrived++;
  if (t->arrived == t->expected && atomic_load(&t->decision) == PENDING) decide(t);
  pthread_mutex_unlock(&t->lock);
}

/* After the decision: switch (or not) this scheduler's actors. */
static void apply_decision(txn_t* t, per_sched_t* p) {
  apply(t, p, atomic_load(&t->decision));
  pthread_mutex_lock(&t->lock);
  t->applied++;
  t->last_resumed_ns = molt__now_ns();
  pthread_cond_broadcast(&t->cond);
  pthread_mutex_unlock(&t->lock);
}

static void sched_task(void* arg) {
  txn_t* t = arg;
  molt_sched_t* s = molt__sched_current();
  per_sched_t* p = &t->ps[s->id];
  pthread_mutex_lock(&t->lock);
  bool late = decided(t);
  if (!late) {
    t->started++;
    p->started = true;
    if (!t->first_frozen_ns) t->first_frozen_ns = molt__now_ns();
    pthread_cond_broadcast(&t->cond);
  }
  pthread_mutex_unlock(&t->lock);
  if (late) goto out; /* the coordinator gave up on us: change nothing */

  await(t, all_frozen);
  migrate_and_arrive(t, s, p);
  await(t, decided);
  apply_decision(t, p);
out:
  txn_unref(t);
}

/* A hop without code_change hands the actors' states as they are to the
 * new code, which is right only if that code's layout is the one the
 * states are in: the layout of what runs, for the first hop, not of what
 * some manifest says runs. Whoever planned the change should have seen to
 * it (the release handler plans from what runs); this is the last line,
 * where a wrong plan would otherwise become every actor of the module
 * reading its state in the wrong layout. */
static int layouts_check(const molt_change_t* c, molt_version_t* from, char* err, size_t errlen) {
  const molt_version_t* prev = from;
  char was[MOLT_MODULE_VSN_MAX + 48];
  for (size_t h = 0; h < c->nhops; h++) {
    const molt_version_t* to = c->hops[h].to;
    if (c->hops[h].migrate || to->state_vsn == prev->state_vsn) {
      prev = to;
      continue;
    }
    if (h == 0)
      snprintf(was, sizeof(was), "%s (rev %u, state_vsn %u)", prev->label, prev->revision, (unsigned)prev->state_vsn);
    else
      snprintf(was, sizeof(was), "%s (hop %zu, state_vsn %u)", prev->vsn, h, (unsigned)prev->state_vsn);
    return molt__errmsg_set(err, errlen, MOLT_EUPGRADE,
                            "%s: refused to switch %ld actors from %s to %s (state_vsn %u) without code_change: "
                            "their state would be in layout %u, the new code expects %u",
                            c->module, atomic_load(&from->actors), was, to->vsn, (unsigned)to->state_vsn,
                            (unsigned)prev->state_vsn, (unsigned)to->state_vsn);
  }
  return 0;
}

/* Every check that needs no scheduler: each module is loaded, each hop is
 * a version of it whose layout the hop can reach, and its old slot can
 * take the current one. */
static int check(const molt_change_t* c, size_t n, molt_version_t** from, bool rehearse, char* err,
                 size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    if (!c[i].nhops)
      return molt__errmsg_set(err, errlen, MOLT_EINVAL, "%s: no version to change to", c[i].module);
    for (size_t h = 0; h < c[i].nhops; h++) {
      if (strcmp(c[i].hops[h].to->name, c[i].module) != 0)
        return molt__errmsg_set(err, errlen, MOLT_ENAME, "%s: hop %zu is a version of %s", c[i].module, h,
                                c[i].hops[h].to->name);
    }
    if (!(from[i] = molt__code_get_current(c[i].module)))
      return molt__errmsg_set(err, errlen, MOLT_ENOMODULE, "%s: not loaded", c[i].module);
    int rc = layouts_check(&c[i], from[i], err, errlen);
    if (rc) return rc;
    if (rehearse) continue; /* changes nothing: no room needed, none made */
    rc = molt__code_make_room(c[i].module, err, errlen);
    if (rc) return rc;
  }
  return 0;
}

/* Wait (t->lock held) until done(t) or the deadline. */
static int wait_until(txn_t* t, bool (*done)(txn_t*), const struct timespec* until) {
  while (!done(t))
    if (pthread_cond_timedwait(&t->cond, &t->lock, until) != 0 && !done(t)) return MOLT_ETIMEDOUT;
  return 0;
}

static struct timespec deadline_in(uint64_t timeout_ms) { return molt__clock_after_ns(timeout_ms * 1000000ull); }

/* Room for this scheduler's entries, allocated and touched now, before
 * anything freezes: growing the vector, or faulting its pages in, would
 * otherwise happen inside the pause. Actors spread evenly over the
 * schedulers, so a fair share with a margin fits; push_entry grows it if
 * not. */
static int reserve_entries(per_sched_t* p, size_t n, size_t actors) {
  size_t nsched = molt__rt.nsched;
  size_t cap = actors / nsched + actors / (4 * nsched) + 64;
  if (!(p->moved = molt__calloc(n, sizeof(long)))) return MOLT_ENOMEM;
  if (!(p->v = molt__alloc(cap * sizeof(entry_t)))) return MOLT_ENOMEM;
  memset(p->v, 0, cap * sizeof(entry_t));
  p->cap = cap;
  return 0;
}

/* On success the transaction owns from and to (and what from
 * references). */
static txn_t* txn_new(const molt_change_t* changes, size_t n, molt_version_t** from, molt_version_t** to) {
  txn_t* t = molt__calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->ps = molt__calloc(molt__rt.nsched, sizeof(per_sched_t));
  if (!t->ps || !(t->changes = changes_copy(changes, n))) {
    molt__free(t->ps);
    molt__free(t);
    return NULL;
  }
  size_t actors = 0;
  for (size_t i = 0; i < n; i++) actors += (size_t)atomic_load(&from[i]->actors);
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    if (reserve_entries(&t->ps[i], n, actors) == 0) continue;
    for (unsigned j = 0; j <= i; j++) {
      molt__free(t->ps[j].v);
      molt__free(t->ps[j].moved);
    }
    changes_free(t->changes, n);
    molt__free(t->ps);
    molt__free(t);
    return NULL;
  }
  t->n = n;
  t->from = from;
  t->to = to;
  pthread_mutex_init(&t->lock, NULL);
  molt__cond_init_monotonic(&t->cond);
  atomic_init(&t->refs, 1);
  atomic_init(&t->decision, PENDING);
  return t;
}

/* A change that runs no code_change runs no module code while frozen, so
 * this thread can do a parked scheduler's part itself: a soft load then
 * wakes no idle scheduler (a kernel wake-up, tens of microseconds on a
 * virtual machine, each). With code_change the schedulers migrate their
 * own actors, in parallel, and one stuck in a handler can be timed out. */
static bool migrates(const txn_t* t) {
  for (size_t i = 0; i < t->n; i++)
    for (size_t h = 0; h < t->changes[i].nhops; h++)
      if (t->changes[i].hops[h].migrate) return true;
  return false;
}

static void hold_parked(txn_t* t) {
  if (migrates(t)) return;
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if ((t->ps[i].held = t->ps[i].started = molt__sched_hold(&molt__rt.scheds[i]))) t->held++;
  if (!t->held) return;
  pthread_mutex_lock(&t->lock);
  t->started += t->held;
  t->first_frozen_ns = molt__now_ns();
  pthread_mutex_unlock(&t->lock);
}

/* The held schedulers' part, once every scheduler is frozen (or the
 * transaction gave up waiting for one). Their threads sleep or spin in
 * their gate meanwhile; they resume when released. */
static void migrate_held(txn_t* t) {
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if (t->ps[i].held) migrate_and_arrive(t, &molt__rt.scheds[i], &t->ps[i]);
}

static void resume_held(txn_t* t) {
  int decision = atomic_load(&t->decision);
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    if (!t->ps[i].held) continue;
    apply(t, &t->ps[i], decision);
    molt__sched_release(&molt__rt.scheds[i]);
  }
  pthread_mutex_lock(&t->lock);
  t->applied += t->held;
  t->last_resumed_ns = molt__now_ns();
  pthread_mutex_unlock(&t->lock);
}

static void post_tasks(txn_t* t) {
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    if (t->ps[i].held) continue;
    atomic_fetch_add(&t->refs, 1);
    if (molt__sched_post(&molt__rt.scheds[i], sched_task, t) != 0) {
      atomic_fetch_sub(&t->refs, 1);
      fail(t, MOLT_ENOMEM, "out of memory posting to scheduler %u", i);
      pthread_mutex_lock(&t->lock);
      t->expected--;
      if (t->arrived == t->expected && atomic_load(&t->decision) == PENDING) decide(t);
      pthread_cond_broadcast(&t->cond); /* the freeze barrier needs one fewer */
      pthread_mutex_unlock(&t->lock);
    }
  }
}

/* Under t->lock: say which scheduler the transaction gave up on. One that
 * never froze was inside a handler all along; one that froze but did not
 * arrive was still running code_change. */
static void timed_out(txn_t* t, uint64_t timeout_ms) {
  t->rc = MOLT_ETIMEDOUT;
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if (!t->ps[i].started) {
      snprintf(t->msg, sizeof(t->msg),
               "scheduler %u did not reach a message boundary within %llu ms (an actor's handler is still "
               "running)",
               i, (unsigned long long)timeout_ms);
      return;
    }
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if (!t->ps[i].arrived) {
      snprintf(t->msg, sizeof(t->msg), "scheduler %u did not finish its actors' code_change within %llu ms", i,
               (unsigned long long)timeout_ms);
      return;
    }
}

static bool all_applied(txn_t* t) { return t->applied >= t->started; }

/* Under t->lock: the reply says which scheduler was left inside its
 * code_change. */
static void abandoned(txn_t* t) {
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    if (t->ps[i].started && !t->ps[i].arrived) {
      size_t len = strlen(t->msg);
      snprintf(t->msg + len, sizeof(t->msg) - len,
               "; nothing changed, and scheduler %u is left to finish that code_change on its own (its actors "
               "wait until it returns)",
               i);
      return;
    }
}

/* Freeze, migrate, decide, apply. Returns the decision. The schedulers
 * decide among themselves; this thread does the part of those it held,
 * steps in on a timeout, and waits until every scheduler that started has
 * applied the decision. */
static int run(txn_t* t, uint64_t timeout_ms, char* err, size_t errlen) {
  struct timespec until = deadline_in(timeout_ms);
  t->expected = molt__rt.nsched;
  hold_parked(t);
  post_tasks(t);
  pthread_mutex_lock(&t->lock);
  int rc = 0;
  if (t->held) {
    rc = wait_until(t, all_frozen, &until);
    pthread_mutex_unlock(&t->lock);
    if (rc == 0) migrate_held(t);
    pthread_mutex_lock(&t->lock);
  }
  if (rc == 0) rc = wait_until(t, decided, &until);
  if (rc) {
    timed_out(t, timeout_ms);
    if (!decided(t)) decide(t);
  }
  pthread_mutex_unlock(&t->lock);
  if (t->held) resume_held(t);
  pthread_mutex_lock(&t->lock);
  /* started is final now: a task that begins after the decision changes
   * nothing and only drops its reference. After a commit every started
   * scheduler applies within microseconds (pointer stores). After an
   * abort, one may still be inside a code_change that does not return:
   * it is given up on after ABANDON_MS, and applies the abort (frees what
   * it built) whenever it returns, on the transaction's own copies. */
  struct timespec grace = deadline_in(ABANDON_MS);
  while (t->applied < t->started) {
    if (wait_until(t, all_applied, &grace) == 0) break;
    if (atomic_load(&t->decision) == ABORT) {
      abandoned(t);
      break;
    }
    pthread_cond_wait(&t->cond, &t->lock); /* a commit: its stores are under way */
  }
  rc = t->rc;
  if (rc) molt__errmsg_set(err, errlen, rc, "%s", t->msg);
  pthread_mutex_unlock(&t->lock);
  if (rc == 0 && !t->rehearse) free_old_states(t);
  return rc;
}

/* What both entry points begin with: the thread and the runtime checked,
 * every change checked (check), and a transaction that owns from and to.
 * 0 with *out, or the reason in err. */
static int txn_open(const molt_change_t* changes, size_t n, bool rehearse, txn_t** out, char* err,
                    size_t errlen) {
  if (molt__sched_current())
    return molt__errmsg_set(err, errlen, MOLT_EPERM, "an upgrade cannot run on a scheduler thread");
  if (!atomic_load(&molt__rt.running))
    return molt__errmsg_set(err, errlen, MOLT_ENOTRUNNING, "the runtime is not running");
  molt_version_t** from = molt__calloc(n ? n : 1, sizeof(*from));
  molt_version_t** to = molt__calloc(n ? n : 1, sizeof(*to));
  int rc = MOLT_ENOMEM;
  if (from && to && (rc = check(changes, n, from, rehearse, err, errlen)) == 0) {
    for (size_t i = 0; i < n; i++) to[i] = changes[i].hops[changes[i].nhops - 1].to;
    if ((*out = txn_new(changes, n, from, to))) return 0; /* from and to are the transaction's now */
    rc = MOLT_ENOMEM;
  }
  for (size_t i = 0; from && i < n; i++)
    if (from[i]) molt__version_unref(from[i]);
  molt__free(from);
  molt__free(to);
  if (rc == MOLT_ENOMEM && err && !*err) molt__errmsg_set(err, errlen, rc, "out of memory");
  return rc;
}

/* "counter, http": the modules of a change, for its record. */
static void change_names(const molt_change_t* changes, size_t n, char* out, size_t len) {
  size_t used = 0;
  out[0] = 0;
  for (size_t i = 0; i < n && used + 1 < len; i++) {
    int w = snprintf(out + used, len - used, "%s%s", i ? ", " : "", changes[i].module);
    if (w < 0) break;
    used += (size_t)w < len - used ? (size_t)w : len - used - 1;
  }
}

int molt__upgrade_apply(const molt_change_t* changes, size_t n, uint64_t timeout_ms,
                        molt_upgrade_stats_t* stats, char* err, size_t errlen) {
  uint64_t start = molt__now_ns();
  txn_t* t = NULL;
  int rc = txn_open(changes, n, false, &t, err, errlen);
  char modules[160];
  change_names(changes, n, modules, sizeof modules);
  if (rc != 0) molt__upgrade_count(MOLT_CHANGE_REFUSED, 0, 0, modules, 0);
  if (rc == 0) {
    rc = run(t, timeout_ms, err, errlen);
    pthread_mutex_lock(&t->lock);
    uint64_t pause_ns = t->last_resumed_ns > t->first_frozen_ns ? t->last_resumed_ns - t->first_frozen_ns : 0;
    int paused = t->first_frozen_ns != 0;
    unsigned long switched = 0;
    for (unsigned i = 0; rc == 0 && i < molt__rt.nsched; i++) switched += t->ps[i].n;
    pthread_mutex_unlock(&t->lock);
    molt__upgrade_count(rc == 0 ? MOLT_CHANGE_COMMITTED : MOLT_CHANGE_ABORTED, paused, pause_ns, modules, switched);
    if (stats) {
      memset(stats, 0, sizeof(*stats));
      pthread_mutex_lock(&t->lock);
      stats->pause_ns = pause_ns;
      stats->migrate_ns = t->migrate_ns;
      stats->resumed_at_ns = t->last_resumed_ns;
      stats->held = t->held;
      for (unsigned i = 0; i < molt__rt.nsched; i++) stats->actors += t->ps[i].n;
      pthread_mutex_unlock(&t->lock);
    }
    /* The versions left behind run no actor now: purge them, so the next
     * change (a rollback, say) has room. */
    for (size_t i = 0; rc == 0 && i < n; i++) molt__code_make_room(changes[i].module, NULL, 0);
    txn_unref(t);
  }
  if (stats) stats->total_ns = molt__now_ns() - start;
  if (rc == MOLT_ENOMEM && err && !*err) molt__errmsg_set(err, errlen, rc, "out of memory");
  return rc;
}

/* ---- the rehearsal ----
 *
 * Every code_change a transaction would run, run first in a forked copy
 * of the container, on the real states as they are between two messages:
 * the transaction's own freeze, whose decider forks and aborts at once
 * (the pause this costs is the fork: the page tables' copy). The child is
 * one thread, the forking scheduler's: it takes no lock (another thread
 * may have held it at fork time; glibc's malloc is fork-safe, libuv's
 * objects and our mutexes are not), migrates each noted actor's state
 * through every hop, as the transaction will, and writes one verdict line
 * to a pipe. The states it builds die with it: the parent's are never
 * written (copy-on-write).
 *
 * The way back of a release change (the plan `molt rollback` and an
 * upgrade's observation window would run, given by the caller) is
 * rehearsed too: each state, once through every hop, goes on through the
 * way back's, and a crash, an abort, a hang or an error there refuses the
 * change, which could not be undone. The round trip's result
 * is not compared with the original, as the issue asked: that refused
 * changes of the modules we ship that are right. A downgrade may drop
 * what the older layout cannot hold (http 2.0.0 -> 1.1.0 drops bytes_in),
 * and a map's format_state may list its entries in another order after a
 * rebuild (counter). `molt load` (the development loop) has no way back
 * to rehearse: a dev build may have none. */

/* "actor <0.5.0> (slow 1.0.0 -> 2.0.0)" */
static void rh_who(const txn_t* t, molt_pid_t pid, size_t change, char* out, size_t len) {
  const molt_change_t* c = &t->changes[change];
  char p[24];
  molt__pid_str(pid, p, sizeof(p));
  snprintf(out, len, "actor %s (%s %s -> %s)", p, c->module, t->from[change]->vsn, c->hops[c->nhops - 1].to->vsn);
}

static _Noreturn void rh_error(const txn_t* t, int fd, const entry_t* e, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
static _Noreturn void rh_error(const txn_t* t, int fd, const entry_t* e, const char* fmt, ...) {
  char line[700], who[160];
  rh_who(t, molt__actor_pid(e->a), e->change, who, sizeof(who));
  int k = snprintf(line, sizeof(line), "error %s: ", who);
  va_list ap;
  va_start(ap, fmt);
  if (k > 0 && (size_t)k < sizeof(line)) vsnprintf(line + k, sizeof(line) - (size_t)k, fmt, ap);
  va_end(ap);
  size_t n = strlen(line);
  if (n > sizeof(line) - 2) n = sizeof(line) - 2;
  line[n++] = '\n';
  (void)molt__fs_write_all(fd, line, n); /* the parent reads EOF as a death */
  _exit(0);
}

/* One hop's code_change (hop, the h-th of its change), from state to
 * *next: callee in direction dir, told of other's vsn and layout, as
 * migrate_actor chooses them; back: on the way back. */
static void rh_call(const txn_t* t, int fd, const entry_t* e, const molt_hop_t* hop, size_t h, molt_direction_t dir,
                    bool back, molt_version_t* callee, molt_version_t* other, void* state, void** next) {
  progress_t* pg = t->prog;
  pg->hop = h;
  pg->dir = (int)dir;
  pg->back = back;
  pg->callback = "code_change";
  const char* dname = dir == MOLT_UP ? "up" : "down";
  if (!callee->code_change)
    rh_error(t, fd, e, "%s %s has no code_change (%s)", callee->name, callee->vsn, dname);
  *next = NULL;
  molt_callsite_t site = molt__callsite_enter(e->a, callee, "code_change");
  int rc = callee->code_change(dir, other->vsn, other->state_vsn, state, hop->extra, next);
  molt__callsite_leave(site);
  if (rc == 0 && (!*next || *next == state)) rc = MOLT_ECODECHANGE;
  if (rc)
    rh_error(t, fd, e, "code_change %s%s failed in the rehearsal: %s (%s)", dname,
             back ? " (the way back a rollback would take)" : "",
             molt_err_name(rc), molt_strerror(rc));
}

/* *state (of *owner's layout) through the hops of c, from version start,
 * as migrate_actor takes them; back: on the way back. */
static void rh_hops(const txn_t* t, int fd, const entry_t* e, const molt_change_t* c, molt_version_t* start, bool back,
                    void** state, molt_version_t** owner) {
  for (size_t h = 0; h < c->nhops; h++) {
    const molt_hop_t* hop = &c->hops[h];
    molt_version_t* prev = h ? c->hops[h - 1].to : start;
    if (!hop->migrate) continue;
    bool up = hop->dir == MOLT_UP;
    void* next;
    rh_call(t, fd, e, hop, h, hop->dir, back, up ? hop->to : prev, up ? prev : hop->to, *state, &next);
    if (*state != e->old_state) (*owner)->free_state(*state);
    *state = next;
    *owner = hop->to;
  }
}

static void rh_actor(const txn_t* t, int fd, const entry_t* e) {
  const molt_change_t* c = &t->changes[e->change];
  molt_version_t* v0 = t->from[e->change];
  progress_t* pg = t->prog;
  pg->pid = molt__actor_pid(e->a);
  pg->change = e->change;
  molt__actor_set_current(e->a);
  void* state = e->old_state;
  molt_version_t* owner = v0;
  rh_hops(t, fd, e, c, v0, false, &state, &owner);
  const molt_change_t* back = t->back ? t->back[e->change] : NULL;
  if (back) rh_hops(t, fd, e, back, c->nhops ? c->hops[c->nhops - 1].to : v0, true, &state, &owner);
  if (state != e->old_state) owner->free_state(state);
  molt__actor_set_current(NULL);
  pg->callback = NULL;
  pg->done++;
}

static _Noreturn void rh_child(txn_t* t) {
  int fd = t->rpipe[1];
  /* Die with the container; hold none of its sockets (a listener kept
   * open here would stop a restarted container binding its port). */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (fd > 3) syscall(SYS_close_range, 3u, (unsigned)fd - 1, 0u);
  syscall(SYS_close_range, (unsigned)fd + 1, ~0u, 0u);
  /* A fault here is the rehearsal's verdict, not the container's crash:
   * no crash report (crash.c's handler would leave one for the next run). */
  static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
  sigset_t m;
  sigemptyset(&m);
  for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
    signal(fatal[i], SIG_DFL);
    sigaddset(&m, fatal[i]);
  }
  pthread_sigmask(SIG_UNBLOCK, &m, NULL);
  for (unsigned s = 0; s < molt__rt.nsched; s++) {
    const per_sched_t* p = &t->ps[s];
    for (size_t i = 0; i < p->n; i++) {
      if (i + PREFETCH_AHEAD < p->n) __builtin_prefetch(p->v[i + PREFETCH_AHEAD].old_state);
      rh_actor(t, fd, &p->v[i]);
    }
  }
  (void)molt__fs_write_all(fd, "ok\n", 3);
  _exit(0);
}

/* In decide(), under t->lock, every scheduler frozen: fork. */
static void rehearse_fork(txn_t* t) {
  uint64_t t0 = molt__now_ns();
  pid_t pid = fork();
  if (pid == 0) rh_child(t);
  t->fork_ns = molt__now_ns() - t0;
  if (pid < 0) {
    t->fork_errno = errno;
    t->rc = -errno;
    snprintf(t->msg, sizeof(t->msg), "rehearsal: fork failed: %s", strerror(errno));
    atomic_store(&t->failed, true);
    return;
  }
  t->child = pid;
}

/* The child's verdict, within timeout_ms; refuses with a reason naming the
 * actor, the module, the callback and the signal or error. */
static int rh_verdict(txn_t* t, uint64_t timeout_ms, char* err, size_t errlen) {
  char buf[1024];
  size_t len = 0;
  uint64_t until = molt__now_ns() + timeout_ms * 1000000ull;
  bool eof = false, timeout = false;
  while (!eof && len < sizeof(buf) - 1) {
    uint64_t now = molt__now_ns();
    if (now >= until) {
      timeout = true;
      break;
    }
    struct pollfd pf = {t->rpipe[0], POLLIN, 0};
    int pr = poll(&pf, 1, (int)((until - now) / 1000000 + 1));
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue;
    ssize_t r = read(t->rpipe[0], buf + len, sizeof(buf) - 1 - len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) eof = true;
    else len += (size_t)r;
  }
  buf[len] = 0;
  if (timeout) kill(t->child, SIGKILL);
  int status = 0;
  while (waitpid(t->child, &status, 0) < 0 && errno == EINTR) {
  }
  t->child = 0;
  if (!timeout && strcmp(buf, "ok\n") == 0) return 0;
  if (!timeout && strncmp(buf, "error ", 6) == 0) {
    buf[strcspn(buf, "\n")] = 0;
    return molt__errmsg_set(err, errlen, MOLT_ECODECHANGE, "rehearsal refused the change: %s (nothing changed)",
                            buf + 6);
  }
  /* Died or hung: the shared page says where. */
  progress_t* pg = t->prog;
  char who[160] = "before any actor";
  const char* cb = (const char*)pg->callback;
  if (cb) rh_who(t, pg->pid, pg->change, who, sizeof(who));
  char what[96] = "";
  if (cb && strcmp(cb, "code_change") == 0)
    snprintf(what, sizeof(what), "code_change %s%s", pg->dir == MOLT_UP ? "up" : "down",
             pg->back ? " (the way back a rollback would take)" : "");
  else if (cb)
    snprintf(what, sizeof(what), "%s", cb);
  else
    snprintf(what, sizeof(what), "the rehearsal");
  if (timeout)
    return molt__errmsg_set(err, errlen, MOLT_ETIMEDOUT,
                            "rehearsal refused the change: %s: %s did not return within %llu ms (after %lu actors; "
                            "nothing changed)",
                            who, what, (unsigned long long)timeout_ms, (unsigned long)pg->done);
  if (WIFSIGNALED(status)) {
    const char* sig = sigabbrev_np(WTERMSIG(status));
    return molt__errmsg_set(err, errlen, MOLT_ECODECHANGE,
                            "rehearsal refused the change: %s: %s killed by SIG%s (nothing changed)", who, what,
                            sig ? sig : "?");
  }
  return molt__errmsg_set(err, errlen, MOLT_ECODECHANGE,
                          "rehearsal refused the change: %s: %s: the rehearsal exited with status %d (nothing changed)",
                          who, what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static bool any_migrates(const molt_change_t* c, size_t n) {
  for (size_t i = 0; i < n; i++)
    for (size_t h = 0; h < c[i].nhops; h++)
      if (c[i].hops[h].migrate) return true;
  return false;
}

/* Since the fork, every page the two processes shared is write-protected
 * in ours, and the first write to each takes a fault. The transaction that
 * follows writes every changed actor's slot while every actor waits, and
 * those faults would lengthen its pause by milliseconds at 10^5 actors.
 * So each scheduler rewrites its own actors' slots first, between two of
 * their turns (the owner's store, of the value it holds: no race). */
static void touch_slot(molt_actor_t* a, void* arg) {
  (void)arg;
  *(void* volatile*)&a->state = a->state;
}

static void touch_own_slots(void* arg) {
  (void)arg;
  molt__actor_table_foreach_on(molt__sched_current(), touch_slot, NULL);
}

static void reclaim_pages(uint64_t timeout_ms) {
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    molt__sched_call_within(&molt__rt.scheds[i], touch_own_slots, NULL, (uint32_t)timeout_ms);
}

int molt__upgrade_rehearse(const molt_change_t* changes, size_t n, const molt_change_t* const* back,
                           uint64_t timeout_ms, molt_upgrade_stats_t* stats, char* err, size_t errlen) {
  uint64_t start = molt__now_ns();
  if (stats) memset(stats, 0, sizeof(*stats));
  if (!any_migrates(changes, n)) return 0; /* nothing to rehearse: no fork */
  txn_t* t = NULL;
  int rc = txn_open(changes, n, true, &t, err, errlen);
  if (rc) goto out;
  t->rehearse = true;
  t->back = back;
  t->rpipe[0] = t->rpipe[1] = -1;
  if (pipe2(t->rpipe, O_CLOEXEC) != 0) {
    rc = molt__errmsg_set(err, errlen, -errno, "rehearsal: pipe: %s", strerror(errno));
    goto out;
  }
  void* pg = mmap(NULL, sizeof(progress_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (pg == MAP_FAILED) {
    rc = molt__errmsg_set(err, errlen, -errno, "rehearsal: mmap: %s", strerror(errno));
    goto out;
  }
  t->prog = pg;
  rc = run(t, timeout_ms, err, errlen);
  close(t->rpipe[1]);
  t->rpipe[1] = -1;
  bool forked = t->child > 0;
  if (rc == 0 && forked) rc = rh_verdict(t, timeout_ms, err, errlen);
  if (rc == 0 && forked) reclaim_pages(timeout_ms);
  if (rc == 0 && forked) molt__cow_reclaim();
  if (stats) {
    pthread_mutex_lock(&t->lock);
    stats->pause_ns = t->last_resumed_ns > t->first_frozen_ns ? t->last_resumed_ns - t->first_frozen_ns : 0;
    stats->migrate_ns = t->fork_ns;
    for (unsigned i = 0; i < molt__rt.nsched; i++) stats->actors += t->ps[i].n;
    pthread_mutex_unlock(&t->lock);
  }
out:
  if (t) {
    /* A timed-out transaction may still have a scheduler inside: it only
     * scans, but the pipe and page go with the last reference. Close ours. */
    if (t->child > 0) { /* run() failed after the fork */
      kill(t->child, SIGKILL);
      while (waitpid(t->child, NULL, 0) < 0 && errno == EINTR) {
      }
    }
    for (int k = 0; k < 2; k++)
      if (t->rpipe[k] >= 0) close(t->rpipe[k]);
    if (t->prog) munmap(t->prog, sizeof(progress_t));
    txn_unref(t);
  }
  if (stats) stats->total_ns = molt__now_ns() - start;
  if (rc == MOLT_ENOMEM && err && !*err) molt__errmsg_set(err, errlen, rc, "out of memory");
  return rc;
}
