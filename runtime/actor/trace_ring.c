/* trace_ring.c: the bounded ring and the token bucket of a trace session.
 * Bounded both ways, as recon_trace insists: a traced actor can make
 * events faster than anyone reads them, and neither memory nor the
 * schedulers' time may grow with that; what does not fit is counted. */
#include "trace_ring.h"

void molt__trace_ring_init(molt_trace_ring_t* r, molt_trace_event_t* v, uint32_t cap) {
  r->v = v;
  r->cap = cap;
  r->head = r->n = 0;
}

bool molt__trace_ring_push(molt_trace_ring_t* r, const molt_trace_event_t* e) {
  if (r->n == r->cap) return false;
  r->v[(r->head + r->n) % r->cap] = *e;
  r->n++;
  return true;
}

uint32_t molt__trace_ring_take(molt_trace_ring_t* r, molt_trace_event_t* out, uint32_t max) {
  uint32_t k = 0;
  while (k < max && r->n) {
    out[k++] = r->v[r->head];
    r->head = (r->head + 1) % r->cap;
    r->n--;
  }
  return k;
}

void molt__trace_bucket_init(molt_trace_bucket_t* b, uint32_t rate, uint64_t now_ns) {
  b->rate = rate;
  b->tokens = rate; /* a session starts with a full second's worth */
  b->last_ns = now_ns;
}

bool molt__trace_bucket_take(molt_trace_bucket_t* b, uint64_t now_ns) {
  if (now_ns > b->last_ns) {
    b->tokens += (double)(now_ns - b->last_ns) * b->rate / 1e9;
    if (b->tokens > b->rate) b->tokens = b->rate;
    b->last_ns = now_ns;
  }
  if (b->tokens < 1) return false;
  b->tokens -= 1;
  return true;
}
