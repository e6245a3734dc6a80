/* molt/tcp.h: runtime-owned TCP for modules. Included by molt/module.h. */
#ifndef MOLT_TCP_H
#define MOLT_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Listeners and connections belong to the runtime, not to a module
 * version: they survive upgrades, downgrades and soft loads. Each is owned
 * by one actor, which receives its messages; when the owner exits, what it
 * owns is closed, unless it handed it to another actor first
 * (molt_tcp_controlling). A handle is an index and a generation, like a
 * pid, so a stale handle never reaches a newer connection: calls on it
 * return MOLT_ENOTCONN.
 *
 * Messages (from is MOLT_PID_NONE, ref is the handle):
 *   MOLT_MSG_TCP_ACCEPT  a listener accepted a connection; the listener's
 *                        owner owns it. data is a molt_tcp_accept_t.
 *   MOLT_MSG_TCP_DATA    bytes received, in order, never split or merged
 *                        in a way that matters to a byte stream.
 *   MOLT_MSG_TCP_CLOSED  the peer closed (reason 0) or the connection
 *                        failed (reason a negative MOLT_E*), after every
 *                        byte received before it was delivered. The handle
 *                        is dead once this arrives. Not sent when the
 *                        owner itself called molt_tcp_close.
 *
 * Flow control, so neither a slow peer nor a slow actor makes the
 * container buffer without bound:
 * - at most one DATA message per connection is in an owner's mailbox;
 *   bytes that arrive meanwhile are buffered (merged into the next DATA)
 *   up to MOLT_TCP_RECV_HIGH, then reading pauses until the owner has
 *   handled the message in flight;
 * - bytes accepted by molt_tcp_write but not yet written to the socket
 *   are the write queue. Above MOLT_TCP_WRITE_HIGH reading pauses (a peer
 *   that does not read its answers gets no more requests read) and
 *   resumes below MOLT_TCP_WRITE_LOW; a write that would take the queue
 *   past MOLT_TCP_WRITE_MAX is refused whole with MOLT_ENOBUFS. */
typedef uint64_t molt_tcp_t;
#define MOLT_TCP_NONE ((molt_tcp_t)0)

#define MOLT_TCP_RECV_HIGH (256u << 10)
#define MOLT_TCP_WRITE_LOW (256u << 10)
#define MOLT_TCP_WRITE_HIGH (1u << 20)
#define MOLT_TCP_WRITE_MAX (4u << 20)

/* The payload of MOLT_MSG_TCP_ACCEPT. Part of the ABI (append only). */
typedef struct molt_tcp_accept {
  molt_tcp_t listener;
  char peer[64]; /* the client as "address:port" ("[v6]:port"), NUL-terminated */
} molt_tcp_accept_t;

/* Listen on address (IPv4 or IPv6 literal; NULL means "127.0.0.1") and
 * port (0: any free port, see molt_tcp_port). The calling actor owns the
 * listener and gets an ACCEPT message for each connection. Returns 0 and
 * writes *listener, or MOLT_EINVAL (bad address or port), MOLT_EADDRINUSE,
 * MOLT_EACCES, MOLT_EPERM (not called from an actor), MOLT_ENOMEM, or
 * another socket error. May be called from init. */
int molt_tcp_listen(const char* address, int port, molt_tcp_t* listener);

/* Cap the connections listener keeps open at once (0: the default, the
 * descriptor limit less a reserve of a tenth, at least 64, for the
 * control socket, module loads and files). At the cap, or when the
 * process has no descriptor left, the listener stops accepting: new
 * connections wait in the kernel's backlog, the pause is logged ("accept
 * paused", at most once every 5 s), and accepting resumes by itself when
 * connections close. Returns 0, MOLT_EINVAL (not a listener),
 * MOLT_ENOTCONN, MOLT_EPERM (the caller is not the owner). */
int molt_tcp_max_conns(molt_tcp_t listener, uint32_t max_conns);

/* The local port of a listener or connection, or a negative MOLT_E*
 * (MOLT_ENOTCONN for a closed handle). Any thread. */
int molt_tcp_port(molt_tcp_t handle);

/* Queue size bytes for conn. The data is copied; the caller keeps its
 * buffer whatever the result. Returns 0 once queued (the write itself
 * happens later, in order), MOLT_ENOBUFS if the queue would pass
 * MOLT_TCP_WRITE_MAX (nothing was queued: wait for the peer), MOLT_ENOTCONN
 * if the connection is closed or closing, MOLT_EPERM if the caller is not
 * the owner, MOLT_ENOMEM. */
int molt_tcp_write(molt_tcp_t conn, const void* data, size_t size);

/* Close a listener or connection the caller owns. Bytes already queued
 * are still written (for up to a few seconds); nothing more is read and no
 * CLOSED message follows. Returns 0, MOLT_ENOTCONN if already closed,
 * MOLT_EPERM if the caller is not the owner. */
int molt_tcp_close(molt_tcp_t handle);

/* Hand a listener or connection to another actor, as Erlang's
 * gen_tcp:controlling_process: every message not yet handled by the
 * caller, and every one after, goes to new_owner, in order; the handle
 * now dies with new_owner instead. Returns 0, MOLT_ENOTCONN, MOLT_EPERM
 * (the caller is not the owner), MOLT_ESRCH (new_owner never existed). If
 * new_owner has already exited, the handle is closed. */
int molt_tcp_controlling(molt_tcp_t handle, molt_pid_t new_owner);

/* The actor that owns handle, or MOLT_PID_NONE if it is closed. Any thread. */
molt_pid_t molt_tcp_owner(molt_tcp_t handle);

#ifdef __cplusplus
}
#endif

#endif
