/* log.h: the container's log lines (stderr), one write(2) each. The
 * internal log, which knows nothing of actors; molt_log, the modules'
 * log that names the calling actor, is the actor room's (actor_log.c). */
#ifndef MOLT_BASE_LOG_H
#define MOLT_BASE_LOG_H

#include <stdarg.h>
#include <stdint.h>

void molt__log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/* A line prefixed with who (may be ""), as molt_log writes it. */
void molt__log_v(const char* who, const char* fmt, va_list ap);
/* Lines carry seconds since origin_ns (molt__now_ns); the runtime sets it
 * when it starts. Before that, 0.000. */
void molt__log_set_origin(uint64_t origin_ns);
/* Silence the log (tests that provoke crashes on purpose). */
void molt__log_quiet(int quiet);

#endif
