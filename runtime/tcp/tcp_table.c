/* tcp_table.c: every TCP handle slot ever allocated, addressed by a
 * handle's index, in fixed pages that never move or go away while the
 * runtime runs, as the actor table does for pids. Not the sockets
 * themselves (tcp_sock.h).
 *
 * Unlike an actor slot, a TCP slot is not bound to one scheduler: each
 * incarnation records the loop it lives on. Code holding a stale handle
 * therefore checks the generation on that loop's thread before touching
 * the socket, which is safe because only that thread frees the slot. */
#include <pthread.h>
#include <stdlib.h>

#include "alloc.h"
#include "tcp.h"

#define PAGE_BITS 10
#define PAGE_SLOTS (1u << PAGE_BITS)
#define MAX_PAGES (1u << 16) /* 2^26 sockets at once: far beyond any fd limit */

static _Atomic(molt__tcp_slot_t*) pages[MAX_PAGES];
static atomic_uint allocated;
/* Allocation and release only: lookups are lock-free. Sockets come and go
 * far less often than they are written to. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static molt__tcp_slot_t* free_head;

static molt__tcp_slot_t* slot_at(uint32_t index) {
  molt__tcp_slot_t* page = atomic_load_explicit(&pages[index >> PAGE_BITS], memory_order_acquire);
  return page ? &page[index & (PAGE_SLOTS - 1)] : NULL;
}

molt_tcp_t molt__tcp_handle(const molt__tcp_slot_t* slot) {
  return ((uint64_t)atomic_load_explicit(&slot->gen, memory_order_relaxed) << 32) | slot->index;
}

molt__tcp_slot_t* molt__tcp_slot_get(molt_tcp_t h) {
  uint32_t index = (uint32_t)(h & 0xffffffffu), gen = (uint32_t)(h >> 32);
  if (gen == 0 || index >= atomic_load_explicit(&allocated, memory_order_acquire)) return NULL;
  molt__tcp_slot_t* slot = slot_at(index);
  if (!slot || atomic_load_explicit(&slot->gen, memory_order_acquire) != gen) return NULL;
  if (atomic_load_explicit(&slot->state, memory_order_acquire) == MOLT__TCP_FREE) return NULL;
  return slot;
}

static molt__tcp_slot_t* fresh_slot(void) {
  uint32_t index = atomic_load(&allocated);
  if (index >= MAX_PAGES * PAGE_SLOTS) return NULL;
  if (!slot_at(index)) {
    molt__tcp_slot_t* page = molt__calloc(PAGE_SLOTS, sizeof(*page));
    if (!page) return NULL;
    for (uint32_t i = 0; i < PAGE_SLOTS; i++) {
      page[i].index = index + i;
      atomic_init(&page[i].gen, 1);
    }
    atomic_store_explicit(&pages[index >> PAGE_BITS], page, memory_order_release);
  }
  atomic_store_explicit(&allocated, index + 1, memory_order_release);
  return slot_at(index);
}

molt__tcp_slot_t* molt__tcp_slot_new(struct molt_sched* s) {
  pthread_mutex_lock(&lock);
  molt__tcp_slot_t* slot = free_head;
  if (slot)
    free_head = slot->next_free;
  else
    slot = fresh_slot();
  pthread_mutex_unlock(&lock);
  if (!slot) return NULL;
  slot->next_free = NULL;
  slot->sock = NULL;
  atomic_store(&slot->listener, false);
  atomic_store(&slot->owner, MOLT_PID_NONE);
  atomic_store(&slot->port, 0);
  slot->from = MOLT_TCP_NONE;
  atomic_store(&slot->conns, 0);
  atomic_store(&slot->max_conns, 0);
  atomic_store(&slot->pause_logged, false);
  atomic_store(&slot->pause_logged_ns, 0);
  atomic_store(&slot->sched, s);
  atomic_store(&slot->home, s);
  atomic_store(&slot->wseq, (uint64_t)atomic_load(&slot->gen) << 32);
  /* Last: a lookup that sees OPEN sees the fields above. */
  atomic_store_explicit(&slot->state, MOLT__TCP_OPEN, memory_order_release);
  return slot;
}

int molt__tcp_slot_next_write(molt__tcp_slot_t* slot, molt_tcp_t h, uint32_t* seq) {
  uint64_t v = atomic_load_explicit(&slot->wseq, memory_order_relaxed);
  do {
    if (v >> 32 != h >> 32) return MOLT_ENOTCONN;
  } while (!atomic_compare_exchange_weak(&slot->wseq, &v, (v & ~0xffffffffull) | (uint32_t)(v + 1)));
  *seq = (uint32_t)v;
  return 0;
}

void molt__tcp_slot_give_back(molt__tcp_slot_t* slot, molt_tcp_t h, uint32_t seq) {
  uint64_t gen = (uint64_t)(h >> 32) << 32;
  uint64_t taken = gen | (uint32_t)(seq + 1);
  atomic_compare_exchange_strong(&slot->wseq, &taken, gen | seq);
}

void molt__tcp_slot_free(molt__tcp_slot_t* slot) {
  /* One connection fewer for its listener's cap, if that listener lives.
   * Never below zero: should the listener's slot be reused between the
   * lookup and the count, the next listener's count must not wrap. */
  molt__tcp_slot_t* from = slot->from ? molt__tcp_slot_get(slot->from) : NULL;
  if (from) {
    uint32_t n = atomic_load(&from->conns);
    while (n && !atomic_compare_exchange_weak(&from->conns, &n, n - 1)) {
    }
  }
  atomic_store(&slot->state, MOLT__TCP_FREE);
  atomic_store(&slot->owner, MOLT_PID_NONE);
  uint32_t next = atomic_load(&slot->gen) + 1;
  atomic_store_explicit(&slot->gen, next ? next : 1, memory_order_release);
  slot->sock = NULL;
  pthread_mutex_lock(&lock);
  slot->next_free = free_head;
  free_head = slot;
  pthread_mutex_unlock(&lock);
}

void molt__tcp_table_foreach(void (*fn)(molt__tcp_slot_t* slot, void* arg), void* arg) {
  uint32_t n = atomic_load_explicit(&allocated, memory_order_acquire);
  for (uint32_t i = 0; i < n; i++) fn(slot_at(i), arg);
}

void molt__tcp_table_close(void) {
  pthread_mutex_lock(&lock);
  for (uint32_t p = 0; p < MAX_PAGES; p++) {
    molt__tcp_slot_t* page = atomic_exchange(&pages[p], NULL);
    if (!page) break;
    molt__free(page);
  }
  atomic_store(&allocated, 0);
  free_head = NULL;
  pthread_mutex_unlock(&lock);
}
