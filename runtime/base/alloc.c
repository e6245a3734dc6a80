/* alloc.c: molt's allocator: malloc with a fault-injection hook, so tests
 * can prove that an allocation failure at any point leaks nothing. */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "molt/module.h"

static atomic_ulong fail_countdown; /* 0: disarmed */
static atomic_int fail_sticky;

void molt__alloc_fail_at(unsigned long nth, int sticky) {
  atomic_store(&fail_sticky, sticky);
  atomic_store(&fail_countdown, nth);
}

static int should_fail(void) {
  unsigned long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
  if (n == 0) return 0;
  if (n == 1) {
    if (!atomic_load(&fail_sticky)) atomic_store(&fail_countdown, 0);
    return 1;
  }
  atomic_fetch_sub(&fail_countdown, 1);
  return 0;
}

int molt__alloc_injected_failure(void) { return should_fail(); }

void* molt__alloc(size_t size) { return should_fail() ? NULL : malloc(size ? size : 1); }

void* molt__calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }

void molt__free(void* p) { free(p); }

void* molt__alloc_aligned(size_t align, size_t size) { return should_fail() ? NULL : aligned_alloc(align, size); }

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

void* molt_alloc(size_t size) { return molt__alloc(size); }
void* molt_calloc(size_t n, size_t size) { return molt__calloc(n, size); }
void* molt_realloc(void* p, size_t size) { return should_fail() ? NULL : realloc(p, size ? size : 1); }
char* molt_strdup(const char* s) { return s ? molt__strdup(s) : NULL; }
void molt_free(void* p) { molt__free(p); }
