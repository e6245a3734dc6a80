/* tcp_sock.h: a socket on its scheduler's loop, shared by the files that
 * deliver (tcp_deliver.c), read (tcp_read.c), close (tcp_close.c), write
 * (tcp_write.c), accept (tcp_accept.c) and listen (tcp_listen.c). Not the
 * handle table or ownership (tcp.h).
 *
 * A socket lives on one scheduler's uv loop at a time: a listener on its
 * owner's, a connection on the loop that accepted it until it is handed to
 * an actor on another scheduler, and then on that actor's (tcp_move.c):
 * a connection's reads and writes run where its owner does, with no hop
 * between threads. Calls made from another thread are posted to the
 * socket's loop as tasks; a task that finds the socket gone to another
 * loop follows it there. Writes carry their place in line (the slot's
 * wseq), so the ones that arrive by way of the old loop still go out in
 * the order the owner made them.
 *
 * Flow control (the contract is in molt/tcp.h). Reading is on only
 * while all of these hold: the peer has not finished, the socket is not
 * closing, the receive buffer is under MOLT_TCP_RECV_HIGH, and the write
 * queue has not passed MOLT_TCP_WRITE_HIGH (or has since fallen under
 * MOLT_TCP_WRITE_LOW). One DATA message at most is in the owner's
 * mailbox; bytes read meanwhile wait in the receive buffer and go out as
 * one message when the owner has handled the last. That bounds what a
 * connection can hold whatever the peer or the actor does: the receive
 * buffer plus one read, one message, and the write queue's hard cap.
 *
 * Everything here runs on the socket's loop thread unless it says
 * otherwise. */
#ifndef MOLT_TCP_TCP_SOCK_H
#define MOLT_TCP_TCP_SOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "sched.h"
#include "tcp.h"

/* One molt_tcp_write: its bytes, counted in the slot's queue until the
 * write ends, and its place in line. */
typedef struct molt__tcp_wreq {
  uv_write_t req;
  molt__tcp_slot_t* slot;
  molt_tcp_t h;
  struct molt__tcp_wreq* next; /* in the socket's held list */
  uint32_t seq;
  size_t size;
  char data[];
} wreq_t;

typedef struct molt__tcp_sock {
  uv_tcp_t tcp;
  uv_timer_t linger;
  molt__tcp_slot_t* slot;
  molt_tcp_t h;
  int fd; /* the socket until its loop adopts it: a listener's, a moving connection's */
  char* rbuf;
  size_t rlen, rcap;
  int reason;       /* why the peer side finished: 0 (EOF) or MOLT_E* */
  unsigned handles; /* uv handles not yet closed; the sock is freed at 0 */
  unsigned writes;  /* uv writes not yet completed */
  wreq_t* held;     /* writes not yet issued: ahead of their turn, or while not started or moving; by seq */
  uint32_t next_seq; /* the place in line of the next write to issue */
  /* started: the socket is open on its loop (a listener its actor has yet
   * to start, or a connection on its way to another loop, is not).
   * moving: leaving this loop once its writes in progress end.
   * close_wanted: close once every write the owners issued has been. */
  bool listener, started, reading, in_flight, peer_done, write_paused, write_failed, closing, lingering;
  bool moving, close_wanted;
} sock_t;

/* Tasks carry a handle, never a sock pointer: the socket may be gone by
 * the time the task runs, and the handle's generation says so. */
static inline void* handle_arg(molt_tcp_t h) { return (void*)(uintptr_t)h; }
static inline molt_tcp_t arg_handle(void* arg) { return (molt_tcp_t)(uintptr_t)arg; }
_Static_assert(sizeof(uintptr_t) >= sizeof(molt_tcp_t), "handles travel as task arguments");

/* The highest write queue and receive buffer seen (tcp.h's peaks). */
extern atomic_size_t molt__tcp_peak_queued, molt__tcp_peak_rbuf;
void molt__tcp_raise_peak(atomic_size_t* peak, size_t v);

/* The socket of h if it is live and lives on the calling thread's loop.
 * If it lives on another loop, task(arg) is posted there to find it, and
 * *followed says so: the task owns arg no more. Any thread. */
sock_t* molt__tcp_here(molt_tcp_t h, void (*task)(void*), void* arg, bool* followed);
/* Run fn on slot's loop: now if that is the calling thread, else posted.
 * Any thread. */
int molt__tcp_run_on(molt__tcp_slot_t* slot, void (*fn)(void*), void* arg);

/* Delivery (tcp_deliver.c). */
/* One message of kind to the socket's owner. 0 or MOLT_ENOMEM. */
int molt__tcp_deliver(sock_t* s, uint32_t kind, const void* data, size_t size, int reason);
/* Deliver what may be delivered, and read if reading is allowed. */
void molt__tcp_pump(sock_t* s);
/* n bytes just read: deliver them as DATA at once if the owner may have
 * them now and none are waiting (true), else false: the caller keeps them. */
bool molt__tcp_deliver_now(sock_t* s, const char* data, size_t n);
/* Writing failed: the peer is gone. */
void molt__tcp_write_failed(sock_t* s, int err);
/* The peer side is finished (EOF or an error, reason). */
void molt__tcp_peer_done(sock_t* s, int reason);

/* Writing (tcp_write.c). */
/* Issue every held write whose turn has come, then close if a close is
 * waiting for them. */
void molt__tcp_issue_writes(sock_t* s);
/* Drop every held write (the socket is going). */
void molt__tcp_drop_held(sock_t* s);

/* Moving (tcp_move.c): the writes in progress ended; go on with the move. */
void molt__tcp_move_on(sock_t* s);

/* Reading (tcp_read.c): start or stop reading as flow control says. */
void molt__tcp_update_reading(sock_t* s);

/* Closing (tcp_close.c). graceful: give queued writes a few seconds to
 * reach the peer. A second, forced close of a lingering socket ends the
 * wait. */
void molt__tcp_begin_close(sock_t* s, bool graceful);
/* Close the uv handles now; the sock is freed in their callbacks. */
void molt__tcp_really_close(sock_t* s);
/* A task: begin a graceful close of the handle in arg. */
void molt__tcp_task_close(void* arg);

/* Accepting (tcp_accept.c). */
/* Start accepting l's connections on every scheduler, each on its own
 * duplicate of the listening socket fd. 0 or a negative errno. */
int molt__tcp_accept_everywhere(sock_t* l, int fd);
/* l is closing: every scheduler's acceptor of it closes. Its socket has
 * been shut down already, so none accepts meanwhile. */
void molt__tcp_stop_accepting(molt_tcp_t listener);
/* A stopping scheduler: close the acceptors on the calling loop. */
void molt__tcp_close_acceptors_here(void);

#endif
