/* molt/module.h: what a module author includes. The module descriptor (the
 * ABI between a module .so and the container) and the actor API a module
 * calls. Nothing here exposes the runtime's private structures. */
#ifndef MOLT_MODULE_H
#define MOLT_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/errno.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ ABI */

/* 'MOLT' read as a little-endian word: rejects a stray .so. */
#define MOLT_MAGIC 0x544c4f4du
/* Changes only on an incompatible change; a mismatch is refused. */
#define MOLT_ABI_VERSION 1u
/* The one symbol a module exports. */
#define MOLT_DESCRIPTOR_SYMBOL "molt_module"

#define MOLT_EXPORT __attribute__((visibility("default")))

/* An actor's identity: scheduler-independent index and a generation that
 * changes each time the slot is reused, so a stale pid never reaches a new
 * actor. 0 is "no actor". */
typedef uint64_t molt_pid_t;
#define MOLT_PID_NONE ((molt_pid_t)0)

/* What a message is. USER messages carry the sender's tag and payload;
 * the other kinds are signals the runtime turns into messages. */
typedef enum {
  MOLT_MSG_USER = 0,
  MOLT_MSG_EXIT = 1,    /* a linked actor exited (only while trapping exits) */
  MOLT_MSG_DOWN = 2,    /* a monitored actor exited; ref is the monitor's */
  MOLT_MSG_TIMEOUT = 3, /* never used today; timers deliver USER messages */
  MOLT_MSG_TCP_ACCEPT = 4, /* ref: the new connection; data: molt_tcp_accept_t */
  MOLT_MSG_TCP_DATA = 5,   /* ref: the connection; data: the bytes received */
  MOLT_MSG_TCP_CLOSED = 6, /* ref: the connection or listener; reason: why */
} molt_msg_kind_t;

/* Exit reasons. 0 is normal; negative reasons are MOLT_E* error codes (a
 * handler that returned an error); positive values below are the runtime's. */
#define MOLT_EXIT_NORMAL 0
#define MOLT_EXIT_SHUTDOWN 1 /* asked to stop by its supervisor or the container */
#define MOLT_EXIT_KILL 2     /* untrappable; the victim exits with KILLED */
#define MOLT_EXIT_KILLED 3
#define MOLT_EXIT_NOPROC 4 /* linked or monitored an actor that did not exist */
#define MOLT_EXIT_PURGED 5 /* its module version was hard-purged */

/* A message as a handler sees it. Borrowed for the length of the call: copy
 * what you keep. Part of the ABI (fields are appended only). */
typedef struct molt_msg {
  uint32_t kind;    /* molt_msg_kind_t */
  uint32_t tag;     /* USER: the sender's tag */
  molt_pid_t from;  /* sender, or the exiting actor for EXIT and DOWN */
  uint64_t ref;     /* USER: correlation ref (see molt_call_ref); DOWN: monitor ref */
  int32_t reason;   /* EXIT and DOWN: the exit reason */
  uint32_t size;    /* payload bytes */
  const void* data; /* payload, runtime-owned, 16-byte aligned */
} molt_msg_t;

/* Arguments given to init: the child's "args" object from the release
 * manifest, or the JSON text passed to molt_spawn. Opaque; read it with
 * molt_args_*() during init only. */
typedef struct molt_args molt_args_t;

/* Direction of a code_change. */
typedef enum { MOLT_UP = 1, MOLT_DOWN = 2 } molt_direction_t;

/* Return values of handle besides 0 (carry on) and a negative MOLT_E*
 * (crash: the actor exits with that reason). */
#define MOLT_OK 0
#define MOLT_STOP 1 /* exit normally */

/* The descriptor. Declare it with MOLT_MODULE(...) or by hand:
 *
 *   MOLT_EXPORT const molt_module_t molt_module = {
 *       .magic = MOLT_MAGIC, .abi = MOLT_ABI_VERSION,
 *       .size = sizeof(molt_module_t), .name = "counter", .vsn = "1.0.0",
 *       .state_vsn = 1, .init = ..., .handle = ..., ...};
 *
 * Fields are appended only, never reordered, resized or reused; a reader
 * uses a field only if it lies inside .size (MOLT_HAS_FIELD). */
typedef struct molt_module {
  uint32_t magic;     /* MOLT_MAGIC */
  uint32_t abi;       /* MOLT_ABI_VERSION */
  uint32_t size;      /* sizeof(molt_module_t) as the module was compiled */
  uint32_t state_vsn; /* layout of the actor state; changes need code_change */
  const char* name;   /* module name, [a-z0-9_] */
  const char* vsn;    /* module version, e.g. "1.4.0" */

  /* An actor starts: build its state into *state. Return 0, or a negative
   * MOLT_E* to refuse (the spawn fails with that code; nothing to free). */
  int (*init)(const molt_args_t* args, void** state);

  /* One message. Works on state in place. Return MOLT_OK, MOLT_STOP, or a
   * negative MOLT_E* (the actor crashes with that reason). */
  int (*handle)(void* state, const molt_msg_t* msg);

  /* The actor stops with reason (MOLT_EXIT_*, or a negative MOLT_E*). Must
   * not free state: the runtime calls free_state afterwards. May be NULL. */
  void (*terminate)(void* state, int reason);

  /* Migrate a state between versions, as OTP's code_change/3.
   * MOLT_UP: called on the new version; vsn/state_vsn name the version
   *   being replaced and old_state is in its layout.
   * MOLT_DOWN: called on the current (newer) version before switching back;
   *   vsn/state_vsn name the version being returned to, and *new_state must
   *   be in its layout.
   * Must neither modify nor free old_state, and *new_state must share no
   * memory with it. extra is the step's "extra" string from the release, or
   * NULL. Return 0, or a negative MOLT_E* to abort the whole upgrade.
   * May be NULL when state_vsn never changes. */
  int (*code_change)(molt_direction_t dir, const char* vsn, uint32_t state_vsn,
                     const void* old_state, const char* extra, void** new_state);

  /* Free a state this version's init or code_change built. Touch nothing
   * but the state: it may run on any thread (after an upgrade the old
   * states are freed by the thread that ran it, once the actors resumed). */
  void (*free_state)(void* state);

  /* Optional: a JSON text describing state, allocated with molt_alloc (the
   * runtime frees it). NULL if unsupported or on failure. */
  char* (*format_state)(const void* state);
} molt_module_t;

/* The layout is the ABI: these pin it on LP64 targets, so an edit that
 * moves a field fails to compile instead of breaking every built module. */
#if !defined(__cplusplus) && defined(__LP64__)
_Static_assert(offsetof(molt_module_t, magic) == 0, "molt_module_t.magic moved");
_Static_assert(offsetof(molt_module_t, state_vsn) == 12, "molt_module_t.state_vsn moved");
_Static_assert(offsetof(molt_module_t, name) == 16, "molt_module_t.name moved");
_Static_assert(offsetof(molt_module_t, vsn) == 24, "molt_module_t.vsn moved");
_Static_assert(offsetof(molt_module_t, init) == 32, "molt_module_t.init moved");
_Static_assert(offsetof(molt_module_t, handle) == 40, "molt_module_t.handle moved");
_Static_assert(offsetof(molt_module_t, terminate) == 48, "molt_module_t.terminate moved");
_Static_assert(offsetof(molt_module_t, code_change) == 56, "molt_module_t.code_change moved");
_Static_assert(offsetof(molt_module_t, free_state) == 64, "molt_module_t.free_state moved");
_Static_assert(offsetof(molt_module_t, format_state) == 72, "molt_module_t.format_state moved");
_Static_assert(sizeof(molt_module_t) == 80, "molt_module_t grew: append only, then update this");
_Static_assert(offsetof(molt_msg_t, from) == 8, "molt_msg_t.from moved");
_Static_assert(offsetof(molt_msg_t, ref) == 16, "molt_msg_t.ref moved");
_Static_assert(offsetof(molt_msg_t, reason) == 24, "molt_msg_t.reason moved");
_Static_assert(offsetof(molt_msg_t, size) == 28, "molt_msg_t.size moved");
_Static_assert(offsetof(molt_msg_t, data) == 32, "molt_msg_t.data moved");
#endif

#define MOLT_HAS_FIELD(desc, field) \
  ((desc)->size >= offsetof(molt_module_t, field) + sizeof((desc)->field))

/* Declares the descriptor in one line; the module's callbacks are named
 * prefix_init, prefix_handle, ... and may be static. terminate,
 * code_change and format_state may be NULL via the _EX form. */
#define MOLT_MODULE(modname, modvsn, statevsn, prefix)                   \
  MOLT_EXPORT const molt_module_t molt_module = {                        \
      .magic = MOLT_MAGIC,                                               \
      .abi = MOLT_ABI_VERSION,                                           \
      .size = sizeof(molt_module_t),                                     \
      .state_vsn = (statevsn),                                           \
      .name = (modname),                                                 \
      .vsn = (modvsn),                                                   \
      .init = prefix##_init,                                             \
      .handle = prefix##_handle,                                         \
      .terminate = prefix##_terminate,                                   \
      .code_change = prefix##_code_change,                               \
      .free_state = prefix##_free_state,                                 \
      .format_state = prefix##_format_state,                             \
  }

/* ------------------------------------------------------------ actor API
 *
 * Every function below is called from inside a callback (init, handle,
 * terminate, code_change) of an actor, on that actor's scheduler thread,
 * unless it says otherwise. "The calling actor" is the one whose callback
 * is running. */

/* The calling actor's pid; MOLT_PID_NONE outside an actor. */
molt_pid_t molt_self(void);

/* Send a USER message to pid. The payload is copied; the caller keeps its
 * buffer whatever the result. Returns 0 (even if the actor has since
 * exited: like Erlang, a send to a dead actor is dropped silently),
 * MOLT_ESRCH for a pid that never existed, MOLT_EMSGSIZE above
 * MOLT_MSG_MAX, MOLT_ENOMEM. */
#define MOLT_MSG_MAX (64u << 20)
int molt_send(molt_pid_t to, uint32_t tag, const void* data, size_t size);

/* As molt_send, with a correlation ref the receiver can answer with
 * molt_reply. */
int molt_send_ref(molt_pid_t to, uint32_t tag, uint64_t ref, const void* data,
                  size_t size);

/* Answer a request: sends to req->from with req->ref. */
int molt_reply(const molt_msg_t* req, uint32_t tag, const void* data, size_t size);

/* A fresh ref, unique for the container's life. Any thread. */
uint64_t molt_make_ref(void);

/* Start an actor running the current version of module. args_json is a
 * JSON object text (NULL for none) handed to init. The new actor runs on
 * the caller's scheduler unless MOLT_SPAWN_ANY spreads it. init runs
 * before molt_spawn returns: its error is returned and no actor exists.
 * With MOLT_SPAWN_LINK the new actor is linked to the caller, with
 * MOLT_SPAWN_MONITOR monitored (the ref is written to *monitor_ref). */
#define MOLT_SPAWN_LINK 1u
#define MOLT_SPAWN_MONITOR 2u
#define MOLT_SPAWN_ANY 4u
int molt_spawn(const char* module, const char* args_json, molt_pid_t* pid);
int molt_spawn_opt(const char* module, const char* args_json, unsigned flags,
                   molt_pid_t* pid, uint64_t* monitor_ref);

/* Links are bidirectional: when either side exits abnormally, the other
 * exits too unless it traps exits, in which case it gets a MOLT_MSG_EXIT.
 * Linking to an actor that is gone delivers an exit with MOLT_EXIT_NOPROC. */
int molt_link(molt_pid_t pid);
int molt_unlink(molt_pid_t pid);

/* Trap exits: exit signals (except KILL) become MOLT_MSG_EXIT messages. */
void molt_trap_exit(bool on);

/* Monitor pid: when it exits (or if it is already gone) the caller gets one
 * MOLT_MSG_DOWN with ref *ref and the reason. */
int molt_monitor(molt_pid_t pid, uint64_t* ref);
int molt_demonitor(uint64_t ref);

/* Send an exit signal with reason to pid, as Erlang's exit/2. Sending to
 * molt_self() exits the caller after its callback returns. */
int molt_exit(molt_pid_t pid, int reason);

/* The name registry. A name belongs to one live actor and is released when
 * it exits. register: MOLT_EEXIST if taken, MOLT_EINVAL if longer than
 * MOLT_NAME_MAX. whereis: any thread; MOLT_PID_NONE if unknown. */
#define MOLT_NAME_MAX 63
int molt_register(const char* name);
int molt_unregister(const char* name);
molt_pid_t molt_whereis(const char* name);

/* Send by name; MOLT_ESRCH if no actor has it. */
int molt_send_named(const char* name, uint32_t tag, const void* data, size_t size);

/* After ms milliseconds, send the USER message (tag, data) to pid. Timers
 * deliver messages, never callbacks. *timer_ref (may be NULL) names it for
 * cancel_timer. A timer dies with the actor that set it. */
int molt_send_after(uint64_t ms, molt_pid_t to, uint32_t tag, const void* data,
                    size_t size, uint64_t* timer_ref);
/* Cancel a timer the calling actor set; MOLT_ESRCH if it fired or is unknown. */
int molt_cancel_timer(uint64_t timer_ref);

/* Milliseconds since the container started; any thread. */
uint64_t molt_now_ms(void);

/* Read init's arguments. Strings are borrowed until init returns. */
int64_t molt_args_int(const molt_args_t* args, const char* key, int64_t def);
const char* molt_args_str(const molt_args_t* args, const char* key, const char* def);
/* The whole object as JSON text ("{}" when there were none). */
const char* molt_args_json(const molt_args_t* args);

/* molt's allocator. State and format_state output must come from here, so
 * tests can fail allocations and the runtime can account memory. Any thread. */
void* molt_alloc(size_t size);
void* molt_calloc(size_t n, size_t size);
void* molt_realloc(void* p, size_t size);
char* molt_strdup(const char* s);
void molt_free(void* p);

/* A line in the container's log (stderr), prefixed with the actor's pid
 * and module. printf format. Any thread. */
void molt_log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ TCP
 *
 * Listeners and connections belong to the runtime, not to a module
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
