/* control_sock.h: where a home's control socket lives and how to reach it,
 * shared by the control server (probing for a live peer) and its client.
 * Not the protocol: nothing here reads or writes a request. */
#ifndef MOLT_CONTROL_CONTROL_SOCK_H
#define MOLT_CONTROL_CONTROL_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

/* Room for a socket path, terminator included: sockaddr_un's sun_path. */
#define MOLT_CONTROL_PATH_MAX sizeof(((struct sockaddr_un*)0)->sun_path)

/* Write <home>/molt.sock into path (MOLT_CONTROL_PATH_MAX bytes). Returns 0,
 * or MOLT_ENAMETOOLONG with a reason in err when it does not fit sun_path
 * (libuv would silently truncate it), or MOLT_EINVAL for an empty home. */
int molt__control_sockpath(const char* home, char path[MOLT_CONTROL_PATH_MAX], char* err,
                           size_t errlen);

/* Connect a stream socket to path, waiting at most timeout_ms (at least 1)
 * for room in a busy listener's backlog. Returns 0 with *fd open,
 * close-on-exec and non-blocking (the caller closes it), or a negative
 * errno: MOLT_ENOENT (no socket file), MOLT_ECONNREFUSED (a file nobody
 * listens on), MOLT_ETIMEDOUT (a listener too busy to take us), others as
 * connect(2) reports them. Sets no message: what a failure means depends on
 * who dials. */
int molt__control_dial(const char* path, uint32_t timeout_ms, int* fd);

/* Whether the socket path can be taken: 0 when nothing is there or a
 * socket is (live or stale: molt__control_in_use tells), MOLT_EEXIST with
 * a reason for anything else, which is never replaced. */
int molt__control_path_check(const char* path, char* err, size_t errlen);

/* Whether a container serves home: 0 when nobody listens on its socket
 * (no file, or one a crashed container left), MOLT_EADDRINUSE with a
 * reason when one does (or is too busy to accept within timeout_ms),
 * MOLT_EEXIST when something not a socket holds its path
 * (molt__control_path_check), or another error with a reason. What the
 * container asks before it touches a home, so that nothing starts that
 * the socket would stop later; needs no client. */
int molt__control_in_use(const char* home, uint32_t timeout_ms, char* err, size_t errlen);

#endif
