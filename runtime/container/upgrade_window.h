/* upgrade_window.h: an upgrade that watches itself (`molt upgrade VSN
 * --window DURATION`): after the switch, the crashes of the changed
 * modules' actors are counted for a while, and more than allowed undo the
 * upgrade. This counts and waits; the release commands decide. */
#ifndef MOLT_CONTAINER_UPGRADE_WINDOW_H
#define MOLT_CONTAINER_UPGRADE_WINDOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upgrade_plan.h"

#define MOLT_WINDOW_SEEN 64

/* Every crash the supervisors report while the window is open is kept
 * (the first MOLT_WINDOW_SEEN), since which modules count is known only
 * once the plan is: a child may crash the moment it switches. */
typedef struct molt_window {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled on each crash */
  struct {
    char module[64];
    char line[192];
  } seen[MOLT_WINDOW_SEEN];
  size_t nseen;
  const molt_plan_t* plan; /* the modules that count: updated or added; NULL: none yet */
} molt_window_t;

/* Start recording crashes (the supervisors' one observer). */
void molt__window_open(molt_window_t* w);

/* From now on the crashes of plan's updated and added modules count
 * (those recorded already too). plan stays the caller's until close. */
void molt__window_count(molt_window_t* w, const molt_plan_t* plan);

/* Wait up to ms, or until more than max crashes count: true then, with
 * the first counted crash and the count in why. */
bool molt__window_wait(molt_window_t* w, uint64_t ms, unsigned max, char* why, size_t whylen);

/* Stop recording. */
void molt__window_close(molt_window_t* w);

#endif
