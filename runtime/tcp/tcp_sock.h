/* tcp_sock.h: a socket on its scheduler's loop, shared by the files that
 * deliver (tcp_deliver.c), read (tcp_read.c), close (tcp_close.c), write
 * (tcp_write.c), accept (tcp_accept.c) and listen (tcp_listen.c). Not the
 * handle table or ownership (tcp.h).
 *
 * A socket lives on one scheduler's uv loop for its whole life: the loop
 * of the actor that listened (a listener) or of its listener (a
 * connection). Handing a connection to an actor on another scheduler
 * does not move it; that actor's writes and closes are posted to the
 * socket's loop as tasks, in order. Moving the fd between loops would
 * save a hop per write but race with reads in flight; not worth it yet.
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

typedef struct molt__tcp_sock {
  uv_tcp_t tcp;
  uv_timer_t linger;
  molt__tcp_slot_t* slot;
  molt_tcp_t h;
  int fd; /* a listener's socket until its loop adopts it */
  char* rbuf;
  size_t rlen, rcap;
  int reason;       /* why the peer side finished: 0 (EOF) or MOLT_E* */
  unsigned handles; /* uv handles not yet closed; the sock is freed at 0 */
  unsigned writes;  /* uv writes not yet completed */
  bool listener, started, reading, in_flight, peer_done, write_paused, write_failed, closing, lingering;
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
 * Any thread. */
sock_t* molt__tcp_here(molt_tcp_t h);
/* Run fn on slot's loop: now if that is the calling thread, else posted.
 * Any thread. */
int molt__tcp_run_on(molt__tcp_slot_t* slot, void (*fn)(void*), void* arg);

/* Delivery (tcp_deliver.c). */
/* One message of kind to the socket's owner. 0 or MOLT_ENOMEM. */
int molt__tcp_deliver(sock_t* s, uint32_t kind, const void* data, size_t size, int reason);
/* Deliver what may be delivered, and read if reading is allowed. */
void molt__tcp_pump(sock_t* s);
/* Writing failed: the peer is gone. */
void molt__tcp_write_failed(sock_t* s, int err);
/* The peer side is finished (EOF or an error, reason). */
void molt__tcp_peer_done(sock_t* s, int reason);

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

/* Accepting (tcp_accept.c): a listener's connection callback. */
void molt__tcp_on_connection(uv_stream_t* server, int status);

#endif
