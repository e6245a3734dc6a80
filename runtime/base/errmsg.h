/* errmsg.h: the one-line reason a function writes into its caller's
 * buffer. Not the error codes (molt/errno.h), and not a log. */
#ifndef MOLT_BASE_ERRMSG_H
#define MOLT_BASE_ERRMSG_H

#include <stddef.h>

/* Format a reason into err (truncated to errlen, always terminated; nothing
 * happens if err is NULL or errlen is 0) and return code, so that a failing
 * path reads `return molt__errmsg_set(err, errlen, MOLT_EELF, ...)`. The
 * one way molt writes a caller's message buffer. */
int molt__errmsg_set(char* err, size_t errlen, int code, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The text for rc, a MOLT_E* code or any negative errno: molt_strerror's,
 * or the C library's for an errno that molt's list does not name (molt
 * names only those it returns itself, and a syscall may hand back any).
 * For "<path>: <reason>" messages after a failed file operation. */
const char* molt__errmsg_strerror(int rc);

#endif
