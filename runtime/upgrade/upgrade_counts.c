/* upgrade_counts.c: the counts behind one lock, taken once per change. */
#include "upgrade_counts.h"

#include <pthread.h>

/* 100 us .. 10 s: a soft load pauses for microseconds, a code_change of
 * 10^5 actors for milliseconds, a hung one until its deadline. */
const double molt__pause_bounds[MOLT_PAUSE_BUCKETS] = {0.0001, 0.0005, 0.001, 0.0025, 0.005,
                                                       0.01,   0.025,  0.1,   1,      10};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static molt_upgrade_counts_t counts;

void molt__upgrade_count(molt_change_outcome_t outcome, int paused, uint64_t pause_ns) {
  double s = (double)pause_ns / 1e9;
  pthread_mutex_lock(&lock);
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
