/* hooks.h: how a room above the actor core attaches to the lives of
 * actors, messages and schedulers without the core naming it: TCP closes
 * an exiting actor's sockets, forwards a socket's message to its new
 * owner, and closes a stopping scheduler's sockets, all through the hooks
 * it registers here. The rooms depend downward only; this is the arrow
 * upward, turned around. */
#ifndef MOLT_ACTOR_HOOKS_H
#define MOLT_ACTOR_HOOKS_H

#include <stdbool.h>
#include <stdint.h>

#include "actor.h"
#include "message.h"

struct molt_sched;

/* What one room attaches. Every member may be NULL. Each hook runs on the
 * thread named, with nothing of the core's locked. */
typedef struct molt__hooks {
  const char* name; /* the room, for messages */
  /* Written by molt__hooks_register: the room's index into an actor's
   * ext->hooked[], where it may keep what it tracks per actor. */
  unsigned slot;
  /* The user-visible message kinds [kind_first, kind_last] are this
   * room's: for each one an actor is about to handle, redirect decides
   * whether it still belongs to a (NULL: the addressee is dead); true
   * means the hook consumed m. done runs after the handler returned. */
  uint32_t kind_first, kind_last;
  bool (*redirect)(molt_actor_t* a, molt__msg_t* m);
  void (*done)(const molt__msg_t* m);
  /* a is exiting: its name is released, its links and monitors not yet
   * told. Only for an actor with an extension record (a->ext), which is
   * where a room keeps what it tracks per actor. On a's scheduler. */
  void (*actor_exit)(molt_actor_t* a, molt_pid_t pid);
  /* Scheduler s is stopping: release what lives on its loop. On s's
   * thread, before the loop's last run. */
  void (*sched_stop)(struct molt_sched* s);
  /* Every scheduler has stopped: free what is left. */
  void (*runtime_stop)(void);
} molt__hooks_t;

/* Attach hooks (kept by pointer: static storage; h->slot is written).
 * Only while the runtime is stopped. Registering the same hooks again is a no-op. Returns 0,
 * MOLT_EBUSY (the runtime runs), MOLT_EEXIST (kinds already claimed),
 * MOLT_EINVAL (kinds out of range), MOLT_ENOSPC (too many rooms). */
int molt__hooks_register(molt__hooks_t* h);

/* The core's side. */
#define MOLT__HOOK_KINDS 16
extern const molt__hooks_t* molt__hooks_by_kind[MOLT__HOOK_KINDS];

/* The hooks that own m's kind, or NULL (most messages: one load). */
static inline const molt__hooks_t* molt__hooks_of(const molt__msg_t* m) {
  return m->sys == MOLT__SYS_NONE && m->pub.kind < MOLT__HOOK_KINDS ? molt__hooks_by_kind[m->pub.kind]
                                                                   : NULL;
}
/* m reached a (NULL: a dead actor): true if a room's hook took it. */
static inline bool molt__hooks_redirect(molt_actor_t* a, molt__msg_t* m) {
  const molt__hooks_t* h = molt__hooks_of(m);
  return h && h->redirect && h->redirect(a, m);
}
static inline void molt__hooks_done(const molt__msg_t* m) {
  const molt__hooks_t* h = molt__hooks_of(m);
  if (h && h->done) h->done(m);
}
void molt__hooks_actor_exit(molt_actor_t* a, molt_pid_t pid);
void molt__hooks_sched_stop(struct molt_sched* s);
void molt__hooks_runtime_stop(void);

#endif
