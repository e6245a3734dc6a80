/* registry.c: names to pids, as Erlang's register/whereis. One mutex: name
 * operations are rare next to sends, and whereis from any thread must see
 * a consistent table. A name is released when its actor exits. */
#include "registry.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"

#define BUCKETS 256

typedef struct entry {
  struct entry* next;
  molt_pid_t pid;
  char name[MOLT_NAME_MAX + 1];
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry* buckets[BUCKETS];
static unsigned count;

static unsigned hash(const char* s) {
  unsigned h = 2166136261u; /* FNV-1a */
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h % BUCKETS;
}

static entry** find(const char* name) {
  entry** e = &buckets[hash(name)];
  while (*e && strcmp((*e)->name, name) != 0) e = &(*e)->next;
  return e;
}

static int valid(const char* name) {
  size_t n = name ? strlen(name) : 0;
  return n > 0 && n <= MOLT_NAME_MAX;
}

int molt_register(const char* name) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  if (!valid(name)) return MOLT_EINVAL;
  molt_actor_ext_t* x = molt__actor_ext(a);
  if (!x) return MOLT_ENOMEM;
  if (x->name) {
    /* One name per actor, as in Erlang; but if another actor unregistered
     * ours, the record is stale and we may take a new one. */
    if (molt_whereis(x->name) == molt__actor_pid(a)) return MOLT_EBUSY;
    molt__free(x->name);
    x->name = NULL;
  }
  char* own = molt__strdup(name);
  entry* n = molt__alloc(sizeof(*n));
  if (!own || !n) {
    molt__free(own);
    molt__free(n);
    return MOLT_ENOMEM;
  }
  int rc = 0;
  pthread_mutex_lock(&lock);
  entry** e = find(name);
  if (*e) {
    rc = MOLT_EEXIST;
  } else {
    strcpy(n->name, name);
    n->pid = molt__actor_pid(a);
    n->next = NULL;
    *e = n;
    count++;
    x->name = own;
  }
  pthread_mutex_unlock(&lock);
  if (rc) {
    molt__free(own);
    molt__free(n);
  }
  return rc;
}

static molt_pid_t take(const char* name, molt_pid_t only) {
  molt_pid_t pid = MOLT_PID_NONE;
  pthread_mutex_lock(&lock);
  entry** e = find(name);
  entry* gone = NULL;
  if (*e && (only == MOLT_PID_NONE || (*e)->pid == only)) {
    gone = *e;
    pid = gone->pid;
    *e = gone->next;
    count--;
  }
  pthread_mutex_unlock(&lock);
  molt__free(gone);
  return pid;
}

int molt_unregister(const char* name) {
  if (!valid(name)) return MOLT_EINVAL;
  molt_pid_t pid = take(name, MOLT_PID_NONE);
  if (pid == MOLT_PID_NONE) return MOLT_ESRCH;
  molt_actor_t* a = molt__actor_current();
  if (a && pid == molt__actor_pid(a) && a->ext) {
    molt__free(a->ext->name);
    a->ext->name = NULL;
  }
  return 0;
}

molt_pid_t molt_whereis(const char* name) {
  if (!valid(name)) return MOLT_PID_NONE;
  pthread_mutex_lock(&lock);
  entry* e = *find(name);
  molt_pid_t pid = e ? e->pid : MOLT_PID_NONE;
  pthread_mutex_unlock(&lock);
  return pid;
}

void molt__registry_on_exit(molt_actor_t* a, molt_pid_t pid) {
  if (!a->ext->name) return;
  take(a->ext->name, pid); /* only if it is still ours */
  molt__free(a->ext->name);
  a->ext->name = NULL;
}

bool molt__registry_name_of(molt_pid_t pid, char* buf, size_t len) {
  bool found = false;
  pthread_mutex_lock(&lock);
  for (unsigned i = 0; i < BUCKETS && !found; i++)
    for (entry* e = buckets[i]; e && !found; e = e->next)
      if (e->pid == pid) {
        snprintf(buf, len, "%s", e->name);
        found = true;
      }
  pthread_mutex_unlock(&lock);
  return found;
}

unsigned molt__registry_count(void) {
  pthread_mutex_lock(&lock);
  unsigned n = count;
  pthread_mutex_unlock(&lock);
  return n;
}

void molt__registry_close(void) {
  pthread_mutex_lock(&lock);
  for (unsigned i = 0; i < BUCKETS; i++) {
    while (buckets[i]) {
      entry* e = buckets[i];
      buckets[i] = e->next;
      molt__free(e);
    }
  }
  count = 0;
  pthread_mutex_unlock(&lock);
}
