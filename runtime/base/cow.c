/* cow.c: after a fork, every page the parent and child shared is
 * write-protected in both; once the child has gone, the parent's first
 * write to each still takes a fault (the kernel then sees the page is no
 * longer shared and reuses it, but the fault is paid). At 10^5 actors an
 * upgrade's transaction writes some 20,000 such pages while every actor
 * waits. MADV_POPULATE_WRITE takes those faults now, for a range, as a
 * write would, without writing: no data race with the threads that own
 * the memory. Only resident pages (mincore) are populated: populating a
 * page never touched would allocate it. */
#include "cow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* mincore's vector for this many pages at a time. */
#define CHUNK_PAGES 4096
/* Mappings larger than this are a sanitizer's shadow (terabytes reserved,
 * a sliver resident), not the heap: scanning one would take seconds. */
#define MAX_MAPPING ((uintptr_t)64 << 30)

/* Populate the resident runs of [start, end); false if the kernel does not
 * know MADV_POPULATE_WRITE. */
static bool populate_resident(uintptr_t start, uintptr_t end, size_t page, size_t* visited) {
  unsigned char vec[CHUNK_PAGES];
  for (uintptr_t at = start; at < end;) {
    size_t pages = (end - at) / page;
    if (pages > CHUNK_PAGES) pages = CHUNK_PAGES;
    if (mincore((void*)at, pages * page, vec) != 0) return true; /* unmapped meanwhile */
    for (size_t i = 0; i < pages;) {
      if (!(vec[i] & 1)) {
        i++;
        continue;
      }
      size_t j = i;
      while (j < pages && (vec[j] & 1)) j++;
      if (madvise((void*)(at + i * page), (j - i) * page, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
        return false;
      *visited += j - i;
      i = j;
    }
    at += pages * page;
  }
  return true;
}

size_t molt__cow_reclaim(void) {
  FILE* maps = fopen("/proc/self/maps", "re");
  if (!maps) return 0;
  size_t page = (size_t)sysconf(_SC_PAGESIZE), visited = 0;
  char line[512];
  while (fgets(line, sizeof(line), maps)) {
    uintptr_t start, end;
    char perms[8];
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &start, &end, perms) != 3) continue;
    if (strcmp(perms, "rw-p") != 0 || end - start > MAX_MAPPING) continue;
    if (!populate_resident(start, end, page, &visited)) break;
  }
  fclose(maps);
  return visited;
}
