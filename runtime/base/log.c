/* log.c: one line per event on stderr, written with a single write(2) so
 * lines from several schedulers never interleave. Knows no actor: the
 * actor room prefixes molt_log's lines itself (actor_log.c). */
#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "clock.h"

static atomic_int quiet;
static _Atomic uint64_t origin_ns;

void molt__log_quiet(int q) { atomic_store(&quiet, q); }

void molt__log_set_origin(uint64_t ns) { atomic_store(&origin_ns, ns); }

void molt__log_v(const char* who, const char* fmt, va_list ap) {
  if (atomic_load(&quiet)) return;
  char line[1024];
  uint64_t origin = atomic_load(&origin_ns);
  uint64_t ms = origin ? (molt__now_ns() - origin) / 1000000 : 0;
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
  molt__log_v("", fmt, ap);
  va_end(ap);
}
