/* vitals.c: the figures ps, top and alarms read per actor and per
 * scheduler, and how the owner counts its mailbox. Not how they are shown
 * (runtime/container/cmd_actors.c, cmd_top.c, alarms.c).
 *
 * Mailbox length without a new atomic on the send path: senders do what
 * they did (mpsc.h's exchange and store); the owner, at the end of a turn
 * that leaves messages behind, walks on from the last node it counted to
 * the queue's end and adds what it finds, and takes one off per message
 * it pops. Each node is walked once when counted, so the cost is bounded
 * by the messages themselves, and nothing is paid by a turn that empties
 * its mailbox (the common case: it parks with the count at zero). The
 * walk goes only through nodes the owner has not consumed, which only it
 * frees, and reads each next with acquire, as pop does. A walk is bounded
 * (WALK_MAX), so against a flood faster than that per turn the figure is
 * a lower bound that keeps growing, as the mailbox does; and an actor
 * stuck inside one callback shows the figure of its last turn (ps shows
 * the callback and for how long).
 *
 * Rejected alternatives: a counter senders increment is an atomic
 * read-modify-write per message on a line the owner writes; numbering
 * each message from its predecessor in the push reads a field the
 * predecessor's sender may not have written yet (between its exchange and
 * its store), which breaks the numbering for good under two senders. */
#include "vitals.h"

#include "runtime.h"
#include "sched.h"

/* Nodes a turn's count walks at most: four turns' budgets. */
#define WALK_MAX 512

void molt__vitals_count_mailbox(molt_actor_t* a) {
  molt_mpsc_t* q = &a->mailbox;
  molt_mpsc_node_t* last = a->mbox_counted;
  molt_mpsc_node_t* n = last ? atomic_load_explicit(&last->next, memory_order_acquire) : q->tail;
  uint32_t len = atomic_load_explicit(&a->mbox_len, memory_order_relaxed), added = 0;
  for (int k = 0; n && k < WALK_MAX; k++) {
    /* The stub is not a message, and it moves (pop re-queues it): never
     * remember it. */
    if (n != &q->stub) {
      added++;
      last = n;
    }
    n = atomic_load_explicit(&n->next, memory_order_acquire);
  }
  if (!added) return;
  a->mbox_counted = last;
  atomic_store_explicit(&a->mbox_len, len + added, memory_order_relaxed);
}

void molt__vitals_reset(molt_actor_t* a) {
  atomic_store_explicit(&a->handled, 0, memory_order_relaxed);
  a->mbox_counted = NULL;
  atomic_store_explicit(&a->mbox_len, 0, memory_order_relaxed);
  atomic_store_explicit(&a->busy_ms, 0, memory_order_relaxed);
  atomic_store_explicit(&a->memory, 0, memory_order_relaxed);
}

/* Why these reads are safe from any thread: the slot's memory lives as
 * long as the runtime (actor_table.c); every field read is atomic, so
 * there is no data race, only values of different moments. The
 * generation read before and after brackets them: an actor that exited
 * (and a slot reused) meanwhile bumped it, and the figures are dropped.
 * status RUNNING was stored (seq_cst) after version, so a reader that
 * sees it sees that version; the version an exiting actor has just
 * dropped is not freed while the caller is inside
 * molt__version_readers_enter/leave. What is not read: ext (links, name,
 * timers), which the owner reallocates and frees; inspect reads those in
 * the actor's turn. */
bool molt__vitals_read(molt_actor_t* a, uint64_t now_ns, molt_vitals_t* o) {
  molt_sched_t* s = atomic_load_explicit(&a->sched, memory_order_relaxed);
  if (!s) return false;
  uint32_t gen = atomic_load_explicit(&a->gen, memory_order_acquire);
  uint8_t st = atomic_load_explicit(&a->status, memory_order_acquire);
  if (st != MOLT__RUNNING && st != MOLT__SUSPENDED && st != MOLT__EXITING) return false;
  o->version = atomic_load_explicit(&a->version, memory_order_acquire);
  o->status = st;
  o->sched = s->id;
  o->messages = atomic_load_explicit(&a->handled, memory_order_relaxed);
  o->mailbox = atomic_load_explicit(&a->mbox_len, memory_order_relaxed);
  o->time_ms = atomic_load_explicit(&a->busy_ms, memory_order_relaxed);
  o->memory = atomic_load_explicit(&a->memory, memory_order_relaxed);
  o->callback = NULL;
  o->callback_ns = 0;
  if (atomic_load_explicit(&s->running, memory_order_relaxed) == a) {
    o->callback = st == MOLT__EXITING ? "terminate" : "handle";
    /* The ticker's sample of this very turn, if it took one yet: else the
     * turn is younger than a tick. */
    uint64_t turn = atomic_load_explicit(&s->turns, memory_order_relaxed);
    uint64_t since = atomic_load_explicit(&s->turn_since_ns, memory_order_relaxed);
    if (atomic_load_explicit(&s->turn_since_turns, memory_order_relaxed) == turn && since && now_ns > since)
      o->callback_ns = now_ns - since;
  }
  if (atomic_load_explicit(&a->gen, memory_order_acquire) != gen || !o->version) return false;
  o->pid = MOLT__PID(a->index, gen);
  return true;
}

void molt__vitals_sched_read(unsigned i, uint64_t now_ns, molt_sched_vitals_t* o) {
  molt_sched_t* s = &molt__rt.scheds[i];
  o->id = s->id;
  o->busy_ns = atomic_load_explicit(&s->busy_ns, memory_order_relaxed);
  uint64_t since = atomic_load_explicit(&s->busy_since_ns, memory_order_relaxed);
  if (since && now_ns > since) o->busy_ns += now_ns - since;
  o->turns = atomic_load_explicit(&s->turns, memory_order_relaxed);
  o->runq = atomic_load_explicit(&s->runq_len, memory_order_relaxed);
  o->active = atomic_load_explicit(&s->gate, memory_order_relaxed) != MOLT__GATE_PARKED;
}
