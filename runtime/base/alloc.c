/* alloc.c: molt's allocator: malloc with a fault-injection hook and a
 * leak count, so tests can prove that an allocation failure at any point
 * leaks nothing. Not a pool or an arena: the memory is malloc's. */
#include "alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "molt/module.h"

/* armed is all the fast paths read: 0 unless a test has armed injection
 * or counting, so a disarmed allocation or free costs one relaxed load
 * (a plain load on x86-64 and AArch64) and no read-modify-write. The free
 * path needs that one load: a free that read nothing could not be counted.
 * The alternatives cost more or prove less: counting always is an atomic
 * add on every call; a header before each block would turn any free() of
 * molt's memory left in the tree from an inconsistency into a crash;
 * replacing malloc itself, as the manifest test once did, displaces the
 * sanitizers' allocator and so ran only in the plain build. */
enum { ARMED_FAIL = 1, ARMED_COUNT = 2 };

static atomic_uint armed;
static atomic_ulong fail_countdown; /* 0: disarmed */
static atomic_int fail_sticky;
static atomic_long balance; /* blocks allocated minus freed while counting */

unsigned long molt__alloc_fail_at(unsigned long nth, int sticky) {
  unsigned long was;

  atomic_store(&fail_sticky, sticky);
  was = atomic_exchange(&fail_countdown, nth);
  if (nth)
    atomic_fetch_or(&armed, ARMED_FAIL);
  else
    atomic_fetch_and(&armed, ~(unsigned)ARMED_FAIL);
  return was;
}

void molt__alloc_count_start(void) {
  atomic_store(&balance, 0);
  atomic_fetch_or(&armed, ARMED_COUNT);
}

long molt__alloc_count_stop(void) {
  atomic_fetch_and(&armed, ~(unsigned)ARMED_COUNT);
  return atomic_exchange(&balance, 0);
}

static inline unsigned armed_now(void) {
  return atomic_load_explicit(&armed, memory_order_relaxed);
}

/* The slow path, taken only while armed: whether this allocation fails. A
 * one-shot countdown that has fired leaves ARMED_FAIL set until the test
 * disarms; the calls between only read a zero countdown. */
static bool fails(unsigned a) {
  unsigned long n;

  if (!(a & ARMED_FAIL)) return false;
  n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
  if (n == 0) return false;
  if (n == 1) {
    if (!atomic_load(&fail_sticky)) atomic_store(&fail_countdown, 0);
    return true;
  }
  atomic_fetch_sub(&fail_countdown, 1);
  return false;
}

static inline void* counted(unsigned a, void* p) {
  if ((a & ARMED_COUNT) && p) atomic_fetch_add_explicit(&balance, 1, memory_order_relaxed);
  return p;
}

int molt__alloc_injected_failure(void) {
  unsigned a = armed_now();

  return a && fails(a);
}

void* molt__alloc(size_t size) {
  unsigned a = armed_now();

  if (a && fails(a)) return NULL;
  return counted(a, malloc(size ? size : 1));
}

void* molt__calloc(size_t n, size_t size) {
  unsigned a = armed_now();

  if (a && fails(a)) return NULL;
  return counted(a, calloc(n ? n : 1, size ? size : 1));
}

void* molt__realloc(void* p, size_t size) {
  unsigned a = armed_now();
  void* q;

  if (a && fails(a)) return NULL;
  q = realloc(p, size ? size : 1);
  return p ? q : counted(a, q); /* a resize moves a block, it adds none */
}

void molt__free(void* p) {
  if (p && (armed_now() & ARMED_COUNT))
    atomic_fetch_sub_explicit(&balance, 1, memory_order_relaxed);
  free(p);
}

void* molt__alloc_aligned(size_t align, size_t size) {
  unsigned a = armed_now();

  if (a && fails(a)) return NULL;
  return counted(a, aligned_alloc(align, size));
}

void* molt__calloc_aligned(size_t align, size_t size) {
  void* p = molt__alloc_aligned(align, size);
  if (p) memset(p, 0, size);
  return p;
}

char* molt__strdup(const char* s) {
  size_t n = strlen(s) + 1;
  char* d = molt__alloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* cJSON allocates through molt's allocator, so an injected failure reaches
 * inside cJSON_Parse and cJSON_Print and the leak count sees their blocks.
 * The hooks are libcjson's process-wide state and must be in place before
 * the process's first cJSON allocation (a block cJSON took from malloc and
 * later handed to molt__free would throw the count off), and no function of
 * ours runs first in every program built on base: the container, each tool,
 * each test binary. Hence a constructor: it runs once, before main and any
 * thread, in every program that links base's objects, and it sits in
 * alloc.c because every such program calls the allocator. With hooks that
 * are not malloc and free, cJSON never calls realloc (it allocates and
 * copies instead), so these two are all it needs. */
__attribute__((constructor)) static void json_hooks(void) {
  cJSON_Hooks hooks = {.malloc_fn = molt__alloc, .free_fn = molt__free};

  cJSON_InitHooks(&hooks);
}

/* Module code allocates through these, and only these meter: the bytes
 * the running actor's callbacks hold (ps's memory column), charged to the
 * counter the actor core points molt__alloc_meter at.
 * malloc_usable_size stands in for a per-block header (see the top of
 * this file for why there is none); the runtime's own allocations, and
 * messages above all, stay unmetered and pay nothing. A block freed on
 * another thread than the one that allocated it (state handed over by
 * code_change) moves its bytes with it: the figure is "what the actor's
 * callbacks allocated and freed", approximately what it holds. */
__thread _Atomic int64_t* molt__alloc_meter;

static void charge(int64_t bytes) {
  _Atomic int64_t* m = molt__alloc_meter;
  if (m) atomic_store_explicit(m, atomic_load_explicit(m, memory_order_relaxed) + bytes, memory_order_relaxed);
}

static void* metered(void* p) {
  if (p && molt__alloc_meter) charge((int64_t)malloc_usable_size(p));
  return p;
}

void* molt_alloc(size_t size) { return metered(molt__alloc(size)); }
void* molt_calloc(size_t n, size_t size) { return metered(molt__calloc(n, size)); }
void* molt_realloc(void* p, size_t size) {
  size_t was = p && molt__alloc_meter ? malloc_usable_size(p) : 0;
  void* q = molt__realloc(p, size);
  if (!q) return NULL;
  if (was) charge(-(int64_t)was);
  return metered(q);
}
char* molt_strdup(const char* s) { return s ? metered(molt__strdup(s)) : NULL; }
void molt_free(void* p) {
  if (p && molt__alloc_meter) charge(-(int64_t)malloc_usable_size(p));
  molt__free(p);
}
