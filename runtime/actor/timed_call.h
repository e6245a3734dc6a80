/* timed_call.h: calls the control plane may abandon: fn runs on a
 * scheduler, or in an actor's turn, unless the caller's deadline passes
 * first; then it is cancelled and never runs later. What keeps a busy
 * actor from wedging `molt ps` and `molt inspect`. Not the plain, waiting
 * calls (molt__sched_call). */
#ifndef MOLT_ACTOR_TIMED_CALL_H
#define MOLT_ACTOR_TIMED_CALL_H

#include <stdint.h>

#include "actor.h"
#include "sched.h"

/* As molt__sched_call, but give up after timeout_ms if s has not begun
 * fn by then (a handler that never returns keeps its scheduler from its
 * tasks): MOLT_ETIMEDOUT, and fn is cancelled, never run later, so arg may
 * go with the caller's stack. Once fn has begun, waits for it to return.
 * Never from a scheduler thread other than s's. */
int molt__sched_call_within(molt_sched_t* s, void (*fn)(void*), void* arg, uint32_t timeout_ms);

/* Run fn(a, arg) in the turn of the actor pid, between two of its
 * messages, after those already in its mailbox; fn(NULL, arg) if pid is
 * gone or exits first. Gives up as molt__sched_call_within does after
 * timeout_ms if fn has not begun (the actor's handler, or its mailbox,
 * keeps it busy): MOLT_ETIMEDOUT, fn never runs. MOLT_ENOMEM. Never from
 * a scheduler thread (the actor may be on it). */
int molt__actor_call_within(molt_pid_t pid, void (*fn)(molt_actor_t* a, void* arg), void* arg,
                            uint32_t timeout_ms);

#endif
