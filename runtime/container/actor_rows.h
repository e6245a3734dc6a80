/* actor_rows.h: one pass over the actor table for ps, top and alarms: each
 * live actor's vital signs (actor/vitals.h), the N largest by a key kept
 * in a bounded heap, never a copy of the table, and per-module sums. Not
 * how rows are printed (cmd_actors.c, cmd_top.c). */
#ifndef MOLT_CONTAINER_ACTOR_ROWS_H
#define MOLT_CONTAINER_ACTOR_ROWS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "descriptor.h"
#include "vitals.h"

typedef enum {
  MOLT_ROWS_TABLE = 0, /* table order: the first N */
  MOLT_ROWS_MAILBOX,
  MOLT_ROWS_MEMORY,
  MOLT_ROWS_TIME,
  MOLT_ROWS_MESSAGES,
  MOLT_ROWS_NKEYS
} molt_rows_key_t;

/* "mailbox", "memory", "time", "messages" (or "none": table order);
 * false for anything else. */
bool molt__rows_key_parse(const char* s, molt_rows_key_t* key);
const char* molt__rows_key_name(molt_rows_key_t key);

/* An actor's figures and its code's names, copied while versions could
 * not be freed. */
typedef struct molt_actor_row {
  molt_vitals_t v;
  char module[MOLT_MODULE_NAME_MAX + 1];
  char vsn[MOLT_MODULE_VSN_MAX + 1];
  char label[MOLT_MODULE_VSN_MAX + 16];
  unsigned revision;
} molt_actor_row_t;

/* The cap largest rows by key (ties: lower pid first). */
typedef struct molt_rows {
  molt_rows_key_t key;
  molt_actor_row_t* rows;
  unsigned n, cap;
} molt_rows_t;

/* 0 or MOLT_ENOMEM. cap 0 keeps nothing. */
int molt__rows_init(molt_rows_t* r, molt_rows_key_t key, unsigned cap);
void molt__rows_close(molt_rows_t* r);
/* Offer one actor (inside molt__actor_rows_scan's callback). */
void molt__rows_offer(molt_rows_t* r, const molt_vitals_t* v);
/* Sort what was kept, largest first (table order for MOLT_ROWS_TABLE). */
void molt__rows_sort(molt_rows_t* r);

/* Per-module sums. */
typedef struct molt_module_sum {
  char module[MOLT_MODULE_NAME_MAX + 1];
  uint64_t actors, messages, mailbox, time_ms;
  int64_t memory;
  uint32_t max_mailbox;
} molt_module_sum_t;

#define MOLT_ROWS_MAX_MODULES 256

typedef struct molt_module_sums {
  molt_module_sum_t m[MOLT_ROWS_MAX_MODULES];
  const molt_version_t* seen[MOLT_ROWS_MAX_MODULES]; /* a version of m[i], for a pointer compare first */
  unsigned n;
} molt_module_sums_t;

void molt__module_sums_add(molt_module_sums_t* s, const molt_vitals_t* v);

/* Call fn on every live actor's figures, inside
 * molt__version_readers_enter/leave (fn may read v->version's strings).
 * Any thread but a scheduler's. */
void molt__actor_rows_scan(void (*fn)(const molt_vitals_t* v, void* arg), void* arg);

/* A row as ps and top print it. */
cJSON* molt__actor_row_json(const molt_actor_row_t* r);

#endif
