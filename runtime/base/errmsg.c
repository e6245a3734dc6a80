/* errmsg.c: the one-line reason a function writes into its caller's
 * buffer. Not the error codes (molt/errno.h), and not a log. */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "molt/errno.h"

int molt__errmsg_set(char* err, size_t errlen, int code, const char* fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

const char* molt__errmsg_strerror(int rc) {
  const char* s = molt_strerror(rc);

  if (strcmp(s, "unknown error") == 0) s = strerror(-rc);
  return s;
}
