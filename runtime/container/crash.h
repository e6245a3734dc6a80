/* crash.h: the crash report of a fatal signal (SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT) in a container, and what the next run and status make
 * of it. Not a core dump, and no recovery: the process still dies by the
 * same signal. */
#ifndef MOLT_CONTAINER_CRASH_H
#define MOLT_CONTAINER_CRASH_H

#include <cjson/cJSON.h>

/* Where a home keeps the report of its last crash, and the one a commit
 * retired. */
#define MOLT_CRASH_FILE "last-crash"
#define MOLT_CRASH_OLD_FILE "last-crash.old"

/* At the start of `molt run` in home (an absolute path): if the previous
 * run left a report no run has seen yet, symbolize its backtrace (file
 * and line, with addr2line, while the module copies it names are still in
 * <home>/code) and print one line about it on stderr; then install the
 * handler, which on a fatal signal writes the report to stderr and
 * atomically to <home>/last-crash, using async-signal-safe calls only,
 * and re-raises the signal. Main thread, before module code runs. */
void molt__crash_start(const char* home);

/* The last crash of home as status shows it: {"summary", "path",
 * "report"}, or NULL if there is none (or it was retired). The caller
 * owns the object. Any thread. */
cJSON* molt__crash_json(const char* home);

/* A new release was committed: the last crash is history. Moves
 * <home>/last-crash to last-crash.old (replacing an older one). */
void molt__crash_retire(const char* home);

#endif
