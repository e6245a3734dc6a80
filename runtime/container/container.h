/* container.h: a running container: a home directory, the runtime, the
 * release it runs and the control server that answers the molt command.
 * What `molt run` does. Not the commands' client side (tools/). */
#ifndef MOLT_CONTAINER_CONTAINER_H
#define MOLT_CONTAINER_CONTAINER_H

#include <stddef.h>

#include "dev.h"

typedef struct molt_container_opts {
  const char* home;        /* created 0700 if missing */
  const char* release_dir; /* a release bundle to unpack; NULL: the home's permanent release */
  unsigned schedulers;     /* 0: one per core */
  /* `molt dev --module`: run these module files (absolute paths), one
   * actor of each under a one_for_one supervisor, instead of a release.
   * The home's release store is then not used. */
  const char* const* modules;
  size_t nmodules;
  const molt_dev_opts_t* dev; /* non-NULL: the development loop (molt dev) */
  /* An executable that serves the module probe as `EXE __probe`
   * (loader/module_probe.h): every module file's code is tried there first.
   * NULL: none (a container inside a test program). */
  const char* probe_exe;
  /* A scheduler inside one callback longer than this many seconds is a
   * fatal fault (stuck_guard.h); 0: MOLT_STUCK_LIMIT_S (60). */
  unsigned stuck_limit_s;
  /* "HOST:PORT" to serve /metrics on (molt run --metrics), and the
   * observer page on (--observer; the same address shares the listener);
   * NULL: none. */
  const char* metrics_addr;
  const char* observer_addr;
} molt_container_opts_t;

/* Boot the release and serve until `molt stop`, SIGINT or SIGTERM; then
 * stop the release tree (every actor's terminate runs) and the runtime.
 * Everything is checked before anything starts: a bad manifest, a missing
 * file or a checksum mismatch fails with nothing loaded. Returns 0 after a
 * clean stop, else a MOLT_E* with a one-line reason in err. Prints one
 * line on stdout once serving, so scripts can wait for it. */
int molt__container_run(const molt_container_opts_t* opts, char* err, size_t errlen);

/* The absolute form of path (which must exist), malloc'd, or NULL. */
char* molt__abspath(const char* path);

#endif
