/* mailbox_test.c: the MPSC queue under every mailbox and scheduler inbox
 * (runtime/mpsc.h): FIFO, empty() on a quiet queue and during a push's
 * inconsistent window, the parked bit (who holds a mailbox; pop_park), and two
 * producers against one consumer with nothing lost and each producer's
 * order kept. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "mpsc.h"

typedef struct {
  molt_mpsc_node_t node; /* first: a popped node is its item */
  int producer;
  int seq;
} item_t;

TestSuite(mailbox, .timeout = 30);

Test(mailbox, a_new_queue_is_empty) {
  molt_mpsc_t q;
  molt__mpsc_init(&q);
  cr_assert(molt__mpsc_empty(&q));
  cr_assert_null(molt__mpsc_pop(&q));
  cr_assert(molt__mpsc_empty(&q), "popping an empty queue changed it");
}

Test(mailbox, pops_in_push_order_and_is_empty_after) {
  molt_mpsc_t q;
  item_t items[5];
  molt__mpsc_init(&q);
  for (int round = 0; round < 3; round++) { /* the stub goes round and round */
    for (int i = 0; i < 5; i++) {
      items[i].seq = i;
      molt__mpsc_push(&q, &items[i].node);
      cr_assert_not(molt__mpsc_empty(&q));
    }
    for (int i = 0; i < 5; i++) {
      item_t* it = (item_t*)molt__mpsc_pop(&q);
      cr_assert_not_null(it, "round %d: lost item %d", round, i);
      cr_assert_eq(it->seq, i);
    }
    cr_assert_null(molt__mpsc_pop(&q));
    cr_assert(molt__mpsc_empty(&q));
  }
}

Test(mailbox, interleaved_push_and_pop_keep_order) {
  molt_mpsc_t q;
  item_t items[100];
  molt__mpsc_init(&q);
  int next_out = 0;
  for (int i = 0; i < 100; i++) {
    items[i].seq = i;
    molt__mpsc_push(&q, &items[i].node);
    if (i % 3 == 2) { /* pop two of every three */
      for (int k = 0; k < 2; k++) cr_assert_eq(((item_t*)molt__mpsc_pop(&q))->seq, next_out++);
    }
  }
  item_t* it;
  while ((it = (item_t*)molt__mpsc_pop(&q)) != NULL) cr_assert_eq(it->seq, next_out++);
  cr_assert_eq(next_out, 100);
  cr_assert(molt__mpsc_empty(&q));
}

/* A producer stopped between its exchange and its link: pop cannot reach
 * the node yet, but empty() must not call the queue empty, nor park() park
 * it, or the wake-up would be lost. This replays push's two steps by
 * hand. */
Test(mailbox, empty_counts_a_push_in_its_inconsistent_window) {
  molt_mpsc_t q;
  item_t first = {.seq = 1}, second = {.seq = 2};
  molt__mpsc_init(&q);
  for (int popped_before = 0; popped_before < 2; popped_before++) {
    if (popped_before) { /* the same with the consumer past the stub */
      molt__mpsc_push(&q, &first.node);
      cr_assert_eq(molt__mpsc_pop(&q), &first.node);
    }
    atomic_store(&second.node.next, NULL);
    molt_mpsc_node_t* prev = atomic_exchange(&q.head, &second.node);
    cr_assert_not(molt__mpsc_empty(&q));
    cr_assert_null(molt__mpsc_pop(&q), "popped a node not yet linked");
    cr_assert_not(molt__mpsc_empty(&q));
    cr_assert_not(molt__mpsc_park(&q), "parked a queue with a push in progress");
    atomic_store(&prev->next, &second.node);
    cr_assert_eq(molt__mpsc_pop(&q), &second.node);
    cr_assert(molt__mpsc_empty(&q));
  }
}

/* A new queue is held by its consumer; parking an empty one hands it to
 * the next push, which alone learns so; a queued message keeps it held. */
Test(mailbox, the_push_that_finds_it_parked_takes_it) {
  molt_mpsc_t q;
  item_t a = {.seq = 1}, b = {.seq = 2};
  molt__mpsc_init(&q);
  cr_assert_not(molt__mpsc_unpark(&q), "a new queue is its consumer's");
  cr_assert(molt__mpsc_park(&q));
  cr_assert(molt__mpsc_empty(&q));
  cr_assert_null(molt__mpsc_pop(&q));
  cr_assert(molt__mpsc_push(&q, &a.node), "the first push must unpark it");
  cr_assert_not(molt__mpsc_push(&q, &b.node), "only one push unparks it");
  cr_assert_not(molt__mpsc_unpark(&q));
  cr_assert_not(molt__mpsc_park(&q), "parked with two messages queued");
  cr_assert_eq(molt__mpsc_pop(&q), &a.node);
  cr_assert_not(molt__mpsc_park(&q), "parked with one message queued");
  cr_assert_eq(molt__mpsc_pop(&q), &b.node);
  cr_assert(molt__mpsc_park(&q));
  cr_assert(molt__mpsc_unpark(&q), "a parked queue can be taken without a push");
  cr_assert_not(molt__mpsc_unpark(&q), "and only once");
  cr_assert_not(molt__mpsc_push(&q, &a.node), "taken: the push must not unpark it again");
  cr_assert_eq(molt__mpsc_pop(&q), &a.node);
  cr_assert(molt__mpsc_park(&q));
}

/* pop_park parks in the same step that takes the last message, so the
 * next push learns it must get the actor run; with more queued it pops
 * and keeps the queue; on an empty queue it parks; with a push in its
 * window it neither pops nor parks. */
Test(mailbox, pop_park_parks_as_it_takes_the_last_message) {
  molt_mpsc_t q;
  item_t a = {.seq = 1}, b = {.seq = 2}, c = {.seq = 3};
  bool parked = true;
  molt__mpsc_init(&q);
  molt__mpsc_push(&q, &a.node);
  molt__mpsc_push(&q, &b.node);
  cr_assert_eq(molt__mpsc_pop_park(&q, &parked), &a.node);
  cr_assert_not(parked, "parked with a message still queued");
  cr_assert_eq(molt__mpsc_pop_park(&q, &parked), &b.node);
  cr_assert(parked, "took the last message without parking");
  cr_assert(molt__mpsc_push(&q, &c.node), "the push after it must unpark it");
  cr_assert_eq(molt__mpsc_pop_park(&q, &parked), &c.node, "the stub came back in the wrong place");
  cr_assert(parked);
  cr_assert(molt__mpsc_unpark(&q));
  cr_assert_null(molt__mpsc_pop_park(&q, &parked));
  cr_assert(parked, "an empty queue is parked");
  cr_assert(molt__mpsc_unpark(&q));

  /* A producer between its exchange and its link, with the consumer on
   * the last node (a) and on the stub. */
  for (int on_stub = 0; on_stub < 2; on_stub++) {
    if (!on_stub) molt__mpsc_push(&q, &a.node);
    atomic_store(&b.node.next, NULL);
    molt_mpsc_node_t* prev = atomic_exchange(&q.head, &b.node);
    molt_mpsc_node_t* got = molt__mpsc_pop_park(&q, &parked);
    cr_assert_not(parked, "parked a queue with a push in progress");
    cr_assert_null(got);
    atomic_store(&prev->next, &b.node);
    if (!on_stub) {
      cr_assert_eq(molt__mpsc_pop_park(&q, &parked), &a.node);
      cr_assert_not(parked);
    }
    cr_assert_eq(molt__mpsc_pop_park(&q, &parked), &b.node);
    cr_assert(parked);
    cr_assert(molt__mpsc_unpark(&q));
    cr_assert(molt__mpsc_empty(&q));
  }
}

#define PRODUCERS 2
#define PER_PRODUCER 200000

static molt_mpsc_t shared;
static item_t* produced[PRODUCERS];

static void* produce(void* arg) {
  int p = (int)(intptr_t)arg;
  for (int i = 0; i < PER_PRODUCER; i++) {
    produced[p][i].producer = p;
    produced[p][i].seq = i;
    molt__mpsc_push(&shared, &produced[p][i].node);
  }
  return NULL;
}

Test(mailbox, two_producers_lose_nothing_and_keep_their_order) {
  molt__mpsc_init(&shared);
  pthread_t threads[PRODUCERS];
  for (int p = 0; p < PRODUCERS; p++) {
    produced[p] = calloc(PER_PRODUCER, sizeof(item_t));
    cr_assert_not_null(produced[p]);
  }
  for (int p = 0; p < PRODUCERS; p++)
    cr_assert_eq(pthread_create(&threads[p], NULL, produce, (void*)(intptr_t)p), 0);
  int next[PRODUCERS] = {0};
  long got = 0;
  while (got < (long)PRODUCERS * PER_PRODUCER) {
    item_t* it = (item_t*)molt__mpsc_pop(&shared);
    if (!it) {
      sched_yield();
      continue;
    }
    if (it->producer < 0 || it->producer >= PRODUCERS || it->seq != next[it->producer])
      cr_assert_fail("item %ld: producer %d seq %d", got, it->producer, it->seq);
    next[it->producer]++;
    got++;
  }
  for (int p = 0; p < PRODUCERS; p++) pthread_join(threads[p], NULL);
  cr_assert_null(molt__mpsc_pop(&shared), "more items than were pushed");
  cr_assert(molt__mpsc_empty(&shared));
  for (int p = 0; p < PRODUCERS; p++) {
    cr_assert_eq(next[p], PER_PRODUCER);
    free(produced[p]);
  }
}
