/* tcp_write.c: molt_tcp_write, molt_tcp_close and molt_tcp_port, the
 * calls an owner makes from any scheduler: a write is copied, counted
 * against the write queue's cap, and posted to the socket's loop. Not
 * reading (tcp_read.c). */
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

typedef struct {
  uv_write_t req;
  molt__tcp_slot_t* slot;
  molt_tcp_t h;
  size_t size;
  char data[];
} wreq_t;
static void wreq_drop(wreq_t* w) {
  atomic_fetch_sub(&w->slot->queued, w->size);
  molt__free(w);
}

static void on_written(uv_write_t* req, int status) {
  wreq_t* w = (wreq_t*)req;
  sock_t* s = req->handle->data;
  wreq_drop(w);
  s->writes--;
  if (s->closing) {
    if (s->writes == 0) molt__tcp_really_close(s);
    return;
  }
  if (status < 0)
    molt__tcp_write_failed(s, status);
  else
    molt__tcp_pump(s);
}

static void task_write(void* arg) {
  wreq_t* w = arg;
  sock_t* s = molt__tcp_here(w->h);
  if (!s || s->closing) {
    wreq_drop(w);
    return;
  }
  uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->size);
  int rc = uv_write(&w->req, (uv_stream_t*)&s->tcp, &buf, 1, on_written);
  if (rc) {
    wreq_drop(w);
    molt__tcp_write_failed(s, rc);
    return;
  }
  s->writes++;
  molt__tcp_update_reading(s);
}

int molt__tcp_owned_slot(molt_tcp_t h, molt__tcp_slot_t** out) {
  molt_actor_t* a = molt__actor_current();
  if (!a) return MOLT_EPERM;
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (!slot || atomic_load(&slot->state) != MOLT__TCP_OPEN) return MOLT_ENOTCONN;
  if (atomic_load(&slot->owner) != molt__actor_pid(a)) return MOLT_EPERM;
  *out = slot;
  return 0;
}

int molt_tcp_write(molt_tcp_t conn, const void* data, size_t size) {
  molt__tcp_slot_t* slot;
  int rc = molt__tcp_owned_slot(conn, &slot);
  if (rc) return rc;
  if (atomic_load(&slot->listener)) return MOLT_EINVAL;
  if (size == 0) return 0;
  if (!data || size > MOLT_TCP_WRITE_MAX) return size ? MOLT_ENOBUFS : MOLT_EINVAL;
  size_t before = atomic_fetch_add(&slot->queued, size);
  if (before + size > MOLT_TCP_WRITE_MAX) {
    atomic_fetch_sub(&slot->queued, size);
    return MOLT_ENOBUFS;
  }
  molt__tcp_raise_peak(&molt__tcp_peak_queued, before + size);
  wreq_t* w = molt__alloc(sizeof(*w) + size);
  if (!w) {
    atomic_fetch_sub(&slot->queued, size);
    return MOLT_ENOMEM;
  }
  w->slot = slot;
  w->h = conn;
  w->size = size;
  memcpy(w->data, data, size);
  rc = molt__tcp_run_on(slot, task_write, w);
  if (rc) wreq_drop(w);
  return rc;
}

int molt_tcp_close(molt_tcp_t handle) {
  molt__tcp_slot_t* slot;
  int rc = molt__tcp_owned_slot(handle, &slot);
  if (rc) return rc;
  /* Writes after this return ENOTCONN at once, not when the loop gets to
   * the close. */
  uint8_t open = MOLT__TCP_OPEN;
  if (!atomic_compare_exchange_strong(&slot->state, &open, MOLT__TCP_CLOSING)) return MOLT_ENOTCONN;
  return molt__tcp_run_on(slot, molt__tcp_task_close, handle_arg(handle));
}

int molt_tcp_port(molt_tcp_t handle) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(handle);
  return slot ? atomic_load(&slot->port) : MOLT_ENOTCONN;
}
