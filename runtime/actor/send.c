/* send.c: the send half of the public API. Payloads are copied into a
 * runtime-owned message here; delivery is molt__deliver's. */
#include "actor.h"
#include "message.h"
#include "runtime.h"
#include "sched.h"
#include "trace.h"

int molt_send_ref(molt_pid_t to, uint32_t tag, uint64_t ref, const void* data, size_t size) {
  if (size > MOLT_MSG_MAX) return MOLT_EMSGSIZE;
  if (size && !data) return MOLT_EINVAL;
  molt__msg_t* m = molt__msg_new(MOLT_MSG_USER, tag, data, size);
  if (!m) return MOLT_ENOMEM;
  molt_actor_t* self = molt__actor_current();
  m->pub.from = self ? molt__actor_pid(self) : MOLT_PID_NONE;
  m->pub.ref = ref;
  if (self && MOLT__TRACED(self)) molt__trace_sent(self, to, m);
  /* Counted on the sending thread's scheduler, whose thread alone writes
   * it (an init may run on a spawner's scheduler, not its actor's). */
  molt_sched_t* s = molt__sched_current();
  if (s) molt__sched_count(&s->sent, 1);
  return molt__deliver(to, m);
}

int molt_send(molt_pid_t to, uint32_t tag, const void* data, size_t size) {
  return molt_send_ref(to, tag, 0, data, size);
}

int molt_reply(const molt_msg_t* req, uint32_t tag, const void* data, size_t size) {
  if (!req) return MOLT_EINVAL;
  return molt_send_ref(req->from, tag, req->ref, data, size);
}

int molt_send_named(const char* name, uint32_t tag, const void* data, size_t size) {
  molt_pid_t pid = molt_whereis(name);
  return pid == MOLT_PID_NONE ? MOLT_ESRCH : molt_send(pid, tag, data, size);
}
