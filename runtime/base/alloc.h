/* alloc.h: molt's allocator, private side. Every runtime and module
 * allocation goes through it so tests can fail the Nth one. */
#ifndef MOLT_BASE_ALLOC_H
#define MOLT_BASE_ALLOC_H

#include <stddef.h>

void* molt__alloc(size_t size);
void* molt__calloc(size_t n, size_t size);
void molt__free(void* p);
/* size bytes (zeroed: calloc_) at a multiple of align (a power of two
 * that divides size), freed with molt__free. */
void* molt__alloc_aligned(size_t align, size_t size);
void* molt__calloc_aligned(size_t align, size_t size);
char* molt__strdup(const char* s);

/* Fault injection for tests: the nth allocation from now (1 = the next)
 * fails, and every one after it too if sticky. 0 disarms. */
void molt__alloc_fail_at(unsigned long nth, int sticky);
/* Counts as one allocation for the injection and says whether it fails:
 * for allocators that hand out memory they keep (message.c). */
int molt__alloc_injected_failure(void);

#endif
