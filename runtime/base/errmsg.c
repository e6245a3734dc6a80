/* errmsg.c: the one-line reason a loader function writes into its caller's
 * buffer. Not the error codes (molt/errno.h), and not a log. */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int molt__errmsg_set(char* err, size_t errlen, int code, const char* fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}
