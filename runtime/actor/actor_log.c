/* actor_log.c: molt_log, the modules' log: a line of the container's log
 * (base/log.c) prefixed with the calling actor's pid and module. */
#include <stdio.h>

#include "actor.h"
#include "log.h"
#include "runtime.h"

void molt_log(const char* fmt, ...) {
  char who[128] = "";
  molt_actor_t* a = molt__actor_current();
  if (a && a->version) {
    char pid[24];
    snprintf(who, sizeof(who), "%s %s: ", molt__pid_str(molt__actor_pid(a), pid, sizeof(pid)),
             a->version->name);
  }
  va_list ap;
  va_start(ap, fmt);
  molt__log_v(who, fmt, ap);
  va_end(ap);
}
