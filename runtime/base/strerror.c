/* strerror.c: names and messages of MOLT_E* codes, generated from the one
 * list in molt/errno.h. */
#include "molt/errno.h"

const char* molt_strerror(int err) {
  switch (err) {
    case 0: return "success";
#define XX(name, value, msg) \
  case (value): return msg;
    MOLT_ERRNO_MAP(XX)
#undef XX
  }
  return "unknown error";
}

const char* molt_err_name(int err) {
  switch (err) {
    case 0: return "OK";
#define XX(name, value, msg) \
  case (value): return #name;
    MOLT_ERRNO_MAP(XX)
#undef XX
  }
  return "EUNKNOWN";
}
