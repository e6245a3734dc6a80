/* altstack.c: one alternate signal stack per thread that runs module code
 * (the schedulers), for handlers installed with SA_ONSTACK. */
#include "altstack.h"

#include <signal.h>
#include <stdlib.h>

/* The crash handler unwinds (libunwind) and reads /proc/self/maps in
 * chunks on this stack: 64 KiB leaves it ample room; SIGSTKSZ (8 KiB on
 * older glibc) would not. */
#define ALTSTACK_SIZE (64 * 1024)

static __thread void* mine;

void molt__altstack_start(void) {
  if (mine) return;
  stack_t ss = {.ss_sp = malloc(ALTSTACK_SIZE), .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
  if (!ss.ss_sp) return;
  if (sigaltstack(&ss, NULL) != 0) {
    free(ss.ss_sp);
    return;
  }
  mine = ss.ss_sp;
}

void molt__altstack_stop(void) {
  if (!mine) return;
  stack_t ss = {.ss_flags = SS_DISABLE};
  sigaltstack(&ss, NULL);
  free(mine);
  mine = NULL;
}
