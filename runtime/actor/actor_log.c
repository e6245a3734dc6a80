/* actor_log.c: molt_log and its levels, the modules' log: a line of the
 * container's log (base/log.c) that names the calling actor: its pid,
 * module and version. */
#include <stdio.h>

#include "actor.h"
#include "log.h"
#include "runtime.h"

static void actor_log(molt_log_level_t level, const char* fmt, va_list ap) {
  if (!molt__log_enabled(level)) return;
  char pid[24];
  molt_log_who_t who = {0};
  molt_actor_t* a = molt__actor_current();
  if (a && a->version) {
    who.pid = molt__pid_str(molt__actor_pid(a), pid, sizeof(pid));
    who.module = a->version->name;
    who.vsn = a->version->vsn;
  }
  molt__log_v(level, &who, fmt, ap);
}

#define LEVEL_FN(fn, level)           \
  void fn(const char* fmt, ...) {     \
    va_list ap;                       \
    va_start(ap, fmt);                \
    actor_log(level, fmt, ap);        \
    va_end(ap);                       \
  }

LEVEL_FN(molt_log, MOLT_LOG_INFO)
LEVEL_FN(molt_log_error, MOLT_LOG_ERROR)
LEVEL_FN(molt_log_warn, MOLT_LOG_WARNING)
LEVEL_FN(molt_log_debug, MOLT_LOG_DEBUG)
