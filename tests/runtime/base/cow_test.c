/* cow_test.c: molt__cow_reclaim takes, before the writer does, the faults
 * a fork leaves on every page the parent shared with its child: writing
 * the pages afterwards faults (almost) never, against once a page
 * without it; and no byte changes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cow.h"

#define PAGES 2048

static long minor_faults(void) {
  struct rusage r;
  getrusage(RUSAGE_THREAD, &r);
  return r.ru_minflt;
}

/* A region of PAGES resident pages, each holding its index. */
static unsigned char* resident_region(size_t page) {
  unsigned char* p = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  cr_assert_neq(p, MAP_FAILED);
  for (size_t i = 0; i < PAGES; i++) p[i * page] = (unsigned char)i;
  return p;
}

/* fork a child that exits at once, and reap it. */
static void fork_and_reap(void) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) _exit(0);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
}

/* The faults writing one byte of every page takes. */
static long faults_writing(unsigned char* p, size_t page) {
  long before = minor_faults();
  for (size_t i = 0; i < PAGES; i++) p[i * page + 1] = 1;
  return minor_faults() - before;
}

static bool kernel_populates(size_t page) {
  void* probe = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  bool ok = madvise(probe, page, 23 /* MADV_POPULATE_WRITE */) == 0;
  munmap(probe, page);
  return ok;
}

Test(cow, reclaim_takes_the_faults_a_fork_left_and_changes_nothing) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (!kernel_populates(page)) cr_skip_test("this kernel has no MADV_POPULATE_WRITE (Linux 5.14)");

  unsigned char* plain = resident_region(page);
  fork_and_reap();
  long without = faults_writing(plain, page);

  unsigned char* reclaimed = resident_region(page);
  fork_and_reap();
  size_t visited = molt__cow_reclaim();
  long with = faults_writing(reclaimed, page);

  cr_log_info("writing %d pages after a fork: %ld faults; after molt__cow_reclaim (%zu pages): %ld", PAGES, without,
              visited, with);
  cr_expect_geq(without, PAGES / 2, "a fork's protection should fault: %ld faults", without);
  cr_expect_lt(with, PAGES / 20, "%ld faults after the reclaim", with);
  cr_expect_geq(visited, (size_t)PAGES);
  for (size_t i = 0; i < PAGES; i++) cr_assert_eq(reclaimed[i * page], (unsigned char)i, "page %zu changed", i);
  munmap(plain, PAGES * page);
  munmap(reclaimed, PAGES * page);
}
