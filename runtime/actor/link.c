/* link.c: links, monitors and exit signals, with Erlang's semantics. Each
 * side of a link or monitor is recorded by its own actor on its own
 * thread; the other side learns of it by a system message in the same
 * FIFO as everything else, so signals between two actors stay ordered. */
#include "link.h"

#include <string.h>

#include "alloc.h"
#include "runtime.h"
#include "trace.h"

static int set_add(molt_pid_set_t* s, uint64_t ref, molt_pid_t pid) {
  if (s->n == s->cap) {
    uint32_t cap = s->cap ? s->cap * 2 : 4;
    molt_monitor_entry_t* v = molt__alloc(cap * sizeof(*v));
    if (!v) return MOLT_ENOMEM;
    if (s->n) memcpy(v, s->v, s->n * sizeof(*v));
    molt__free(s->v);
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n].ref = ref;
  s->v[s->n].pid = pid;
  s->n++;
  return 0;
}

static void set_del(molt_pid_set_t* s, uint32_t i) { s->v[i] = s->v[--s->n]; }

static int find_pid(const molt_pid_set_t* s, molt_pid_t pid) {
  for (uint32_t i = 0; i < s->n; i++)
    if (s->v[i].pid == pid) return (int)i;
  return -1;
}

static int find_ref(const molt_pid_set_t* s, uint64_t ref) {
  for (uint32_t i = 0; i < s->n; i++)
    if (s->v[i].ref == ref) return (int)i;
  return -1;
}

int molt__link_add(molt_actor_t* a, molt_pid_t pid) {
  molt_actor_ext_t* x = molt__actor_ext(a);
  if (!x) return MOLT_ENOMEM;
  return find_pid(&x->links, pid) >= 0 ? 0 : set_add(&x->links, 0, pid);
}

void molt__link_remove(molt_actor_t* a, molt_pid_t pid) {
  int i = a->ext ? find_pid(&a->ext->links, pid) : -1;
  if (i >= 0) set_del(&a->ext->links, (uint32_t)i);
}

int molt__watcher_add(molt_actor_t* a, uint64_t ref, molt_pid_t watcher) {
  molt_actor_ext_t* x = molt__actor_ext(a);
  return x ? set_add(&x->watchers, ref, watcher) : MOLT_ENOMEM;
}

void molt__watcher_remove(molt_actor_t* a, uint64_t ref) {
  int i = a->ext ? find_ref(&a->ext->watchers, ref) : -1;
  if (i >= 0) set_del(&a->ext->watchers, (uint32_t)i);
}

int molt__monitor_add(molt_actor_t* a, uint64_t ref, molt_pid_t target) {
  molt_actor_ext_t* x = molt__actor_ext(a);
  return x ? set_add(&x->monitors, ref, target) : MOLT_ENOMEM;
}

bool molt__monitor_take(molt_actor_t* a, uint64_t ref) {
  int i = a->ext ? find_ref(&a->ext->monitors, ref) : -1;
  if (i < 0) return false;
  set_del(&a->ext->monitors, (uint32_t)i);
  return true;
}

void molt__monitor_take_pid(molt_actor_t* a, molt_pid_t target) {
  int i = a->ext ? find_pid(&a->ext->monitors, target) : -1;
  if (i >= 0) set_del(&a->ext->monitors, (uint32_t)i);
}

void molt__link_exit_signal(molt_actor_t* a, molt_pid_t from, int reason, bool linked) {
  if (linked) {
    int i = a->ext ? find_pid(&a->ext->links, from) : -1;
    if (i < 0) return; /* unlinked meanwhile: the signal no longer applies */
    set_del(&a->ext->links, (uint32_t)i);
  }
  if (!linked && reason == MOLT_EXIT_KILL) {
    molt__actor_exit_later(a, MOLT_EXIT_KILLED); /* untrappable */
    return;
  }
  if (a->trap_exit) {
    molt__msg_t* m = molt__msg_new(MOLT_MSG_EXIT, 0, NULL, 0);
    if (!m) {
      molt__actor_exit_later(a, MOLT_ENOMEM);
      return;
    }
    m->pub.from = from;
    m->pub.reason = reason;
    molt__actor_handle_user(a, m);
    return;
  }
  if (reason == MOLT_EXIT_NORMAL) return;
  molt__actor_exit_later(a, reason);
}

static void send_sys(molt_pid_t to, molt__sys_t sys, molt_pid_t from, uint64_t ref, int reason,
                     uint16_t flags) {
  molt__msg_t* m = molt__msg_sys(sys, from, ref, reason);
  if (!m) return; /* out of memory: the peer keeps a stale entry, harmless */
  m->flags |= flags;
  molt__deliver(to, m);
}

void molt__link_on_exit(molt_actor_t* a, molt_pid_t pid, int reason) {
  molt_actor_ext_t* x = a->ext;
  for (uint32_t i = 0; i < x->links.n; i++)
    send_sys(x->links.v[i].pid, MOLT__SYS_EXIT, pid, 0, reason, MOLT__MSGF_LINKED);
  for (uint32_t i = 0; i < x->watchers.n; i++) {
    molt__msg_t* d = molt__msg_new(MOLT_MSG_DOWN, 0, NULL, 0);
    if (!d) continue;
    d->pub.from = pid;
    d->pub.ref = x->watchers.v[i].ref;
    d->pub.reason = reason;
    molt__deliver(x->watchers.v[i].pid, d);
  }
  for (uint32_t i = 0; i < x->monitors.n; i++)
    send_sys(x->monitors.v[i].pid, MOLT__SYS_DEMONITOR, pid, x->monitors.v[i].ref, 0, 0);
  x->links.n = x->watchers.n = x->monitors.n = 0;
}

void molt__link_free(molt_actor_ext_t* x) {
  molt__free(x->links.v);
  molt__free(x->watchers.v);
  molt__free(x->monitors.v);
}

/* ---- the public API: the calling actor's side of each operation. */

int molt_link(molt_pid_t pid) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  molt_pid_t self = molt__actor_pid(a);
  if (pid == self) return 0;
  if (MOLT__TRACED(a)) molt__trace_peer(a, MOLT_TRACE_LINK, pid);
  int rc = molt__link_add(a, pid);
  if (rc) return rc;
  molt__msg_t* m = molt__msg_sys(MOLT__SYS_LINK, self, 0, 0);
  if (!m) {
    molt__link_remove(a, pid);
    return MOLT_ENOMEM;
  }
  /* A dead target answers with an exit signal (noproc), as in Erlang. */
  rc = molt__deliver(pid, m);
  if (rc) molt__link_remove(a, pid);
  return rc;
}

int molt_unlink(molt_pid_t pid) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  if (MOLT__TRACED(a)) molt__trace_peer(a, MOLT_TRACE_UNLINK, pid);
  molt__link_remove(a, pid);
  send_sys(pid, MOLT__SYS_UNLINK, molt__actor_pid(a), 0, 0, 0);
  return 0;
}

void molt_trap_exit(bool on) {
  molt_actor_t* a = molt__actor_current();
  if (a) a->trap_exit = on;
}

int molt_monitor(molt_pid_t pid, uint64_t* ref) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  if (MOLT__TRACED(a)) molt__trace_peer(a, MOLT_TRACE_MONITOR, pid);
  uint64_t r = molt_make_ref();
  int rc = molt__monitor_add(a, r, pid);
  if (rc) return rc;
  molt__msg_t* m = molt__msg_sys(MOLT__SYS_MONITOR, molt__actor_pid(a), r, 0);
  if (!m) {
    molt__monitor_take(a, r);
    return MOLT_ENOMEM;
  }
  if (molt__deliver(pid, m) == MOLT_ESRCH) {
    /* Never existed: answer DOWN(noproc) ourselves, as for a dead one. */
    m = molt__msg_sys(MOLT__SYS_MONITOR, molt__actor_pid(a), r, 0);
    if (m) {
      m->to = pid;
      molt__msg_reject(m);
    }
  }
  if (ref) *ref = r;
  return 0;
}

int molt_demonitor(uint64_t ref) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  int i = a->ext ? find_ref(&a->ext->monitors, ref) : -1;
  if (i < 0) return 0;
  molt_pid_t target = a->ext->monitors.v[i].pid;
  if (MOLT__TRACED(a)) molt__trace_peer(a, MOLT_TRACE_DEMONITOR, target);
  set_del(&a->ext->monitors, (uint32_t)i);
  send_sys(target, MOLT__SYS_DEMONITOR, molt__actor_pid(a), ref, 0, 0);
  return 0;
}

int molt_exit(molt_pid_t pid, int reason) {
  molt_actor_t* a = molt__actor_current();
  if (a && pid == molt__actor_pid(a)) {
    molt__actor_exit_later(a, reason == MOLT_EXIT_KILL ? MOLT_EXIT_KILLED : reason);
    return 0;
  }
  molt__msg_t* m = molt__msg_sys(MOLT__SYS_EXIT, a ? molt__actor_pid(a) : MOLT_PID_NONE, 0, reason);
  return m ? molt__deliver(pid, m) : MOLT_ENOMEM;
}
