/* timer.c: molt_send_after. A timer is a uv_timer on the owning actor's
 * scheduler loop holding a message built at set time; firing delivers it.
 * Timers never call into module code, so a timer outliving a module
 * version cannot jump into unloaded code. */
#include "timer.h"

#include <stdint.h>

#include "alloc.h"
#include "runtime.h"
#include "sched.h"

typedef struct molt_timer {
  uv_timer_t handle;
  bool armed;    /* false while set from an init running off the actor's scheduler */
  uint64_t due_ns; /* molt__now_ns() at set time + the delay */
  uint64_t ref;
  molt_pid_t to;
  molt__msg_t* msg;
  struct molt_timer* next;
  struct molt_timer** pprev;
} molt_timer_t;

static void unlink_timer(molt_timer_t* t) {
  if (!t->pprev) return;
  *t->pprev = t->next;
  if (t->next) t->next->pprev = t->pprev;
  t->next = NULL;
  t->pprev = NULL;
}

static void free_timer(uv_handle_t* h) {
  molt_timer_t* t = h->data;
  if (t->msg) molt__msg_free(t->msg);
  molt__free(t);
}

static uint64_t ms_left(const molt_timer_t* t) {
  uint64_t now = molt__now_ns();
  return t->due_ns > now ? (t->due_ns - now + 999999) / 1000000 : 0;
}

/* libuv's loop clock is whole milliseconds, truncated: a timer it fires
 * may be up to a millisecond short of its delay. Such a timer waits out
 * the rest instead of firing early. */
static void on_fire(uv_timer_t* h) {
  molt_timer_t* t = h->data;
  uint64_t left = ms_left(t);
  if (left) {
    uv_update_time(h->loop);
    uv_timer_start(h, on_fire, left, 0);
    return;
  }
  unlink_timer(t);
  molt__msg_t* m = t->msg;
  t->msg = NULL;
  molt__deliver(t->to, m);
  uv_close((uv_handle_t*)h, free_timer);
}

/* libuv counts a timer's delay from the loop's clock, cached when the
 * loop iteration began: actor turns run long after that (a slow handler, a
 * batch of turns), and an init elsewhere arms the timer later still. So
 * refresh the clock and arm for what is left of the delay from when it
 * was set, rounded up: a timer never fires before its time. */
static void arm(molt_timer_t* t, molt_sched_t* s) {
  uv_timer_init(&s->loop, &t->handle);
  t->handle.data = t;
  t->armed = true;
  uv_update_time(&s->loop);
  uv_timer_start(&t->handle, on_fire, ms_left(t), 0);
}

int molt_send_after(uint64_t ms, molt_pid_t to, uint32_t tag, const void* data, size_t size,
                    uint64_t* timer_ref) {
  molt_actor_t* a = molt__actor_current();
  molt_sched_t* s = molt__sched_current();
  if (!a) return MOLT_EPERM;
  if (size > MOLT_MSG_MAX) return MOLT_EMSGSIZE;
  molt_actor_ext_t* x = molt__actor_ext(a);
  molt_timer_t* t = molt__alloc(sizeof(*t));
  molt__msg_t* m = molt__msg_new(MOLT_MSG_USER, tag, data, size);
  if (!x || !t || !m) {
    molt__free(t);
    if (m) molt__msg_free(m);
    return MOLT_ENOMEM;
  }
  m->pub.from = molt__actor_pid(a);
  t->ref = molt_make_ref();
  t->to = to;
  t->msg = m;
  uint64_t now = molt__now_ns();
  t->due_ns = ms > (UINT64_MAX - now) / 1000000ull ? UINT64_MAX : now + ms * 1000000ull;
  t->armed = false;
  if (a->sched == s) arm(t, s);
  t->next = x->timers;
  if (t->next) t->next->pprev = &t->next;
  t->pprev = &x->timers;
  x->timers = t;
  if (timer_ref) *timer_ref = t->ref;
  return 0;
}

static void cancel(molt_timer_t* t) {
  unlink_timer(t);
  if (!t->armed) {
    t->handle.data = t;
    free_timer((uv_handle_t*)&t->handle);
    return;
  }
  uv_timer_stop(&t->handle);
  uv_close((uv_handle_t*)&t->handle, free_timer);
}

static void arm_pending(molt_actor_t* a, void* arg) {
  if (!a) return; /* exited first: its timers went with it */
  for (molt_timer_t* t = a->ext ? a->ext->timers : NULL; t; t = t->next)
    if (!t->armed) arm(t, a->sched);
}

int molt__timer_arm_elsewhere(molt_actor_t* a) {
  bool pending = false;
  for (molt_timer_t* t = a->ext ? a->ext->timers : NULL; t; t = t->next) pending |= !t->armed;
  if (!pending) return 0;
  molt__msg_t* m = molt__msg_call(arm_pending, NULL);
  if (!m) return MOLT_ENOMEM;
  m->target_gen = atomic_load(&a->gen);
  m->to = molt__actor_pid(a);
  (void)molt__mpsc_push(&a->mailbox, &m->node); /* never parked: the spawner holds the mailbox */
  return 0;
}

int molt_cancel_timer(uint64_t timer_ref) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  for (molt_timer_t* t = a->ext ? a->ext->timers : NULL; t; t = t->next) {
    if (t->ref == timer_ref) {
      cancel(t);
      return 0;
    }
  }
  return MOLT_ESRCH;
}

void molt__timer_on_exit(molt_actor_t* a) {
  while (a->ext->timers) cancel(a->ext->timers);
}

void molt__timer_foreach(molt_actor_t* a, void (*fn)(uint64_t ref, uint64_t due_ns, void* arg), void* arg) {
  for (molt_timer_t* t = a->ext ? a->ext->timers : NULL; t; t = t->next) fn(t->ref, t->due_ns, arg);
}
