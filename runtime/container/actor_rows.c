/* actor_rows.c: see actor_rows.h. The pass reads every slot once (two
 * cache lines each) and keeps per key a min-heap of at most N rows: for a
 * million actors that is a million reads and, once the heap is full, a
 * compare per actor, with names copied only for rows that enter a heap. */
#include "actor_rows.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "clock.h"
#include "registry.h"
#include "runtime.h"
#include "version.h"

static const char* const key_names[MOLT_ROWS_NKEYS] = {"none", "mailbox", "memory", "time", "messages"};

bool molt__rows_key_parse(const char* s, molt_rows_key_t* key) {
  for (int k = 0; k < MOLT_ROWS_NKEYS; k++)
    if (strcmp(s, key_names[k]) == 0) {
      *key = (molt_rows_key_t)k;
      return true;
    }
  return false;
}

const char* molt__rows_key_name(molt_rows_key_t key) { return key_names[key]; }

static uint64_t key_of(molt_rows_key_t key, const molt_vitals_t* v) {
  switch (key) {
    case MOLT_ROWS_MAILBOX: return v->mailbox;
    case MOLT_ROWS_MEMORY: return v->memory > 0 ? (uint64_t)v->memory : 0;
    case MOLT_ROWS_TIME: return v->time_ms;
    case MOLT_ROWS_MESSAGES: return v->messages;
    default: return 0;
  }
}

/* a ranks below b: smaller key, or the same key and a later pid. */
static bool below(molt_rows_key_t key, const molt_vitals_t* a, const molt_vitals_t* b) {
  uint64_t ka = key_of(key, a), kb = key_of(key, b);
  if (ka != kb) return ka < kb;
  return MOLT__PID_INDEX(a->pid) > MOLT__PID_INDEX(b->pid);
}

int molt__rows_init(molt_rows_t* r, molt_rows_key_t key, unsigned cap) {
  r->key = key;
  r->n = 0;
  r->cap = cap;
  r->rows = cap ? molt__alloc(sizeof(*r->rows) * cap) : NULL;
  return cap && !r->rows ? MOLT_ENOMEM : 0;
}

void molt__rows_close(molt_rows_t* r) {
  molt__free(r->rows);
  r->rows = NULL;
  r->n = r->cap = 0;
}

static void fill(molt_actor_row_t* row, const molt_vitals_t* v) {
  row->v = *v;
  snprintf(row->module, sizeof(row->module), "%s", v->version->name);
  snprintf(row->vsn, sizeof(row->vsn), "%s", v->version->vsn);
  snprintf(row->label, sizeof(row->label), "%s", v->version->label);
  row->revision = v->version->revision;
  row->v.version = NULL; /* not to be read after the scan */
}

static void swap(molt_actor_row_t* a, molt_actor_row_t* b) {
  molt_actor_row_t t = *a;
  *a = *b;
  *b = t;
}

static void sift_down(molt_rows_t* r, unsigned i) {
  for (;;) {
    unsigned l = 2 * i + 1, m = i;
    if (l < r->n && below(r->key, &r->rows[l].v, &r->rows[m].v)) m = l;
    if (l + 1 < r->n && below(r->key, &r->rows[l + 1].v, &r->rows[m].v)) m = l + 1;
    if (m == i) return;
    swap(&r->rows[i], &r->rows[m]);
    i = m;
  }
}

static void sift_up(molt_rows_t* r, unsigned i) {
  while (i > 0) {
    unsigned p = (i - 1) / 2;
    if (!below(r->key, &r->rows[i].v, &r->rows[p].v)) return;
    swap(&r->rows[i], &r->rows[p]);
    i = p;
  }
}

void molt__rows_offer(molt_rows_t* r, const molt_vitals_t* v) {
  if (r->key == MOLT_ROWS_TABLE) {
    if (r->n < r->cap) fill(&r->rows[r->n++], v);
    return;
  }
  if (r->n < r->cap) {
    fill(&r->rows[r->n], v);
    sift_up(r, r->n++);
  } else if (r->cap && below(r->key, &r->rows[0].v, v)) {
    fill(&r->rows[0], v);
    sift_down(r, 0);
  }
}

static molt_rows_key_t sort_key; /* qsort has no context argument; callers are serialised below */
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

static int by_key_desc(const void* a, const void* b) {
  const molt_actor_row_t *x = a, *y = b;
  if (below(sort_key, &x->v, &y->v)) return 1;
  if (below(sort_key, &y->v, &x->v)) return -1;
  return 0;
}

void molt__rows_sort(molt_rows_t* r) {
  if (r->key == MOLT_ROWS_TABLE || r->n < 2) return;
  pthread_mutex_lock(&sort_lock);
  sort_key = r->key;
  qsort(r->rows, r->n, sizeof(*r->rows), by_key_desc);
  pthread_mutex_unlock(&sort_lock);
}

void molt__module_sums_add(molt_module_sums_t* s, const molt_vitals_t* v) {
  unsigned i;
  for (i = 0; i < s->n; i++)
    if (s->seen[i] == v->version) break;
  if (i == s->n) { /* another version: by name, then remember this version */
    for (i = 0; i < s->n; i++)
      if (strcmp(s->m[i].module, v->version->name) == 0) break;
    if (i == s->n) {
      if (s->n == MOLT_ROWS_MAX_MODULES) return;
      memset(&s->m[i], 0, sizeof(s->m[i]));
      snprintf(s->m[i].module, sizeof(s->m[i].module), "%s", v->version->name);
      s->n++;
    }
    s->seen[i] = v->version;
  }
  molt_module_sum_t* m = &s->m[i];
  m->actors++;
  m->messages += v->messages;
  m->mailbox += v->mailbox;
  m->time_ms += v->time_ms;
  m->memory += v->memory;
  if (v->mailbox > m->max_mailbox) m->max_mailbox = v->mailbox;
}

typedef struct {
  void (*fn)(const molt_vitals_t* v, void* arg);
  void* arg;
  uint64_t now;
} scan_ctx;

static void scan_one(molt_actor_t* a, void* arg) {
  scan_ctx* c = arg;
  molt_vitals_t v;
  if (molt__vitals_read(a, c->now, &v)) c->fn(&v, c->arg);
}

void molt__actor_rows_scan(void (*fn)(const molt_vitals_t* v, void* arg), void* arg) {
  scan_ctx c = {fn, arg, molt__now_ns()};
  molt__version_readers_enter();
  molt__actor_table_foreach(scan_one, &c);
  molt__version_readers_leave();
}

static const char* status_name(uint8_t st) {
  switch (st) {
    case MOLT__RUNNING: return "running";
    case MOLT__SUSPENDED: return "suspended";
    case MOLT__INIT: return "init";
    case MOLT__EXITING: return "exiting";
  }
  return "free";
}

cJSON* molt__actor_row_json(const molt_actor_row_t* r) {
  char pid[24], name[MOLT_NAME_MAX + 1];
  cJSON* o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "pid", molt__pid_str(r->v.pid, pid, sizeof(pid)));
  cJSON_AddStringToObject(o, "module", r->module);
  cJSON_AddStringToObject(o, "vsn", r->vsn);
  cJSON_AddNumberToObject(o, "revision", r->revision);
  cJSON_AddStringToObject(o, "label", r->label);
  cJSON_AddStringToObject(o, "status", status_name(r->v.status));
  cJSON_AddNumberToObject(o, "messages", (double)r->v.messages);
  cJSON_AddNumberToObject(o, "mailbox", r->v.mailbox);
  cJSON_AddNumberToObject(o, "memory", (double)r->v.memory);
  cJSON_AddNumberToObject(o, "time_ms", r->v.time_ms);
  if (r->v.callback) {
    cJSON_AddStringToObject(o, "callback", r->v.callback);
    cJSON_AddNumberToObject(o, "callback_ms", (double)(r->v.callback_ns / 1000000));
  } else {
    cJSON_AddNullToObject(o, "callback");
    cJSON_AddNullToObject(o, "callback_ms");
  }
  cJSON_AddNumberToObject(o, "scheduler", r->v.sched);
  if (molt__registry_name_of(r->v.pid, name, sizeof(name)))
    cJSON_AddStringToObject(o, "name", name);
  else
    cJSON_AddNullToObject(o, "name");
  return o;
}
