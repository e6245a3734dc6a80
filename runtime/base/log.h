/* log.h: the container's log lines (stderr), one write(2) each. The
 * internal log, which knows nothing of actors; molt_log, the modules'
 * log that names the calling actor, is the actor room's (actor_log.c).
 *
 * A line has a level and a wall-clock time (RFC 3339, UTC, milliseconds).
 * Text, the default:
 *   2026-12-07T15:20:46.123Z info <64.1> counter: message
 * JSON (--log-format json), one object per line:
 *   {"time":"2026-12-07T15:20:46.123Z","level":"info","pid":"<64.1>",
 *    "module":"counter","vsn":"1.0.0","msg":"message"}
 * (pid, module and vsn only on an actor's lines). When stderr is the
 * systemd journal (JOURNAL_STREAM names it), each line starts with its
 * syslog priority, "<3>" to "<7>", which the journal takes for the
 * entry's priority (journalctl -p err). */
#ifndef MOLT_BASE_LOG_H
#define MOLT_BASE_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* syslog's priorities, so a level is its journal prefix. */
typedef enum {
  MOLT_LOG_ERROR = 3,
  MOLT_LOG_WARNING = 4,
  MOLT_LOG_INFO = 6,
  MOLT_LOG_DEBUG = 7,
} molt_log_level_t;

typedef enum { MOLT_LOG_TEXT, MOLT_LOG_JSON } molt_log_format_t;

/* Who writes an actor's line: each field NULL when not known. Borrowed
 * for the call. */
typedef struct molt_log_who {
  const char* pid;    /* "<64.1>" */
  const char* module; /* "counter" */
  const char* vsn;    /* "1.0.0" */
} molt_log_who_t;

/* Set once at start, before any thread logs: lines above threshold are
 * dropped (default MOLT_LOG_INFO), written in format (default text). Also
 * looks whether stderr is the journal (JOURNAL_STREAM), and if so
 * prefixes priorities from then on. */
void molt__log_config(molt_log_level_t threshold, molt_log_format_t format);
/* "error", "warning", "info", "debug" to a level; -1 for anything else. */
int molt__log_level_parse(const char* name);
const char* molt__log_level_name(molt_log_level_t level);
/* Whether a line at level would be written. */
bool molt__log_enabled(molt_log_level_t level);

/* A container line (no actor) at info, or at the level given. */
void molt__log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void molt__log_at(molt_log_level_t level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
#define molt__log_error(...) molt__log_at(MOLT_LOG_ERROR, __VA_ARGS__)
#define molt__log_warn(...) molt__log_at(MOLT_LOG_WARNING, __VA_ARGS__)
#define molt__log_debug(...) molt__log_at(MOLT_LOG_DEBUG, __VA_ARGS__)
/* A line at level written for who (NULL: the container), as molt_log
 * writes it. */
void molt__log_v(molt_log_level_t level, const molt_log_who_t* who, const char* fmt, va_list ap);
void molt__log_who(molt_log_level_t level, const molt_log_who_t* who, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Silence the log (tests that provoke crashes on purpose). */
void molt__log_quiet(int quiet);

#endif
