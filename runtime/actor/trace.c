/* trace.c: molt trace's sessions and what each trace point records. A
 * session traces one actor or one module's actors; its events go to its
 * ring (trace_ring.c) through its token bucket, under its lock, which only
 * traced actors ever take: tracing one actor among many busy ones slows
 * that actor alone.
 *
 * An actor's trace byte has one bit per session slot. Only the actor's
 * own thread writes it: a session is marked in each actor's turn (or on
 * each scheduler, for a module), and nobody unmarks: an actor whose bit
 * names a session that ended, or a slot since reused for another target,
 * finds out at its next event and clears the bit itself. So stopping,
 * or a client killed mid-trace (the session expires, MOLT_TRACE_IDLE_MS),
 * never needs to reach a busy scheduler. */
#include "trace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "clock.h"
#include "code_server.h"
#include "errmsg.h"
#include "runtime.h"
#include "sched.h"
#include "timed_call.h"

/* How long start waits for the traced actor's turn, and for each
 * scheduler's, as molt inspect and molt ps do. */
#define MARK_ACTOR_TIMEOUT_MS 1000
#define MARK_SCHED_TIMEOUT_MS 500
#define MODULE_NAME_MAX 63

typedef struct session {
  pthread_mutex_t lock;
  bool active;
  uint64_t id;
  molt_pid_t pid;                    /* the traced actor, or MOLT_PID_NONE... */
  char module[MODULE_NAME_MAX + 1];  /* ...and then the traced module */
  uint64_t max, taken, dropped;
  uint64_t last_read_ns;
  molt_trace_bucket_t bucket;
  molt_trace_ring_t ring;
} session_t;

#define SESSION_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}
static session_t sessions[MOLT_TRACE_SESSIONS] = {SESSION_INIT, SESSION_INIT, SESSION_INIT, SESSION_INIT};
_Static_assert(MOLT_TRACE_SESSIONS == 4 && MOLT_TRACE_SESSIONS <= 8, "one initializer per slot, a bit each");

/* Slots tracing a module, for spawns to read without a lock. */
static _Atomic uint8_t module_bits;
static atomic_uint_fast64_t last_id;

const char* molt__trace_reason_name(int reason) {
  switch (reason) {
    case MOLT_EXIT_NORMAL: return "normal";
    case MOLT_EXIT_SHUTDOWN: return "shutdown";
    case MOLT_EXIT_KILL: return "kill";
    case MOLT_EXIT_KILLED: return "killed";
    case MOLT_EXIT_NOPROC: return "noproc";
    case MOLT_EXIT_PURGED: return "purged";
  }
  return reason < 0 ? molt_err_name(reason) : "other";
}

/* Under s->lock. */
static void end_session(session_t* s, unsigned slot) {
  s->active = false;
  molt__free(s->ring.v);
  s->ring.v = NULL;
  atomic_fetch_and(&module_bits, (uint8_t)~(1u << slot));
}

static bool expired(const session_t* s, uint64_t now_ns) {
  return now_ns > s->last_read_ns && now_ns - s->last_read_ns > MOLT_TRACE_IDLE_MS * 1000000ull;
}

static bool targets(const session_t* s, molt_actor_t* a) {
  if (s->pid != MOLT_PID_NONE) return molt__actor_pid(a) == s->pid;
  return a->version && strcmp(a->version->name, s->module) == 0;
}

/* Cut to fit (trace_ring.h): a trace line need not carry a 128-byte vsn. */
static void copy_label(char* dst, size_t cap, const char* src) {
  size_t n = src ? strnlen(src, cap - 1) : 0;
  memcpy(dst, src ? src : "", n);
  dst[n] = '\0';
}

static uint64_t wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Who and when: only for an event a session keeps, so that one over the
 * rate costs a lock and a clock read, not the labels' copies. */
static void fill(molt_actor_t* a, molt_trace_event_t* e) {
  e->ts_us = wall_us();
  e->pid = molt__actor_pid(a);
  copy_label(e->module, sizeof(e->module), a->version ? a->version->name : "");
  copy_label(e->name, sizeof(e->name), a->ext ? a->ext->name : NULL);
}

/* Offer e to slot i's session; false once the session no longer wants a's
 * events (ended, expired, another target now, or its max taken). */
static bool offer(unsigned i, molt_actor_t* a, molt_trace_event_t* e, bool* filled, uint64_t now_ns) {
  session_t* s = &sessions[i];
  bool wanted = true;
  pthread_mutex_lock(&s->lock);
  if (s->active && expired(s, now_ns)) end_session(s, i);
  if (!s->active || !targets(s, a) || (s->max && s->taken >= s->max)) {
    wanted = false;
  } else if (!molt__trace_bucket_take(&s->bucket, now_ns) || s->ring.n == s->ring.cap) {
    s->dropped++;
  } else {
    if (!*filled) fill(a, e);
    *filled = true;
    molt__trace_ring_push(&s->ring, e);
    s->taken++;
  }
  pthread_mutex_unlock(&s->lock);
  return wanted;
}

/* Hand e to each session a is marked for. */
static void emit(molt_actor_t* a, molt_trace_event_t* e) {
  uint64_t now = molt__now_ns();
  bool filled = false;
  for (unsigned i = 0; i < MOLT_TRACE_SESSIONS; i++) {
    uint8_t bit = (uint8_t)(1u << i);
    if ((a->trace & bit) && !offer(i, a, e, &filled, now)) a->trace &= (uint8_t)~bit;
  }
}

static molt_trace_event_t event_of(molt_trace_kind_t kind, molt_pid_t peer) {
  molt_trace_event_t e;
  memset(&e, 0, sizeof(e));
  e.kind = (uint16_t)kind;
  e.peer = peer;
  return e;
}

void molt__trace_recv(molt_actor_t* a, const molt__msg_t* m) {
  molt_trace_event_t e = event_of(MOLT_TRACE_RECV, m->pub.from);
  e.msg_kind = (uint16_t)m->pub.kind;
  e.tag = m->pub.tag;
  e.size = m->pub.size;
  e.reason = m->pub.reason;
  emit(a, &e);
}

void molt__trace_sent(molt_actor_t* a, molt_pid_t to, const molt__msg_t* m) {
  molt_trace_event_t e = event_of(MOLT_TRACE_SENT, to);
  e.tag = m->pub.tag;
  e.size = m->pub.size;
  emit(a, &e);
}

void molt__trace_signal(molt_actor_t* a, const molt__msg_t* m) {
  if (m->sys == MOLT__SYS_CALL) return; /* the runtime's own visits (inspect, ps, trace) */
  molt_trace_event_t e = event_of(MOLT_TRACE_SIGNAL, m->pub.from);
  e.msg_kind = m->sys;
  e.reason = m->pub.reason;
  emit(a, &e);
}

void molt__trace_peer(molt_actor_t* a, molt_trace_kind_t kind, molt_pid_t peer) {
  molt_trace_event_t e = event_of(kind, peer);
  emit(a, &e);
}

void molt__trace_spawn(molt_actor_t* parent, molt_actor_t* child) {
  molt_trace_event_t e = event_of(MOLT_TRACE_SPAWN, molt__actor_pid(child));
  copy_label(e.to, sizeof(e.to), child->version->name);
  emit(parent, &e);
}

void molt__trace_spawned(molt_actor_t* child, molt_actor_t* parent) {
  molt_trace_event_t e = event_of(MOLT_TRACE_SPAWNED, parent ? molt__actor_pid(parent) : MOLT_PID_NONE);
  emit(child, &e);
}

void molt__trace_exit(molt_actor_t* a, int reason) {
  molt_trace_event_t e = event_of(MOLT_TRACE_EXIT, MOLT_PID_NONE);
  e.reason = reason;
  emit(a, &e);
}

void molt__trace_code_change(molt_actor_t* a, const molt_version_t* from, const molt_version_t* to) {
  molt_trace_event_t e = event_of(MOLT_TRACE_CODE_CHANGE, MOLT_PID_NONE);
  copy_label(e.from, sizeof(e.from), from->label);
  copy_label(e.to, sizeof(e.to), to->label);
  emit(a, &e);
}

uint8_t molt__trace_on_spawn(const molt_version_t* v) {
  uint8_t bits = atomic_load_explicit(&module_bits, memory_order_relaxed), out = 0;
  for (unsigned i = 0; bits && i < MOLT_TRACE_SESSIONS; i++) {
    if (!(bits & (1u << i))) continue;
    session_t* s = &sessions[i];
    pthread_mutex_lock(&s->lock);
    if (s->active && s->pid == MOLT_PID_NONE && strcmp(s->module, v->name) == 0) out |= (uint8_t)(1u << i);
    pthread_mutex_unlock(&s->lock);
  }
  return out;
}

/* ---- sessions, for the control commands. */

/* A free slot (or one whose client went away) for spec, active from now;
 * its index, or -1 if all are taken. ring: MOLT_TRACE_RING events, the
 * slot's from now on. */
static int claim(const molt_trace_spec_t* spec, molt_trace_event_t* ring, uint64_t* id) {
  uint64_t now = molt__now_ns();
  for (unsigned i = 0; i < MOLT_TRACE_SESSIONS; i++) {
    session_t* s = &sessions[i];
    pthread_mutex_lock(&s->lock);
    if (s->active && expired(s, now)) end_session(s, i);
    bool mine = !s->active;
    if (mine) {
      s->active = true;
      s->id = *id = atomic_fetch_add(&last_id, 1) + 1;
      s->pid = spec->pid;
      copy_label(s->module, sizeof(s->module), spec->module);
      s->max = spec->max;
      s->taken = s->dropped = 0;
      s->last_read_ns = now;
      molt__trace_bucket_init(&s->bucket, spec->rate, now);
      molt__trace_ring_init(&s->ring, ring, MOLT_TRACE_RING);
    }
    pthread_mutex_unlock(&s->lock);
    if (mine) return (int)i;
  }
  return -1;
}

typedef struct {
  uint8_t bit;
  const char* module;
  bool found;
} mark_ctx;

static void mark_actor(molt_actor_t* a, void* arg) {
  mark_ctx* m = arg;
  if (!a) return;
  a->trace |= m->bit;
  m->found = true;
}

static void mark_if_module(molt_actor_t* a, void* arg) {
  mark_ctx* m = arg;
  uint8_t st = a->status;
  if (a->sched != molt__sched_current() || (st != MOLT__RUNNING && st != MOLT__SUSPENDED)) return;
  if (strcmp(a->version->name, m->module) == 0) a->trace |= m->bit;
}

static void mark_sched(void* arg) { molt__actor_table_foreach_on(molt__sched_current(), mark_if_module, arg); }

static int mark(const molt_trace_spec_t* spec, unsigned slot, unsigned* busy, char* err, size_t errlen) {
  mark_ctx m = {(uint8_t)(1u << slot), spec->module, false};
  char pid[24];
  if (spec->pid == MOLT_PID_NONE) {
    atomic_fetch_or(&module_bits, m.bit); /* first: an actor spawned meanwhile is traced too */
    for (unsigned i = 0; i < molt__rt.nsched; i++)
      if (molt__sched_call_within(&molt__rt.scheds[i], mark_sched, &m, MARK_SCHED_TIMEOUT_MS) != 0) (*busy)++;
    return 0;
  }
  molt__pid_str(spec->pid, pid, sizeof(pid));
  int rc = molt__actor_call_within(spec->pid, mark_actor, &m, MARK_ACTOR_TIMEOUT_MS);
  if (rc == MOLT_ETIMEDOUT)
    return molt__errmsg_set(err, errlen, rc, "actor %s is busy: it did not reach its turn within %u ms", pid,
                            MARK_ACTOR_TIMEOUT_MS);
  if (rc) return molt__errmsg_set(err, errlen, rc, "actor %s: %s", pid, molt_strerror(rc));
  if (!m.found) return molt__errmsg_set(err, errlen, MOLT_ESRCH, "no actor %s", pid);
  return 0;
}

static int check_spec(const molt_trace_spec_t* spec, char* err, size_t errlen) {
  if (spec->rate < 1 || spec->rate > MOLT_TRACE_RATE_MAX)
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "rate: expected 1..%u events a second, found %u",
                            MOLT_TRACE_RATE_MAX, spec->rate);
  if (spec->pid != MOLT_PID_NONE) return 0;
  if (!spec->module || !*spec->module || strlen(spec->module) > MODULE_NAME_MAX)
    return molt__errmsg_set(err, errlen, MOLT_EINVAL, "module: expected a module name of 1..%d bytes",
                            MODULE_NAME_MAX);
  molt_version_t* v = molt__code_get_current(spec->module);
  if (!v) return molt__errmsg_set(err, errlen, MOLT_ENOMODULE, "no module \"%s\" is loaded", spec->module);
  molt__version_unref(v);
  return 0;
}

int molt__trace_start(const molt_trace_spec_t* spec, uint64_t* id, unsigned* busy, char* err, size_t errlen) {
  *busy = 0;
#if !MOLT_TRACE
  (void)spec;
  (void)id;
  return molt__errmsg_set(err, errlen, MOLT_ENOTSUP,
                          "this molt was built with -DMOLT_TRACE=OFF: its trace points are compiled out");
#else
  int rc = check_spec(spec, err, errlen);
  if (rc) return rc;
  molt_trace_event_t* ring = molt__alloc(MOLT_TRACE_RING * sizeof(*ring));
  if (!ring) return molt__errmsg_set(err, errlen, MOLT_ENOMEM, "out of memory for the trace's ring");
  int slot = claim(spec, ring, id);
  if (slot < 0) {
    molt__free(ring);
    return molt__errmsg_set(err, errlen, MOLT_EBUSY, "%d trace sessions are running already, the most at once",
                            MOLT_TRACE_SESSIONS);
  }
  rc = mark(spec, (unsigned)slot, busy, err, errlen);
  if (rc) molt__trace_stop(*id);
  return rc;
#endif
}

/* The active session id, locked; NULL if none. */
static session_t* find_locked(uint64_t id, unsigned* slot) {
  for (unsigned i = 0; i < MOLT_TRACE_SESSIONS; i++) {
    session_t* s = &sessions[i];
    pthread_mutex_lock(&s->lock);
    if (s->active && s->id == id) {
      *slot = i;
      return s;
    }
    pthread_mutex_unlock(&s->lock);
  }
  return NULL;
}

int molt__trace_read(uint64_t id, molt_trace_event_t* out, uint32_t max, uint32_t* n, uint64_t* dropped,
                     bool* done) {
  unsigned slot;
  session_t* s = find_locked(id, &slot);
  if (!s) return MOLT_ESRCH;
  *n = molt__trace_ring_take(&s->ring, out, max);
  *dropped = s->dropped;
  s->dropped = 0;
  *done = s->max && s->taken >= s->max && s->ring.n == 0;
  s->last_read_ns = molt__now_ns();
  pthread_mutex_unlock(&s->lock);
  return 0;
}

int molt__trace_stop(uint64_t id) {
  unsigned slot;
  session_t* s = find_locked(id, &slot);
  if (!s) return MOLT_ESRCH;
  end_session(s, slot);
  pthread_mutex_unlock(&s->lock);
  return 0;
}
