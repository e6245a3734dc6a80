/* host.c: the order in which a host brings the rooms up and down. The
 * actor core names none of the rooms above it: TCP attaches its hooks
 * before the schedulers start (hooks may only change while they are
 * stopped), and the supervisor's builtin module is installed once they
 * run, as any module is. */
#include "host.h"

#include "errmsg.h"
#include "runtime.h"
#include "supervisor.h"
#include "tcp.h"

int molt__host_start(unsigned nsched, char* err, size_t errlen) {
  int rc = molt__tcp_init();
  if (rc) return molt__errmsg_set(err, errlen, rc, "tcp: %s", molt_strerror(rc));
  if ((rc = molt__runtime_start(nsched, err, errlen))) return rc;
  if ((rc = molt__supervisor_init())) {
    molt__runtime_stop();
    return molt__errmsg_set(err, errlen, rc, "supervisor: %s", molt_strerror(rc));
  }
  return 0;
}

void molt__host_stop(void) {
  molt__runtime_stop();
  molt__supervisor_close();
}
