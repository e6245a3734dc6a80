/* message.c: allocating runtime-owned messages. Payloads are copied in at
 * send time, so a sender's buffer is never borrowed past molt_send. */
#include "message.h"

#include <string.h>

#include "alloc.h"

molt__msg_t* molt__msg_new(uint32_t kind, uint32_t tag, const void* data, size_t size) {
  molt__msg_t* m = molt__alloc(sizeof(*m) + size);
  if (!m) return NULL;
  memset(m, 0, sizeof(*m));
  m->pub.kind = kind;
  m->pub.tag = tag;
  m->pub.size = (uint32_t)size;
  m->pub.data = m->data;
  if (size) memcpy(m->data, data, size);
  return m;
}

molt__msg_t* molt__msg_sys(molt__sys_t sys, molt_pid_t from, uint64_t ref, int32_t reason) {
  molt__msg_t* m = molt__msg_new(MOLT_MSG_USER, 0, NULL, 0);
  if (!m) return NULL;
  m->sys = (uint16_t)sys;
  m->pub.from = from;
  m->pub.ref = ref;
  m->pub.reason = reason;
  return m;
}

typedef struct {
  molt__call_fn fn;
  void* arg;
} call_payload;

molt__msg_t* molt__msg_call(molt__call_fn fn, void* arg) {
  call_payload p = {fn, arg};
  molt__msg_t* m = molt__msg_new(MOLT_MSG_USER, 0, &p, sizeof(p));
  if (m) m->sys = MOLT__SYS_CALL;
  return m;
}

void molt__msg_call_args(const molt__msg_t* m, molt__call_fn* fn, void** arg) {
  call_payload p;
  memcpy(&p, m->data, sizeof(p));
  *fn = p.fn;
  *arg = p.arg;
}

void molt__msg_free(molt__msg_t* m) { molt__free(m); }
