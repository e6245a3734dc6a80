/* sup_counts.c: a small table of module name -> crashes, restarts, behind
 * one lock: taken once per crash or restart, so contention is nothing. */
#include "sup_counts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "descriptor.h" /* MOLT_MODULE_NAME_MAX */

typedef struct {
  char module[MOLT_MODULE_NAME_MAX + 1];
  uint64_t crashes, restarts;
} entry_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t entries[MOLT_SUP_COUNTS_MAX + 1]; /* the last: "other" */
static size_t nentries;

/* The entry of module, made if new; under lock. */
static entry_t* entry(const char* module) {
  if (!module) module = "supervisor";
  for (size_t i = 0; i < nentries; i++)
    if (strcmp(entries[i].module, module) == 0) return &entries[i];
  if (nentries == MOLT_SUP_COUNTS_MAX) {
    entry_t* other = &entries[MOLT_SUP_COUNTS_MAX];
    if (!other->module[0]) snprintf(other->module, sizeof other->module, "other");
    return other;
  }
  entry_t* e = &entries[nentries++];
  snprintf(e->module, sizeof e->module, "%s", module);
  return e;
}

void molt__sup_count_crash(const char* module) {
  pthread_mutex_lock(&lock);
  entry(module)->crashes++;
  pthread_mutex_unlock(&lock);
}

void molt__sup_count_restart(const char* module) {
  pthread_mutex_lock(&lock);
  entry(module)->restarts++;
  pthread_mutex_unlock(&lock);
}

void molt__sup_counts_foreach(molt_sup_counts_cb cb, void* arg) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i <= MOLT_SUP_COUNTS_MAX; i++)
    if (i < nentries || (i == MOLT_SUP_COUNTS_MAX && entries[i].module[0]))
      cb(entries[i].module, entries[i].crashes, entries[i].restarts, arg);
  pthread_mutex_unlock(&lock);
}
