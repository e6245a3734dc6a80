/* mpsc.h: an intrusive multi-producer single-consumer queue (Dmitry
 * Vyukov's design), used for mailboxes and schedulers' inbound queues.
 *
 * push is one atomic exchange plus one store, wait-free. pop never blocks;
 * it returns NULL both when the queue is empty and, briefly, while a
 * producer is between its two steps (the "inconsistent" window). Callers
 * that must not miss such an element recheck with molt__mpsc_empty(),
 * which sees the producer's exchange. Exactly one consumer at a time.
 *
 * A mailbox also says whether its actor needs running, in the same word as
 * the queue's head (as Pony's message queues do): the head's low bit, set
 * only while the head is the stub, means "parked": empty, and the actor is
 * neither queued nor running. The consumer parks an empty queue with one
 * compare-and-swap at the end of a turn; the push that finds the bit
 * unparks it with the exchange it makes anyway, and its caller must get
 * the actor run. A separate flag would cost a second atomic operation on
 * each side and a Dekker handshake between them. */
#ifndef MOLT_BASE_MPSC_H
#define MOLT_BASE_MPSC_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct molt_mpsc_node {
  _Atomic(struct molt_mpsc_node*) next;
} molt_mpsc_node_t;

typedef struct molt_mpsc {
  _Atomic(molt_mpsc_node_t*) head; /* producers swing this */
  molt_mpsc_node_t* tail;          /* consumer only */
  molt_mpsc_node_t stub;
} molt_mpsc_t;

static inline void molt__mpsc_init(molt_mpsc_t* q) {
  atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
  atomic_store_explicit(&q->head, &q->stub, memory_order_relaxed);
  q->tail = &q->stub;
}

#define MOLT__MPSC_PARKED ((uintptr_t)1)

static inline molt_mpsc_node_t* molt__mpsc_unmark(molt_mpsc_node_t* p) {
  return (molt_mpsc_node_t*)((uintptr_t)p & ~MOLT__MPSC_PARKED);
}

/* The head of a parked queue: its stub, marked. */
static inline molt_mpsc_node_t* molt__mpsc_parked_stub(molt_mpsc_t* q) {
  return (molt_mpsc_node_t*)((uintptr_t)&q->stub | MOLT__MPSC_PARKED);
}

/* Returns true if the queue was parked: the caller now holds its consumer
 * (for a mailbox: must get the actor run). */
static inline bool molt__mpsc_push(molt_mpsc_t* q, molt_mpsc_node_t* n) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  molt_mpsc_node_t* prev = atomic_exchange_explicit(&q->head, n, memory_order_seq_cst);
  bool was_parked = ((uintptr_t)prev & MOLT__MPSC_PARKED) != 0;
  atomic_store_explicit(&molt__mpsc_unmark(prev)->next, n, memory_order_release);
  return was_parked;
}

/* Consumer: park the queue if it is empty (a push in its inconsistent
 * window counts as present). False: something is queued, and the consumer
 * still holds it. */
static inline bool molt__mpsc_park(molt_mpsc_t* q) {
  if (q->tail != &q->stub) return false;
  molt_mpsc_node_t* expect = &q->stub;
  if (atomic_compare_exchange_strong_explicit(&q->head, &expect, molt__mpsc_parked_stub(q),
                                              memory_order_seq_cst, memory_order_relaxed))
    return true;
  /* Parked already: whoever calls this does not hold the queue, and
   * would requeue its actor for ever. */
  assert(!((uintptr_t)expect & MOLT__MPSC_PARKED) && "park of a parked queue");
  return false;
}

/* Any thread: take a parked queue's consumer without pushing (a spawn
 * reusing a slot, a kill). False if it is not parked. */
static inline bool molt__mpsc_unpark(molt_mpsc_t* q) {
  molt_mpsc_node_t* expect = molt__mpsc_parked_stub(q);
  return atomic_compare_exchange_strong_explicit(&q->head, &expect, &q->stub, memory_order_seq_cst,
                                                 memory_order_relaxed);
}

/* Consumer, the part of pop that does not touch the head: the first node
 * if another follows it (or follows the stub behind it), *last NULL. Else
 * NULL, with *last the queue's last node: the stub when it is empty, or
 * the only node, which cannot be popped without moving the head. */
static inline molt_mpsc_node_t* molt__mpsc_pop_linked(molt_mpsc_t* q, molt_mpsc_node_t** last) {
  molt_mpsc_node_t* tail = q->tail;
  molt_mpsc_node_t* next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (tail == &q->stub && next) {
    q->tail = next;
    tail = next;
    next = atomic_load_explicit(&next->next, memory_order_acquire);
  }
  if (next) {
    q->tail = next;
    *last = NULL;
    return tail;
  }
  *last = tail;
  return NULL;
}

static inline molt_mpsc_node_t* molt__mpsc_pop(molt_mpsc_t* q) {
  molt_mpsc_node_t* tail;
  molt_mpsc_node_t* n = molt__mpsc_pop_linked(q, &tail);
  if (n || tail == &q->stub) return n;
  if (tail != molt__mpsc_unmark(atomic_load_explicit(&q->head, memory_order_acquire)))
    return NULL; /* push in progress */
  molt__mpsc_push(q, &q->stub);
  molt_mpsc_node_t* next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (next) {
    q->tail = next;
    return tail;
  }
  return NULL;
}

/* Consumer: pop, and park the queue in the same step if that leaves it
 * empty: *parked is set when the node returned was the last one, or when
 * NULL is returned because there was none. A parked queue is no longer
 * the caller's. One compare-and-swap on the last node, where pop then
 * park would take an exchange (pop re-queues the stub) and the
 * compare-and-swap. NULL without *parked: a push is in its window, and
 * the caller still holds the queue. */
static inline molt_mpsc_node_t* molt__mpsc_pop_park(molt_mpsc_t* q, bool* parked) {
  *parked = false;
  molt_mpsc_node_t* tail;
  molt_mpsc_node_t* n = molt__mpsc_pop_linked(q, &tail);
  if (n) return n;
  if (tail == &q->stub) {
    *parked = molt__mpsc_park(q);
    return NULL;
  }
  /* tail is the last node, so the stub is out of the queue: reset it, then
   * swing the head from tail to the parked stub. A producer that comes
   * after links behind the stub. */
  atomic_store_explicit(&q->stub.next, NULL, memory_order_relaxed);
  molt_mpsc_node_t* expect = tail;
  if (!atomic_compare_exchange_strong_explicit(&q->head, &expect, molt__mpsc_parked_stub(q),
                                               memory_order_seq_cst, memory_order_relaxed))
    return NULL;
  q->tail = &q->stub;
  *parked = true;
  return tail;
}

/* True only if nothing was pushed that pop has not returned, counting a
 * push still in its inconsistent window as present. tail always points at
 * the stub or at a node not yet returned, so the queue is empty exactly
 * when both ends rest on the stub. Consumer only. */
static inline bool molt__mpsc_empty(molt_mpsc_t* q) {
  return q->tail == &q->stub &&
         molt__mpsc_unmark(atomic_load_explicit(&q->head, memory_order_seq_cst)) == &q->stub;
}

#endif
