/* metrics.c: what /metrics says, one function per source. A new family is
 * a molt__metrics_family line and its samples in the function of the
 * source it reads (a figure per actor goes into walk_actor, which sees
 * each live actor once per scrape). */
#include "metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor.h"
#include "alarms.h"
#include "code_server.h"
#include "metrics_text.h"
#include "release_store.h"
#include "runtime.h"
#include "sup_counts.h"
#include "upgrade_counts.h"
#include "vitals.h"

static void process_metrics(molt_metrics_w* w, const molt_container_state_t* st) {
  long pages = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    fclose(f);
  }
  molt__metrics_family(w, "process_resident_memory_bytes", "gauge", "Resident memory of the container process.");
  molt__metrics_sample(w, "process_resident_memory_bytes", (double)resident * (double)sysconf(_SC_PAGESIZE), NULL);
  long fds = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d) {
    for (struct dirent* e; (e = readdir(d));)
      if (e->d_name[0] != '.') fds++;
    closedir(d);
    fds--; /* the directory's own */
  }
  molt__metrics_family(w, "process_open_fds", "gauge", "Open file descriptors of the container process.");
  molt__metrics_sample(w, "process_open_fds", (double)fds, NULL);
  molt__metrics_family(w, "molt_uptime_seconds", "gauge", "Seconds since the container started.");
  molt__metrics_sample(w, "molt_uptime_seconds", (double)(molt__now_ns() - st->started_ns) / 1e9, NULL);
}

static void scheduler_metrics(molt_metrics_w* w) {
  molt__metrics_family(w, "molt_schedulers", "gauge", "Scheduler threads.");
  molt__metrics_sample(w, "molt_schedulers", molt__rt.nsched, NULL);
  molt__metrics_family(w, "molt_scheduler_turns_total", "counter", "Actor turns each scheduler has run.");
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    /* Written by its scheduler on every turn; a relaxed load is the
     * figure of a moment ago, which is what a scrape is. */
    uint64_t turns = atomic_load_explicit(&molt__rt.scheds[i].turns, memory_order_relaxed);
    molt__metrics_sample(w, "molt_scheduler_turns_total", (double)turns, "scheduler", id, NULL);
  }
  /* The vitals each scheduler publishes (actor/vitals.h): its busy time,
   * whose rate is its utilisation over any interval Prometheus chooses,
   * the alarms' utilisation over the last second, and its run queue. */
  uint64_t now = molt__now_ns();
  molt_sched_vitals_t sv[molt__rt.nsched ? molt__rt.nsched : 1];
  for (unsigned i = 0; i < molt__rt.nsched; i++) molt__vitals_sched_read(i, now, &sv[i]);
  molt__metrics_family(w, "molt_scheduler_busy_seconds_total", "counter",
                       "Time each scheduler's thread spent running actors' turns and tasks (spins excluded).");
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    molt__metrics_sample(w, "molt_scheduler_busy_seconds_total", (double)sv[i].busy_ns / 1e9, "scheduler", id, NULL);
  }
  molt__metrics_family(w, "molt_scheduler_utilisation", "gauge",
                       "Share of the last second each scheduler's thread was busy, 0 to 1.");
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    molt__metrics_sample(w, "molt_scheduler_utilisation", molt__alarms_sched_utilisation(i), "scheduler", id, NULL);
  }
  molt__metrics_family(w, "molt_messages_sent_total", "counter",
                       "User messages sent by the actors on each scheduler (by the sender's scheduler).");
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    molt__metrics_sample(w, "molt_messages_sent_total",
                         (double)atomic_load_explicit(&molt__rt.scheds[i].sent, memory_order_relaxed), "scheduler",
                         id, NULL);
  }
  molt__metrics_family(w, "molt_scheduler_run_queue", "gauge", "Actors waiting for their turn on each scheduler.");
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    char id[16];
    snprintf(id, sizeof id, "%u", i);
    molt__metrics_sample(w, "molt_scheduler_run_queue", sv[i].runq, "scheduler", id, NULL);
  }
}

/* Mailbox lengths, as their owners last counted them (vitals.h). */
static const double mailbox_bounds[] = {0, 1, 10, 100, 1000, 10000, 100000, 1000000};
#define MAILBOX_BUCKETS (sizeof(mailbox_bounds) / sizeof(mailbox_bounds[0]))

/* What one pass over the actor table gathers. */
typedef struct {
  unsigned long live;
  uint64_t handled;
  uint64_t mailbox_le[MAILBOX_BUCKETS]; /* not yet cumulative */
  double mailbox_sum;
  int64_t memory;
} actor_walk_t;

/* On the scraping thread, for every slot: only fields other threads may
 * read (status is atomic; handled is read relaxed). The version pointer is
 * not followed: its owner may switch it and the old one be purged. */
static void walk_actor(molt_actor_t* a, void* arg) {
  actor_walk_t* k = arg;
  uint8_t st = atomic_load_explicit(&a->status, memory_order_relaxed);
  if (st != MOLT__RUNNING && st != MOLT__SUSPENDED) return;
  k->live++;
  k->handled += atomic_load_explicit(&a->handled, memory_order_relaxed);
  uint32_t mbox = atomic_load_explicit(&a->mbox_len, memory_order_relaxed);
  size_t b = 0;
  while (b < MAILBOX_BUCKETS && mbox > mailbox_bounds[b]) b++;
  if (b < MAILBOX_BUCKETS) k->mailbox_le[b]++;
  k->mailbox_sum += mbox;
  k->memory += atomic_load_explicit(&a->memory, memory_order_relaxed);
}

static void add_version(molt_metrics_w* w, const char* name, const molt_version_t* v, const char* slot) {
  if (!v) return;
  char rev[16];
  snprintf(rev, sizeof rev, "%u", v->revision);
  molt__metrics_sample(w, "molt_actors", (double)atomic_load(&v->actors), "module", name, "vsn", v->label, "slot", slot,
                       "revision", rev, NULL);
}

static void actors_by_version(const char* name, molt_version_t* cur, molt_version_t* old, void* arg) {
  add_version(arg, name, cur, "current");
  add_version(arg, name, old, "old");
}

static void actor_metrics(molt_metrics_w* w) {
  actor_walk_t k = {0};
  molt__actor_table_foreach(walk_actor, &k);
  molt__metrics_family(w, "molt_actors", "gauge",
                       "Actors running each module version (slot current or old, as after a load).");
  molt__code_foreach(actors_by_version, w);
  molt__metrics_family(w, "molt_actors_live", "gauge", "Actors alive, every module.");
  molt__metrics_sample(w, "molt_actors_live", (double)k.live, NULL);
  molt__metrics_family(w, "molt_actor_messages_handled", "gauge",
                       "Messages handled by the actors alive now, since each started (falls when actors exit).");
  molt__metrics_sample(w, "molt_actor_messages_handled", (double)k.handled, NULL);
  /* What the live actors handled and what the gone ones had: an actor
   * exiting during the walk may be counted twice or not at all, once. */
  uint64_t gone = 0;
  for (unsigned i = 0; i < molt__rt.nsched; i++)
    gone += atomic_load_explicit(&molt__rt.scheds[i].handled_by_gone, memory_order_relaxed);
  molt__metrics_family(w, "molt_messages_handled_total", "counter", "User messages handled by every actor since start.");
  molt__metrics_sample(w, "molt_messages_handled_total", (double)(k.handled + gone), NULL);
  uint64_t cumulative[MAILBOX_BUCKETS], below = 0;
  for (size_t b = 0; b < MAILBOX_BUCKETS; b++) cumulative[b] = below += k.mailbox_le[b];
  molt__metrics_family(w, "molt_actor_mailbox_length", "histogram",
                       "Messages waiting in each live actor's mailbox, as its owner last counted them.");
  molt__metrics_histogram(w, "molt_actor_mailbox_length", mailbox_bounds, cumulative, MAILBOX_BUCKETS, k.mailbox_sum,
                          k.live);
  molt__metrics_family(w, "molt_actor_memory_bytes", "gauge",
                       "Bytes the live actors' callbacks allocated with molt_alloc and still hold.");
  molt__metrics_sample(w, "molt_actor_memory_bytes", (double)k.memory, NULL);
}

static void alarm_sample(const molt_alarm_t* a, void* arg) {
  molt__metrics_sample(arg, "molt_alarm", 1, "kind", molt__alarm_kind_name(a->kind), "subject", a->subject, "module",
                       a->module, NULL);
}

/* The alarms set now (alarms.h): one sample each, and how many. */
static void alarm_metrics(molt_metrics_w* w) {
  molt__metrics_family(w, "molt_alarm", "gauge", "An alarm set now (1), by kind and subject.");
  unsigned n = molt__alarms_foreach(alarm_sample, w);
  molt__metrics_family(w, "molt_alarms", "gauge", "Alarms set now.");
  molt__metrics_sample(w, "molt_alarms", n, NULL);
}

static void crashes_of(const char* module, uint64_t crashes, uint64_t restarts, void* arg) {
  (void)restarts;
  molt__metrics_sample(arg, "molt_child_crashes_total", (double)crashes, "module", module, NULL);
}

static void restarts_of(const char* module, uint64_t crashes, uint64_t restarts, void* arg) {
  (void)crashes;
  molt__metrics_sample(arg, "molt_child_restarts_total", (double)restarts, "module", module, NULL);
}

static void supervisor_metrics(molt_metrics_w* w) {
  molt__metrics_family(w, "molt_child_crashes_total", "counter",
                       "Supervised children of each module that exited abnormally.");
  molt__sup_counts_foreach(crashes_of, w);
  molt__metrics_family(w, "molt_child_restarts_total", "counter",
                       "Supervised children of each module restarted by their supervisor.");
  molt__sup_counts_foreach(restarts_of, w);
}

static void code_change_metrics(molt_metrics_w* w) {
  molt_upgrade_counts_t c;
  molt__upgrade_counts_read(&c);
  molt__metrics_family(w, "molt_code_changes_total", "counter",
                       "Code changes (loads, upgrades, rollbacks) by outcome: committed, aborted "
                       "(paused, then undone), refused (before any pause).");
  for (int o = 0; o < MOLT_CHANGE_NOUTCOMES; o++)
    molt__metrics_sample(w, "molt_code_changes_total", (double)c.outcomes[o], "outcome",
                         molt__change_outcome_name((molt_change_outcome_t)o), NULL);
  molt__metrics_family(w, "molt_code_change_pause_seconds", "histogram",
                       "How long each code change held every scheduler.");
  molt__metrics_histogram(w, "molt_code_change_pause_seconds", molt__pause_bounds, c.pause_le, MOLT_PAUSE_BUCKETS,
                          c.pause_sum_s, c.pauses);
  molt__metrics_family(w, "molt_code_change_last_pause_seconds", "gauge", "The last code change's pause.");
  molt__metrics_sample(w, "molt_code_change_last_pause_seconds", c.last_pause_s, NULL);
}

/* The store's memory is read under its guard (st->lock), which it holds
 * only while changing memory, never across I/O. */
static void release_metrics(molt_metrics_w* w, molt_container_state_t* st) {
  molt__metrics_family(w, "molt_release_running", "gauge", "The release the container runs (value 1).");
  pthread_mutex_lock(&st->lock);
  molt__metrics_sample(w, "molt_release_running", 1, "name", st->manifest->name, "vsn", st->manifest->version, NULL);
  pthread_mutex_unlock(&st->lock);
  molt__metrics_family(w, "molt_release_info", "gauge",
                       "Every release the home knows, with its state: unpacked, current, permanent, old (value 1).");
  pthread_mutex_lock(&st->lock);
  for (size_t i = 0; st->store && i < st->store->nreleases; i++) {
    const molt_release_t* r = st->store->releases[i];
    molt__metrics_sample(w, "molt_release_info", 1, "name", r->manifest->name, "vsn", r->vsn, "state",
                         molt__rel_state_name(r->state), NULL);
  }
  pthread_mutex_unlock(&st->lock);
}

static void slot_sample(molt_metrics_w* w, const char* name, const molt_version_t* v, const char* slot) {
  if (v)
    molt__metrics_sample(w, "molt_module_version_info", 1, "module", name, "slot", slot, "vsn", v->label, NULL);
}

typedef struct {
  molt_metrics_w* w;
  unsigned long modules, versions;
} loader_ctx;

static void loaded_version(const char* name, molt_version_t* cur, molt_version_t* old, void* arg) {
  loader_ctx* k = arg;
  k->modules++;
  k->versions += (cur != NULL) + (old != NULL);
  slot_sample(k->w, name, cur, "current");
  slot_sample(k->w, name, old, "old");
}

static void loads_of(const char* name, molt_version_t* cur, molt_version_t* old, void* arg) {
  const molt_version_t* v = cur ? cur : old; /* the latest install's revision: loads of this name */
  if (v) molt__metrics_sample(arg, "molt_module_loads_total", v->revision, "module", name, NULL);
}

static void loader_metrics(molt_metrics_w* w) {
  loader_ctx k = {w, 0, 0};
  molt__metrics_family(w, "molt_module_version_info", "gauge",
                       "The version in each module's current and old slot (value 1).");
  molt__code_foreach(loaded_version, &k);
  molt__metrics_family(w, "molt_module_loads_total", "counter", "Versions of each module installed so far.");
  molt__code_foreach(loads_of, w);
  molt__metrics_family(w, "molt_modules_loaded", "gauge", "Module names with a loaded version.");
  molt__metrics_sample(w, "molt_modules_loaded", (double)k.modules, NULL);
  molt__metrics_family(w, "molt_module_versions_loaded", "gauge", "Module versions loaded (current and old slots).");
  molt__metrics_sample(w, "molt_module_versions_loaded", (double)k.versions, NULL);
}

char* molt__metrics_collect(molt_container_state_t* st, size_t* len) {
  uint64_t start = molt__now_ns();
  molt_metrics_w w = {0};
  process_metrics(&w, st);
  scheduler_metrics(&w);
  actor_metrics(&w);
  supervisor_metrics(&w);
  code_change_metrics(&w);
  release_metrics(&w, st);
  loader_metrics(&w);
  alarm_metrics(&w);
  /* The scrape's own cost, on the thread that serves it (no scheduler). */
  molt__metrics_family(&w, "molt_scrape_duration_seconds", "gauge",
                       "How long collecting this scrape took, on the metrics thread; schedulers spend nothing on it.");
  molt__metrics_sample(&w, "molt_scrape_duration_seconds", (double)(molt__now_ns() - start) / 1e9, NULL);
  return molt__metrics_take(&w, len);
}
