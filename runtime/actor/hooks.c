/* hooks.c: the rooms attached to the actor core (hooks.h). A short fixed
 * table, written only while the runtime is stopped, so the schedulers read
 * it without a lock. */
#include "hooks.h"

#include <stddef.h>

#include "runtime.h"

#define MAX_ROOMS MOLT__HOOK_ROOMS

static const molt__hooks_t* rooms[MAX_ROOMS];
static unsigned nrooms;
const molt__hooks_t* molt__hooks_by_kind[MOLT__HOOK_KINDS];

int molt__hooks_register(molt__hooks_t* h) {
  if (atomic_load(&molt__rt.running)) return MOLT_EBUSY;
  for (unsigned i = 0; i < nrooms; i++)
    if (rooms[i] == h) return 0;
  if (nrooms == MAX_ROOMS) return MOLT_ENOSPC;
  bool has_kinds = h->redirect || h->done;
  if (has_kinds) {
    if (h->kind_first > h->kind_last || h->kind_last >= MOLT__HOOK_KINDS ||
        h->kind_first == MOLT_MSG_USER)
      return MOLT_EINVAL;
    for (uint32_t k = h->kind_first; k <= h->kind_last; k++)
      if (molt__hooks_by_kind[k]) return MOLT_EEXIST;
    for (uint32_t k = h->kind_first; k <= h->kind_last; k++) molt__hooks_by_kind[k] = h;
  }
  h->slot = nrooms;
  rooms[nrooms++] = h;
  return 0;
}

void molt__hooks_actor_exit(molt_actor_t* a, molt_pid_t pid) {
  for (unsigned i = 0; i < nrooms; i++)
    if (rooms[i]->actor_exit) rooms[i]->actor_exit(a, pid);
}

void molt__hooks_sched_stop(struct molt_sched* s) {
  for (unsigned i = 0; i < nrooms; i++)
    if (rooms[i]->sched_stop) rooms[i]->sched_stop(s);
}

void molt__hooks_runtime_stop(void) {
  for (unsigned i = 0; i < nrooms; i++)
    if (rooms[i]->runtime_stop) rooms[i]->runtime_stop();
}
