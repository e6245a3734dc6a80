/* upgrade_counts.c: the counts behind one lock, taken once per change. */
#include "upgrade_counts.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* 100 us .. 10 s: a soft load pauses for microseconds, a code_change of
 * 10^5 actors for milliseconds, a hung one until its deadline. */
const double molt__pause_bounds[MOLT_PAUSE_BUCKETS] = {0.0001, 0.0005, 0.001, 0.0025, 0.005,
                                                       0.01,   0.025,  0.1,   1,      10};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static molt_upgrade_counts_t counts;
static size_t next_recent; /* where the next record goes in the ring */

void molt__upgrade_count(molt_change_outcome_t outcome, int paused, uint64_t pause_ns, const char* modules,
                         unsigned long actors) {
  double s = (double)pause_ns / 1e9;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  molt_change_record_t r = {(uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u, outcome, paused,
                            pause_ns, actors, ""};
  snprintf(r.modules, sizeof r.modules, "%s", modules ? modules : "");
  pthread_mutex_lock(&lock);
  counts.recent[next_recent] = r;
  next_recent = (next_recent + 1) % MOLT_RECENT_CHANGES;
  if (counts.nrecent < MOLT_RECENT_CHANGES) counts.nrecent++;
  counts.outcomes[outcome]++;
  if (paused) {
    for (int i = 0; i < MOLT_PAUSE_BUCKETS; i++)
      if (s <= molt__pause_bounds[i]) counts.pause_le[i]++;
    counts.pauses++;
    counts.pause_sum_s += s;
    counts.last_pause_s = s;
  }
  pthread_mutex_unlock(&lock);
}

void molt__upgrade_counts_read(molt_upgrade_counts_t* out) {
  pthread_mutex_lock(&lock);
  *out = counts;
  /* The ring, unrolled oldest first. */
  size_t first = counts.nrecent < MOLT_RECENT_CHANGES ? 0 : next_recent;
  for (size_t i = 0; i < counts.nrecent; i++) out->recent[i] = counts.recent[(first + i) % MOLT_RECENT_CHANGES];
  pthread_mutex_unlock(&lock);
}

const char* molt__change_outcome_name(molt_change_outcome_t o) {
  switch (o) {
    case MOLT_CHANGE_COMMITTED: return "committed";
    case MOLT_CHANGE_ABORTED: return "aborted";
    case MOLT_CHANGE_REFUSED: return "refused";
    case MOLT_CHANGE_NOUTCOMES: break;
  }
  return "?";
}
