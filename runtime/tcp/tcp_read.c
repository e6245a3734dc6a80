/* tcp_read.c: reading a connection into its bounded receive buffer, and
 * turning reading on and off as flow control says (tcp_sock.h). Not what
 * is delivered from the buffer (tcp_deliver.c). */
#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  sock_t* s = h->data;
  size_t need = s->rlen + suggested;
  if (s->rcap < need) {
    char* bigger = molt_realloc(s->rbuf, need);
    if (!bigger) {
      *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
      return;
    }
    s->rbuf = bigger;
    s->rcap = need;
    molt__tcp_raise_peak(&molt__tcp_peak_rbuf, need);
  }
  *buf = uv_buf_init(s->rbuf + s->rlen, (unsigned)suggested);
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  sock_t* s = stream->data;
  if (nread > 0) {
    s->rlen += (size_t)nread;
    molt__tcp_pump(s);
  } else if (nread < 0) {
    molt__tcp_peer_done(s, nread == UV_EOF ? 0 : nread == UV_ENOBUFS ? MOLT_ENOMEM : (int)nread);
  }
}

void molt__tcp_update_reading(sock_t* s) {
  if (s->listener || !s->started) return;
  size_t q = atomic_load(&s->slot->queued);
  if (q > MOLT_TCP_WRITE_HIGH)
    s->write_paused = true;
  else if (q < MOLT_TCP_WRITE_LOW)
    s->write_paused = false;
  bool want = !s->closing && !s->moving && !s->peer_done && s->rlen < MOLT_TCP_RECV_HIGH && !s->write_paused;
  if (want && !s->reading) {
    int rc = uv_read_start((uv_stream_t*)&s->tcp, on_alloc, on_read);
    if (rc) {
      molt__tcp_peer_done(s, rc);
      return;
    }
    s->reading = true;
  } else if (!want && s->reading) {
    uv_read_stop((uv_stream_t*)&s->tcp);
    s->reading = false;
  }
}

static void task_consumed(void* arg) {
  bool followed;
  sock_t* s = molt__tcp_here(arg_handle(arg), task_consumed, arg, &followed);
  if (!s) return;
  s->in_flight = false;
  if (s->started) molt__tcp_pump(s);
}

void molt__tcp_consumed(molt_tcp_t h) {
  molt__tcp_slot_t* slot = molt__tcp_slot_get(h);
  if (slot && molt__tcp_run_on(slot, task_consumed, handle_arg(h)) != 0)
    molt__log_error("tcp: out of memory: a connection may stop reading"); /* XXX(tcp): preallocate */
}
