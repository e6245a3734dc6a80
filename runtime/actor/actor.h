/* actor.h: an actor as the runtime sees it: its slot in the actor table,
 * mailbox, code version, state and status, and the run of one turn. Links,
 * monitors, timers and names live in link.c, timer.c and registry.c. */
#ifndef MOLT_ACTOR_ACTOR_H
#define MOLT_ACTOR_ACTOR_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "molt/module.h"
#include "mpsc.h"
#include "version.h"

struct molt_sched;
struct molt_timer;

typedef enum {
  MOLT__FREE = 0, /* slot unused; stale messages are rejected */
  MOLT__INIT,     /* init is running on the spawner's thread */
  MOLT__RUNNING,
  MOLT__SUSPENDED, /* system messages only; user messages are held */
  MOLT__EXITING,
} molt__status_t;

typedef struct molt_monitor_entry {
  uint64_t ref;
  molt_pid_t pid;
} molt_monitor_entry_t;

typedef struct molt_pid_set {
  molt_monitor_entry_t* v;
  uint32_t n, cap;
} molt_pid_set_t;

/* Rooms that may attach hooks to the actor core (hooks.h). */
#define MOLT__HOOK_ROOMS 4

/* What most actors never need, allocated on first use so an idle actor
 * stays small. */
typedef struct molt_actor_ext {
  molt_pid_set_t links;    /* ref unused */
  molt_pid_set_t monitors; /* actors we monitor: {ref, target} */
  molt_pid_set_t watchers; /* actors monitoring us: {ref, watcher} */
  struct molt_timer* timers;
  char* name;              /* registered name */
  molt__msg_t* saved_head; /* user messages held while suspended */
  molt__msg_t* saved_tail;
  /* What a room above keeps per actor (TCP: the sockets it owns), at the
   * slot its hooks were given (hooks.h). */
  void* hooked[MOLT__HOOK_ROOMS];
} molt_actor_ext_t;

/* Slots are whole cache lines (two, 128 bytes): the mailbox's head is
 * written by senders on other threads, and in a slot sharing a line with
 * its neighbour that write stalls whoever runs the neighbour. Measured:
 * with 96-byte slots, ping-pong across two schedulers took 395 ns against
 * 306 ns; the 32 bytes cost is what the alignment buys.
 *
 * The first line holds all a sender touches (mailbox, sched, gen); the
 * second what only the running actor writes, message after message
 * (handled, state): a sender reading gen next to handled would pull that
 * line across cores on every message. */
typedef struct molt_actor {
  alignas(64) molt_mpsc_t mailbox;
  molt_mpsc_node_t qnode;       /* link in the scheduler's inbound queue */
  struct molt_actor* run_next;  /* local run queue */
  /* Fixed for the slot's life once set; atomic because scans of the table
   * (kill passes, upgrades) read other schedulers' slots. */
  struct molt_sched* _Atomic sched;
  _Atomic uint32_t gen;
  uint32_t index;
  /* The free list's link, apart from run_next: a dead slot can be in both
   * lists at once (a stale sender's push queued it after it was freed). */
  struct molt_actor* free_next;

  /* Atomic because ps, top and alarms read it from other threads
   * (vitals.c); its owner's writes are rare (spawn, exit, an upgrade's
   * switch) and its reads plain loads on x86-64 and AArch64. */
  alignas(64) molt_version_t* _Atomic version;
  void* state;
  molt_actor_ext_t* ext;
  _Atomic uint8_t status; /* read by kill passes on other threads */
  /* Two bits of one byte, the owner's only, leaving a byte for trace. */
  bool trap_exit : 1;
  bool exit_pending : 1;
  uint8_t trace; /* a bit per trace session tracing it (trace.h); its thread's only */
  bool in_free_list;
  int32_t exit_reason;
  /* Vital signs (vitals.h): written by the owner with relaxed stores (a
   * plain store, no read-modify-write), read by ps, top and alarms on
   * other threads. */
  _Atomic uint64_t handled; /* user messages handled */
  /* The mailbox's messages counted so far but not handled yet (mbox_len),
   * and the last of them (mbox_counted, NULL when none): see vitals.c. */
  molt_mpsc_node_t* mbox_counted;
  _Atomic uint32_t mbox_len;
  /* Milliseconds of callbacks, sampled by the ticker (ticker.c), its only
   * writer besides the spawn's reset. */
  _Atomic uint32_t busy_ms;
  /* Bytes the actor's callbacks allocated with molt_alloc and did not
   * free: molt_alloc charges it through molt__alloc_meter (alloc.h),
   * which actor.c points here while the actor runs. */
  _Atomic int64_t memory;
} molt_actor_t;

_Static_assert(offsetof(molt_actor_t, version) == 64 && sizeof(molt_actor_t) == 128,
               "a slot is a senders' line and an owner's line");

#define MOLT__PID(index, gen) (((uint64_t)(gen) << 32) | (uint64_t)(index))
#define MOLT__PID_INDEX(pid) ((uint32_t)((pid)&0xffffffffu))
#define MOLT__PID_GEN(pid) ((uint32_t)((pid) >> 32))

static inline molt_pid_t molt__actor_pid(const molt_actor_t* a) {
  return MOLT__PID(a->index, atomic_load_explicit(&a->gen, memory_order_relaxed));
}

/* The calling thread's running actor, or NULL. */
molt_actor_t* molt__actor_current(void);
void molt__actor_set_current(molt_actor_t* a);

/* Actor table (actor_table.c). lookup: the slot of pid if its index was
 * ever allocated (the generation may differ: the actor is gone), else
 * NULL. Any thread. */
molt_actor_t* molt__actor_slot(molt_pid_t pid);
/* A slot for a new actor on s, its mailbox held (unparked, mpsc.h). */
molt_actor_t* molt__actor_slot_alloc(struct molt_sched* s);
/* Return a slot whose actor is gone; on its scheduler's thread. */
void molt__actor_slot_release(molt_actor_t* a);
/* Visit every slot ever allocated. */
void molt__actor_table_foreach(void (*fn)(molt_actor_t* a, void* arg), void* arg);
/* Visit every slot bound to s. Any thread; a slot bound meanwhile (by a
 * spawner on another thread) may or may not be visited, as with
 * molt__actor_table_foreach. */
void molt__actor_table_foreach_on(struct molt_sched* s, void (*fn)(molt_actor_t* a, void* arg), void* arg);
/* Free every page; only after all schedulers stopped. */
void molt__actor_table_close(void);

/* Deliver m to the actor addressed by pid (copying nothing: m is consumed
 * on every path). Returns 0 (also when the actor is gone: m is rejected
 * as a dead actor would, see molt__msg_reject) or MOLT_ESRCH for a pid
 * that never existed. Any thread. */
int molt__deliver(molt_pid_t pid, molt__msg_t* m);

/* A message addressed to an actor that no longer exists: a link or monitor
 * request is answered with NOPROC, a call runs with NULL, the rest freed. */
void molt__msg_reject(molt__msg_t* m);

/* Spawn an actor of v that will live on scheduler s (any scheduler; the
 * caller may be any thread). init runs on the calling thread before this
 * returns, and its error is returned with no actor left behind.
 * internal is handed to builtin modules through their args. */
int molt__actor_spawn(molt_version_t* v, const char* args_json, void* internal,
                      unsigned flags, struct molt_sched* s, molt_pid_t* pid,
                      uint64_t* monitor_ref);

/* Run one turn of a (its scheduler thread, its mailbox held). */
void molt__actor_run(molt_actor_t* a);

/* Mark the running actor to exit with reason once its callback returns. */
void molt__actor_exit_later(molt_actor_t* a, int reason);

/* Handle a user-visible message now (or hold it if suspended). */
void molt__actor_handle_user(molt_actor_t* a, molt__msg_t* m);

/* The actor's extension, allocated on first use; NULL when out of memory. */
molt_actor_ext_t* molt__actor_ext(molt_actor_t* a);

/* Kill every live actor on the calling scheduler without running their
 * code but free_state (container shutdown after the grace period). */
void molt__actor_kill_all_here(void);
/* Kill the actors on the calling scheduler that run only (NULL: all) with
 * reason (no terminate for KILLED or PURGED). Returns how many. */
int molt__actor_kill_here(molt_version_t* only, int reason);

/* Number of live actors, any thread. */
unsigned long molt__actor_count(void);

#endif
