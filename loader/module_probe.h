/* module_probe.h: module code tried before the container runs it. A helper
 * process (the molt binary as `molt __probe`, started once with
 * posix_spawn, never a fork of the container) loads each file in a child
 * of its own with the loader's dlopen flags: constructors run there, and
 * the descriptor's pointers are checked to lie inside the module's image.
 * A constructor that exits, crashes or hangs refuses the file, and the
 * container never maps it. Not the loader's own checks (elf_check.c,
 * descriptor.c), which read bytes and run nothing. */
#ifndef MOLT_LOADER_MODULE_PROBE_H
#define MOLT_LOADER_MODULE_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* How long a constructor may run in the probe. */
#define MOLT_PROBE_DEADLINE_MS 2000

/* Start the helper: exe run as `exe __probe`. Every load from then on is
 * probed (molt__probe_check); without a start, nothing is (in-process
 * tests). 0 or a MOLT_E* with a reason. */
int molt__probe_start(const char* exe, char* err, size_t errlen);
void molt__probe_stop(void);

/* Try path (a private copy, about to be dlopen'ed): 0, or MOLT_EPROBE with
 * one line naming src (the file the user gave) and what its code did. 0
 * without a started probe. A helper that died is started again. Any
 * thread; one probe at a time. */
int molt__probe_check(const char* path, const char* src, char* err, size_t errlen);

/* The helper's side: answer requests on stdin/stdout until stdin closes.
 * Returns the process's exit status. */
int molt__probe_serve(void);

#endif
