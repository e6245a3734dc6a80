/* mailbox_stress.c: the MPSC queue (runtime/mpsc.h) under real contention,
 * for ThreadSanitizer. Two phases, both with three producers and one
 * consumer:
 *   1. a spinning consumer that calls empty() between pops, racing the
 *      pushes: nothing lost, each producer's order kept, and empty() never
 *      true while a completed push is still unpopped;
 *   2. the scheduled-flag handshake of actor.c (push, then claim the flag
 *      and wake; give the flag back, then recheck empty()), with a consumer
 *      that sleeps when it gives the flag back: a lost wake-up shows as a
 *      consumer asleep with items queued.
 * Exits 1 with a message on failure. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpsc.h"

#define PRODUCERS 3
#define SPIN_ITEMS 300000 /* per producer, phase 1 */
#define WAKE_ITEMS 100000 /* per producer, phase 2 */

typedef struct {
  molt_mpsc_node_t node;
  int producer;
  int seq;
} item_t;

static molt_mpsc_t q;
static item_t* items[PRODUCERS];
static int per_producer;
static atomic_long completed; /* pushes that have returned */

static atomic_bool scheduled;
static sem_t wake;
static bool handshake;

static void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "mailbox_stress: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void* produce(void* arg) {
  int p = (int)(intptr_t)arg;
  for (int i = 0; i < per_producer; i++) {
    item_t* it = &items[p][i];
    it->producer = p;
    it->seq = i;
    molt__mpsc_push(&q, &it->node);
    atomic_fetch_add(&completed, 1);
    if (handshake && !atomic_exchange(&scheduled, true)) sem_post(&wake);
    if ((i & 1023) == 0) sched_yield(); /* vary the interleavings */
  }
  return NULL;
}

static void take(item_t* it, int* next, long got) {
  if (it->producer < 0 || it->producer >= PRODUCERS)
    fail("item %ld: bad producer %d", got, it->producer);
  if (it->seq != next[it->producer])
    fail("producer %d: got seq %d, expected %d", it->producer, it->seq, next[it->producer]);
  next[it->producer]++;
}

/* Phase 1: spin, checking empty() against the pushes completed so far. */
static void consume_spinning(int* next) {
  long total = (long)PRODUCERS * per_producer, got = 0;
  while (got < total) {
    molt_mpsc_node_t* n = molt__mpsc_pop(&q);
    if (n) {
      take((item_t*)n, next, got++);
      continue;
    }
    long done = atomic_load(&completed);
    if (molt__mpsc_empty(&q) && got < done)
      fail("empty() with %ld pushes completed and %ld popped", done, got);
    sched_yield();
  }
}

/* Phase 2: the consumer owns the queue only while it holds the flag. */
static void consume_with_handshake(int* next) {
  long total = (long)PRODUCERS * per_producer, got = 0;
  for (;;) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    while (sem_timedwait(&wake, &deadline) != 0) {
      if (errno == ETIMEDOUT)
        fail("lost wake-up: asleep after %ld of %ld items", got, total);
    }
    for (;;) {
      molt_mpsc_node_t* n;
      while ((n = molt__mpsc_pop(&q)) != NULL) take((item_t*)n, next, got++);
      if (got == total) return;
      /* Give back, then recheck: a push we raced either sees our store and
       * wakes us, or we see it here and keep the flag. */
      atomic_store(&scheduled, false);
      if (!molt__mpsc_empty(&q) && !atomic_exchange(&scheduled, true)) continue;
      break;
    }
  }
}

static void run(int count, bool with_handshake) {
  per_producer = count;
  handshake = with_handshake;
  atomic_store(&completed, 0);
  atomic_store(&scheduled, false);
  molt__mpsc_init(&q);
  for (int p = 0; p < PRODUCERS; p++) {
    items[p] = calloc((size_t)count, sizeof(item_t));
    if (!items[p]) fail("out of memory");
  }
  pthread_t threads[PRODUCERS];
  for (int p = 0; p < PRODUCERS; p++)
    if (pthread_create(&threads[p], NULL, produce, (void*)(intptr_t)p) != 0)
      fail("pthread_create failed");
  int next[PRODUCERS] = {0};
  if (with_handshake)
    consume_with_handshake(next);
  else
    consume_spinning(next);
  for (int p = 0; p < PRODUCERS; p++) pthread_join(threads[p], NULL);
  if (molt__mpsc_pop(&q) != NULL) fail("an item more than was pushed");
  if (!molt__mpsc_empty(&q)) fail("not empty after draining");
  for (int p = 0; p < PRODUCERS; p++) {
    if (next[p] != count) fail("producer %d: %d of %d items", p, next[p], count);
    free(items[p]);
  }
}

int main(void) {
  sem_init(&wake, 0, 0);
  run(SPIN_ITEMS, false);
  run(WAKE_ITEMS, true);
  sem_destroy(&wake);
  printf("mailbox_stress: ok\n");
  return 0;
}
