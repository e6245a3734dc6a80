/* tcp_owner.c: who owns a listener or connection, and what follows from
 * it: messages go to the owner, the socket closes when the owner exits,
 * and molt_tcp_controlling hands it over. Not the sockets (tcp_*.c, tcp_sock.h).
 *
 * The truth is the slot's atomic owner pid, which any thread may read.
 * Each actor also keeps a list of the handles it has owned, so its exit
 * can close them without scanning every socket; the list may hold stale
 * entries (closed sockets, sockets handed away) and the exit checks each
 * against the slot. A list only ever changes on its actor's thread: a new
 * owner on another scheduler learns of a handle through a runtime call
 * message, which also tells us, if the owner is already gone, to close.
 *
 * Hand-over keeps order and loses nothing without pulling messages out of
 * the old owner's mailbox (Erlang's controlling_process does that): a TCP
 * message that reaches an actor which no longer owns its socket is
 * forwarded to the current owner instead of being handled. Since at most
 * one DATA message per connection is ever in flight, nothing newer can
 * overtake it. */
#include <string.h>

#include "alloc.h"
#include "hooks.h"
#include "log.h"
#include "sched.h"
#include "tcp.h"

static molt__hooks_t tcp_hooks;

typedef struct molt__tcp_owned {
  molt_tcp_t* v;
  uint32_t n, cap;
} owned_t;

static bool owns(molt_tcp_t h, molt_pid_t pid) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  return slot && atomic_load(&slot->owner) == pid;
}

/* Drop entries for sockets this actor no longer owns. */
static void prune(owned_t* o, molt_pid_t pid) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < o->n; i++)
    if (owns(o->v[i], pid)) o->v[kept++] = o->v[i];
  o->n = kept;
}

int molt__tcp_own(molt_actor_t* a, molt_tcp_t h) {
  molt_actor_ext_t* x = molt__actor_ext(a);
  if (!x) return MOLT_ENOMEM;
  void** mine = &x->hooked[tcp_hooks.slot];
  if (!*mine && !(*mine = molt__calloc(1, sizeof(owned_t)))) return MOLT_ENOMEM;
  owned_t* o = *mine;
  if (o->n == o->cap) {
    prune(o, molt__actor_pid(a));
    /* Grow only when pruning freed less than half, so an acceptor that
     * has owned a million short connections keeps a list the size of
     * what it owns now. */
    if (o->n * 2 >= o->cap) {
      uint32_t cap = o->cap ? o->cap * 2 : 8;
      molt_tcp_t* v = molt_realloc(o->v, cap * sizeof(*v));
      if (v) {
        o->v = v;
        o->cap = cap;
      } else if (o->n == o->cap) {
        return MOLT_ENOMEM;
      }
    }
  }
  o->v[o->n++] = h;
  return 0;
}

typedef struct {
  molt_tcp_t h;
  molt_pid_t owner;
  bool follow; /* move the socket to the owner's scheduler now */
} adopt_t;

static void adopt_here(molt_actor_t* a, void* arg) {
  adopt_t* ad = arg;
  if (!a) {
    /* The new owner is gone; nobody else will close the socket. */
    if (owns(ad->h, ad->owner)) molt__tcp_request_close(ad->h);
  } else if (owns(ad->h, ad->owner)) {
    if (molt__tcp_own(a, ad->h) != 0) {
      molt__log_error("tcp: out of memory recording a socket's owner; closing it");
      molt__tcp_request_close(ad->h);
    } else if (ad->follow) {
      molt__tcp_follow_owner(ad->h, a->sched);
    }
  }
  molt__free(ad);
}

int molt__tcp_adopt(molt_pid_t owner, molt_tcp_t h, bool follow) {
  adopt_t* ad = molt__alloc(sizeof(*ad));
  molt__msg_t* m = ad ? molt__msg_call(adopt_here, ad) : NULL;
  if (!m) {
    molt__free(ad);
    return MOLT_ENOMEM;
  }
  ad->h = h;
  ad->owner = owner;
  ad->follow = follow;
  /* A dead owner runs adopt_here with NULL, which closes h; a pid that
   * never existed gets nothing run, so the argument is ours to free. */
  if (molt__deliver(owner, m) == MOLT_ESRCH) {
    molt__free(ad);
    return MOLT_ESRCH;
  }
  return 0;
}

static void on_actor_exit(molt_actor_t* a, molt_pid_t pid) {
  owned_t* o = a->ext->hooked[tcp_hooks.slot];
  if (!o) return;
  for (uint32_t i = 0; i < o->n; i++) {
    molt__tcp_slot_t* slot = molt__tcp_slot_get(o->v[i]);
    molt_pid_t expected = pid;
    /* Clearing the owner first makes a hand-over racing with this exit
     * fail (EPERM) rather than give away a socket about to close. */
    if (slot && atomic_compare_exchange_strong(&slot->owner, &expected, MOLT_PID_NONE))
      molt__tcp_request_close(o->v[i]);
  }
  molt__free(o->v);
  molt__free(o);
  a->ext->hooked[tcp_hooks.slot] = NULL;
}

/* A TCP message reached an actor (a) that no longer owns its handle, or a
 * dead one (a NULL): forward it to the current owner and return true (m
 * is consumed), or close the handle when its owner is dead and return
 * false. */
static bool redirect(molt_actor_t* a, molt__msg_t* m) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(m->pub.ref);
  if (!slot) return false; /* the socket is gone: the addressee gets what was sent */
  molt_pid_t owner = atomic_load(&slot->owner);
  if (owner != MOLT_PID_NONE && owner != m->to) {
    molt__deliver(owner, m);
    return true;
  }
  if (!a) molt__tcp_request_close(m->pub.ref); /* its owner is dead */
  return false;
}

/* The owner handled a DATA message: read and deliver more. It handled an
 * ACCEPT: if it kept the connection rather than hand it on, the socket
 * now follows it to its scheduler. Following only then saves a move
 * toward a listener that hands every connection to an actor elsewhere. */
static void done(const molt__msg_t* m) {
  if (m->pub.kind == MOLT_MSG_TCP_DATA) {
    molt__tcp_consumed(m->pub.ref);
  } else if (m->pub.kind == MOLT_MSG_TCP_ACCEPT && owns(m->pub.ref, m->to)) {
    molt_sched_t* here = molt__sched_current();
    if (here) molt__tcp_follow_owner(m->pub.ref, here);
  }
}

static molt__hooks_t tcp_hooks = {
    .name = "tcp",
    .kind_first = MOLT_MSG_TCP_ACCEPT,
    .kind_last = MOLT_MSG_TCP_CLOSED,
    .redirect = redirect,
    .done = done,
    .actor_exit = on_actor_exit,
    .sched_stop = molt__tcp_close_all_here,
    .runtime_stop = molt__tcp_table_close,
};

int molt__tcp_init(void) { return molt__hooks_register(&tcp_hooks); }

int molt_tcp_controlling(molt_tcp_t handle, molt_pid_t new_owner) {
  molt__tcp_slot_t* slot;
  int rc = molt__tcp_owned_slot(handle, &slot);
  if (rc) return rc;
  molt_pid_t self = molt_self();
  if (new_owner == self) return 0;
  molt_actor_t* target = molt__actor_slot(new_owner);
  if (!target || MOLT__PID_GEN(new_owner) > atomic_load(&target->gen)) return MOLT_ESRCH;
  if (!atomic_compare_exchange_strong(&slot->owner, &self, new_owner)) return MOLT_EPERM;
  rc = molt__tcp_adopt(new_owner, handle, true);
  if (rc) {
    /* Without the record the socket would outlive its new owner: keep it. */
    atomic_store(&slot->owner, molt_self());
    return rc;
  }
  return 0;
}

molt_pid_t molt_tcp_owner(molt_tcp_t handle) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(handle);
  return slot ? atomic_load(&slot->owner) : MOLT_PID_NONE;
}
