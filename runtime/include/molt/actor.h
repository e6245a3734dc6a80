/* molt/actor.h: the actor API a module calls: send, spawn, links, monitors,
 * names, timers, init arguments, the allocator and the log. Included by
 * molt/module.h, whose types (molt_pid_t, molt_msg_t) it uses. */
#ifndef MOLT_ACTOR_H
#define MOLT_ACTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every function below is called from inside a callback (init, handle,
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
 * and module, at level info. printf format. Any thread. The others log at
 * their level: error, warning and debug (debug lines show only with
 * molt run --log-level debug; --log-level warning hides molt_log's). */
void molt_log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void molt_log_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void molt_log_warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void molt_log_debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif

#endif
