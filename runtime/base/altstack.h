/* altstack.h: a signal stack for the calling thread, so that a fatal
 * signal from a stack overflow can still run its handler (the crash
 * report, runtime/container/crash.c). Not the handler itself. */
#ifndef MOLT_BASE_ALTSTACK_H
#define MOLT_BASE_ALTSTACK_H

/* Give the calling thread an alternate signal stack (malloc'd, freed by
 * molt__altstack_stop on the same thread). Best effort: without one the
 * handler runs on the thread's own stack, which is enough for any fault
 * but an overflow. Call before the thread runs module code. */
void molt__altstack_start(void);
void molt__altstack_stop(void);

#endif
