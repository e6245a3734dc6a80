/* log.c: one line per event on stderr, written with a single write(2) so
 * lines from several schedulers never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "actor.h"
#include "runtime.h"

static atomic_int quiet;

void molt__log_quiet(int q) { atomic_store(&quiet, q); }

static void vlog(const char* who, const char* fmt, va_list ap) {
  if (atomic_load(&quiet)) return;
  char line[1024];
  uint64_t ms = molt__rt.start_ns ? (molt__now_ns() - molt__rt.start_ns) / 1000000 : 0;
  int n = snprintf(line, sizeof(line), "[molt %llu.%03llu] %s", (unsigned long long)(ms / 1000),
                   (unsigned long long)(ms % 1000), who);
  if (n < 0) return;
  if ((size_t)n < sizeof(line)) {
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (m > 0) n += m;
  }
  if ((size_t)n >= sizeof(line) - 1) n = (int)sizeof(line) - 2;
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, (size_t)n);
  (void)w;
}

void molt__log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog("", fmt, ap);
  va_end(ap);
}

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
  vlog(who, fmt, ap);
  va_end(ap);
}
