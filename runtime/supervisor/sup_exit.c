/* sup_exit.c: exit reasons in words, for the lines that say why a
 * supervisor gave up. Not the decision to give up (supervisor.c). */
#include "sup_exit.h"

#include <stdio.h>

#include "molt/errno.h"
#include "molt/module.h"

const char* molt__sup_exit_reason_str(int reason, char* buf, size_t len) {
  static const char* const names[] = {"normal", "shutdown", "kill", "killed", "noproc", "purged"};
  if (reason >= 0 && (size_t)reason < sizeof(names) / sizeof(names[0]))
    snprintf(buf, len, "%s", names[reason]);
  else if (reason < 0)
    snprintf(buf, len, "%s (%s)", molt_err_name(reason), molt_strerror(reason));
  else
    snprintf(buf, len, "reason %d", reason);
  return buf;
}
