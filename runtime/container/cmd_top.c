/* cmd_top.c: the `top` command, one sample for `molt top`: each
 * scheduler's load, the N busiest actors by mailbox, memory, callback
 * time and messages, per-module sums and the alarms set. One pass over
 * the actor table with a bounded heap per key (actor_rows.c): a sample of
 * a million actors copies 4 N rows, never the table. Rates (messages per
 * second) are the client's: the difference between two samples. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor_rows.h"
#include "alarms.h"
#include "alloc.h"
#include "clock.h"
#include "commands.h"
#include "errmsg.h"
#include "runtime.h"

#define TOP_DEFAULT_LIMIT 10
#define TOP_MAX_LIMIT 1000

cJSON* molt__cmd_sched_load_json(void) {
  cJSON* arr = cJSON_CreateArray();
  uint64_t now = molt__now_ns();
  for (unsigned i = 0; i < molt__rt.nsched; i++) {
    molt_sched_vitals_t sv;
    molt__vitals_sched_read(i, now, &sv);
    cJSON* o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", sv.id);
    /* Over the alarms' last second; busy_ms lets a client work out its
     * own over any interval. */
    cJSON_AddNumberToObject(o, "utilisation", molt__alarms_sched_utilisation(i));
    cJSON_AddNumberToObject(o, "busy_ms", (double)(sv.busy_ns / 1000000));
    cJSON_AddNumberToObject(o, "run_queue", sv.runq);
    cJSON_AddNumberToObject(o, "turns", (double)sv.turns);
    cJSON_AddBoolToObject(o, "active", sv.active);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

typedef struct {
  molt_rows_t by[MOLT_ROWS_NKEYS];
  molt_module_sums_t* mods;
  unsigned long total;
  uint64_t messages;
} top_ctx;

static void top_one(const molt_vitals_t* v, void* arg) {
  top_ctx* t = arg;
  if (v->status == MOLT__EXITING) return;
  t->total++;
  t->messages += v->messages;
  for (int k = MOLT_ROWS_MAILBOX; k < MOLT_ROWS_NKEYS; k++) molt__rows_offer(&t->by[k], v);
  molt__module_sums_add(t->mods, v);
}

static cJSON* modules_json(const molt_module_sums_t* s) {
  cJSON* arr = cJSON_CreateArray();
  for (unsigned i = 0; i < s->n; i++) {
    const molt_module_sum_t* m = &s->m[i];
    cJSON* o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "module", m->module);
    cJSON_AddNumberToObject(o, "actors", (double)m->actors);
    cJSON_AddNumberToObject(o, "messages", (double)m->messages);
    cJSON_AddNumberToObject(o, "mailbox", (double)m->mailbox);
    cJSON_AddNumberToObject(o, "max_mailbox", m->max_mailbox);
    cJSON_AddNumberToObject(o, "memory", (double)m->memory);
    cJSON_AddNumberToObject(o, "time_ms", (double)m->time_ms);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

static void top_work(molt_job_t* j) {
  const cJSON* l = cJSON_GetObjectItemCaseSensitive(j->args, "limit");
  unsigned limit = cJSON_IsNumber(l) && l->valuedouble >= 1 ? (unsigned)l->valuedouble : TOP_DEFAULT_LIMIT;
  if (limit > TOP_MAX_LIMIT) limit = TOP_MAX_LIMIT;
  top_ctx t = {.mods = molt__calloc(1, sizeof(molt_module_sums_t))};
  int rc = t.mods ? 0 : MOLT_ENOMEM;
  for (int k = MOLT_ROWS_MAILBOX; k < MOLT_ROWS_NKEYS && !rc; k++) rc = molt__rows_init(&t.by[k], k, limit);
  if (rc) {
    j->rc = molt__errmsg_set(j->err, sizeof(j->err), MOLT_ENOMEM, "out of memory");
    goto out;
  }
  uint64_t t0 = molt__now_ns();
  molt__actor_rows_scan(top_one, &t);
  uint64_t scan_ns = molt__now_ns() - t0;
  j->result = cJSON_CreateObject();
  cJSON_AddNumberToObject(j->result, "time_ms", (double)(t0 / 1000000));
  cJSON_AddNumberToObject(j->result, "actors", (double)t.total);
  cJSON_AddNumberToObject(j->result, "messages", (double)t.messages);
  cJSON_AddNumberToObject(j->result, "scan_ms", (double)scan_ns / 1e6);
  cJSON_AddItemToObject(j->result, "schedulers", molt__cmd_sched_load_json());
  cJSON* tops = cJSON_AddObjectToObject(j->result, "top");
  for (int k = MOLT_ROWS_MAILBOX; k < MOLT_ROWS_NKEYS; k++) {
    molt__rows_sort(&t.by[k]);
    cJSON* arr = cJSON_AddArrayToObject(tops, molt__rows_key_name(k));
    for (unsigned i = 0; i < t.by[k].n; i++) cJSON_AddItemToArray(arr, molt__actor_row_json(&t.by[k].rows[i]));
  }
  cJSON_AddItemToObject(j->result, "modules", modules_json(t.mods));
  cJSON_AddItemToObject(j->result, "alarms", molt__alarms_json());
out:
  for (int k = MOLT_ROWS_MAILBOX; k < MOLT_ROWS_NKEYS; k++) molt__rows_close(&t.by[k]);
  molt__free(t.mods);
}

void molt__cmd_top(molt_control_req_t* req, molt_container_state_t* st, const cJSON* args) {
  molt__commands_job(req, st, args, top_work);
}
