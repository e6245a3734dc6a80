/* dev_build.h: the build half of the development loop: when a source file
 * changes, run the build command (one at a time; a change during a build
 * runs it once more afterwards) and report its outcome, with the
 * compiler's output when it fails. The modules it writes are picked up by
 * the module watcher (dev.c), not here. */
#ifndef MOLT_DEV_DEV_BUILD_H
#define MOLT_DEV_DEV_BUILD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct molt_dev_build molt_dev_build_t;

/* Watch src_dirs for source files (C and C++ sources and headers,
 * CMakeLists.txt, *.cmake) and run cmd through /bin/sh -c, in the current
 * directory, after every change. (molt dev builds once itself before the
 * container starts, so that the modules it boots exist.) */
int molt__dev_build_start(uv_loop_t* loop, const char* cmd, const char* const* src_dirs, size_t nsrc,
                          uint32_t debounce_ms, molt_dev_build_t** out, char* err, size_t errlen);

/* Stop watching; a running build is terminated (its process group). */
void molt__dev_build_stop(molt_dev_build_t* b);

#endif
