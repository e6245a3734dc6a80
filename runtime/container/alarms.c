/* alarms.c: see alarms.h. Each check reads the schedulers' busy time
 * (its growth over the second is the utilisation), the container's
 * resident memory (/proc/self/statm) and, in one pass over the actor
 * table (actor_rows.c), every actor's mailbox, memory and current
 * callback; then compares what is over a threshold now with what was
 * set: new conditions are set and logged, vanished ones cleared and
 * logged. A figure must fall to three quarters of its threshold to clear,
 * so one that hovers at the line does not log every second.
 *
 * The pass over a million actors takes tens of milliseconds, so the actor
 * part runs at most every 20 times its own last duration (at most 5% of
 * one core), and at least once a second when the table is small. At most
 * MAX_ALARMS are tracked; beyond that new ones are counted, not listed. */
#include "alarms.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor_rows.h"
#include "alloc.h"
#include "clock.h"
#include "log.h"
#include "runtime.h"
#include "sched.h"
#include "version.h"

#define CHECK_MS 1000
#define MAX_ALARMS 1024
#define MODULE_CACHE 64

static const char* const kind_names[MOLT_ALARM_NKINDS] = {"mailbox", "scheduler_busy", "memory", "actor_memory",
                                                          "callback"};

const char* molt__alarm_kind_name(molt_alarm_kind_t kind) { return kind_names[kind]; }

typedef struct {
  molt_alarm_t a;
  bool seen; /* still over (or above the clearing line) at this check */
} slot_t;

static struct {
  pthread_mutex_t lock; /* set, nset, dropped, util: read by the control thread */
  slot_t set[MAX_ALARMS];
  unsigned nset;
  unsigned long dropped;
  double* util;
  /* The loop thread's own. */
  uv_timer_t timer;
  bool started;
  molt_container_state_t* st;
  uint64_t* busy_prev;
  uint64_t* busy_from; /* when the scheduler went over the line, 0: not over */
  uint64_t prev_ns, next_scan_ns;
  molt_manifest_alarms_t lim;
  /* Per-module mailbox thresholds of the release, copied at each check
   * (the scan must not take the container's lock: see read_limits), and
   * the versions already looked up. */
  struct {
    char name[64];
    uint32_t mailbox;
  } rel[MODULE_CACHE];
  unsigned nrel;
  struct {
    const molt_version_t* v;
    uint32_t mailbox;
  } mods[MODULE_CACHE];
  unsigned nmods;
} al = {.lock = PTHREAD_MUTEX_INITIALIZER};

static slot_t* find(molt_alarm_kind_t kind, const char* subject) {
  for (unsigned i = 0; i < al.nset; i++)
    if (al.set[i].a.kind == kind && strcmp(al.set[i].a.subject, subject) == 0) return &al.set[i];
  return NULL;
}

static void log_set(const molt_alarm_t* a) {
  molt__log_warn("alarm set: %s %s%s%s: %llu over the limit %llu", kind_names[a->kind], a->subject,
                 *a->module ? " " : "", a->module, (unsigned long long)a->value, (unsigned long long)a->limit);
}

static void log_cleared(const molt_alarm_t* a, uint64_t now) {
  molt__log_warn("alarm cleared: %s %s%s%s after %llu s", kind_names[a->kind], a->subject, *a->module ? " " : "",
                 a->module, (unsigned long long)((now - a->since_ns) / 1000000000u));
}

/* A condition at this check: over marks it set (new: logged); holding
 * (above the clearing line) keeps one already set. Under al.lock. */
static void note(molt_alarm_kind_t kind, const char* subject, const char* module, uint64_t value, uint64_t limit,
                 uint64_t now) {
  bool over = value > limit, holding = value * 4 > limit * 3;
  if (!holding) return;
  slot_t* s = find(kind, subject);
  if (s) {
    s->seen = true;
    s->a.value = value;
    return;
  }
  if (!over) return;
  if (al.nset == MAX_ALARMS) {
    al.dropped++;
    return;
  }
  s = &al.set[al.nset++];
  memset(s, 0, sizeof(*s));
  s->a.kind = kind;
  snprintf(s->a.subject, sizeof(s->a.subject), "%s", subject);
  snprintf(s->a.module, sizeof(s->a.module), "%s", module ? module : "");
  s->a.since_ns = now;
  s->a.value = value;
  s->a.limit = limit;
  s->seen = true;
  log_set(&s->a);
}

/* Clear what this check did not see, of the kinds it looked at. */
static void sweep(const bool* checked, uint64_t now) {
  for (unsigned i = 0; i < al.nset;) {
    slot_t* s = &al.set[i];
    if (!checked[s->a.kind] || s->seen) {
      s->seen = false;
      i++;
      continue;
    }
    log_cleared(&s->a, now);
    al.set[i] = al.set[--al.nset];
  }
}

static uint32_t mailbox_limit(const molt_version_t* v) {
  for (unsigned i = 0; i < al.nmods; i++)
    if (al.mods[i].v == v) return al.mods[i].mailbox;
  uint32_t lim = al.lim.mailbox;
  for (unsigned i = 0; i < al.nrel; i++)
    if (strcmp(al.rel[i].name, v->name) == 0) lim = al.rel[i].mailbox;
  if (al.nmods < MODULE_CACHE) {
    al.mods[al.nmods].v = v;
    al.mods[al.nmods++].mailbox = lim;
  }
  return lim;
}

static void check_actor(const molt_vitals_t* v, void* arg) {
  uint64_t now = *(uint64_t*)arg;
  char pid[24];
  molt__pid_str(v->pid, pid, sizeof(pid));
  if (v->status == MOLT__EXITING) return;
  uint32_t lim = mailbox_limit(v->version);
  uint64_t mem_lim = (uint64_t)al.lim.actor_memory_mb << 20;
  uint64_t cb_lim = (uint64_t)al.lim.callback_s * 1000, cb_ms = v->callback_ns / 1000000;
  bool mailbox = v->mailbox * 4ull > lim * 3ull;
  bool memory = mem_lim && v->memory > 0 && (uint64_t)v->memory * 4 > mem_lim * 3;
  bool callback = cb_lim && v->callback && cb_ms * 4 > cb_lim * 3;
  if (!mailbox && !memory && !callback) return; /* nearly every actor: no lock */
  pthread_mutex_lock(&al.lock);
  if (mailbox) note(MOLT_ALARM_MAILBOX, pid, v->version->name, v->mailbox, lim, now);
  if (memory) note(MOLT_ALARM_ACTOR_MEMORY, pid, v->version->name, (uint64_t)v->memory, mem_lim, now);
  if (callback) note(MOLT_ALARM_CALLBACK, pid, v->version->name, cb_ms, cb_lim, now);
  pthread_mutex_unlock(&al.lock);
}

static uint64_t rss_bytes(void) {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, rss = 0;
  if (!f) return 0;
  if (fscanf(f, "%lu %lu", &size, &rss) != 2) rss = 0;
  fclose(f);
  return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void check_schedulers(uint64_t now, uint64_t dt) {
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    molt_sched_vitals_t sv;
    molt__vitals_sched_read(i, now, &sv);
    double u = dt && al.prev_ns ? (double)(sv.busy_ns - al.busy_prev[i]) / (double)dt : 0;
    if (u > 1) u = 1;
    if (u < 0) u = 0;
    al.busy_prev[i] = sv.busy_ns;
    al.util[i] = u;
    unsigned pct = (unsigned)(u * 100 + 0.5);
    if (pct > al.lim.scheduler_busy_percent) {
      if (!al.busy_from[i]) al.busy_from[i] = now;
    } else if (pct * 4 <= al.lim.scheduler_busy_percent * 3) {
      al.busy_from[i] = 0;
    }
    char subject[32];
    snprintf(subject, sizeof(subject), "scheduler %u", i);
    /* Over for long enough sets it; once set it holds while above the
     * clearing line (busy_from is reset only below it). */
    bool long_enough = al.busy_from[i] && now - al.busy_from[i] >= (uint64_t)al.lim.scheduler_busy_s * 1000000000u;
    if (long_enough) note(MOLT_ALARM_SCHEDULER_BUSY, subject, NULL, pct, al.lim.scheduler_busy_percent, now);
  }
}

/* The thresholds, copied under the container's lock before the scan:
 * the scan holds the version readers' lock (version.h), and a job may
 * drop a version's last reference, which waits for readers, while it
 * holds the container's lock. */
static void read_limits(void) {
  molt_manifest_alarms_t lim = MOLT_MANIFEST_ALARMS_DEFAULT;
  pthread_mutex_lock(&al.st->lock);
  const molt_manifest_t* m = al.st->manifest;
  if (m && m->has_alarms) lim = m->alarms;
  al.nrel = 0;
  for (size_t i = 0; m && i < m->nmodules && al.nrel < MODULE_CACHE; i++)
    if (m->modules[i].mailbox_alarm) {
      snprintf(al.rel[al.nrel].name, sizeof(al.rel[al.nrel].name), "%s", m->modules[i].name);
      al.rel[al.nrel++].mailbox = m->modules[i].mailbox_alarm;
    }
  pthread_mutex_unlock(&al.st->lock);
  al.lim = lim;
}

static void on_check(uv_timer_t* t) {
  uint64_t now = molt__now_ns();
  uint64_t dt = al.prev_ns ? now - al.prev_ns : 0;
  bool checked[MOLT_ALARM_NKINDS] = {false};
  read_limits();
  /* A new release may map a module to other versions and thresholds. */
  al.nmods = 0;
  pthread_mutex_lock(&al.lock);
  check_schedulers(now, dt);
  checked[MOLT_ALARM_SCHEDULER_BUSY] = true;
  if (al.lim.memory_mb) note(MOLT_ALARM_MEMORY, "container", NULL, rss_bytes(), (uint64_t)al.lim.memory_mb << 20, now);
  checked[MOLT_ALARM_MEMORY] = true;
  pthread_mutex_unlock(&al.lock);
  al.prev_ns = now;
  if (now >= al.next_scan_ns) {
    /* The scan notes under the lock too, but takes it per alarm, not for
     * the whole pass: status must not wait for a million actors. */
    pthread_mutex_lock(&al.lock);
    checked[MOLT_ALARM_MAILBOX] = checked[MOLT_ALARM_ACTOR_MEMORY] = checked[MOLT_ALARM_CALLBACK] = true;
    pthread_mutex_unlock(&al.lock);
    molt__actor_rows_scan(check_actor, &now);
    uint64_t took = molt__now_ns() - now;
    al.next_scan_ns = now + (took * 20 > CHECK_MS * 1000000ull ? took * 20 : 0);
  }
  pthread_mutex_lock(&al.lock);
  sweep(checked, now);
  pthread_mutex_unlock(&al.lock);
  (void)t;
}

int molt__alarms_start(uv_loop_t* loop, molt_container_state_t* st) {
  unsigned n = molt__rt.nsched;
  al.busy_prev = molt__calloc(n, sizeof(uint64_t));
  al.busy_from = molt__calloc(n, sizeof(uint64_t));
  double* util = molt__calloc(n, sizeof(double));
  if (!al.busy_prev || !al.busy_from || !util) {
    molt__free(al.busy_prev);
    molt__free(al.busy_from);
    molt__free(util);
    al.busy_prev = al.busy_from = NULL;
    return MOLT_ENOMEM;
  }
  pthread_mutex_lock(&al.lock);
  al.util = util;
  al.nset = 0;
  al.dropped = 0;
  pthread_mutex_unlock(&al.lock);
  al.st = st;
  al.prev_ns = al.next_scan_ns = 0;
  al.nmods = 0;
  memset(&al.lim, 0, sizeof(al.lim));
  uv_timer_init(loop, &al.timer);
  uv_timer_start(&al.timer, on_check, CHECK_MS, CHECK_MS);
  al.started = true;
  return 0;
}

void molt__alarms_stop(void) {
  if (!al.started) return;
  uv_timer_stop(&al.timer);
  uv_close((uv_handle_t*)&al.timer, NULL);
  pthread_mutex_lock(&al.lock);
  molt__free(al.util);
  al.util = NULL;
  al.nset = 0;
  pthread_mutex_unlock(&al.lock);
  molt__free(al.busy_prev);
  molt__free(al.busy_from);
  al.busy_prev = al.busy_from = NULL;
  al.started = false;
}

unsigned molt__alarms_foreach(void (*fn)(const molt_alarm_t* a, void* arg), void* arg) {
  pthread_mutex_lock(&al.lock);
  unsigned n = al.nset;
  for (unsigned i = 0; i < n; i++) fn(&al.set[i].a, arg);
  pthread_mutex_unlock(&al.lock);
  return n;
}

static void add_json(const molt_alarm_t* a, void* arg) {
  uint64_t now = molt__now_ns();
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "alarm", kind_names[a->kind]);
  cJSON_AddStringToObject(o, "subject", a->subject);
  if (*a->module)
    cJSON_AddStringToObject(o, "module", a->module);
  else
    cJSON_AddNullToObject(o, "module");
  cJSON_AddNumberToObject(o, "value", (double)a->value);
  cJSON_AddNumberToObject(o, "limit", (double)a->limit);
  cJSON_AddNumberToObject(o, "since_ms", (double)((now - a->since_ns) / 1000000));
  cJSON_AddItemToArray(arg, o);
}

cJSON* molt__alarms_json(void) {
  cJSON* arr = cJSON_CreateArray();
  molt__alarms_foreach(add_json, arr);
  return arr;
}

double molt__alarms_sched_utilisation(unsigned i) {
  pthread_mutex_lock(&al.lock);
  double u = al.util && i < molt__rt.nsched ? al.util[i] : 0;
  pthread_mutex_unlock(&al.lock);
  return u;
}
