/* message.c: allocating runtime-owned messages. Payloads are copied in at
 * send time, so a sender's buffer is never borrowed past molt_send. */
#include "message.h"

#include <stdbool.h>
#include <string.h>

#include "alloc.h"

/* Most messages are small, and each costs a malloc and a free: a fifth of
 * a message's time in a ring of actors. So small ones are carved as blocks
 * of one, two or three cache lines (the header is one: no payload, up to
 * 64 bytes, up to 128), each starting on a line, and a scheduler thread
 * keeps the blocks it frees in a list per size to hand out again (no lock:
 * the lists are the thread's). Sizing by the payload matters when many are
 * in flight at once: a million stop messages, payload-less, take 64 MB of
 * fresh pages, not 192, and a page fault is the dearest part of a message
 * on a virtual machine. Blocks freed on one thread and allocated on
 * another flow through malloc once a list is full, so no thread holds more
 * than CACHE_MAX blocks of a size. Under AddressSanitizer nothing is kept,
 * so a use after free is still caught. */
#define LINE 64
#define NCLASS 3 /* blocks of 1, 2 and 3 lines */
#define CACHE_MAX 1024

_Static_assert(sizeof(molt__msg_t) == LINE, "class 0 is the header alone");

#if defined(__SANITIZE_ADDRESS__)
#define MOLT__MSG_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOLT__MSG_CACHE 0
#endif
#endif
#ifndef MOLT__MSG_CACHE
#define MOLT__MSG_CACHE 1
#endif

typedef struct free_block {
  struct free_block* next;
} free_block_t;

static __thread bool caching;
static __thread free_block_t* cache[NCLASS];
static __thread unsigned cached[NCLASS];

void molt__msg_cache_begin(void) { caching = MOLT__MSG_CACHE; }

void molt__msg_cache_end(void) {
  caching = false;
  for (unsigned c = 0; c < NCLASS; c++) {
    while (cache[c]) {
      free_block_t* b = cache[c];
      cache[c] = b->next;
      molt__free(b);
    }
    cached[c] = 0;
  }
}

static molt__msg_t* block_new(unsigned c) {
  if (!cache[c]) return molt__alloc_aligned(LINE, (c + 1) * LINE);
  if (molt__alloc_injected_failure()) return NULL; /* as molt__alloc would */
  free_block_t* b = cache[c];
  cache[c] = b->next;
  cached[c]--;
  return (molt__msg_t*)b;
}

molt__msg_t* molt__msg_new(uint32_t kind, uint32_t tag, const void* data, size_t size) {
  size_t lines = (sizeof(molt__msg_t) + size + LINE - 1) / LINE;
  bool small = lines <= NCLASS;
  unsigned c = small ? (unsigned)lines - 1 : 0;
  molt__msg_t* m = small ? block_new(c) : molt__alloc(sizeof(molt__msg_t) + size);
  if (!m) return NULL;
  memset(m, 0, sizeof(*m));
  if (small) m->flags = (uint16_t)(MOLT__MSGF_SMALL | c << MOLT__MSGF_CLASS_SHIFT);
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

void molt__msg_free(molt__msg_t* m) {
  unsigned c = (m->flags & MOLT__MSGF_CLASS_MASK) >> MOLT__MSGF_CLASS_SHIFT;
  if ((m->flags & MOLT__MSGF_SMALL) && caching && cached[c] < CACHE_MAX) {
    free_block_t* b = (free_block_t*)m;
    b->next = cache[c];
    cache[c] = b;
    cached[c]++;
    return;
  }
  molt__free(m);
}
