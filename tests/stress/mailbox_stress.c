/* mailbox_stress.c: the MPSC queue (runtime/base/mpsc.h) under real contention,
 * for ThreadSanitizer. Three phases, all with three producers and one
 * consumer:
 *   1. a spinning consumer that calls empty() between pops, racing the
 *      pushes: nothing lost, each producer's order kept, and empty() never
 *      true while a completed push is still unpopped;
 *   2. the parked bit of actor.c's mailboxes: the push that unparks the
 *      queue wakes the consumer, which sleeps whenever it parks it, while
 *      a fourth thread keeps unparking it too (a kill, a reused slot) and
 *      then wakes it as well. A lost wake-up shows as a consumer asleep
 *      with items queued; two holders at once as a wake-up left over;
 *   3. the same with the consumer of actor.c's turns: pop_park, which
 *      parks as it takes the last item.
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

static sem_t wake;
static bool handshake;
static atomic_bool producing;
static atomic_long claims;

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
    bool unparked = molt__mpsc_push(&q, &it->node);
    atomic_fetch_add(&completed, 1);
    if (unparked && !handshake) fail("a queue never parked was unparked");
    if (unparked) sem_post(&wake);
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

/* Phase 2's fourth thread: takes the queue without pushing, when parked,
 * and hands it to the consumer as a kill pass would get the actor run. */
static void* claim(void* arg) {
  (void)arg;
  while (atomic_load(&producing)) {
    if (molt__mpsc_unpark(&q)) {
      atomic_fetch_add(&claims, 1);
      sem_post(&wake);
    }
    sched_yield();
  }
  return NULL;
}

/* Sleep until a push or a claim hands the parked queue back. */
static void await_wake(long got, long total) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  while (sem_timedwait(&wake, &deadline) != 0) {
    if (errno == ETIMEDOUT) fail("lost wake-up: asleep after %ld of %ld items", got, total);
  }
}

/* Phase 2: the consumer owns the queue only while it is unparked. */
static void consume_with_handshake(int* next) {
  long total = (long)PRODUCERS * per_producer, got = 0;
  for (;;) {
    await_wake(got, total);
    for (;;) {
      molt_mpsc_node_t* n;
      while ((n = molt__mpsc_pop(&q)) != NULL) take((item_t*)n, next, got++);
      if (got == total) return;
      /* Park: fails if a push came (we still hold the queue); else the
       * next push or claim unparks it and wakes us. */
      if (!molt__mpsc_park(&q)) continue;
      break;
    }
  }
}

/* Phase 3: as phase 2, but the pop that takes the last item parks. Returns
 * whether the queue was left parked (the last item's pop parked it). */
static bool consume_with_pop_park(int* next) {
  long total = (long)PRODUCERS * per_producer, got = 0;
  for (;;) {
    await_wake(got, total);
    for (;;) {
      bool parked;
      molt_mpsc_node_t* n = molt__mpsc_pop_park(&q, &parked);
      if (n) take((item_t*)n, next, got++);
      if (parked) {
        if (got == total) return true;
        break; /* the next push or claim wakes us */
      }
      if (got == total) return false;
      if (!n) sched_yield(); /* a push in its window: we still hold it */
    }
  }
}

static void run(int count, int phase) {
  bool with_handshake = phase > 1, parked_at_end = false;
  per_producer = count;
  handshake = with_handshake;
  atomic_store(&completed, 0);
  molt__mpsc_init(&q);
  if (with_handshake && !molt__mpsc_park(&q)) fail("cannot park an empty queue");
  atomic_store(&producing, true);
  pthread_t claimer;
  if (with_handshake && pthread_create(&claimer, NULL, claim, NULL) != 0) fail("pthread_create failed");
  for (int p = 0; p < PRODUCERS; p++) {
    items[p] = calloc((size_t)count, sizeof(item_t));
    if (!items[p]) fail("out of memory");
  }
  pthread_t threads[PRODUCERS];
  for (int p = 0; p < PRODUCERS; p++)
    if (pthread_create(&threads[p], NULL, produce, (void*)(intptr_t)p) != 0)
      fail("pthread_create failed");
  int next[PRODUCERS] = {0};
  if (phase == 3)
    parked_at_end = consume_with_pop_park(next);
  else if (phase == 2)
    consume_with_handshake(next);
  else
    consume_spinning(next);
  for (int p = 0; p < PRODUCERS; p++) pthread_join(threads[p], NULL);
  atomic_store(&producing, false);
  if (with_handshake) {
    pthread_join(claimer, NULL);
    /* Left parked: the claimer may have taken it since (and woken us). */
    if (parked_at_end && sem_trywait(&wake) != 0 && !molt__mpsc_unpark(&q))
      fail("the queue was left parked, yet nobody holds it and it cannot be taken");
    int left = 0;
    sem_getvalue(&wake, &left);
    if (left != 0) fail("%d wake-ups left over: the queue had two holders", left);
    if (molt__mpsc_unpark(&q)) fail("unparked a queue its consumer holds");
  }
  if (molt__mpsc_pop(&q) != NULL) fail("an item more than was pushed");
  if (!molt__mpsc_empty(&q)) fail("not empty after draining");
  for (int p = 0; p < PRODUCERS; p++) {
    if (next[p] != count) fail("producer %d: %d of %d items", p, next[p], count);
    free(items[p]);
  }
}

int main(void) {
  sem_init(&wake, 0, 0);
  run(SPIN_ITEMS, 1);
  run(WAKE_ITEMS, 2);
  run(WAKE_ITEMS, 3);
  sem_destroy(&wake);
  printf("mailbox_stress: ok (%ld claims without a push in phases 2 and 3)\n", atomic_load(&claims));
  return 0;
}
