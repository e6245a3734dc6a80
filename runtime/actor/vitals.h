/* vitals.h: each actor's and scheduler's vital signs as other threads read
 * them (ps, top, alarms), without waiting for the actor: what the owner
 * and the ticker publish with relaxed stores, and the mailbox count the
 * owner keeps. Not the commands that show them (runtime/container). */
#ifndef MOLT_ACTOR_VITALS_H
#define MOLT_ACTOR_VITALS_H

#include <stdbool.h>
#include <stdint.h>

#include "actor.h"

/* The owner, at the end of a turn that popped n messages from a's
 * mailbox: that many fewer counted (the oldest are the counted ones; those
 * popped before any count was made were never counted). */
static inline void molt__vitals_popped(molt_actor_t* a, uint32_t n) {
  uint32_t len = atomic_load_explicit(&a->mbox_len, memory_order_relaxed);
  if (!len) return;
  if (n >= len) {
    a->mbox_counted = NULL;
    n = len;
  }
  atomic_store_explicit(&a->mbox_len, len - n, memory_order_relaxed);
}

/* The owner, at the end of a turn that still holds the mailbox: count
 * what arrived since the last count (bounded per turn). */
void molt__vitals_count_mailbox(molt_actor_t* a);

/* The owner: a fresh incarnation starts from nothing. */
void molt__vitals_reset(molt_actor_t* a);

/* One actor's figures, as read from another thread. */
typedef struct molt_vitals {
  molt_pid_t pid;
  molt_version_t* version; /* read its strings only inside molt__version_readers_* */
  uint8_t status;          /* molt__status_t */
  unsigned sched;
  uint64_t messages;       /* user messages handled */
  uint32_t mailbox;        /* messages waiting, as of its last turn */
  uint32_t time_ms;        /* time in callbacks, sampled */
  int64_t memory;          /* bytes its callbacks allocated and hold */
  const char* callback;    /* the callback it is in now, or NULL */
  uint64_t callback_ns;    /* how long it has been there (0 unless callback) */
} molt_vitals_t;

/* Read a's figures: false if the slot holds no live actor (free, in init,
 * or reused while it was read). Any thread, inside
 * molt__version_readers_enter/leave. now_ns: molt__now_ns(), read once per
 * scan. */
bool molt__vitals_read(molt_actor_t* a, uint64_t now_ns, molt_vitals_t* out);

/* One scheduler's figures. busy_ns grows while its thread runs turns
 * (utilisation is its growth over wall time between two reads). */
typedef struct molt_sched_vitals {
  unsigned id;
  uint64_t busy_ns;
  uint64_t turns;
  uint32_t runq;
  bool active; /* running a batch now (or held) */
} molt_sched_vitals_t;

void molt__vitals_sched_read(unsigned i, uint64_t now_ns, molt_sched_vitals_t* out);

#endif
