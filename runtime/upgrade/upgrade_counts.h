/* upgrade_counts.h: every code change since the container started, for
 * /metrics: how each ended, and a histogram of the pauses of those that
 * froze the schedulers. Counted once per change where the transaction
 * ends (molt__upgrade_apply); read from any thread. */
#ifndef MOLT_UPGRADE_UPGRADE_COUNTS_H
#define MOLT_UPGRADE_UPGRADE_COUNTS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  MOLT_CHANGE_COMMITTED, /* every actor switched */
  MOLT_CHANGE_ABORTED,   /* the schedulers froze, something failed, nothing changed */
  MOLT_CHANGE_REFUSED,   /* refused by the checks before any pause */
  MOLT_CHANGE_NOUTCOMES
} molt_change_outcome_t;

/* The pause histogram's upper bounds, in seconds. */
#define MOLT_PAUSE_BUCKETS 10
extern const double molt__pause_bounds[MOLT_PAUSE_BUCKETS];

/* One recent change, for the observer page. */
#define MOLT_RECENT_CHANGES 16
typedef struct molt_change_record {
  uint64_t wall_ms; /* when it ended, ms since the epoch */
  molt_change_outcome_t outcome;
  int paused;
  uint64_t pause_ns;
  unsigned long actors; /* actors switched (committed) */
  char modules[160];    /* the changed modules, comma-separated (cut short if long) */
} molt_change_record_t;

typedef struct molt_upgrade_counts {
  uint64_t outcomes[MOLT_CHANGE_NOUTCOMES];
  uint64_t pause_le[MOLT_PAUSE_BUCKETS]; /* cumulative: pauses <= bound */
  uint64_t pauses;                       /* changes that paused */
  double pause_sum_s;
  double last_pause_s; /* the last change's pause; 0 before any */
  /* The last MOLT_RECENT_CHANGES changes, oldest first; nrecent of them. */
  molt_change_record_t recent[MOLT_RECENT_CHANGES];
  size_t nrecent;
} molt_upgrade_counts_t;

/* One change of modules (comma-separated) ended; paused says whether it
 * froze the schedulers (then pause_ns is how long), actors how many
 * switched. */
void molt__upgrade_count(molt_change_outcome_t outcome, int paused, uint64_t pause_ns, const char* modules,
                         unsigned long actors);

/* A consistent copy of the counts. Any thread. */
void molt__upgrade_counts_read(molt_upgrade_counts_t* out);

const char* molt__change_outcome_name(molt_change_outcome_t o);

#endif
