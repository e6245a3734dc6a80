/* tcp.h: runtime-owned TCP, private side: the handle table (tcp_table.c),
 * the sockets on their scheduler loops (tcp_*.c, tcp_sock.h) and who owns them
 * (tcp_owner.c), with the hooks the actor lifecycle calls. Not the public
 * contract, which is in molt/tcp.h. */
#ifndef MOLT_TCP_TCP_H
#define MOLT_TCP_TCP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "message.h"
#include "molt/module.h"

struct molt_sched;
struct molt__tcp_sock;

typedef enum {
  MOLT__TCP_FREE = 0,
  MOLT__TCP_OPEN,    /* writes and closes are accepted */
  MOLT__TCP_CLOSING, /* on its way out: the API answers ENOTCONN */
} molt__tcp_state_t;

/* A handle's slot. Slots live in pages that never move while the runtime
 * runs, so any thread may read the atomics of a slot it found through a
 * stale handle; only the loop thread of sched touches sock. */
typedef struct molt__tcp_slot {
  _Atomic uint32_t gen;
  uint32_t index;
  struct molt_sched* _Atomic sched; /* the loop the socket lives on */
  /* The scheduler its owner runs on: a connection moves there (tcp_move.c)
   * so that its I/O runs where its owner does. */
  struct molt_sched* _Atomic home;
  _Atomic molt_pid_t owner;
  /* The incarnation's generation (high half) and the writes its owners
   * have issued (low half): each write's place in line, so the socket
   * writes them in order even when some reach it by way of the loop it
   * has just left (tcp_move.c). The generation makes a writer holding a
   * handle that died under it fail instead of taking a number in the next
   * incarnation's line. */
  _Atomic uint64_t wseq;
  /* Bytes accepted by molt_tcp_write and not yet written or dropped. The
   * writer adds before queueing and the loop subtracts exactly that much
   * when the write ends, even if the slot has been reused meanwhile, so
   * the count never drifts. */
  atomic_size_t queued;
  _Atomic int port;
  _Atomic uint8_t state; /* molt__tcp_state_t */
  _Atomic bool listener;
  /* A connection: the listener that accepted it, whose count of open
   * connections it is in until its slot is freed. */
  molt_tcp_t from;
  /* A listener: its open connections and their cap (tcp_accept.c), and
   * whether a pause of its accepting has been logged and when. */
  _Atomic uint32_t conns, max_conns;
  _Atomic bool pause_logged;
  _Atomic uint64_t pause_logged_ns;
  struct molt__tcp_sock* sock;
  struct molt__tcp_slot* next_free;
} molt__tcp_slot_t;

/* The handle table (tcp_table.c). */
molt__tcp_slot_t* molt__tcp_slot_new(struct molt_sched* s);
/* The slot of h if h is its live incarnation, else NULL. Any thread; the
 * answer may be stale by the time the caller uses it, except on the loop
 * thread of the slot's scheduler, the only one that frees it. */
molt__tcp_slot_t* molt__tcp_slot_get(molt_tcp_t h);
molt_tcp_t molt__tcp_handle(const molt__tcp_slot_t* slot);
/* Take the next place in slot's write line for handle h: 0 and *seq, or
 * MOLT_ENOTCONN if h is no longer the slot's incarnation. */
int molt__tcp_slot_next_write(molt__tcp_slot_t* slot, molt_tcp_t h, uint32_t* seq);
/* Give back the place seq that h's last write took and never used. */
void molt__tcp_slot_give_back(molt__tcp_slot_t* slot, molt_tcp_t h, uint32_t seq);
/* Retire a slot: its handle is dead from now on. Loop thread only. */
void molt__tcp_slot_free(molt__tcp_slot_t* slot);
void molt__tcp_table_foreach(void (*fn)(molt__tcp_slot_t* slot, void* arg), void* arg);
/* Free every page; only after all schedulers stopped. */
void molt__tcp_table_close(void);

/* Sockets (tcp_*.c, tcp_sock.h). */
/* Close h (if still live) on its loop, flushing queued writes first when
 * graceful. Any thread; always asynchronous, so it is safe from inside
 * delivery code. */
void molt__tcp_request_close(molt_tcp_t h);
/* The owner handled h's DATA message in flight: read and deliver more. */
void molt__tcp_consumed(molt_tcp_t h);
/* a, the owner of h, runs on another scheduler than h's socket: move the
 * socket there. On a's thread. */
void molt__tcp_follow_owner(molt_tcp_t h, struct molt_sched* home);
/* The default cap on a listener's open connections: the descriptor limit
 * less a reserve for the control socket, module loads and files. */
uint32_t molt__tcp_default_max_conns(void);
/* The scheduler s is stopping: close every socket on its loop now, with
 * no flushing. On s's thread, before the loop's last run. */
void molt__tcp_close_all_here(struct molt_sched* s);

/* The slot of h if it is open and the calling actor owns it: 0, or
 * MOLT_EPERM (no actor, or another's), MOLT_ENOTCONN. */
int molt__tcp_owned_slot(molt_tcp_t h, molt__tcp_slot_t** out);

/* Ownership (tcp_owner.c). */
/* Record that a owns h, so h closes when a exits. 0 or MOLT_ENOMEM. On
 * a's thread (or while a is not yet visible to its scheduler). */
int molt__tcp_own(molt_actor_t* a, molt_tcp_t h);
/* Tell owner (any thread) that it now owns h: the record is made on the
 * owner's scheduler, and if the owner is gone h is closed. follow: the
 * socket moves to the owner's scheduler then (a hand-over); else once the
 * owner has handled h's ACCEPT without handing h on (a fresh connection). */
int molt__tcp_adopt(molt_pid_t owner, molt_tcp_t h, bool follow);
/* Attach TCP to the actor core (actor/hooks.h): an exiting actor's
 * sockets close, a socket's message follows its owner, a stopping
 * scheduler closes its sockets. Before the runtime starts; again is a
 * no-op. 0 or the hooks' error. */
int molt__tcp_init(void);

/* Highest write queue and receive buffer any connection reached, for
 * tests of the bounds. Any thread. */
typedef struct molt__tcp_peaks {
  size_t queued;
  size_t rbuf;
} molt__tcp_peaks_t;
void molt__tcp_peaks(molt__tcp_peaks_t* out);
void molt__tcp_peaks_reset(void);

#endif
