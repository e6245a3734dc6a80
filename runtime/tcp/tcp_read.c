/* tcp_read.c: reading a connection into its bounded receive buffer, and
 * turning reading on and off as flow control says (tcp_sock.h). Not what
 * is delivered from the buffer (tcp_deliver.c).
 *
 * Every read lands in its loop thread's scratch buffer first. The bytes
 * usually go straight into a DATA message from there (which copies them
 * anyway); only bytes that must wait, because a message is in flight,
 * are kept in the connection's own receive buffer, sized to them. So a
 * request costs no buffer of its own, and an idle connection holds none. */
#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "tcp_sock.h"

#define SCRATCH_SIZE (64u << 10)

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_make(void) { pthread_key_create(&scratch_key, molt__free); }

/* The calling thread's scratch buffer, freed when the thread ends. */
static char* scratch(void) {
  pthread_once(&scratch_once, scratch_key_make);
  char* b = pthread_getspecific(scratch_key);
  if (!b && (b = molt__alloc(SCRATCH_SIZE)) != NULL && pthread_setspecific(scratch_key, b) != 0) {
    molt__free(b);
    b = NULL;
  }
  return b;
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  (void)h;
  (void)suggested;
  char* b = scratch();
  *buf = b ? uv_buf_init(b, SCRATCH_SIZE) : uv_buf_init(NULL, 0); /* NULL: libuv reports UV_ENOBUFS */
}

/* Keep n bytes that must wait in the connection's receive buffer. */
static bool keep(sock_t* s, const char* data, size_t n) {
  if (s->rcap < s->rlen + n) {
    char* bigger = molt_realloc(s->rbuf, s->rlen + n);
    if (!bigger) return false;
    s->rbuf = bigger;
    s->rcap = s->rlen + n;
    molt__tcp_raise_peak(&molt__tcp_peak_rbuf, s->rcap);
  }
  memcpy(s->rbuf + s->rlen, data, n);
  s->rlen += n;
  return true;
}

static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  sock_t* s = stream->data;
  if (nread > 0) {
    if (!molt__tcp_deliver_now(s, buf->base, (size_t)nread) && !keep(s, buf->base, (size_t)nread)) {
      molt__tcp_peer_done(s, MOLT_ENOMEM);
      return;
    }
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
