/* dev.h: the development loop of `molt dev`: every module file that
 * changes in the watched directory is loaded as a new revision of the
 * running module, through the same transaction as `molt load`, with one
 * line per reload on stdout. Optionally a build command runs when sources
 * change (dev_build.h). Not the container (container.c) nor the watching
 * itself (loader/watch.h). */
#ifndef MOLT_DEV_DEV_H
#define MOLT_DEV_DEV_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct molt_dev_opts {
  const char* watch_dir;       /* the built modules, e.g. "build/modules" */
  const char* build_cmd;       /* run by /bin/sh -c when a source changes; NULL: none */
  const char* const* src_dirs; /* watched (not recursively) for source changes */
  size_t nsrc;
  uint32_t debounce_ms;        /* quiet time after a file's last event */
} molt_dev_opts_t;

typedef struct molt_dev molt_dev_t;

/* Start watching on loop (the container's main loop, never a scheduler's:
 * a reload waits for every scheduler). Returns 0 or a MOLT_E* with a
 * reason. */
int molt__dev_start(uv_loop_t* loop, const molt_dev_opts_t* o, molt_dev_t** out, char* err, size_t errlen);

/* Stop watching and stop a running build; memory goes once the loop has
 * run the handles' close callbacks. */
void molt__dev_stop(molt_dev_t* d);

/* One line for the developer, on stdout, flushed: "molt dev: ...". */
void molt__dev_say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
