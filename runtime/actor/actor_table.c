/* actor_table.c: every actor slot ever allocated, addressed by a pid's
 * index, in fixed pages that never move or go away while the runtime runs,
 * so any thread can turn a pid into a slot without a lock. Not the actor
 * lifecycle (actor.c).
 *
 * A slot is bound to one scheduler for its whole life. That makes the
 * slot's mailbox consumer fixed: a sender holding a stale pid may still
 * push into the slot and wake it, and the wake goes to the one scheduler
 * that drains it, whichever incarnation lives there now. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "actor.h"
#include "alloc.h"
#include "runtime.h"
#include "sched.h"

#define PAGE_BITS 12
#define PAGE_SLOTS (1u << PAGE_BITS)
#define MAX_PAGES (1u << 18) /* 2^30 actors */
#define FRESH_BATCH 64u

static _Atomic(molt_actor_t*) pages[MAX_PAGES];
static atomic_uint allocated; /* indices handed out so far */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

molt_actor_t* molt__actor_slot(molt_pid_t pid) {
  uint32_t index = MOLT__PID_INDEX(pid);
  if (MOLT__PID_GEN(pid) == 0 || index >= atomic_load_explicit(&allocated, memory_order_acquire))
    return NULL;
  molt_actor_t* page = atomic_load_explicit(&pages[index >> PAGE_BITS], memory_order_acquire);
  return page ? &page[index & (PAGE_SLOTS - 1)] : NULL;
}

/* Reserve FRESH_BATCH new indices for s, creating pages as needed. Each
 * new slot starts at generation 1 with an empty mailbox. */
static int reserve_fresh(molt_sched_t* s) {
  int rc = 0;
  pthread_mutex_lock(&table_lock);
  uint32_t first = atomic_load(&allocated);
  uint32_t end = first + FRESH_BATCH;
  if (end > MAX_PAGES * PAGE_SLOTS) {
    rc = MOLT_ENOMEM;
    goto out;
  }
  for (uint32_t p = first >> PAGE_BITS; p <= (end - 1) >> PAGE_BITS; p++) {
    if (atomic_load(&pages[p])) continue;
    molt_actor_t* page = molt__calloc_aligned(alignof(molt_actor_t), PAGE_SLOTS * sizeof(molt_actor_t));
    if (!page) {
      rc = MOLT_ENOMEM;
      goto out;
    }
    for (uint32_t i = 0; i < PAGE_SLOTS; i++) {
      molt__mpsc_init(&page[i].mailbox);
      page[i].index = (p << PAGE_BITS) | i;
      atomic_init(&page[i].gen, 1);
    }
    atomic_store_explicit(&pages[p], page, memory_order_release);
  }
  s->fresh_next = first;
  s->fresh_end = end;
  atomic_store_explicit(&allocated, end, memory_order_release);
out:
  pthread_mutex_unlock(&table_lock);
  return rc;
}

static molt_actor_t* slot_at(uint32_t index) {
  molt_actor_t* page = atomic_load_explicit(&pages[index >> PAGE_BITS], memory_order_acquire);
  return &page[index & (PAGE_SLOTS - 1)];
}

molt_actor_t* molt__actor_slot_alloc(molt_sched_t* s) {
  molt_actor_t* a = NULL;
  pthread_mutex_lock(&s->free_lock);
  while ((a = s->free_head) != NULL) {
    s->free_head = a->free_next;
    a->in_free_list = false;
    /* A slot woken by a stale sender is queued on s right now; its run
     * will drain it and put it back on the free list. Skip it. */
    if (molt__mpsc_unpark(&a->mailbox)) break;
  }
  if (!a) {
    if (s->fresh_next == s->fresh_end && reserve_fresh(s) != 0) {
      pthread_mutex_unlock(&s->free_lock);
      return NULL;
    }
    a = slot_at(s->fresh_next++);
    a->sched = s; /* its mailbox was never parked: ours */
  }
  pthread_mutex_unlock(&s->free_lock);
  return a;
}

void molt__actor_slot_release(molt_actor_t* a) {
  molt_sched_t* s = a->sched;
  pthread_mutex_lock(&s->free_lock);
  if (!a->in_free_list) {
    a->in_free_list = true;
    a->free_next = s->free_head;
    s->free_head = a;
  }
  pthread_mutex_unlock(&s->free_lock);
}

void molt__actor_table_foreach(void (*fn)(molt_actor_t* a, void* arg), void* arg) {
  uint32_t n = atomic_load_explicit(&allocated, memory_order_acquire);
  for (uint32_t i = 0; i < n; i++) {
    molt_actor_t* a = slot_at(i);
    if (a->sched) fn(a, arg);
  }
}

/* Slots are handed to schedulers in whole FRESH_BATCH runs, each run's
 * slots in order, so a run's first slot says whose the run is: bound to
 * another scheduler, or not bound yet (then no slot after it is either).
 * A scheduler's walk thus reads one slot per foreign run instead of all
 * of them: half the table's cache misses with two schedulers, more with
 * more. */
void molt__actor_table_foreach_on(molt_sched_t* s, void (*fn)(molt_actor_t* a, void* arg), void* arg) {
  uint32_t n = atomic_load_explicit(&allocated, memory_order_acquire);
  for (uint32_t run = 0; run < n; run += FRESH_BATCH) {
    if (atomic_load_explicit(&slot_at(run)->sched, memory_order_relaxed) != s) continue;
    molt_actor_t* first = slot_at(run); /* a run never straddles a page */
    for (uint32_t k = 0; k < FRESH_BATCH; k++) {
      molt_actor_t* a = &first[k];
      if (k + 4 < FRESH_BATCH) { /* both cache lines a slot may span */
        __builtin_prefetch((char*)&a[4]);
        __builtin_prefetch((char*)&a[4] + sizeof(*a) - 1);
      }
      if (atomic_load_explicit(&a->sched, memory_order_relaxed) != s) break;
      fn(a, arg);
    }
  }
}

void molt__actor_table_close(void) {
  pthread_mutex_lock(&table_lock);
  for (uint32_t p = 0; p < MAX_PAGES; p++) {
    molt_actor_t* page = atomic_exchange(&pages[p], NULL);
    if (!page) break;
    molt__free(page);
  }
  atomic_store(&allocated, 0);
  pthread_mutex_unlock(&table_lock);
}
