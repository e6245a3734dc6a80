/* sup_exit.h: why a supervisor exited, as it tells whoever started it
 * (the container, of its root), and exit reasons in words. Not the
 * supervisor itself. */
#ifndef MOLT_SUPERVISOR_SUP_EXIT_H
#define MOLT_SUPERVISOR_SUP_EXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a watched supervisor exited. Borrowed for the callback's length. */
typedef struct molt_sup_exit {
  const char* name; /* its registered name, else "supervisor" */
  int reason;       /* its own exit reason */
  /* It gave up: more restarts than its intensity within its period. Then
   * child is the child whose exit (or, with restart_failed, whose failed
   * restart) was one too many, child_reason that exit's reason (or the
   * restart's error), and restarts the restarts made within period_ms
   * before it (its intensity). */
  bool gave_up;
  bool restart_failed;
  const char* child;
  int child_reason;
  uint32_t restarts, period_ms;
} molt_sup_exit_t;

typedef void (*molt_sup_exit_cb)(const molt_sup_exit_t* why, void* data);

/* "normal", "shutdown", "killed", "noproc", "purged" for the runtime's
 * exit reasons, "EIO (i/o error)" for a MOLT_E* one; written into buf
 * (>= 64 bytes to hold any), which is returned. */
const char* molt__sup_exit_reason_str(int reason, char* buf, size_t len);

#endif
