/* mpsc.h: an intrusive multi-producer single-consumer queue (Dmitry
 * Vyukov's design), used for mailboxes and schedulers' inbound queues.
 *
 * push is one atomic exchange plus one store, wait-free. pop never blocks;
 * it returns NULL both when the queue is empty and, briefly, while a
 * producer is between its two steps (the "inconsistent" window). Callers
 * that must not miss such an element recheck with molt__mpsc_empty(),
 * which sees the producer's exchange. Exactly one consumer at a time. */
#ifndef MOLT_RUNTIME_MPSC_H
#define MOLT_RUNTIME_MPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

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

static inline void molt__mpsc_push(molt_mpsc_t* q, molt_mpsc_node_t* n) {
  atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
  /* seq_cst: pairs with the consumer's release-then-recheck in the
   * scheduled-flag protocol (actor.c), a Dekker-style handshake. */
  molt_mpsc_node_t* prev = atomic_exchange_explicit(&q->head, n, memory_order_seq_cst);
  atomic_store_explicit(&prev->next, n, memory_order_release);
}

static inline molt_mpsc_node_t* molt__mpsc_pop(molt_mpsc_t* q) {
  molt_mpsc_node_t* tail = q->tail;
  molt_mpsc_node_t* next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (tail == &q->stub) {
    if (!next) return NULL;
    q->tail = next;
    tail = next;
    next = atomic_load_explicit(&next->next, memory_order_acquire);
  }
  if (next) {
    q->tail = next;
    return tail;
  }
  if (tail != atomic_load_explicit(&q->head, memory_order_acquire)) return NULL; /* push in progress */
  molt__mpsc_push(q, &q->stub);
  next = atomic_load_explicit(&tail->next, memory_order_acquire);
  if (next) {
    q->tail = next;
    return tail;
  }
  return NULL;
}

/* True only if nothing was pushed that pop has not returned, counting a
 * push still in its inconsistent window as present. tail always points at
 * the stub or at a node not yet returned, so the queue is empty exactly
 * when both ends rest on the stub. Consumer only. */
static inline bool molt__mpsc_empty(molt_mpsc_t* q) {
  return q->tail == &q->stub &&
         atomic_load_explicit(&q->head, memory_order_seq_cst) == &q->stub;
}

#endif
