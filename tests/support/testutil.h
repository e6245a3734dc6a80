/* testutil.h: small helpers shared by the test suites (temporary
 * directories, running commands, reading files). */
#ifndef MOLT_TESTUTIL_H
#define MOLT_TESTUTIL_H

#include <stddef.h>

/* Create a fresh directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char* tu_mkdtemp(const char* prefix);
/* rm -rf path. */
void tu_rmrf(const char* path);
/* Copy a file; 0 on success. */
int tu_copy_file(const char* from, const char* to);
/* Read a whole file into a malloc'd NUL-terminated buffer, or NULL. */
char* tu_read_file(const char* path, size_t* len);
/* Write len bytes to path (truncating); 0 on success. */
int tu_write_file(const char* path, const void* data, size_t len);
/* Run a shell command, capture stdout (malloc'd, may be NULL), return the
 * exit status (or -1). */
int tu_run(const char* cmd, char** out);
/* The monotonic clock in milliseconds, for timing what a test waits on. */
double tu_now_ms(void);
/* A TCP port on 127.0.0.1 nobody listens on right now (the OS's choice,
 * released again), or -1. */
int tu_free_port(void);
/* How many descriptors process pid has open, or -1. */
int tu_open_fds(long pid);

#endif
