/* loader_util.h: what the loader suites share: fixture paths, patching a
 * header field, and checks that a refused load left nothing behind. */
#ifndef MOLT_LOADER_UTIL_H
#define MOLT_LOADER_UTIL_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define FIXTURE(file) MOLT_FIXTURE_DIR "/" file

/* A machine that is not this one, as the loader's message names it. */
#if defined(__aarch64__)
#define LU_OTHER_MACHINE EM_X86_64
#define LU_OTHER_MACHINE_SHOWN "x86-64 (62)"
#else
#define LU_OTHER_MACHINE EM_AARCH64
#define LU_OTHER_MACHINE_SHOWN "AArch64 (183)"
#endif

/* Overwrite e_machine of an ELF image in memory. */
static inline void lu_set_machine(char* image, unsigned machine) {
  ElfW(Ehdr) eh;
  memcpy(&eh, image, sizeof eh);
  eh.e_machine = (ElfW(Half))machine;
  memcpy(image, &eh, sizeof eh);
}

/* True if /proc/self/maps mentions s, i.e. a file under s is mapped. */
static inline bool lu_mapped(const char* s) {
  char* maps = tu_read_file("/proc/self/maps", NULL);
  cr_assert_not_null(maps);
  bool found = strstr(maps, s) != NULL;
  free(maps);
  return found;
}

/* The number of entries in dir, besides . and .. */
static inline int lu_count_files(const char* dir) {
  DIR* d = opendir(dir);
  cr_assert_not_null(d, "opendir %s", dir);
  int n = 0;
  for (struct dirent* de; (de = readdir(d));)
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

/* Seconds on the monotonic clock. */
static inline double lu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The most memory this process has had resident so far, in KiB (each
 * Criterion test is a process of its own). */
static inline long lu_max_rss_kib(void) {
  struct rusage ru;
  cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
  return ru.ru_maxrss;
}

/* dir/name, a file of size bytes that are all hole: no disk, no time.
 * Returns the path (malloc'd). */
static inline char* lu_sparse_file(const char* dir, const char* name, uint64_t size) {
  char* path = NULL;
  cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  cr_assert_geq(fd, 0, "%s", path);
  cr_assert_eq(ftruncate(fd, (off_t)size), 0, "%s: ftruncate to %llu", path,
               (unsigned long long)size);
  close(fd);
  return path;
}

/* Every fragment of the NULL-terminated list appears in msg. */
static inline void lu_assert_says(const char* msg, ...) {
  va_list ap;
  va_start(ap, msg);
  for (const char* part; (part = va_arg(ap, const char*));)
    cr_expect(strstr(msg, part), "message \"%s\" lacks \"%s\"", msg, part);
  va_end(ap);
}

#endif
