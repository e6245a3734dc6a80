/* timer.h: timers that deliver messages. An actor's timers die with it. */
#ifndef MOLT_ACTOR_TIMER_H
#define MOLT_ACTOR_TIMER_H

#include "actor.h"

/* a is exiting: cancel its timers (on its scheduler thread). */
void molt__timer_on_exit(molt_actor_t* a);

/* a's init ran on another thread than a's scheduler: timers it set are not
 * armed yet. Queue their arming as a's first work on its scheduler. 0 or
 * MOLT_ENOMEM. */
int molt__timer_arm_elsewhere(molt_actor_t* a);

/* Each pending timer of a (its ref, and when it is due, molt__now_ns()
 * time): for inspect. On a's scheduler, in its turn. */
void molt__timer_foreach(molt_actor_t* a, void (*fn)(uint64_t ref, uint64_t due_ns, void* arg), void* arg);

#endif
