/* alloc.h: molt's allocator, private side. Every runtime and module
 * allocation goes through it so tests can fail the Nth one. */
#ifndef MOLT_BASE_ALLOC_H
#define MOLT_BASE_ALLOC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

void* molt__alloc(size_t size);
void* molt__calloc(size_t n, size_t size);
/* realloc through the hook: a failed (or injected) resize returns NULL and
 * leaves p as it was. size 0 is taken as 1, so p is never freed here. */
void* molt__realloc(void* p, size_t size);
void molt__free(void* p);
/* size bytes (zeroed: calloc_) at a multiple of align (a power of two
 * that divides size), freed with molt__free. */
void* molt__alloc_aligned(size_t align, size_t size);
void* molt__calloc_aligned(size_t align, size_t size);
char* molt__strdup(const char* s);

/* cJSON allocates through these too (alloc.c installs them as its hooks
 * before main), so text from cJSON_Print* is freed with cJSON_free or
 * molt__free, never free(). */

/* Fault injection for tests: the nth allocation from now (1 = the next)
 * fails, and every one after it too if sticky. 0 disarms. Returns the
 * countdown it replaces: after a one-shot injection, 0 if its failure
 * happened, so a test can tell "the code survived the failure" from "the
 * code made fewer than nth allocations". */
unsigned long molt__alloc_fail_at(unsigned long nth, int sticky);
/* Counts as one allocation for the injection and says whether it fails:
 * for allocators that hand out memory they keep (message.c). */
int molt__alloc_injected_failure(void);

/* Leak check for tests. From count_start until count_stop, every block
 * molt's allocator hands out (cJSON's included) adds one and every
 * molt__free of a non-NULL pointer takes one away, in any thread;
 * count_stop disarms and returns that balance. 0 means the code between
 * them freed as many blocks as it allocated: a positive balance is a leak.
 * A block freed with plain free() is not seen, so it counts as leaked; a
 * block allocated before count_start and freed after it counts -1. Not
 * nested; meant for a test that runs the code under test on its own
 * thread. */
/* Where molt_alloc and friends (the public allocator, which module code
 * calls) charge the bytes they hand out and molt_free credits those it
 * takes back: the running actor's memory figure, which the actor core
 * points this at for each turn and callback (NULL: nobody's). Only the
 * calling thread writes through it, with relaxed stores; other threads
 * read the figure (ps). */
extern __thread _Atomic int64_t* molt__alloc_meter;

void molt__alloc_count_start(void);
long molt__alloc_count_stop(void);

#endif
