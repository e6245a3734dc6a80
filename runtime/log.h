/* log.h: the container's log lines (stderr). */
#ifndef MOLT_RUNTIME_LOG_H
#define MOLT_RUNTIME_LOG_H

void molt__log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/* Silence the log (tests that provoke crashes on purpose). */
void molt__log_quiet(int quiet);

#endif
